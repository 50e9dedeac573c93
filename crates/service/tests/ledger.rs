//! The ledger: idempotent transfers, no overdraft, two-phase reservations, monthly posting.
//! Runs on SQLite and PostgreSQL.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sscard_domain::clock::FixedClock;
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::ledger::{self, TransferRequest};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};
use sscard_store::{Store, params};

struct World {
    app: App,
    personal: i64,
    clearing: i64,
    balance: i64,
}

fn setup(url: &str) -> World {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![2; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let app = app.with_clock(std::sync::Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap(),
    )));
    demo::generate(
        &app,
        &DemoOptions {
            persons: 300,
            seed: 5,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    let store = Store::open(url).unwrap();
    let (personal, balance, clearing) = store
        .read(|tx| {
            let r = tx.query_one(
                "SELECT a.id, a.balance_fen, c.id FROM accounts a
                 JOIN accounts c ON c.kind = 'institution_clearing' AND c.region_code = a.region_code
                 WHERE a.kind = 'medical_personal' AND a.balance_fen > 100000 ORDER BY a.id, c.id LIMIT 1",
                &[],
                "account",
            )?;
            Ok::<_, sscard_store::StoreError>((r.i64(0)?, r.i64(1)?, r.i64(2)?))
        })
        .unwrap();
    World {
        app,
        personal,
        clearing,
        balance,
    }
}

fn req(w: &World, id: &str, amount: i64) -> TransferRequest {
    TransferRequest {
        client_id: id.into(),
        debit_account: w.personal,
        credit_account: w.clearing,
        amount_fen: amount,
        kind: "settlement".into(),
        reason_code: String::new(),
        memo: "门诊".into(),
    }
}

fn balance(w: &World, url: &str) -> (i64, i64) {
    let store = Store::open(url).unwrap();
    store
        .read(|tx| sscard_store::repo::ledger::account_balance(tx, w.personal))
        .unwrap()
}

fn invariants(w: &World) {
    assert_eq!(ledger::check_invariants(&w.app).unwrap(), vec![]);
}

fn scenario(url: &str) {
    let w = setup(url);
    invariants(&w);
    // Idempotent by client id.
    let first = ledger::transfer(&w.app, &req(&w, "t-1", 1_000)).unwrap();
    assert!(!first.replayed);
    let again = ledger::transfer(&w.app, &req(&w, "t-1", 1_000)).unwrap();
    assert!(again.replayed);
    assert_eq!(again.transfer_id, first.transfer_id);
    assert_eq!(
        ledger::transfer(&w.app, &req(&w, "t-1", 1_001))
            .unwrap_err()
            .code,
        "TRANSFER_ID_CONFLICT"
    );
    assert_eq!(balance(&w, url).0, w.balance - 1_000);
    // Never negative; refused transfers leave nothing behind.
    let all = w.balance - 1_000;
    assert_eq!(
        ledger::transfer(&w.app, &req(&w, "t-2", all + 1))
            .unwrap_err()
            .code,
        "INSUFFICIENT_BALANCE"
    );
    assert_eq!(
        ledger::transfer(&w.app, &req(&w, "t-3", 0))
            .unwrap_err()
            .code,
        "AMOUNT_INVALID"
    );
    invariants(&w);
    // Two-phase: the reservation is checked when made, and holds the money.
    let hold = ledger::reserve(&w.app, &req(&w, "p-1", 50_000), Duration::minutes(30)).unwrap();
    assert_eq!(hold.status, "pending");
    assert_eq!(balance(&w, url), (all, 50_000));
    assert_eq!(
        ledger::reserve(
            &w.app,
            &req(&w, "p-2", all - 50_000 + 1),
            Duration::minutes(30)
        )
        .unwrap_err()
        .code,
        "INSUFFICIENT_BALANCE"
    );
    assert_eq!(
        ledger::transfer(&w.app, &req(&w, "t-4", all - 50_000 + 1))
            .unwrap_err()
            .code,
        "INSUFFICIENT_BALANCE"
    );
    invariants(&w);
    // Post part of it; the rest is released. Posting twice replays; too much is refused.
    assert_eq!(
        ledger::post_pending(&w.app, "p-1", "p-1-post", Some(50_001))
            .unwrap_err()
            .code,
        "POST_EXCEEDS_RESERVED"
    );
    let posted = ledger::post_pending(&w.app, "p-1", "p-1-post", Some(30_000)).unwrap();
    assert_eq!(posted.amount_fen, 30_000);
    assert!(
        ledger::post_pending(&w.app, "p-1", "p-1-post", Some(30_000))
            .unwrap()
            .replayed
    );
    assert_eq!(
        ledger::post_pending(&w.app, "p-1", "p-1-again", None)
            .unwrap_err()
            .code,
        "PENDING_NOT_OPEN"
    );
    assert_eq!(balance(&w, url), (all - 30_000, 0));
    invariants(&w);
    // Void, and void again.
    ledger::reserve(&w.app, &req(&w, "p-3", 10_000), Duration::minutes(30)).unwrap();
    assert!(!ledger::void_pending(&w.app, "p-3").unwrap().replayed);
    assert!(ledger::void_pending(&w.app, "p-3").unwrap().replayed);
    assert_eq!(
        ledger::post_pending(&w.app, "p-3", "p-3-post", None)
            .unwrap_err()
            .code,
        "PENDING_NOT_OPEN"
    );
    assert_eq!(
        ledger::void_pending(&w.app, "nope").unwrap_err().code,
        "PENDING_NOT_FOUND"
    );
    // Expiry.
    ledger::reserve(&w.app, &req(&w, "p-4", 10_000), Duration::minutes(30)).unwrap();
    let later = w.app.with_clock(std::sync::Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap(),
    )));
    assert_eq!(
        ledger::post_pending(&later, "p-4", "p-4-post", None)
            .unwrap_err()
            .code,
        "PENDING_EXPIRED"
    );
    assert_eq!(ledger::expire_pending(&later).unwrap(), 1);
    assert_eq!(balance(&w, url), (all - 30_000, 0));
    invariants(&w);

    // Monthly contribution posting: October was credited by the demo, November is new.
    let admin = Actor {
        username: "admin".into(),
        role: "admin".into(),
        agency: String::new(),
        channel: Channel::Cli,
    };
    let clerk = Actor {
        role: "clerk".into(),
        ..admin.clone()
    };
    assert_eq!(
        ledger::post_contributions(&w.app, &clerk, "2026-10")
            .unwrap_err()
            .code,
        "FORBIDDEN"
    );
    assert_eq!(
        ledger::post_contributions(&w.app, &admin, "2026-13")
            .unwrap_err()
            .code,
        "MONTH_INVALID"
    );
    let oct = ledger::post_contributions(&w.app, &admin, "2026-10").unwrap();
    assert_eq!(
        oct.transfers, 0,
        "the demo already credited October: {oct:?}"
    );
    // Give November contributions by copying October's rows, then post twice.
    Store::open(url)
        .unwrap()
        .write(|tx| {
            tx.execute(
                "INSERT INTO contributions (person_id, month, employer_id, base_fen, pension_employer_fen,
                     pension_personal_fen, medical_employer_fen, medical_personal_fen,
                     unemployment_employer_fen, unemployment_personal_fen, injury_employer_fen,
                     maternity_employer_fen)
                 SELECT person_id, $1, employer_id, base_fen, pension_employer_fen, pension_personal_fen,
                     medical_employer_fen, medical_personal_fen, unemployment_employer_fen,
                     unemployment_personal_fen, injury_employer_fen, maternity_employer_fen
                 FROM contributions WHERE month = $2",
                params!["2026-11", "2026-10"],
            )
        })
        .unwrap();
    let nov = ledger::post_contributions(&w.app, &admin, "2026-11").unwrap();
    assert!(nov.transfers > 0 && nov.credited_fen > 0, "{nov:?}");
    let nov2 = ledger::post_contributions(&w.app, &admin, "2026-11").unwrap();
    assert_eq!(nov2.transfers, 0);
    assert_eq!(nov2.credited_fen, 0);
    invariants(&w);
    assert!(
        sscard_service::audit::verify(&w.app)
            .unwrap()
            .first_broken
            .is_none()
    );
}

#[test]
fn ledger_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn ledger_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
