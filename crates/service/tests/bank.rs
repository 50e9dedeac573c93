//! The banks' signed API in the service, on both backends: signature, timestamp and nonce
//! checks; bank-side activation, loss and unfreeze never touching the social-security side.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sscard_domain::clock::FixedClock;
use sscard_service::bank::{self, BankCaller};
use sscard_service::demo::{self, DemoOptions, SampleBank};
use sscard_service::secrets::PinKey;
use sscard_service::signing::{self, SignedRequest};
use sscard_service::{App, AppConfig, ServiceError};
use sscard_store::{Store, params};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

fn setup(url: &str) -> (App, Store, Vec<SampleBank>) {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![6; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap()
    .with_clock(Arc::new(FixedClock(now())));
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 300,
            seed: 4,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (app, Store::open(url).unwrap(), s.banks)
}

struct Req {
    key_id: String,
    ts: String,
    nonce: String,
    sig: String,
    path: String,
    body: Vec<u8>,
}

impl Req {
    fn signed(bank: &SampleBank, path: &str, body: &[u8], ts: i64, nonce: &str) -> Req {
        let ts = ts.to_string();
        Req {
            key_id: bank.key_id.clone(),
            sig: signing::sign(&bank.secret, "POST", path, &ts, nonce, body),
            ts,
            nonce: nonce.into(),
            path: path.into(),
            body: body.to_vec(),
        }
    }
    fn auth(&self, app: &App) -> Result<BankCaller, ServiceError> {
        bank::authenticate(
            app,
            &SignedRequest {
                key_id: &self.key_id,
                timestamp: &self.ts,
                nonce: &self.nonce,
                signature: &self.sig,
                method: "POST",
                path: &self.path,
                body: &self.body,
            },
        )
    }
}

fn card_row(store: &Store, card_no: &str) -> (String, String, i64) {
    let r = store
        .read(|tx| {
            tx.query_one(
                "SELECT status, bank_status, id FROM cards WHERE card_no = $1",
                params![card_no],
                "card",
            )
        })
        .unwrap();
    (r.text(0).unwrap(), r.text(1).unwrap(), r.i64(2).unwrap())
}

fn scenario(url: &str) {
    let (app, store, banks) = setup(url);
    assert_eq!(banks.len(), 5);
    let row = store
        .read(|tx| {
            tx.query_one(
                "SELECT c.card_no, b.code FROM cards c JOIN banks b ON b.id = c.bank_id
                 WHERE c.bank_status = 'opened' AND c.status = 'active' ORDER BY c.id LIMIT 1",
                &[],
                "card",
            )
        })
        .unwrap();
    let (card_no, bank_code) = (row.text(0).unwrap(), row.text(1).unwrap());
    let mine = banks.iter().find(|b| b.code == bank_code).unwrap();
    let other = banks.iter().find(|b| b.code != bank_code).unwrap();
    let path = format!("/api/v1/bank/cards/{card_no}/activate");
    let t = now().timestamp();

    // Signature checks.
    let good = Req::signed(mine, &path, b"{}", t, "nonce-0001");
    let mut bad = Req::signed(mine, &path, b"{}", t, "nonce-0002");
    bad.body = b"{\"x\":1}".to_vec();
    assert_eq!(bad.auth(&app).unwrap_err().code, "SIGNATURE_INVALID");
    let mut unknown = Req::signed(mine, &path, b"{}", t, "nonce-0003");
    unknown.key_id = "BANK-NOPE".into();
    assert_eq!(unknown.auth(&app).unwrap_err().code, "SIGNATURE_INVALID");
    let wrong_key = Req::signed(other, &path, b"{}", t, "nonce-0004");
    let mut forged = wrong_key;
    forged.key_id = mine.key_id.clone();
    assert_eq!(forged.auth(&app).unwrap_err().code, "SIGNATURE_INVALID");
    let short_nonce = Req::signed(mine, &path, b"{}", t, "n1");
    assert_eq!(
        short_nonce.auth(&app).unwrap_err().code,
        "SIGNATURE_INVALID"
    );
    let stale = Req::signed(mine, &path, b"{}", t - 301, "nonce-0005");
    assert_eq!(stale.auth(&app).unwrap_err().code, "TIMESTAMP_STALE");
    let future = Req::signed(mine, &path, b"{}", t + 301, "nonce-0006");
    assert_eq!(future.auth(&app).unwrap_err().code, "TIMESTAMP_STALE");
    assert!(
        Req::signed(mine, &path, b"{}", t - 299, "nonce-0007")
            .auth(&app)
            .is_ok()
    );
    let caller = good.auth(&app).unwrap();
    assert_eq!(caller.code, bank_code);
    assert_eq!(good.auth(&app).unwrap_err().code, "NONCE_REUSED");
    // Another bank's key is fine for the nonce space (nonces are per key).
    let other_caller = Req::signed(other, &path, b"{}", t, "nonce-0001")
        .auth(&app)
        .unwrap();

    // Operations.
    let (status, bstat, id) = card_row(&store, &card_no);
    assert_eq!(bstat, "opened");
    assert_eq!(
        bank::activate(&app, &other_caller, &card_no)
            .unwrap_err()
            .code,
        "CARD_NOT_FOUND"
    );
    assert_eq!(
        bank::activate(&app, &caller, "Z99999999").unwrap_err().code,
        "CARD_NOT_FOUND"
    );
    assert_eq!(
        bank::activate(&app, &caller, "12").unwrap_err().code,
        "CARD_NO_LENGTH"
    );
    assert_eq!(
        bank::unfreeze(&app, &caller, &card_no).unwrap_err().code,
        "BANK_STATUS"
    );
    let v = bank::activate(&app, &caller, &card_no).unwrap();
    assert_eq!(
        (v.status.as_str(), v.bank_status.as_str()),
        ("active", "active")
    );
    assert_eq!(
        bank::activate(&app, &caller, &card_no).unwrap_err().code,
        "BANK_STATUS"
    );
    let v = bank::report_loss(&app, &caller, &card_no, true).unwrap();
    assert_eq!(v.bank_status, "lost");
    // The social-security side is not touched.
    assert_eq!(card_row(&store, &card_no).0, status);
    let reports = |store: &Store| {
        store
            .read(|tx| {
                tx.query(
                    "SELECT side, kind, status FROM loss_reports WHERE card_id = $1 ORDER BY id",
                    params![id],
                )
            })
            .unwrap()
            .iter()
            .map(|r| (r.text(0).unwrap(), r.text(1).unwrap(), r.text(2).unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        reports(&store),
        vec![("bank".into(), "written".into(), "active".into())]
    );
    assert_eq!(
        bank::report_loss(&app, &caller, &card_no, false)
            .unwrap_err()
            .code,
        "BANK_STATUS"
    );
    let v = bank::unfreeze(&app, &caller, &card_no).unwrap();
    assert_eq!(v.bank_status, "active");
    assert_eq!(
        reports(&store),
        vec![("bank".into(), "written".into(), "lifted".into())]
    );
    assert_eq!(card_row(&store, &card_no).0, status);
    // Timeline and audit: every bank operation is recorded with the bank as actor.
    let n = store
        .read(|tx| {
            tx.query_i64(
                "SELECT count(*) FROM audit_log WHERE role = 'bank' AND channel = 'bank'
                 AND action IN ('card.bank_activate', 'card.bank_loss', 'card.bank_unfreeze')",
                &[],
            )
        })
        .unwrap();
    assert_eq!(n, 3);

    // A cancelled card's bank side is closed: the bank can do nothing with it.
    let dead = store
        .read(|tx| {
            tx.query_one(
                "SELECT c.card_no, b.code FROM cards c JOIN banks b ON b.id = c.bank_id
                 WHERE c.status = 'cancelled' AND c.card_no IS NOT NULL ORDER BY c.id LIMIT 1",
                &[],
                "card",
            )
        })
        .unwrap();
    let dead_bank = banks
        .iter()
        .find(|b| b.code == dead.text(1).unwrap())
        .unwrap();
    let dead_caller = Req::signed(dead_bank, &path, b"", t, "nonce-dead-1")
        .auth(&app)
        .unwrap();
    assert_eq!(
        bank::unfreeze(&app, &dead_caller, &dead.text(0).unwrap())
            .unwrap_err()
            .code,
        "BANK_STATUS"
    );
    assert!(
        sscard_service::audit::verify(&app)
            .unwrap()
            .first_broken
            .is_none()
    );
}

#[test]
fn bank_api_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn bank_api_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
