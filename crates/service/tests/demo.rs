//! The demo population: deterministic, consistent, and covering every card state. Runs on
//! SQLite and on PostgreSQL.

use std::collections::HashSet;

use chrono::NaiveDate;
use sscard_domain::card::CardStatus;
use sscard_domain::ids::IdNumber;
use sscard_service::demo::{self, DemoOptions, DemoSamples};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig, audit, ledger};

fn open(url: &str) -> App {
    App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![42; 32]).unwrap()),
        ..Default::default()
    })
    .expect("open app")
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn generate(app: &App, persons: u64, seed: u64) -> DemoSamples {
    let opts = DemoOptions {
        persons,
        seed,
        as_of: as_of(),
    };
    demo::generate(app, &opts, &|_, _| {}).expect("demo generates")
}

fn check(app: &App, samples: &DemoSamples, persons: u64) {
    let stats = app.stats().unwrap();
    assert_eq!(stats.persons as u64, persons);
    // Every lifecycle state is present in the data.
    let present: HashSet<String> = stats
        .cards_by_status
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    for s in CardStatus::ALL {
        assert!(
            present.contains(s.as_str()),
            "no card in state {}",
            s.as_str()
        );
    }
    // Samples: usable cards with changed and with initial PINs, and each other state.
    let statuses: HashSet<&str> = samples
        .cardholders
        .iter()
        .map(|c| c.card_status.as_str())
        .collect();
    for s in CardStatus::ALL.iter().filter(|s| **s != CardStatus::Active) {
        assert!(
            statuses.contains(s.as_str()),
            "no sample in state {}",
            s.as_str()
        );
    }
    let active: Vec<_> = samples
        .cardholders
        .iter()
        .filter(|c| c.card_status == "active")
        .collect();
    assert!(active.iter().any(|c| c.pin_changed) && active.iter().any(|c| !c.pin_changed));
    assert!(active.iter().any(|c| c.query_password_changed));
    for c in &samples.cardholders {
        IdNumber::parse(&c.id_number, as_of()).expect("sample ID numbers are valid");
        assert_eq!(c.pin.len(), 6);
        assert!(c.medical_balance_fen >= 0);
        if c.card_status == "active" {
            assert!(c.card_no.as_deref().is_some_and(|n| n.len() == 9));
            assert!(
                c.usable && !c.pin_locked && c.life_status == "normal",
                "{c:?}"
            );
        } else {
            assert!(!c.usable, "{c:?}");
        }
    }
    let roles: HashSet<&str> = samples.staff.iter().map(|s| s.role.as_str()).collect();
    for r in ["clerk", "supervisor", "phone_agent", "admin", "auditor"] {
        assert!(roles.contains(r), "no staff with role {r}");
    }
    assert!(samples.institutions.iter().any(|i| i.kind == "hospital"));
    assert!(samples.institutions.iter().any(|i| i.kind == "pharmacy"));
    // Balances equal their ledger entries; double entry holds.
    assert_eq!(ledger::check_invariants(app).unwrap(), vec![]);
    // The audit chain verifies.
    let report = audit::verify(app).unwrap();
    assert!(report.first_broken.is_none(), "{report:?}");
    assert!(report.rows >= 2);
}

#[test]
fn demo_on_sqlite_is_consistent_and_deterministic() {
    let (_d1, url1) = sscard_testkit::sqlite_url();
    let (_d2, url2) = sscard_testkit::sqlite_url();
    let a = open(&url1);
    let s1 = generate(&a, 3000, 7);
    check(&a, &s1, 3000);
    let b = open(&url2);
    let s2 = generate(&b, 3000, 7);
    assert_eq!(s1.cardholders, s2.cardholders, "same seed, same people");
    assert_eq!(s1.counts, s2.counts);
    // A second run on a filled database is refused.
    let again = demo::generate(
        &a,
        &DemoOptions {
            persons: 10,
            seed: 1,
            as_of: as_of(),
        },
        &|_, _| {},
    );
    assert_eq!(again.unwrap_err().code, "DEMO_NOT_EMPTY");
    // A different seed gives different people.
    let (_d3, url3) = sscard_testkit::sqlite_url();
    let c = open(&url3);
    let s3 = generate(&c, 500, 8);
    assert_ne!(s1.cardholders[0].id_number, s3.cardholders[0].id_number);
}

#[test]
fn demo_on_postgres_is_consistent() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    let app = open(&url);
    let samples = generate(&app, 3000, 7);
    check(&app, &samples, 3000);
}
