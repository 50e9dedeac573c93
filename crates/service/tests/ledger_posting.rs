//! Monthly contribution posting: who is credited, how much, from where, exactly once.
//! Runs on SQLite and PostgreSQL.

use chrono::{NaiveDate, TimeZone, Utc};
use sscard_domain::clock::FixedClock;
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::ledger::{self, TransferRequest};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};
use sscard_store::repo::{ledger as repo, regions};
use sscard_store::{Store, params};

const MONTH: &str = "2026-11";

fn admin() -> Actor {
    Actor {
        username: "admin".into(),
        role: "admin".into(),
        agency: String::new(),
        channel: Channel::Cli,
    }
}

fn open(url: &str) -> App {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![3; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let app = app.with_clock(std::sync::Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 12, 5, 2, 0, 0).unwrap(),
    )));
    demo::generate(
        &app,
        &DemoOptions {
            persons: 300,
            seed: 9,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    app
}

/// A person's November contribution: a copy of their October row, or a flexible worker's row
/// with `base` when they had none.
fn contribute(store: &Store, person: i64, base: i64) {
    store
        .write(|tx| {
            let copied = tx.execute(
                "INSERT INTO contributions (person_id, month, employer_id, base_fen,
                     pension_employer_fen, pension_personal_fen, medical_employer_fen,
                     medical_personal_fen, unemployment_employer_fen, unemployment_personal_fen,
                     injury_employer_fen, maternity_employer_fen)
                 SELECT person_id, $1, employer_id, base_fen, pension_employer_fen,
                     pension_personal_fen, medical_employer_fen, medical_personal_fen,
                     unemployment_employer_fen, unemployment_personal_fen, injury_employer_fen,
                     maternity_employer_fen
                 FROM contributions WHERE person_id = $2 AND month = '2026-10'",
                params![MONTH, person],
            )?;
            if copied == 0 {
                tx.execute(
                    "INSERT INTO contributions (person_id, month, employer_id, base_fen,
                         pension_employer_fen, pension_personal_fen, medical_employer_fen,
                         medical_personal_fen, unemployment_employer_fen,
                         unemployment_personal_fen, injury_employer_fen, maternity_employer_fen)
                     VALUES ($1, $2, NULL, $3, 0, 0, 0, 0, 0, 0, 0, 0)",
                    params![person, MONTH, base],
                )?;
            }
            Ok::<_, sscard_store::StoreError>(())
        })
        .unwrap();
}

/// (person, region, October base) of every October contributor, by person id.
fn october(store: &Store) -> Vec<(i64, String, i64)> {
    store
        .read(|tx| {
            tx.query(
                "SELECT c.person_id, p.region_code, c.base_fen FROM contributions c
                 JOIN persons p ON p.id = c.person_id
                 WHERE c.month = '2026-10' ORDER BY c.person_id",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.i64(0)?, r.text(1)?, r.i64(2)?)))
            .collect::<Result<Vec<_>, sscard_store::StoreError>>()
        })
        .unwrap()
}

fn rate_bp(store: &Store, region: &str) -> i64 {
    let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    store
        .read(|tx| regions::policy_in_force(tx, region, day))
        .unwrap()
        .map(|p| i64::from(p.medical_account_rate_bp))
        .unwrap()
}

fn account(store: &Store, person: i64) -> Option<i64> {
    store
        .read(|tx| repo::person_account(tx, person, "medical_personal"))
        .unwrap()
}

fn balance(store: &Store, account: i64) -> i64 {
    store
        .read(|tx| repo::account_balance(tx, account))
        .unwrap()
        .0
}

fn income(store: &Store, region: &str) -> i64 {
    store
        .read(|tx| repo::fund_account(tx, region, "contribution_income"))
        .unwrap()
        .unwrap()
}

fn credits(store: &Store, account: i64) -> Vec<(i64, String)> {
    store
        .read(|tx| {
            tx.query(
                "SELECT amount_fen, client_id FROM transfers
                 WHERE credit_account = $1 AND kind = 'contribution' AND period = $2",
                params![account, MONTH],
            )?
            .iter()
            .map(|r| Ok((r.i64(0)?, r.text(1)?)))
            .collect::<Result<Vec<_>, sscard_store::StoreError>>()
        })
        .unwrap()
}

fn scenario(url: &str) {
    let app = open(url);
    let store = Store::open(url).unwrap();
    let contributors = october(&store);
    assert!(contributors.len() > 20, "{}", contributors.len());
    // Everyone who contributed in October contributes in November, except `absent`; `newcomer`
    // (no contribution record, no medical account) starts contributing; `taken` finds the
    // client id of its credit used by another transfer.
    let (absent, absent_region, absent_base) = contributors[0].clone();
    let (taken, _, _) = contributors[1].clone();
    let newcomer = store
        .read(|tx| {
            tx.query_i64(
                "SELECT min(p.id) FROM persons p WHERE NOT EXISTS (SELECT 1 FROM accounts a
                     WHERE a.person_id = p.id AND a.kind = 'medical_personal')
                   AND NOT EXISTS (SELECT 1 FROM contributions c WHERE c.person_id = p.id)",
                &[],
            )
        })
        .unwrap();
    assert!(account(&store, newcomer).is_none());
    for (person, _, _) in &contributors[1..] {
        contribute(&store, *person, 0);
    }
    contribute(&store, newcomer, 500_000);
    let newcomer_region = store
        .read(|tx| {
            tx.query_one(
                "SELECT region_code FROM persons WHERE id = $1",
                params![newcomer],
                "person",
            )?
            .text(0)
        })
        .unwrap();
    let taken_account = account(&store, taken).unwrap();
    let taken_balance = balance(&store, taken_account);
    let clearing = store
        .read(|tx| {
            tx.query_i64(
                "SELECT min(id) FROM accounts WHERE kind = 'institution_clearing'",
                &[],
            )
        })
        .unwrap();
    let region_of = |p: i64| {
        contributors
            .iter()
            .find(|c| c.0 == p)
            .map(|c| c.1.clone())
            .unwrap()
    };
    let taken_income = income(&store, &region_of(taken));
    ledger::transfer(
        &app,
        &TransferRequest {
            client_id: format!("contrib:{taken}:{MONTH}"),
            debit_account: taken_income,
            credit_account: clearing,
            amount_fen: 1,
            kind: "adjustment".into(),
            reason_code: "TEST".into(),
            memo: String::new(),
        },
    )
    .unwrap();

    // Expected credits: base × the region's rate, rounded down, when positive.
    let mut expected: Vec<(i64, String, i64)> = contributors[2..]
        .iter()
        .map(|(p, r, b)| (*p, r.clone(), b * rate_bp(&store, r) / 10_000))
        .filter(|c| c.2 > 0)
        .collect();
    expected.push((
        newcomer,
        newcomer_region.clone(),
        500_000 * rate_bp(&store, &newcomer_region) / 10_000,
    ));
    let before: Vec<(i64, i64)> = expected
        .iter()
        .map(|(p, _, _)| {
            let acc = account(&store, *p);
            (*p, acc.map_or(0, |a| balance(&store, a)))
        })
        .collect();
    let region_codes: Vec<String> = store
        .read(|tx| regions::list_regions(tx))
        .unwrap()
        .into_iter()
        .map(|r| r.code)
        .collect();
    let incomes_before: Vec<i64> = region_codes
        .iter()
        .map(|r| balance(&store, income(&store, r)))
        .collect();
    let absent_account = account(&store, absent).unwrap();
    let absent_balance = balance(&store, absent_account);

    let report = ledger::post_contributions(&app, &admin(), MONTH).unwrap();
    let total: i64 = expected.iter().map(|c| c.2).sum();
    assert_eq!(report.transfers, expected.len() as i64, "{report:?}");
    assert_eq!(report.credited_fen, total);
    assert_eq!(report.regions.len(), region_codes.len());
    for (i, code) in region_codes.iter().enumerate() {
        let mine: Vec<_> = expected.iter().filter(|c| &c.1 == code).collect();
        let fen: i64 = mine.iter().map(|c| c.2).sum();
        assert_eq!(
            report.regions[i],
            (code.clone(), mine.len() as i64, fen),
            "{report:?}"
        );
        assert_eq!(
            balance(&store, income(&store, code)),
            incomes_before[i] - fen,
            "income account of {code}"
        );
    }
    for ((p, _, credit), (_, old)) in expected.iter().zip(&before) {
        let acc = account(&store, *p).expect("credited persons have an account");
        assert_eq!(balance(&store, acc), old + credit, "person {p}");
        assert_eq!(
            credits(&store, acc),
            vec![(*credit, format!("contrib:{p}:{MONTH}"))],
            "person {p}"
        );
    }
    // No contribution that month: nothing. Client id taken: not credited, nothing moved.
    assert_eq!(balance(&store, absent_account), absent_balance);
    assert!(credits(&store, absent_account).is_empty());
    assert_eq!(balance(&store, taken_account), taken_balance);
    assert!(credits(&store, taken_account).is_empty());
    assert_eq!(ledger::check_invariants(&app).unwrap(), vec![]);

    // Posting again credits nothing and moves nothing.
    let again = ledger::post_contributions(&app, &admin(), MONTH).unwrap();
    assert_eq!((again.transfers, again.credited_fen), (0, 0), "{again:?}");
    assert!(again.regions.iter().all(|r| r.1 == 0 && r.2 == 0));
    for ((p, _, credit), (_, old)) in expected.iter().zip(&before) {
        let acc = account(&store, *p).unwrap();
        assert_eq!(
            balance(&store, acc),
            old + credit,
            "person {p} after a second run"
        );
    }

    // A late contribution record is credited by the next run, and only it.
    contribute(&store, absent, 0);
    let late = ledger::post_contributions(&app, &admin(), MONTH).unwrap();
    let credit = absent_base * rate_bp(&store, &absent_region) / 10_000;
    assert_eq!((late.transfers, late.credited_fen), (1, credit), "{late:?}");
    assert_eq!(balance(&store, absent_account), absent_balance + credit);
    assert_eq!(ledger::check_invariants(&app).unwrap(), vec![]);
    let audited = store
        .read(|tx| {
            tx.query_i64(
                "SELECT count(*) FROM audit_log WHERE action = 'ledger.post_contributions'",
                &[],
            )
        })
        .unwrap();
    assert_eq!(audited, 3);
}

#[test]
fn contribution_posting_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn contribution_posting_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
