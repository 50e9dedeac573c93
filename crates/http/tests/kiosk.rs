//! The kiosk through the real router: reading the card (both readers), the PIN pad with its
//! refusals (tries left, lock and where to unlock), CSRF, the terminal binding, the seven
//! categories with real data, the actions (PIN change, loss, contact, flexible level, the two
//! PDFs), 退卡, keep-alive pings, languages, assets, and the idle timeout with the clock moved.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::Demo;
use common::forms::{Browser, Page};
use sscard_domain::Money;
use sscard_domain::clock::Clock;
use sscard_service::App;
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::SampleCardholder;
use sscard_service::persons;
use sscard_service::selfservice::records;

/// A clock the test moves forward.
struct MovingClock {
    start: DateTime<Utc>,
    offset_secs: AtomicI64,
}

impl Clock for MovingClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }
}

fn demo_app() -> (
    tempfile::TempDir,
    App,
    Arc<MovingClock>,
    Vec<SampleCardholder>,
) {
    let clock = Arc::new(MovingClock {
        start: Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap(),
        offset_secs: AtomicI64::new(0),
    });
    let (dir, app, s) = Demo {
        persons: 300,
        seed: 21,
        pin_key: Some(9),
        as_of: Some(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()),
    }
    .open_with(|app| app.with_clock(clock.clone()));
    (dir, app, clock, s.cardholders)
}

/// The kiosk's own reading of a page.
trait KioskPage {
    /// The code of the error box.
    fn error_code(&self) -> String;
}

impl KioskPage for Page {
    fn error_code(&self) -> String {
        let i = self
            .body
            .find("id=\"error\" data-code=\"")
            .unwrap_or_else(|| panic!("no error box ({}) in {}", self.status, self.body));
        let rest = &self.body[i + 22..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// The kiosk's own steps of a browser.
trait Kiosk {
    /// Reads `h`'s card and enters the PIN: the menu.
    async fn login(&mut self, h: &SampleCardholder) -> String;
}

impl Kiosk for Browser {
    async fn login(&mut self, h: &SampleCardholder) -> String {
        let p = self
            .post(
                "/kiosk/insert",
                &[("reader", "card"), ("number", h.card_no.as_ref().unwrap())],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let pin_page = self.get("/kiosk/pin").await;
        let csrf = pin_page.csrf();
        let p = self
            .post("/kiosk/pin", &[("csrf_token", &csrf), ("pin", &h.pin)])
            .await;
        assert_eq!(p.location, "/kiosk/menu", "{}", p.body);
        csrf
    }
}

fn usable(h: &SampleCardholder) -> bool {
    h.usable && h.card_status == "active" && h.card_kind == "regular" && h.card_no.is_some()
}

fn wrong(h: &SampleCardholder) -> &'static str {
    if h.pin == "000000" {
        "000001"
    } else {
        "000000"
    }
}

#[tokio::test]
async fn home_assets_languages_and_terminal() {
    let (_d, app, _clock, _) = demo_app();
    let mut b = Browser::new(app);
    let home = b.get("/kiosk/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.content_type.starts_with("text/html"));
    assert!(home.has("<html lang=\"zh-CN\">"));
    for label in ["插入社保卡", "刷身份证", ">删除<", ">重置<", ">确认<"] {
        assert!(home.has(label), "{label}");
    }
    assert!(home.has("aria-label=\"数字 7\""));
    assert!(home.has("aria-label=\"删除最后一位\""));
    assert!(home.has("src=\"/kiosk/assets/kiosk.js\""));
    assert!(
        !home.has("http://") && !home.has("https://"),
        "no external asset"
    );
    assert!(!home.has("<script>"), "no inline script");
    assert!(home.csp.contains("default-src 'self'"), "{}", home.csp);
    assert!(home.has("KIOSK-01"));

    let js = b.get("/kiosk/assets/kiosk.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.content_type.starts_with("text/javascript"));
    assert!(js.has("data-keypad-target"));
    let css = b.get("/kiosk/assets/kiosk.css").await;
    assert!(css.content_type.starts_with("text/css"));
    assert!(css.has("@media (max-width: 600px)"));

    let en = b.get("/kiosk/?lang=en").await;
    assert!(en.has("<html lang=\"en\">"));
    assert!(en.has("Insert the card"));
    assert!(en.set_cookies.iter().any(|c| c.starts_with("lang=en")));
    assert!(
        b.get("/kiosk/").await.has("Swipe the ID card"),
        "cookie kept"
    );
    assert!(b.get("/kiosk/?lang=zh").await.has("刷身份证"));

    let t = b.get("/kiosk/?terminal=HALL-3").await;
    assert!(t.has(">HALL-3<"));
    let c = t
        .set_cookies
        .iter()
        .find(|c| c.starts_with("sscard_kiosk_terminal="))
        .unwrap();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    assert!(b.get("/kiosk/").await.has(">HALL-3<"));
    // Pages need a session.
    for path in [
        "/kiosk/menu",
        "/kiosk/pin",
        "/kiosk/info/medical",
        "/kiosk/print/rights.pdf",
    ] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(p.location, "/kiosk/", "{path}");
    }
    assert_eq!(b.get("/kiosk").await.location, "/kiosk/");
}

#[tokio::test]
async fn a_holder_logs_in_reads_every_category_and_acts() {
    let (_d, app, clock, holders) = demo_app();
    let h = holders
        .iter()
        .find(|h| usable(h) && h.pin_changed && h.medical_balance_fen > 0)
        .unwrap();
    let mut b = Browser::new(app.clone());

    // Reading the card: a malformed number, an unknown card, then the holder's card.
    let p = b
        .post("/kiosk/insert", &[("reader", "card"), ("number", "N12")])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(p.error_code(), "CARD_NO_LENGTH");
    let p = b
        .post(
            "/kiosk/insert",
            &[("reader", "card"), ("number", "Z99999999")],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(p.error_code(), "CARD_NOT_FOUND");
    let p = b
        .post(
            "/kiosk/insert",
            &[("reader", "id_card"), ("number", "110105194912310021")],
        )
        .await;
    assert_eq!(p.error_code(), "ID_CHECK_CHAR");
    assert!(p.has("data-reader=\"id_card\" id=\"reader-id\" aria-pressed=\"true\""));
    let p = b
        .post(
            "/kiosk/insert",
            &[("reader", "card"), ("number", h.card_no.as_ref().unwrap())],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location, "/kiosk/pin");
    let c = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("sscard_kiosk="))
        .unwrap();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );

    // Before the PIN, the menu leads back to the PIN pad.
    assert_eq!(b.get("/kiosk/menu").await.location, "/kiosk/pin");
    let pin = b.get("/kiosk/pin").await;
    assert_eq!(pin.status, StatusCode::OK);
    assert!(pin.has("id=\"pin-pad\""));
    assert!(
        !pin.has(&h.name) || h.name.chars().count() == 1,
        "name masked"
    );
    assert!(pin.has("data-idle=\"60\""));
    let csrf = pin.csrf();
    let p = b
        .post("/kiosk/pin", &[("csrf_token", "forged"), ("pin", &h.pin)])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(p.error_code(), "CSRF_INVALID");
    let p = b
        .post("/kiosk/pin", &[("csrf_token", &csrf), ("pin", wrong(h))])
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert_eq!(p.error_code(), "PIN_WRONG");
    let threshold = if h.region_code == "210200" { 3 } else { 6 };
    assert!(
        p.has(&format!("还可尝试 {} 次", threshold - 1)),
        "{}",
        p.body
    );
    let p = b
        .post("/kiosk/pin", &[("csrf_token", &csrf), ("pin", &h.pin)])
        .await;
    assert_eq!(p.location, "/kiosk/menu");

    // The menu: the seven categories and the services.
    let menu = b.get("/kiosk/menu").await;
    assert_eq!(menu.status, StatusCode::OK);
    assert!(menu.has(&h.name));
    for (slug, label) in [
        ("card", "卡基本信息"),
        ("public", "公共数据"),
        ("employment", "就业与失业"),
        ("insurance", "社会保险"),
        ("medical", "医疗保险"),
        ("assistance", "低保和优抚"),
        ("health", "生命与健康数据"),
    ] {
        assert!(menu.has(&format!("id=\"cat-{slug}\"")), "{slug}");
        assert!(menu.has(label), "{label}");
    }
    for svc in ["pin-change", "loss", "print", "contact", "flexible"] {
        assert!(menu.has(&format!("id=\"svc-{svc}\"")), "{svc}");
    }

    // Each category renders the holder's real data: what the records service says is there.
    let clerk = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: String::new(),
        channel: Channel::Counter,
    };
    let person = persons::search(&app, &clerk, &h.id_number).unwrap()[0].person_ref;
    let rec = records::person_records(&app, &clerk, person).unwrap();
    let card = b.get("/kiosk/info/card").await;
    assert!(card.has(h.card_no.as_ref().unwrap()));
    assert!(card.has("id=\"card-timeline\""));
    let public = b.get("/kiosk/info/public").await;
    assert!(public.has(&h.name));
    assert!(public.has(&sscard_domain::mask::mask_id(&h.id_number)));
    assert!(!public.has(&h.id_number), "the ID number is masked");
    let employment = b.get("/kiosk/info/employment").await;
    assert!(employment.has("id=\"employment\"") && employment.has("id=\"unemployment\""));
    for e in &rec.employment {
        assert!(employment.has(&e.employer_name), "{}", e.employer_name);
    }
    assert!(employment.has(&format!(
        "<dd>{} 个月</dd>",
        rec.unemployment.continuous_contribution_months
    )));
    let insurance = b.get("/kiosk/info/insurance").await;
    assert!(insurance.has("id=\"enrolments\"") && insurance.has("id=\"pension\""));
    assert!(!rec.enrolments.is_empty());
    for e in &rec.enrolments {
        assert!(insurance.has(&e.insurance_label) && insurance.has(&e.start_date));
    }
    for y in &rec.contributions_by_year {
        assert!(insurance.has(&Money::from_fen(y.personal_fen).format_yuan()));
    }
    assert!(insurance.has(&format!(
        "<dd>{} 个月</dd>",
        rec.pension.contribution_months
    )));
    let medical = b.get("/kiosk/info/medical").await;
    assert!(
        medical.has(&Money::from_fen(h.medical_balance_fen).format_yuan()),
        "balance {} in {}",
        h.medical_balance_fen,
        medical.body
    );
    assert!(medical.has("id=\"medical-transactions\""));
    for t in &rec.medical.transactions {
        assert!(medical.has(&Money::from_fen(t.amount_fen.abs()).format_yuan()));
    }
    let assistance = b.get("/kiosk/info/assistance").await;
    assert!(assistance.has("id=\"minimum-living\"") && assistance.has("id=\"special-care\""));
    for x in rec
        .assistance
        .minimum_living
        .iter()
        .chain(&rec.assistance.special_care)
    {
        assert!(assistance.has(&Money::from_fen(x.monthly_fen).format_yuan()));
    }
    if rec.assistance.minimum_living.is_empty() {
        assert!(assistance.has("class=\"muted empty\""));
    }
    let health = b.get("/kiosk/info/health").await;
    assert!(health.has("id=\"health\""));
    for x in &rec.health {
        assert!(
            health.has(&x.item) && health.has(&x.recorded_on),
            "{}",
            x.item
        );
    }
    assert_eq!(
        b.get("/kiosk/info/nope").await.status,
        StatusCode::NOT_FOUND
    );

    // Printing: both PDFs.
    let rights = b.get("/kiosk/print/rights.pdf").await;
    assert_eq!(rights.status, StatusCode::OK);
    assert_eq!(rights.content_type, "application/pdf");
    assert!(rights.body.starts_with("%PDF"));
    let cert = b.get("/kiosk/print/certificate.pdf").await;
    assert_eq!(cert.status, StatusCode::OK, "{}", cert.body);
    assert_eq!(cert.content_type, "application/pdf");
    assert!(b.get("/kiosk/print").await.has("data-print"));

    // Own contact details.
    let page = b.get("/kiosk/contact").await;
    let csrf = page.csrf();
    let p = b
        .post(
            "/kiosk/contact",
            &[
                ("csrf_token", &csrf),
                ("phone", "1234"),
                ("address", "内江市"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(p.error_code(), "PHONE_INVALID");
    assert!(p.has(">内江市</textarea>"), "the typed address is kept");
    let p = b
        .post(
            "/kiosk/contact",
            &[
                ("csrf_token", &csrf),
                ("phone", "13912345678"),
                ("address", "内江市市中区新华路8号"),
            ],
        )
        .await;
    assert!(p.has("data-done=\"contact_updated\""), "{}", p.body);
    assert!(p.has("139****5678"));
    assert!(
        b.get("/kiosk/info/public")
            .await
            .has("内江市市中区新华路8号")
    );

    // Flexible level: this page answers for everyone (choosing or the refusal).
    let flex = b.get("/kiosk/flexible").await;
    assert_eq!(flex.status, StatusCode::OK);
    assert!(flex.has("id=\"flexible-refusal\"") || flex.has("id=\"flexible-form\""));

    // PIN change: confirmation mismatch, then success.
    let page = b.get("/kiosk/pin-change").await;
    let csrf = page.csrf();
    let p = b
        .post(
            "/kiosk/pin-change",
            &[
                ("csrf_token", &csrf),
                ("old_pin", &h.pin),
                ("new_pin", "135792"),
                ("confirm_pin", "135793"),
            ],
        )
        .await;
    assert_eq!(p.error_code(), "PIN_CONFIRM_MISMATCH");
    let new_pin = if h.pin == "135792" {
        "246813"
    } else {
        "135792"
    };
    let p = b
        .post(
            "/kiosk/pin-change",
            &[
                ("csrf_token", &csrf),
                ("old_pin", &h.pin),
                ("new_pin", new_pin),
                ("confirm_pin", new_pin),
            ],
        )
        .await;
    assert!(p.has("data-done=\"pin_changed\""), "{}", p.body);

    // Keep-alive ping, then the idle timeout enforced by the server (clock moved).
    let p = b.post("/kiosk/ping", &[("csrf_token", &csrf)]).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT);
    assert_eq!(
        b.post("/kiosk/ping", &[("csrf_token", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    clock.offset_secs.fetch_add(45, Ordering::SeqCst);
    assert_eq!(b.get("/kiosk/menu").await.status, StatusCode::OK);
    clock.offset_secs.fetch_add(61, Ordering::SeqCst);
    let p = b.get("/kiosk/menu").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location, "/kiosk/?timeout=1");
    assert!(
        b.cookie("sscard_kiosk").is_none(),
        "the cookie is forgotten"
    );
    let home = b.get("/kiosk/?timeout=1").await;
    assert!(home.has("data-notice=\"home.timeout\""));
    assert_eq!(
        b.post("/kiosk/ping", &[("csrf_token", &csrf)]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The new PIN works; the loss pre-report (PIN enabled) freezes the card.
    let mut h2 = h.clone();
    h2.pin = new_pin.to_string();
    b.login(&h2).await;
    let page = b.get("/kiosk/loss").await;
    assert!(page.has("id=\"loss-form\""));
    let csrf = page.csrf();
    let p = b
        .post("/kiosk/loss", &[("csrf_token", &csrf), ("pin", new_pin)])
        .await;
    assert!(p.has("data-done=\"loss_reported\""), "{}", p.body);
    assert!(b.get("/kiosk/loss").await.has("id=\"loss-already\""));

    // 退卡.
    let p = b
        .post(
            "/kiosk/exit",
            &[("csrf_token", &csrf), ("reason", "take_card")],
        )
        .await;
    assert_eq!(p.location, "/kiosk/?bye=1");
    assert!(b.cookie("sscard_kiosk").is_none());
    assert_eq!(b.get("/kiosk/menu").await.location, "/kiosk/");
    // The lost card is refused when inserted; the ID card still gets in.
    let p = b
        .post(
            "/kiosk/insert",
            &[("reader", "card"), ("number", h.card_no.as_ref().unwrap())],
        )
        .await;
    assert_eq!(p.error_code(), "CARD_LOST");
    let p = b
        .post(
            "/kiosk/insert",
            &[("reader", "id_card"), ("number", &h.id_number)],
        )
        .await;
    assert_eq!(p.location, "/kiosk/pin");
}

#[tokio::test]
async fn terminals_locks_and_english() {
    let (_d, app, _clock, holders) = demo_app();
    let mut usable_holders = holders.iter().filter(|h| usable(h));
    let a = usable_holders.next().unwrap();
    let b_h = usable_holders.next().unwrap();
    let mut b = Browser::new(app.clone());
    b.get("/kiosk/?terminal=T1").await;
    let csrf = b.login(a).await;
    // The same session cookie from another terminal is refused.
    let mut other = Browser::new(app.clone());
    other.get("/kiosk/?terminal=T2").await;
    other
        .cookies
        .push(("sscard_kiosk".into(), b.cookie("sscard_kiosk").unwrap()));
    let p = other.get("/kiosk/menu").await;
    assert_eq!(p.location, "/kiosk/");
    assert!(other.cookie("sscard_kiosk").is_none());
    assert_eq!(b.get("/kiosk/menu").await.status, StatusCode::OK);
    // 退卡 needs the session's CSRF token.
    let p = b
        .post(
            "/kiosk/exit",
            &[("csrf_token", "x"), ("reason", "take_card")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = b
        .post("/kiosk/exit", &[("csrf_token", &csrf), ("reason", "idle")])
        .await;
    assert_eq!(p.location, "/kiosk/?timeout=1");

    // Wrong PINs to the lock: home, with where to unlock, and the session gone.
    let mut c = Browser::new(app.clone());
    c.get("/kiosk/?lang=en").await;
    c.post(
        "/kiosk/insert",
        &[
            ("reader", "card"),
            ("number", b_h.card_no.as_ref().unwrap()),
        ],
    )
    .await;
    let csrf = c.get("/kiosk/pin").await.csrf();
    let threshold = if b_h.region_code == "210200" { 3 } else { 6 };
    for k in 1..threshold {
        let p = c
            .post("/kiosk/pin", &[("csrf_token", &csrf), ("pin", wrong(b_h))])
            .await;
        assert_eq!(p.error_code(), "PIN_WRONG");
        assert!(
            p.has(&format!("{} tries left", threshold - k)),
            "{}",
            p.body
        );
    }
    let p = c
        .post("/kiosk/pin", &[("csrf_token", &csrf), ("pin", wrong(b_h))])
        .await;
    assert_eq!(p.status, StatusCode::LOCKED);
    assert_eq!(p.error_code(), "PIN_LOCKED");
    assert!(p.has("in person with your ID"), "{}", p.body);
    assert!(p.has("id=\"insert-form\""), "back home");
    assert!(c.cookie("sscard_kiosk").is_none());
    // Reading the locked card again says so at once.
    let p = c
        .post(
            "/kiosk/insert",
            &[
                ("reader", "card"),
                ("number", b_h.card_no.as_ref().unwrap()),
            ],
        )
        .await;
    assert_eq!(p.error_code(), "PIN_LOCKED");
}
