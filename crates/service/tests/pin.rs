//! The PIN's shared wrong-try counter, lock, change rules and counter-only reset/unlock.

use chrono::NaiveDate;
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::pin::{self, PinChange};
use sscard_service::demo::{self, DemoOptions, SampleCardholder};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};

fn setup(url: &str) -> (App, Vec<SampleCardholder>) {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![1; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 400,
            seed: 3,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (app, s.cardholders)
}

fn who(role: &str, channel: Channel) -> Actor {
    Actor {
        username: format!("{role}1"),
        role: role.into(),
        agency: String::new(),
        channel,
    }
}

fn scenario(url: &str) {
    let (app, holders) = setup(url);
    let c = holders
        .iter()
        .find(|c| c.card_status == "active" && c.pin_changed)
        .unwrap();
    let card = c.card_no.clone().unwrap();
    let kiosk = who("cardholder", Channel::Kiosk);
    let phone = who("cardholder", Channel::Ivr);
    assert!(pin::verify(&app, &kiosk, &card, &c.pin).is_ok());
    assert_eq!(
        pin::verify(&app, &kiosk, &card, "12a").unwrap_err().code,
        "PIN_FORMAT"
    );
    let wrong = if c.pin == "000000" {
        "000001"
    } else {
        "000000"
    };
    // Tries count across channels; a success resets the counter.
    let e = pin::verify(&app, &kiosk, &card, wrong).unwrap_err();
    assert_eq!(e.code, "PIN_WRONG");
    assert!(pin::verify(&app, &phone, &card, &c.pin).is_ok());
    let threshold: u32 = if c.region_code == "210200" { 3 } else { 6 };
    for k in 1..threshold {
        let e =
            pin::verify(&app, if k % 2 == 0 { &kiosk } else { &phone }, &card, wrong).unwrap_err();
        assert_eq!(e.code, "PIN_WRONG");
        assert!(
            e.message.contains(&format!("{}", threshold - k)),
            "{}",
            e.message
        );
    }
    let e = pin::verify(&app, &phone, &card, wrong).unwrap_err();
    assert_eq!(e.code, "PIN_LOCKED");
    // Locked: even the right PIN fails, on every channel.
    assert_eq!(
        pin::verify(&app, &kiosk, &card, &c.pin).unwrap_err().code,
        "PIN_LOCKED"
    );
    // Unlock is counter-only and needs the holder's ID.
    assert_eq!(
        pin::unlock(&app, &phone, &card, &c.id_number)
            .unwrap_err()
            .code,
        "FORBIDDEN"
    );
    let clerk = who("clerk", Channel::Counter);
    assert_eq!(
        pin::unlock(&app, &clerk, &card, "11010519491231002X")
            .unwrap_err()
            .code,
        "ID_MISMATCH"
    );
    pin::unlock(&app, &clerk, &card, &c.id_number).unwrap();
    assert!(pin::verify(&app, &kiosk, &card, &c.pin).is_ok());

    // Initial PIN: changing it by phone needs the ID number; weak PINs are refused.
    let i = holders
        .iter()
        .find(|c| c.card_status == "active" && !c.pin_changed)
        .unwrap();
    let icard = i.card_no.clone().unwrap();
    let req = |new: &str, id: Option<&str>| PinChange {
        old_pin: i.pin.clone(),
        new_pin: new.into(),
        holder_doc_number: id.map(str::to_string),
    };
    assert_eq!(
        pin::change(&app, &phone, &icard, &req("135792", None))
            .unwrap_err()
            .code,
        "ID_REQUIRED"
    );
    assert_eq!(
        pin::change(&app, &phone, &icard, &req("111111", Some(&i.id_number)))
            .unwrap_err()
            .code,
        "PIN_WEAK_REPEATED"
    );
    assert_eq!(
        pin::change(&app, &phone, &icard, &req("345678", Some(&i.id_number)))
            .unwrap_err()
            .code,
        "PIN_WEAK_SEQUENCE"
    );
    let ok = pin::change(&app, &phone, &icard, &req("135792", Some(&i.id_number))).unwrap();
    assert!(ok.pin_changed);
    assert_eq!(
        pin::verify(&app, &kiosk, &icard, &i.pin).unwrap_err().code,
        "PIN_WRONG"
    );
    assert!(pin::verify(&app, &kiosk, &icard, "135792").is_ok());
    // Counter reset back to the initial PIN after an ID check.
    let r = pin::reset(&app, &clerk, &icard, &i.id_number, None).unwrap();
    assert!(!r.pin_changed);
    assert!(pin::verify(&app, &kiosk, &icard, &i.pin).is_ok());
    // Unknown and dead cards.
    assert_eq!(
        pin::verify(&app, &kiosk, "Z99999999", "123456")
            .unwrap_err()
            .code,
        "CARD_NOT_FOUND"
    );
    if let Some(dead) = holders.iter().find(|c| c.card_status == "cancelled") {
        assert_eq!(
            pin::verify(&app, &kiosk, dead.card_no.as_ref().unwrap(), &dead.pin)
                .unwrap_err()
                .code,
            "CARD_DEAD"
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
fn pin_rules_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn pin_rules_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
