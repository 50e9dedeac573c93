//! The kiosk's use cases on both backends: card and ID-card login, the PIN on the shared
//! counter (tries left, lock and where to unlock), sessions bound to a terminal with idle
//! expiry (clock moved), PIN change, loss pre-report, contact update validation, the
//! flexible-employment level rule and the rights record PDF.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sscard_domain::clock::FixedClock;
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::pin;
use sscard_service::demo::{self, DemoOptions, SampleCardholder};
use sscard_service::kiosk::{
    self, EndReason, KioskSession, Started, TypedCardReader, TypedIdCardReader,
};
use sscard_service::persons;
use sscard_service::secrets::PinKey;
use sscard_service::selfservice::records;
use sscard_service::{App, AppConfig};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap()
}

fn setup(url: &str) -> (App, Vec<SampleCardholder>) {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![7; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 400,
            seed: 5,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (app, s.cardholders)
}

/// The same application seen `secs` seconds after t0.
fn at(app: &App, secs: i64) -> App {
    app.with_clock(Arc::new(FixedClock(t0() + Duration::seconds(secs))))
}

fn card_login(app: &App, terminal: &str, h: &SampleCardholder) -> (Started, KioskSession) {
    let st = kiosk::insert(
        app,
        terminal,
        &TypedCardReader {
            typed: h.card_no.clone().unwrap(),
        },
    )
    .unwrap();
    let s = kiosk::enter_pin(app, &st.token, terminal, &h.pin).unwrap();
    (st, s)
}

fn usable(h: &SampleCardholder) -> bool {
    h.usable && h.card_status == "active" && h.card_kind == "regular" && h.card_no.is_some()
}

fn wrong_pin(h: &SampleCardholder) -> &'static str {
    if h.pin == "000000" {
        "000001"
    } else {
        "000000"
    }
}

fn scenario(url: &str) {
    let (base, holders) = setup(url);
    let app = at(&base, 0);
    let mut pool = holders.iter().filter(|h| usable(h) && h.pin_changed);
    let a = pool.next().unwrap();
    let b = pool.next().unwrap();
    let c = pool.next().unwrap();
    let fresh = holders
        .iter()
        .find(|h| usable(h) && !h.pin_changed)
        .unwrap();
    let card_a = a.card_no.clone().unwrap();

    // Reading the card: refusals.
    let reader = |typed: &str| TypedCardReader {
        typed: typed.into(),
    };
    assert_eq!(
        kiosk::insert(&app, "bad terminal", &reader(&card_a))
            .unwrap_err()
            .code,
        "KIOSK_TERMINAL_INVALID"
    );
    assert_eq!(
        kiosk::insert(&app, "T1", &reader("N12")).unwrap_err().code,
        "CARD_NO_LENGTH"
    );
    assert_eq!(
        kiosk::insert(&app, "T1", &reader("Z99999999"))
            .unwrap_err()
            .code,
        "CARD_NOT_FOUND"
    );
    let id_reader = |typed: &str| TypedIdCardReader {
        typed: typed.into(),
    };
    assert_eq!(
        kiosk::insert(&app, "T1", &id_reader("110105194912310021"))
            .unwrap_err()
            .code,
        "ID_CHECK_CHAR"
    );
    assert_eq!(
        kiosk::insert(&app, "T1", &id_reader("11010519491231002X"))
            .unwrap_err()
            .code,
        "PERSON_NOT_FOUND"
    );

    // Card inserted: the session waits for the PIN, on this terminal only.
    let st = kiosk::insert(&app, "T1", &reader(&card_a)).unwrap();
    assert!(!st.session.ready);
    assert_eq!(st.session.via, "card");
    assert_eq!(st.session.idle_timeout_secs, 60);
    assert!(st.session.holder_name_masked.ends_with('*') || a.name.chars().count() == 1);
    assert_eq!(
        kiosk::session(&app, &st.token, "T1", true)
            .unwrap_err()
            .code,
        "KIOSK_PIN_REQUIRED"
    );
    assert_eq!(
        kiosk::session(&app, &st.token, "T2", false)
            .unwrap_err()
            .code,
        "KIOSK_TERMINAL_MISMATCH"
    );
    assert_eq!(
        kiosk::session(&app, "nope", "T1", false).unwrap_err().code,
        "KIOSK_SESSION_MISSING"
    );
    let pending = kiosk::session(&app, &st.token, "T1", false).unwrap();
    assert_eq!(
        kiosk::change_pin(&app, &st.token, &pending, &a.pin, "135792", "135792")
            .unwrap_err()
            .code,
        "KIOSK_PIN_REQUIRED"
    );
    assert_eq!(
        kiosk::update_contact(&app, &pending, "13800138000", "x")
            .unwrap_err()
            .code,
        "KIOSK_PIN_REQUIRED"
    );

    // Wrong PIN: tries left (shared counter); the right PIN opens the menu.
    let threshold: u32 = if a.region_code == "210200" { 3 } else { 6 };
    let e = kiosk::enter_pin(&app, &st.token, "T1", wrong_pin(a)).unwrap_err();
    assert_eq!(e.code, "PIN_WRONG");
    assert!(
        e.message.contains(&format!("{}", threshold - 1)),
        "{}",
        e.message
    );
    assert_eq!(
        kiosk::enter_pin(&app, &st.token, "T1", "12a")
            .unwrap_err()
            .code,
        "PIN_FORMAT"
    );
    let s = kiosk::enter_pin(&app, &st.token, "T1", &a.pin).unwrap();
    assert!(s.ready);
    assert_eq!(s.holder_name, a.name);

    // Idle expiry, enforced by the server: activity moves the deadline on.
    assert!(kiosk::session(&at(&base, 30), &st.token, "T1", true).is_ok());
    assert!(kiosk::session(&at(&base, 89), &st.token, "T1", true).is_ok());
    assert_eq!(
        kiosk::session(&at(&base, 150), &st.token, "T1", true)
            .unwrap_err()
            .code,
        "KIOSK_SESSION_EXPIRED"
    );
    // …and the session is forgotten.
    assert_eq!(
        kiosk::session(&at(&base, 151), &st.token, "T1", true)
            .unwrap_err()
            .code,
        "KIOSK_SESSION_MISSING"
    );

    // The ID card opens a session too; a new card at the terminal forgets the old session.
    let by_id = kiosk::insert(&app, "T1", &id_reader(&a.id_number)).unwrap();
    assert_eq!(by_id.session.via, "id_card");
    assert_eq!(by_id.session.card_no, card_a);
    let (st_a, s_a) = card_login(&app, "T1", a);
    assert_eq!(
        kiosk::session(&app, &by_id.token, "T1", false)
            .unwrap_err()
            .code,
        "KIOSK_SESSION_MISSING"
    );

    // 退卡 ends the session.
    kiosk::end(&app, &st_a.token, EndReason::TakeCard).unwrap();
    assert_eq!(
        kiosk::session(&app, &st_a.token, "T1", true)
            .unwrap_err()
            .code,
        "KIOSK_SESSION_MISSING"
    );
    kiosk::end(&app, &st_a.token, EndReason::TakeCard).unwrap();
    let _ = s_a;

    // Lock: the last wrong try ends the session and says where to unlock.
    let threshold_b: u32 = if b.region_code == "210200" { 3 } else { 6 };
    let st_b = kiosk::insert(&app, "T3", &reader(b.card_no.as_ref().unwrap())).unwrap();
    for k in 1..threshold_b {
        let e = kiosk::enter_pin(&app, &st_b.token, "T3", wrong_pin(b)).unwrap_err();
        assert_eq!(e.code, "PIN_WRONG", "try {k}");
    }
    let e = kiosk::enter_pin(&app, &st_b.token, "T3", wrong_pin(b)).unwrap_err();
    assert_eq!(e.code, "PIN_LOCKED");
    assert!(e.message.contains("身份证件"), "{}", e.message);
    assert!(e.message.contains("12333"), "{}", e.message);
    assert_eq!(
        kiosk::session(&app, &st_b.token, "T3", false)
            .unwrap_err()
            .code,
        "KIOSK_SESSION_MISSING"
    );
    // A locked card is refused as soon as it is read.
    assert_eq!(
        kiosk::insert(&app, "T3", &reader(b.card_no.as_ref().unwrap()))
            .unwrap_err()
            .code,
        "PIN_LOCKED"
    );

    // PIN change: confirmation, weak PINs, then the new PIN works.
    let (st_c, s_c) = card_login(&app, "T4", c);
    assert_eq!(
        kiosk::change_pin(&app, &st_c.token, &s_c, &c.pin, "135792", "135793")
            .unwrap_err()
            .code,
        "PIN_CONFIRM_MISMATCH"
    );
    assert_eq!(
        kiosk::change_pin(&app, &st_c.token, &s_c, &c.pin, "222222", "222222")
            .unwrap_err()
            .code,
        "PIN_WEAK_REPEATED"
    );
    assert_eq!(
        kiosk::change_pin(&app, &st_c.token, &s_c, wrong_pin(c), "135792", "135792")
            .unwrap_err()
            .code,
        "PIN_WRONG"
    );
    let new_pin = if c.pin == "135792" {
        "246813"
    } else {
        "135792"
    };
    assert!(
        kiosk::change_pin(&app, &st_c.token, &s_c, &c.pin, new_pin, new_pin)
            .unwrap()
            .pin_changed
    );
    let st_c2 = kiosk::insert(&app, "T4", &reader(c.card_no.as_ref().unwrap())).unwrap();
    assert_eq!(
        kiosk::enter_pin(&app, &st_c2.token, "T4", &c.pin)
            .unwrap_err()
            .code,
        "PIN_WRONG"
    );
    let s_c = kiosk::enter_pin(&app, &st_c2.token, "T4", new_pin).unwrap();

    // Own phone and address.
    for (phone, address, code) in [
        ("12345", "内江市东兴区汉渝大道1号", "PHONE_INVALID"),
        ("12800138000", "内江市东兴区汉渝大道1号", "PHONE_INVALID"),
        ("13800138000", "   ", "ADDRESS_EMPTY"),
        ("13800138000", &"路".repeat(101), "ADDRESS_TOO_LONG"),
        ("13800138000", "内江\u{7}市", "ADDRESS_INVALID"),
    ] {
        assert_eq!(
            kiosk::update_contact(&app, &s_c, phone, address)
                .unwrap_err()
                .code,
            code
        );
    }
    let v = kiosk::update_contact(&app, &s_c, "138 0013-8000", "内江市东兴区汉渝大道1号").unwrap();
    assert!(v.changed);
    assert_eq!(v.phone, "13800138000");
    assert_eq!(v.phone_masked, "138****8000");
    let now = kiosk::contact(&app, &s_c).unwrap();
    assert_eq!(now.address, "内江市东兴区汉渝大道1号");
    assert!(
        !kiosk::update_contact(&app, &s_c, "13800138000", "内江市东兴区汉渝大道1号")
            .unwrap()
            .changed
    );

    // Rights record PDF.
    let pdf = kiosk::rights::rights_record_pdf(&app, &s_c).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");

    // Loss pre-report: needs an enabled PIN; afterwards the inserted card is refused but the
    // ID card still gets in.
    let (st_f, s_f) = card_login(&app, "T5", fresh);
    assert_eq!(
        kiosk::report_loss(&app, &st_f.token, &s_f, &fresh.pin)
            .unwrap_err()
            .code,
        "PIN_NOT_ENABLED_USE_AGENT"
    );
    let r = kiosk::report_loss(&app, &st_c2.token, &s_c, new_pin).unwrap();
    assert_eq!(r.card.status, "temporary_loss");
    assert!(r.expires_at.is_some());
    assert_eq!(
        kiosk::insert(&app, "T4", &reader(c.card_no.as_ref().unwrap()))
            .unwrap_err()
            .code,
        "CARD_LOST"
    );
    let st = kiosk::insert(&app, "T4", &id_reader(&c.id_number)).unwrap();
    assert_eq!(st.session.card_status, "temporary_loss");
    kiosk::enter_pin(&app, &st.token, "T4", new_pin).unwrap();

    // Flexible-employment contribution levels: only for flexible contributors. A clerk finds
    // one in the demo population and resets the card's PIN to one we know.
    let clerk = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: String::new(),
        channel: Channel::Counter,
    };
    let flex_holder = (1..=400)
        .find_map(|id| {
            let r = records::person_records(&app, &clerk, id).ok()?;
            r.enrolments
                .iter()
                .any(|e| e.scheme == "flexible" && e.status == "active")
                .then_some(())?;
            let d = persons::detail_by_ref(&app, &clerk, id).ok()?;
            let card = d
                .cards
                .iter()
                .find(|c| c.card.status == "active" && c.card.kind == "regular")?;
            (d.person.life_status == "normal" && !card.card.pin_locked).then(|| {
                (
                    d.person.doc_number.clone(),
                    card.card.card_no.clone().unwrap(),
                )
            })
        })
        .expect("a flexible-employment contributor with an active card in the demo data");
    pin::reset(&app, &clerk, &flex_holder.1, &flex_holder.0, Some("135790")).unwrap();
    let st = kiosk::insert(&app, "T6", &reader(&flex_holder.1)).unwrap();
    let fs = kiosk::enter_pin(&app, &st.token, "T6", "135790").unwrap();
    let opts = kiosk::flexible_options(&app, &fs).unwrap();
    let employee = [&s_c, &s_f]
        .into_iter()
        .find(|s| kiosk::flexible_options(&app, s).is_err())
        .expect("a holder who is not a flexible contributor");
    assert_eq!(
        kiosk::flexible_options(&app, employee).unwrap_err().code,
        "NOT_FLEXIBLE_CONTRIBUTOR"
    );
    assert_eq!(
        kiosk::choose_flexible_level(&app, employee, 500_000)
            .unwrap_err()
            .code,
        "NOT_FLEXIBLE_CONTRIBUTOR"
    );
    assert_eq!(opts.year, 2027);
    assert!(opts.levels_fen.len() >= 2);
    assert!(opts.current_base_fen.is_some());
    assert_eq!(opts.chosen_fen, None);
    assert_eq!(
        kiosk::choose_flexible_level(&app, &fs, opts.levels_fen[0] + 1)
            .unwrap_err()
            .code,
        "FLEXIBLE_LEVEL_INVALID"
    );
    let chosen = kiosk::choose_flexible_level(&app, &fs, opts.levels_fen[1]).unwrap();
    assert_eq!(chosen.chosen_fen, Some(opts.levels_fen[1]));
    let again = kiosk::choose_flexible_level(&app, &fs, opts.levels_fen[0]).unwrap();
    assert_eq!(again.chosen_fen, Some(opts.levels_fen[0]));
    assert_eq!(
        kiosk::flexible_options(&app, &fs).unwrap().chosen_fen,
        Some(opts.levels_fen[0])
    );

    // A deceased holder's card is refused.
    if let Some(d) = holders
        .iter()
        .find(|h| h.card_status == "holder_deceased" && h.card_no.is_some())
    {
        assert_eq!(
            kiosk::insert(&app, "T7", &reader(d.card_no.as_ref().unwrap()))
                .unwrap_err()
                .code,
            "PERSON_DECEASED"
        );
    }

    assert!(
        sscard_service::audit::verify(&app)
            .unwrap()
            .first_broken
            .is_none()
    );
}

#[test]
fn kiosk_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn kiosk_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
