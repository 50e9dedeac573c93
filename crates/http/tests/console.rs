//! The staff console through the real router: login, lockout, forced password change, CSRF,
//! languages, roles, search, the person page, the operation forms with their inline errors,
//! production batches and the roster import; and a clerk's whole walk (apply → batch → bank
//! return → collect → written loss → reissue) with forms only.

mod common;

use axum::http::StatusCode;
use common::forms::{Browser, Page, urlencode};
use common::{Demo, password};
use sscard_domain::ids::IdNumber;
use sscard_service::App;
use sscard_service::cards::photo::sample_png;
use sscard_service::demo::{DemoSamples, SampleCardholder};

fn demo_app() -> (tempfile::TempDir, App, DemoSamples) {
    Demo {
        persons: 400,
        seed: 3,
        pin_key: Some(5),
        as_of: None,
    }
    .open()
}

/// The console's own steps of a browser.
trait Console {
    /// The person page of the person holding `id` (found by the search page).
    async fn person_of(&mut self, id: &str) -> String;
    /// Logs in; returns the CSRF token of the session.
    async fn login(&mut self, user: &str, pass: &str) -> String;
}

impl Console for Browser {
    async fn person_of(&mut self, id: &str) -> String {
        person_path(&self.get(&format!("/console/search?q={id}")).await)
    }

    async fn login(&mut self, user: &str, pass: &str) -> String {
        let p = self
            .post("/console/login", &[("username", user), ("password", pass)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let home = self.get("/console/").await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        home.csrf()
    }
}

fn person_path(p: &Page) -> String {
    let i = p
        .body
        .find("href=\"/console/persons/")
        .expect("a person link");
    let rest = &p.body[i + 6..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn sample<'a>(s: &'a DemoSamples, status: &str) -> &'a SampleCardholder {
    s.cardholders
        .iter()
        .find(|c| c.card_status == status && c.life_status == "normal")
        .unwrap_or_else(|| panic!("the demo population has no {status} card"))
}

#[tokio::test]
async fn pages_need_a_session_and_speak_two_languages() {
    let (_d, app, _s) = demo_app();
    let mut b = Browser::new(app);
    for path in [
        "/console/",
        "/console/search?q=x",
        "/console/persons/1",
        "/console/batches",
        "/console/roster",
        "/console/password",
    ] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(p.location, "/console/login", "{path}");
    }
    assert_eq!(b.get("/console").await.location, "/console/");
    let zh = b.get("/console/login").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.content_type.starts_with("text/html"));
    assert!(zh.has("lang=\"zh-CN\"") && zh.has("经办人员登录"));
    assert!(zh.has("href=\"/console/assets/console.css\""));
    assert!(
        !zh.has("http://") && !zh.has("https://"),
        "no external assets"
    );
    let en = b.get("/console/login?lang=en").await;
    assert!(en.has("lang=\"en\"") && en.has("Staff login"));
    assert!(en.set_cookies.iter().any(|c| c.starts_with("lang=en;")));
    // The cookie keeps the language.
    let again = b.get("/console/login").await;
    assert!(again.has("Staff login"), "the lang cookie is honoured");
    b.get("/console/login?lang=zh").await;
    assert!(b.get("/console/login").await.has("经办人员登录"));
    let css = b.get("/console/assets/console.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.content_type.starts_with("text/css"));
    assert!(css.body.contains("@media"));
    // An unknown console path is the HTML 404 page.
    assert_eq!(
        b.get("/console/nowhere").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn login_failures_lockout_csrf_and_logout() {
    let (_d, app, s) = demo_app();
    let mut b = Browser::new(app);
    let p = b
        .post(
            "/console/login",
            &[("username", "clerk1"), ("password", "wrong")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(
        p.has("LOGIN_FAILED") && p.has("还可尝试 4 次"),
        "{}",
        p.body
    );
    assert!(p.has("value=\"clerk1\""), "the username is kept");
    let p = b
        .post(
            "/console/login?lang=en",
            &[("username", "clerk1"), ("password", "wrong")],
        )
        .await;
    assert!(p.has("3 tries left"), "{}", p.body);
    for _ in 0..2 {
        b.post(
            "/console/login",
            &[("username", "clerk1"), ("password", "wrong")],
        )
        .await;
    }
    let p = b
        .post(
            "/console/login",
            &[("username", "clerk1"), ("password", "wrong")],
        )
        .await;
    assert_eq!(p.status, StatusCode::LOCKED);
    assert!(p.has("STAFF_LOCKED"), "{}", p.body);
    // Even the right password is refused while locked.
    let p = b
        .post(
            "/console/login",
            &[
                ("username", "clerk1"),
                ("password", &password(&s, "clerk1")),
            ],
        )
        .await;
    assert!(p.has("STAFF_LOCKED"));

    // Another clerk logs in: the cookie's attributes.
    let p = b
        .post(
            "/console/login",
            &[
                ("username", "clerk2"),
                ("password", &password(&s, "clerk2")),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location, "/console/");
    let c = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("sscard_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(attr), "{c}");
    }
    let home = b.get("/console/").await;
    assert!(home.has("窗口经办员二") && home.has("action=\"/console/search\""));
    assert_eq!(
        home.set_cookies.len(),
        0,
        "no cookie churn on ordinary pages"
    );
    let csrf = home.csrf();
    // Logout without or with a wrong CSRF token is refused.
    let p = b.post("/console/logout", &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.has("CSRF_INVALID"));
    let p = b
        .post("/console/logout", &[("csrf_token", "0123abcd")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/console/").await.status, StatusCode::OK);
    let p = b.post("/console/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location, "/console/login");
    assert!(
        p.set_cookies
            .iter()
            .any(|c| c.starts_with("sscard_session=;") && c.contains("Max-Age=0"))
    );
    assert_eq!(b.get("/console/").await.status, StatusCode::SEE_OTHER);
    // A stale cookie leads to the login page with a notice.
    b.cookies
        .push(("sscard_session".into(), "deadbeef".repeat(8)));
    let p = b.get("/console/").await;
    assert_eq!(p.location, "/console/login?expired=1");
    let login = b.get(&p.location).await;
    assert!(login.has("Your session has ended"), "{}", login.body);
    b.get("/console/login?lang=zh").await;
    assert!(b.get(&p.location).await.has("登录已过期"));
}

#[tokio::test]
async fn first_login_forces_a_password_change() {
    let (_d, app, s) = demo_app();
    let mut b = Browser::new(app);
    let p = b
        .post(
            "/console/login",
            &[
                ("username", "newclerk"),
                ("password", &password(&s, "newclerk")),
            ],
        )
        .await;
    assert_eq!(p.location, "/console/password");
    for path in ["/console/", "/console/search?q=a", "/console/batches"] {
        let p = b.get(path).await;
        assert_eq!(p.location, "/console/password", "{path}");
    }
    let page = b.get("/console/password").await;
    assert!(page.has("首次登录须先修改初始密码"));
    assert!(!page.has("href=\"/console/search\""), "no navigation yet");
    let csrf = page.csrf();
    let old = password(&s, "newclerk");
    let p = b
        .post(
            "/console/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", &old),
                ("new_password", "Abcdefgh1234"),
                ("confirm_password", "Abcdefgh12345"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.has("PASSWORD_MISMATCH"));
    let p = b
        .post(
            "/console/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", &old),
                ("new_password", "short1"),
                ("confirm_password", "short1"),
            ],
        )
        .await;
    assert!(p.has("PASSWORD_WEAK"), "{}", p.body);
    let p = b
        .post(
            "/console/password",
            &[
                ("current_password", &old),
                ("new_password", "Abcdefgh1234"),
                ("confirm_password", "Abcdefgh1234"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "no CSRF token");
    let p = b
        .post(
            "/console/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", &old),
                ("new_password", "Abcdefgh1234"),
                ("confirm_password", "Abcdefgh1234"),
            ],
        )
        .await;
    assert_eq!(p.location, "/console/?done=password");
    let home = b.get(&p.location).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.has("密码已修改"));
}

#[tokio::test]
async fn search_and_person_page_by_role() {
    let (_d, app, s) = demo_app();
    let holder = sample(&s, "active");
    let card = holder.card_no.clone().unwrap();
    let mut clerk = Browser::new(app.clone());
    clerk.login("clerk1", &password(&s, "clerk1")).await;
    // By ID number, by card number, by name.
    let by_id = clerk
        .get(&format!("/console/search?q={}", holder.id_number))
        .await;
    assert!(by_id.has(&holder.name), "{}", by_id.body);
    let table = &by_id.body[by_id.body.find("id=\"results\"").unwrap()..];
    assert!(
        !table.contains(&holder.id_number),
        "search results mask ID numbers"
    );
    let by_card = clerk.get(&format!("/console/search?q={card}")).await;
    assert_eq!(person_path(&by_card), person_path(&by_id));
    let surname: String = holder.name.chars().take(1).collect();
    let by_name = clerk
        .get(&format!("/console/search?q={}", urlencode(&surname)))
        .await;
    assert!(by_name.has(&holder.name));
    // Nobody: the clerk is offered to register the person.
    let newcomer = IdNumber::from_parts(
        "511002",
        chrono::NaiveDate::from_ymd_opt(1990, 3, 4).unwrap(),
        321,
    );
    let none = clerk
        .get(&format!("/console/search?q={}", newcomer.as_str()))
        .await;
    assert!(none.has("id=\"no-results\"") && none.has("id=\"apply-new\""));

    let path = person_path(&by_id);
    let page = clerk.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        holder.name.as_str(),
        card.as_str(),
        "卡片履历",
        "data-action=\"loss_written\"",
        "data-action=\"pin_reset\"",
        "data-action=\"cancel\"",
    ] {
        assert!(page.has(needle), "missing {needle}");
    }
    let en = clerk.get(&format!("{path}?lang=en")).await;
    assert!(en.has("Timeline") && en.has("Written loss report"));
    clerk.get(&format!("{path}?lang=zh")).await;

    // The auditor sees everything but no form; a forged post is refused by the service.
    let mut auditor = Browser::new(app.clone());
    let csrf = auditor.login("auditor1", &password(&s, "auditor1")).await;
    let page = auditor.get(&path).await;
    assert!(page.has(&card) && page.has("只读"));
    assert!(!page.has("data-action="), "no forms for the auditor");
    assert!(!page.has(&holder.id_number), "auditors see masked numbers");
    assert!(!page.has("href=\"/console/roster\""));
    let p = auditor
        .post(
            &format!("{path}/loss_written"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", &holder.id_number),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.has("FORBIDDEN") && p.has("审计员"), "{}", p.body);

    // The 12333 agent may only take a temporary loss.
    let mut agent = Browser::new(app);
    agent.login("agent1", &password(&s, "agent1")).await;
    let page = agent.get(&path).await;
    assert!(page.has("data-action=\"loss_temporary\""));
    assert!(!page.has("data-action=\"loss_written\"") && !page.has("data-action=\"cancel\""));
}

#[tokio::test]
async fn operations_show_service_errors_inline() {
    let (_d, app, s) = demo_app();
    let waiting = sample(&s, "awaiting_collection");
    let card = waiting.card_no.clone().unwrap();
    let mut b = Browser::new(app);
    let csrf = b.login("clerk1", &password(&s, "clerk1")).await;
    let path = person_path(
        &b.get(&format!("/console/search?q={}", waiting.id_number))
            .await,
    );
    // Wrong ID: the collect form shows the code and the message; nothing changes.
    let p = b
        .post(
            &format!("{path}/collect"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", "11010519491231002X"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.has("ID_MISMATCH") && p.has("所出示的证件号码与持卡人不符"));
    assert!(!p.has("panicked") && !p.has("src/"), "no internals");
    // The same in English.
    b.get("/console/?lang=en").await;
    let p = b
        .post(
            &format!("{path}/collect"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", "11010519491231002X"),
            ],
        )
        .await;
    assert!(p.has("ID_MISMATCH") && p.has("does not belong to the cardholder"));
    b.get("/console/?lang=zh").await;
    // A proxy without the authorisation.
    let p = b
        .post(
            &format!("{path}/collect"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", &waiting.id_number),
                ("proxy", "on"),
                ("proxy_name", "代领人"),
            ],
        )
        .await;
    assert!(p.has("PROXY_INCOMPLETE"), "{}", p.body);
    // Without the CSRF token.
    let p = b
        .post(
            &format!("{path}/collect"),
            &[
                ("card_no", &card),
                ("presented_doc_number", &waiting.id_number),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.has("CSRF_INVALID"));
    // An unknown operation.
    let p = b
        .post(&format!("{path}/fly"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.has("ACTION_UNKNOWN"));
    // Collected by a proxy with an authorisation.
    let p = b
        .post(
            &format!("{path}/collect"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", &waiting.id_number),
                ("proxy", "on"),
                ("proxy_name", "代领人"),
                ("proxy_doc_number", "11010519491231002X"),
                ("authorisation_ref", "WT-2026-001"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(&p.location).await;
    assert!(page.has("id=\"done\"") && page.has("data-status=\"active\""));
    assert!(
        page.has("WT-2026-001"),
        "the authorisation is in the timeline"
    );
    // Lifting a loss that was never reported: a state refusal.
    let p = b
        .post(
            &format!("{path}/lift_loss"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", &waiting.id_number),
                ("presented_card_no", &card),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
    assert!(p.has("id=\"form-error\""));
}

/// The clerk's walk with forms only: register and apply, batch, bank file, bank return,
/// collect, written loss, reissue with its pickup certificate.
#[tokio::test]
async fn a_clerk_walks_a_card_through_its_life() {
    let (_d, app, s) = demo_app();
    let mut b = Browser::new(app);
    let csrf = b.login("clerk1", &password(&s, "clerk1")).await;
    let id = IdNumber::from_parts(
        "511002",
        chrono::NaiveDate::from_ymd_opt(1991, 5, 6).unwrap(),
        457,
    );
    let id = id.as_str().to_string();
    let form = b.get(&format!("/console/apply?doc={id}")).await;
    assert!(form.has(&format!("value=\"{id}\"")));
    // A photo of the wrong size is refused, the form keeps its values.
    let p = b
        .post_multipart(
            "/console/apply",
            &[
                ("csrf_token", &csrf),
                ("doc_type", "citizen_id"),
                ("doc_number", &id),
                ("name", "柯测试"),
                ("phone", "13800138000"),
                ("region_code", "511000"),
            ],
            &[("photo", "me.png", sample_png(300, 400))],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(p.has("PHOTO_SIZE") && p.has("value=\"柯测试\""));
    let p = b
        .post_multipart(
            "/console/apply",
            &[
                ("csrf_token", &csrf),
                ("doc_type", "citizen_id"),
                ("doc_number", &id),
                ("name", "柯测试"),
                ("phone", "13800138000"),
                ("region_code", "511000"),
            ],
            &[("photo", "me.png", sample_png(358, 441))],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let person = p.location.split('?').next().unwrap().to_string();
    let page = b.get(&p.location).await;
    assert!(page.has("data-status=\"applied\"") && page.has("免费"));
    // Applying again is refused: one live card.
    let p = b
        .post_multipart(
            "/console/apply",
            &[
                ("csrf_token", &csrf),
                ("doc_type", "citizen_id"),
                ("doc_number", &id),
                ("name", "柯测试"),
            ],
            &[],
        )
        .await;
    assert!(p.has("CARD_LIVE_EXISTS"), "{}", p.body);

    // Production: a batch of the region's applied cards, the bank's file and its return.
    let p = b
        .post(
            "/console/batches",
            &[
                ("csrf_token", &csrf),
                ("region_code", "511000"),
                ("bank_code", "ICBC"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let batch = p.location.split('?').next().unwrap().to_string();
    assert!(b.get(&p.location).await.has("id=\"batch-no\""));
    assert!(b.get("/console/batches").await.has(&batch));
    let file = b.get(&format!("{batch}/bank-file")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.content_type.starts_with("text/csv"));
    assert!(file.body.contains(&id), "the bank gets the full ID number");
    let p = b
        .post_multipart(
            &format!("{batch}/bank-return"),
            &[("csrf_token", &csrf)],
            &[(
                "file",
                "return.csv",
                format!("doc_number,bank_account\r\n{id},6222020200112233445\r\n11010519491231002X,12\r\n")
                    .into_bytes(),
            )],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.has("id=\"produced-count\">1<"), "{}", p.body);
    assert!(p.has("ACCOUNT_INVALID") || p.has("NOT_IN_BATCH"));
    let page = b.get(&person).await;
    assert!(page.has("data-status=\"awaiting_collection\""));
    let i = page.body.find("data-card=\"").unwrap() + 11;
    let card = page.body[i..i + page.body[i..].find('"').unwrap()].to_string();
    assert_eq!(card.len(), 9, "{card}");

    // Collect, report lost in writing, reissue.
    for action in ["collect", "loss_written", "reissue"] {
        let p = b
            .post(
                &format!("{person}/{action}"),
                &[
                    ("csrf_token", &csrf),
                    ("card_no", &card),
                    ("presented_doc_number", &id),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{action}: {}", p.body);
        let page = b.get(&p.location).await;
        assert!(page.has("id=\"done\""), "{action}");
        if action == "reissue" {
            assert!(page.has("id=\"cert-link\""), "{}", page.body);
            assert!(page.has(&format!("data-card=\"{card}\" data-status=\"reissuing\"")));
            assert!(page.has("补卡费") || page.has("免费"));
            let i = page.body.find("href=\"/console/certificates/").unwrap() + 6;
            let href = page.body[i..i + page.body[i..].find('"').unwrap()].to_string();
            let pdf = b.get(&href).await;
            assert_eq!(pdf.status, StatusCode::OK);
            assert_eq!(pdf.content_type, "application/pdf");
            assert!(pdf.body.starts_with("%PDF"));
        }
    }
    // The old card is dead: lifting its loss is refused.
    let p = b
        .post(
            &format!("{person}/lift_loss"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", &id),
                ("presented_card_no", &card),
            ],
        )
        .await;
    assert!(p.has("id=\"form-error\""), "{}", p.body);
}

#[tokio::test]
async fn roster_import_reports_rows_and_imports_nothing_on_errors() {
    let (_d, app, s) = demo_app();
    let mut b = Browser::new(app);
    let csrf = b.login("clerk1", &password(&s, "clerk1")).await;
    let page = b.get("/console/roster").await;
    assert!(page.has("name=\"import_valid_rows\""));
    let good = IdNumber::from_parts(
        "511002",
        chrono::NaiveDate::from_ymd_opt(1988, 1, 2).unwrap(),
        111,
    );
    let csv = format!(
        "证件号码,姓名,照片文件名\r\n{},花名甲,a.png\r\n110105194912310021,花名乙,b.png\r\n",
        good.as_str()
    );
    let files = |csv: &str| {
        vec![
            ("file", "roster.csv", csv.as_bytes().to_vec()),
            ("photos", "a.png", sample_png(358, 441)),
            ("photos", "b.png", sample_png(358, 441)),
        ]
    };
    let p = b
        .post_multipart("/console/roster", &[("csrf_token", &csrf)], &files(&csv))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.has("id=\"nothing-imported\""), "{}", p.body);
    assert!(p.has("ID_CHECK_CHAR") || p.has("ID_"), "{}", p.body);
    let p = b
        .post_multipart(
            "/console/roster",
            &[("csrf_token", &csrf), ("import_valid_rows", "on")],
            &files(&csv),
        )
        .await;
    assert!(!p.has("id=\"nothing-imported\""), "{}", p.body);
    assert!(p.has("1 张卡") || p.has("已导入"), "{}", p.body);
    let found = b.get(&format!("/console/search?q={}", good.as_str())).await;
    assert!(found.has("花名甲"));
    // No file.
    let p = b
        .post_multipart("/console/roster", &[("csrf_token", &csrf)], &[])
        .await;
    assert!(p.has("FILE_REQUIRED"));
}

/// The other forms reach their service functions with the right fields: PIN, temporary card,
/// replacement with a supervisor's approval, correction, cancellation, death and the heirs.
#[tokio::test]
async fn the_other_forms_reach_their_services() {
    let (_d, app, s) = demo_app();
    let mut b = Browser::new(app);
    let csrf = b.login("clerk1", &password(&s, "clerk1")).await;
    let sup = password(&s, "super1");

    // PIN: a locked PIN is unlocked; a weak new PIN is refused.
    let locked = sample(&s, "pin_locked");
    let card = locked.card_no.clone().unwrap();
    let path = b.person_of(&locked.id_number).await;
    assert!(b.get(&path).await.has("data-action=\"pin_unlock\""));
    let base = [
        ("csrf_token", csrf.as_str()),
        ("card_no", card.as_str()),
        ("presented_doc_number", locked.id_number.as_str()),
    ];
    let p = b.post(&format!("{path}/pin_unlock"), &base).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(!b.get(&path).await.has("data-action=\"pin_unlock\""));
    let mut weak = base.to_vec();
    weak.push(("new_pin", "111111"));
    let p = b.post(&format!("{path}/pin_reset"), &weak).await;
    assert!(p.has("PIN_WEAK_REPEATED"), "{}", p.body);
    let p = b.post(&format!("{path}/pin_reset"), &base).await;
    assert!(b.get(&p.location).await.has("密码已恢复为初始密码"));

    // The online query password, reset at the counter after checking the ID.
    assert!(
        b.get(&path)
            .await
            .has("data-action=\"query_password_reset\"")
    );
    let p = b
        .post(
            &format!("{path}/query_password_reset"),
            &[
                ("csrf_token", csrf.as_str()),
                ("presented_doc_number", "11010519491231002X"),
            ],
        )
        .await;
    assert!(p.has("ID_MISMATCH"), "{}", p.body);
    let p = b
        .post(
            &format!("{path}/query_password_reset"),
            &[
                ("csrf_token", csrf.as_str()),
                ("presented_doc_number", locked.id_number.as_str()),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(b.get(&p.location).await.has("网上查询密码已恢复为初始密码"));

    // A temporary card while the regular card is lost in writing.
    let lost = sample(&s, "written_loss");
    let path = b.person_of(&lost.id_number).await;
    let p = b
        .post(
            &format!("{path}/temporary"),
            &[
                ("csrf_token", &csrf),
                ("presented_doc_number", "11010519491231002X"),
                ("reason", "住院治疗"),
                ("proof_ref", "ZY-1"),
            ],
        )
        .await;
    assert!(p.has("ID_MISMATCH"));
    let p = b
        .post(
            &format!("{path}/temporary"),
            &[
                ("csrf_token", &csrf),
                ("presented_doc_number", &lost.id_number),
                ("reason", ""),
                ("proof_ref", "ZY-1"),
            ],
        )
        .await;
    assert!(p.has("EMERGENCY_REASON_REQUIRED"), "{}", p.body);
    let p = b
        .post(
            &format!("{path}/temporary"),
            &[
                ("csrf_token", &csrf),
                ("presented_doc_number", &lost.id_number),
                ("reason", "住院治疗"),
                ("proof_ref", "ZY-1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(&p.location).await;
    assert!(
        page.has("临时卡 T") && page.has("有效期至"),
        "{}",
        page.body
    );

    // Replacement: a quality fault needs a supervisor's approval.
    let holders: Vec<&SampleCardholder> = s
        .cardholders
        .iter()
        .filter(|c| c.card_status == "active" && c.life_status == "normal")
        .collect();
    assert!(holders.len() >= 3);
    let h = holders[0];
    let card = h.card_no.clone().unwrap();
    let path = b.person_of(&h.id_number).await;
    let base = [
        ("csrf_token", csrf.as_str()),
        ("card_no", card.as_str()),
        ("presented_doc_number", h.id_number.as_str()),
        ("damage", "芯片损坏"),
        ("fault", "quality"),
    ];
    let p = b.post(&format!("{path}/replace"), &base).await;
    assert!(p.has("APPROVAL_REQUIRED"), "{}", p.body);
    let mut f = base.to_vec();
    f.extend([("sup_username", "super1"), ("sup_password", "wrong")]);
    let p = b.post(&format!("{path}/replace"), &f).await;
    assert!(p.has("APPROVAL_FAILED"), "{}", p.body);
    let mut f = base.to_vec();
    f.extend([("sup_username", "super1"), ("sup_password", sup.as_str())]);
    let p = b.post(&format!("{path}/replace"), &f).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(&p.location).await;
    assert!(page.has("免费") && page.has("data-status=\"replacing\""));

    // Correction: nothing differs, then a real correction.
    let h = holders[1];
    let card = h.card_no.clone().unwrap();
    let path = b.person_of(&h.id_number).await;
    let p = b
        .post(
            &format!("{path}/correct"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", &h.id_number),
            ],
        )
        .await;
    assert!(p.has("CORRECTION_EMPTY"), "{}", p.body);
    let p = b
        .post(
            &format!("{path}/correct"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("presented_doc_number", &h.id_number),
                ("name", &format!("{}更", h.name)),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(b.get(&p.location).await.has(&format!("{}更", h.name)));

    // Cancellation with money on the medical account is refused; after the death the heir is
    // paid (a supervisor approves) and the card is cancelled.
    let rich = holders[2..]
        .iter()
        .find(|c| c.medical_balance_fen > 0)
        .expect("an active holder with a medical balance");
    let card = rich.card_no.clone().unwrap();
    let path = b.person_of(&rich.id_number).await;
    let p = b
        .post(
            &format!("{path}/cancel"),
            &[
                ("csrf_token", &csrf),
                ("card_no", &card),
                ("reason", "transfer_out"),
                ("presented_doc_number", &rich.id_number),
                ("card_returned", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
    assert!(p.has("CANCEL_ACCOUNT_NOT_SETTLED"), "{}", p.body);
    let p = b
        .post(
            &format!("{path}/death"),
            &[
                ("csrf_token", &csrf),
                ("died_on", "2026-13-01"),
                ("death_certificate_no", "SW-1"),
            ],
        )
        .await;
    assert!(p.has("DATE_INVALID"), "{}", p.body);
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(2)).to_string();
    let p = b
        .post(
            &format!("{path}/death"),
            &[
                ("csrf_token", &csrf),
                ("died_on", &yesterday),
                ("death_certificate_no", "SW-1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(&path).await;
    assert!(page.has("data-action=\"heir\"") && !page.has("data-action=\"apply\""));
    let heir_id = IdNumber::from_parts(
        "511002",
        chrono::NaiveDate::from_ymd_opt(1985, 2, 3).unwrap(),
        222,
    );
    let p = b
        .post(
            &format!("{path}/heir"),
            &[
                ("csrf_token", &csrf),
                ("heir_name", "继承人"),
                ("heir_doc_type", "citizen_id"),
                ("heir_doc_number", heir_id.as_str()),
                ("relationship", "child"),
                ("death_certificate_no", "SW-1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.has("id=\"heir-statement\"") && p.has("data-action=\"heir_pay\""));
    let marker = "name=\"claim_id\" value=\"";
    let i = p.body.find(marker).unwrap() + marker.len();
    let claim = p.body[i..i + p.body[i..].find('"').unwrap()].to_string();
    let p2 = b
        .post(
            &format!("{path}/heir_pay"),
            &[
                ("csrf_token", &csrf),
                ("claim_id", &claim),
                ("sup_username", "clerk1"),
                ("sup_password", &password(&s, "clerk1")),
            ],
        )
        .await;
    assert!(p2.has("APPROVAL_SELF"), "{}", p2.body);
    let p2 = b
        .post(
            &format!("{path}/heir_pay"),
            &[
                ("csrf_token", &csrf),
                ("claim_id", &claim),
                ("sup_username", "super1"),
                ("sup_password", &sup),
            ],
        )
        .await;
    assert_eq!(p2.status, StatusCode::SEE_OTHER, "{}", p2.body);
    let page = b.get(&p2.location).await;
    assert!(
        page.has("继承人") && page.has("data-status=\"cancelled\""),
        "{}",
        page.body
    );
}
