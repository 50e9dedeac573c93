//! The cardholder portal through the real router: public pages (guide per region, agencies,
//! hotlines, certificate check), login with the query password (double-submit CSRF, wrong
//! tries, lockout), the forced change of the initial password, every records page, the
//! contribution year filter, the card page and the temporary loss report with the PIN, the
//! certificate of insurance (PDF and public verification), the electronic card, logout, and the
//! separation from the staff console's session.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::Demo;
use common::forms::{Browser, Page};
use sscard_service::App;
use sscard_service::demo::{DemoSamples, SampleCardholder};
use tower::ServiceExt;

fn demo_app() -> (tempfile::TempDir, App, DemoSamples) {
    Demo {
        persons: 400,
        seed: 3,
        pin_key: Some(5),
        as_of: None,
    }
    .open()
}

/// The portal's own reading of a page.
trait PortalPage {
    /// The code of the error shown.
    fn error_code(&self) -> String;
}

impl PortalPage for Page {
    fn error_code(&self) -> String {
        let i = self
            .body
            .find("<strong class=\"code\">")
            .unwrap_or_else(|| panic!("no error in {}", self.body));
        let rest = &self.body[i + 21..];
        rest[..rest.find('<').unwrap()].to_string()
    }
}

/// The portal's own steps of a browser.
trait Portal {
    /// Logs in through the form (fetching the login page first for its CSRF token).
    async fn login(&mut self, id: &str, password: &str) -> Page;
}

impl Portal for Browser {
    async fn login(&mut self, id: &str, password: &str) -> Page {
        let home = self.get("/portal/").await;
        let csrf = home.csrf();
        self.post(
            "/portal/login",
            &[
                ("csrf_token", csrf.as_str()),
                ("id_number", id),
                ("password", password),
            ],
        )
        .await
    }
}

fn yuan(fen: i64) -> String {
    sscard_domain::money::Money::from_fen(fen).format_yuan()
}

fn threshold(region: &str) -> usize {
    sscard_domain::policy::RegionPolicy::for_region(region).web_lock_threshold as usize
}

#[tokio::test]
async fn public_pages_need_no_login() {
    let (_d, app, _s) = demo_app();
    let mut b = Browser::new(app);
    let home = b.get("/portal/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.has("<html lang=\"zh-CN\">") && home.has("个人登录"));
    assert!(home.has("<label for=\"id_number\">"));
    assert!(home.has("name=\"viewport\""));
    assert!(
        home.set_cookies
            .iter()
            .any(|c| c.starts_with("sscard_portal_csrf=") && c.contains("HttpOnly"))
    );
    let en = b.get("/portal/?lang=en").await;
    assert!(en.has("<html lang=\"en\">") && en.has("Cardholder login"));
    assert!(en.set_cookies.iter().any(|c| c.starts_with("lang=en")));
    // The language sticks through the cookie.
    assert!(b.get("/portal/guide").await.has("Service guide"));
    b.get("/portal/?lang=zh").await;

    let nj = b.get("/portal/guide?region=511000").await;
    assert_eq!(nj.status, StatusCode::OK);
    assert!(nj.has("有效期 7 天") && nj.has("0832-12333") && nj.has("111111"));
    assert!(nj.has("¥20.00"));
    let dl = b.get("/portal/guide?region=210200").await;
    assert!(dl.has("有效期 10 天") && dl.has("连续输错 3 次"));
    let bad = b.get("/portal/guide?region=12").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let unserved = b.get("/portal/guide?region=110000").await;
    assert_eq!(unserved.status, StatusCode::NOT_FOUND);
    assert_eq!(unserved.error_code(), "REGION_NOT_SERVED");

    let ag = b.get("/portal/agencies?region=511000").await;
    assert_eq!(ag.status, StatusCode::OK);
    let rows = ag.body.matches("<tr><td>").count();
    assert!(rows >= 5, "{rows}");
    let filtered = b
        .get("/portal/agencies?region=511000&q=%E4%B8%9C%E5%85%B4")
        .await; // 东兴
    let n = filtered.body.matches("<tr><td>").count();
    assert!(n >= 1 && n < rows, "{n} of {rows}");
    let hot = b.get("/portal/hotlines").await;
    assert!(hot.has("023-12333") && hot.has("0411-12333") && hot.has("0311-12333"));
    let v = b.get("/portal/verify?code=nope").await;
    assert_eq!(v.status, StatusCode::BAD_REQUEST);
    assert_eq!(v.error_code(), "CERT_CODE_INVALID");
    let v = b.get("/portal/verify?code=ABCD-EFGH-JKLM").await;
    assert_eq!(v.status, StatusCode::NOT_FOUND);
    assert_eq!(v.error_code(), "CERT_CODE_NOT_FOUND");

    let css = b.get("/portal/assets/portal.css").await;
    assert!(css.content_type.starts_with("text/css"));
    assert!(!css.has("http://") && !css.has("https://"));
    assert!(
        b.get("/portal/assets/emblem.svg")
            .await
            .content_type
            .starts_with("image/svg+xml")
    );
    // Private pages send the visitor to the login page.
    for p in [
        "/portal/me",
        "/portal/medical",
        "/portal/card",
        "/portal/certificate",
    ] {
        let r = b.get(p).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{p}");
        assert_eq!(r.location, "/portal/");
    }
}

fn holder(s: &DemoSamples) -> &SampleCardholder {
    s.cardholders
        .iter()
        .find(|c| {
            c.card_status == "active"
                && c.pin_changed
                && !c.query_password_changed
                && c.card_kind == "regular"
        })
        .expect("an active holder with a changed PIN and the initial query password")
}

#[tokio::test]
async fn first_login_records_loss_and_certificate() {
    let (_d, app, s) = demo_app();
    let h = holder(&s).clone();
    let mut b = Browser::new(app.clone());

    // Login CSRF and wrong tries.
    let r = b
        .post(
            "/portal/login",
            &[("id_number", &h.id_number), ("password", &h.query_password)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "CSRF_INVALID");
    let r = b.login(&h.id_number, "wrong-pass-9").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "LOGIN_FAILED");
    assert!(r.has(&format!("还可尝试 {} 次", threshold(&h.region_code) - 1)));
    assert!(r.has(&h.id_number), "the ID number stays in the form");

    // First login: forced change.
    let r = b.login(&h.id_number, &h.query_password).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location, "/portal/password");
    let c = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("sscard_portal="))
        .unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/portal"));
    let r = b.get("/portal/medical").await;
    assert_eq!(r.location, "/portal/password");
    let pw = b.get("/portal/password").await;
    assert!(pw.has("id=\"forced\""));
    assert!(!pw.has("href=\"/portal/medical\""), "no records menu yet");
    let csrf = pw.csrf();
    let r = b
        .post(
            "/portal/password",
            &[
                ("csrf_token", "forged"),
                ("current_password", &h.query_password),
                ("new_password", "Good2026pw"),
                ("confirm_password", "Good2026pw"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let change = |new: &'static str, confirm: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("current_password", h.query_password.clone()),
            ("new_password", new.to_string()),
            ("confirm_password", confirm.to_string()),
        ]
    };
    for (fields, status, code) in [
        (
            change("Good2026pw", "Good2026px"),
            StatusCode::BAD_REQUEST,
            "PASSWORD_MISMATCH",
        ),
        (
            change("12345678", "12345678"),
            StatusCode::BAD_REQUEST,
            "QUERY_PASSWORD_WEAK",
        ),
    ] {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b.post("/portal/password", &f).await;
        assert_eq!(r.status, status);
        assert_eq!(r.error_code(), code);
    }
    let f = change("Good2026pw", "Good2026pw");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post("/portal/password", &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location, "/portal/password?done=1");
    assert!(b.get("/portal/password?done=1").await.has("id=\"done\""));

    // Every records page.
    let me = b.get("/portal/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.has(&h.name) && me.has("id=\"table-enrolments\""));
    assert!(!me.has(&h.id_number), "the ID number is masked");
    let med = b.get("/portal/medical").await;
    assert_eq!(med.status, StatusCode::OK);
    assert!(med.has("id=\"fact-balance\""));
    assert!(
        med.has(&yuan(h.medical_balance_fen)),
        "balance {} in {}",
        yuan(h.medical_balance_fen),
        med.body
    );
    assert!(med.has("id=\"table-transactions\"") && med.has("id=\"table-settlements\""));
    for (p, needle) in [
        ("/portal/pension", "id=\"fact-months\""),
        ("/portal/unemployment", "id=\"fact-continuous\""),
        ("/portal/injury", "id=\"table-cases\""),
        ("/portal/maternity", "id=\"table-maternity-benefits\""),
        ("/portal/assistance", "id=\"table-minimum-living\""),
        ("/portal/health", "血型"),
        ("/portal/contributions", "id=\"year-form\""),
    ] {
        let r = b.get(p).await;
        assert_eq!(r.status, StatusCode::OK, "{p}");
        assert!(r.has(needle), "{p}: {needle}");
        assert!(r.has("aria-current=\"page\""), "{p}");
    }
    let en = b.get("/portal/medical?lang=en").await;
    assert!(en.has("Personal account balance"));
    b.get("/portal/me?lang=zh").await;

    // The year filter.
    let all = b.get("/portal/contributions").await;
    let year_opts: Vec<&str> = all
        .body
        .match_indices("<option value=\"20")
        .map(|(i, _)| &all.body[i + 15..i + 19])
        .collect();
    if let Some(y) = year_opts.first() {
        let one = b.get(&format!("/portal/contributions?year={y}")).await;
        assert!(one.has(&format!("<option value=\"{y}\" selected>")));
        let months: Vec<&str> = one
            .body
            .match_indices("<tr><td>")
            .map(|(i, _)| &one.body[i + 8..i + 12])
            .collect();
        assert!(!months.is_empty());
        assert!(months.iter().all(|m| m == y), "{months:?}");
    }
    let r = b.get("/portal/contributions?year=abc").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "YEAR_INVALID");

    // The electronic card while the card is usable.
    let ec = b.get("/portal/ecard").await;
    assert_eq!(ec.status, StatusCode::OK, "{}", ec.body);
    assert!(ec.has("<svg"));

    // The card page and the temporary loss report with the PIN.
    let card = b.get("/portal/card").await;
    let card_no = h.card_no.clone().unwrap();
    assert!(card.has(&card_no) && card.has("id=\"table-timeline\""));
    assert!(card.has("id=\"loss-form\""));
    let csrf = card.csrf();
    let r = b
        .post(
            "/portal/card/loss",
            &[("csrf_token", &csrf), ("pin", &h.pin)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "CONFIRM_REQUIRED");
    let wrong = if h.pin == "000000" {
        "000001"
    } else {
        "000000"
    };
    let r = b
        .post(
            "/portal/card/loss",
            &[("csrf_token", &csrf), ("pin", wrong), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "PIN_WRONG");
    let r = b
        .post(
            "/portal/card/loss",
            &[("csrf_token", &csrf), ("pin", &h.pin), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.has("id=\"loss-done\"") && r.has("临时挂失"));
    assert!(!r.has("id=\"loss-form\""), "nothing left to report");
    assert!(r.has("网上服务大厅"), "the timeline names the web channel");
    let r = b
        .post(
            "/portal/card/loss",
            &[("csrf_token", &csrf), ("pin", &h.pin), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.error_code(), "NO_CARD_TO_REPORT");
    let ec = b.get("/portal/ecard").await;
    assert_ne!(ec.status, StatusCode::OK, "a lost card has no e-card");

    // The certificate: issue, download, verify publicly.
    let page = b.get("/portal/certificate").await;
    let csrf = page.csrf();
    let r = b
        .post("/portal/certificate", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let code = r.location.split("code=").nth(1).unwrap().to_string();
    assert_eq!(code.len(), 14);
    let shown = b.get(&r.location).await;
    assert!(shown.has(&format!("id=\"cert-code\">{code}<")));
    let pdf = b.get(&format!("/portal/certificates/{code}")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF"));
    let r = b.get("/portal/logout").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let csrf = b.get("/portal/me").await.csrf();
    let r = b.post("/portal/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.set_cookies
            .iter()
            .any(|c| c.starts_with("sscard_portal=;") && c.contains("Max-Age=0"))
    );
    assert_eq!(b.get("/portal/me").await.location, "/portal/");
    assert_eq!(
        b.get(&format!("/portal/certificates/{code}"))
            .await
            .location,
        "/portal/"
    );
    let v = b
        .get(&format!("/portal/verify?code={}", code.to_lowercase()))
        .await;
    assert_eq!(v.status, StatusCode::OK);
    assert!(v.has("id=\"verify-ok\""));
    assert!(!v.has(&h.name) || h.name.chars().count() == 1);

    // The new password works, the initial one no longer does.
    assert_eq!(
        b.login(&h.id_number, &h.query_password).await.error_code(),
        "LOGIN_FAILED"
    );
    let r = b.login(&h.id_number, "Good2026pw").await;
    assert_eq!(r.location, "/portal/me");
}

#[tokio::test]
async fn lockout_timeout_and_separate_sessions() {
    let (_d, app, s) = demo_app();
    let h = s
        .cardholders
        .iter()
        .find(|c| !c.query_password_changed && c.life_status == "normal")
        .unwrap();
    let r = sscard_http::router(app.clone());
    // Pages are never cached.
    let resp = r
        .clone()
        .oneshot(
            Request::builder()
                .uri("/portal/")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");

    let mut b = Browser::new(app.clone());
    let t = threshold(&h.region_code);
    for k in 1..t {
        let r = b.login(&h.id_number, "bad-pass-1").await;
        assert_eq!(r.error_code(), "LOGIN_FAILED");
        assert!(r.has(&format!("还可尝试 {} 次", t - k)));
    }
    let r = b.login(&h.id_number, "bad-pass-1").await;
    assert_eq!(r.status, StatusCode::LOCKED);
    assert_eq!(r.error_code(), "QUERY_LOCKED");
    let r = b.login(&h.id_number, &h.query_password).await;
    assert_eq!(r.error_code(), "QUERY_LOCKED");

    // The staff console's cookie is no portal session, and a stale portal cookie times out.
    let mut other = Browser::new(app.clone());
    other
        .cookies
        .push(("sscard_session".into(), "whatever".into()));
    assert_eq!(other.get("/portal/me").await.location, "/portal/");
    other
        .cookies
        .push(("sscard_portal".into(), "0123456789abcdef".into()));
    let r = other.get("/portal/me").await;
    assert_eq!(r.location, "/portal/?expired=1");
    assert!(other.get("/portal/?expired=1").await.has("id=\"expired\""));

    // A holder whose query password was changed goes straight to the records.
    let changed = s
        .cardholders
        .iter()
        .find(|c| c.query_password_changed)
        .unwrap();
    let mut c = Browser::new(app);
    let r = c.login(&changed.id_number, &changed.query_password).await;
    assert_eq!(r.location, "/portal/me");
    assert_eq!(c.get("/portal/").await.location, "/portal/me");
}
