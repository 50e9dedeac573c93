//! Payouts from the medical personal account (冲卡提款, 转移出, 离职退还) on SQLite and
//! PostgreSQL: every refusal with its code, the supervisor's approval, idempotency by client
//! id, the balances moved, the audit rows and the ledger invariants.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sscard_domain::clock::FixedClock;
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::approval::SupervisorApproval;
use sscard_service::cards::death::{self, DeathRecord};
use sscard_service::demo::{self, DemoOptions, DemoSamples};
use sscard_service::ledger::{self, TransferRequest};
use sscard_service::payouts::{self, PayoutKind, PayoutRequest};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig, ServiceError};
use sscard_store::{Store, StoreError, params};

struct Env {
    app: App,
    store: Store,
    samples: DemoSamples,
}

/// A living person with a medical personal account.
#[derive(Debug, Clone)]
struct Person {
    id: i64,
    doc: String,
    region: String,
    account: i64,
}

fn setup(url: &str) -> Env {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![6; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap()
    .with_clock(Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap(),
    )));
    let samples = demo::generate(
        &app,
        &DemoOptions {
            persons: 200,
            seed: 17,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    Env {
        app,
        store: Store::open(url).unwrap(),
        samples,
    }
}

fn actor(username: &str, role: &str) -> Actor {
    Actor {
        username: username.into(),
        role: role.into(),
        agency: "NJ-CARD".into(),
        channel: Channel::Counter,
    }
}

fn clerk() -> Actor {
    actor("clerk1", "clerk")
}

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code
}

impl Env {
    /// Living persons (citizen ID) whose settled medical personal account holds more than
    /// 1 000 yuan, in id order.
    fn people(&self, n: i64) -> Vec<Person> {
        self.store
            .read(|tx| {
                tx.query(
                    "SELECT p.id, p.doc_number, p.region_code, a.id FROM persons p
                     JOIN accounts a ON a.person_id = p.id AND a.kind = 'medical_personal'
                     WHERE p.life_status = 'normal' AND p.doc_type = 'citizen_id'
                       AND a.balance_fen > 100000 AND a.reserved_fen = 0
                     ORDER BY p.id LIMIT $1",
                    params![n],
                )
            })
            .unwrap()
            .iter()
            .map(|r| Person {
                id: r.i64(0).unwrap(),
                doc: r.text(1).unwrap(),
                region: r.text(2).unwrap(),
                account: r.i64(3).unwrap(),
            })
            .collect()
    }

    fn approval(&self, username: &str) -> SupervisorApproval {
        SupervisorApproval {
            username: username.into(),
            password: self
                .samples
                .staff
                .iter()
                .find(|s| s.username == username)
                .unwrap()
                .password
                .clone(),
        }
    }

    /// (balance, reserved) of an account.
    fn account(&self, id: i64) -> (i64, i64) {
        self.store
            .read(|tx| sscard_store::repo::ledger::account_balance(tx, id))
            .unwrap()
    }

    fn cash_payout(&self, region: &str) -> i64 {
        self.store
            .read(|tx| {
                sscard_store::repo::ledger::fund_account(tx, region, "cash_payout")?
                    .map(|a| sscard_store::repo::ledger::account_balance(tx, a).map(|b| b.0))
                    .transpose()
            })
            .unwrap()
            .unwrap_or(0)
    }

    /// Everything a refused payout must leave alone: transfers, audit rows, every balance.
    fn snapshot(&self) -> (i64, i64, i64, i64) {
        self.store
            .read(|tx| {
                Ok::<_, StoreError>((
                    tx.query_i64("SELECT count(*) FROM transfers", &[])?,
                    tx.query_i64(
                        "SELECT count(*) FROM audit_log WHERE action = 'ledger.payout'",
                        &[],
                    )?,
                    tx.query_i64(
                        "SELECT CAST(COALESCE(sum(abs(balance_fen)), 0) AS BIGINT) FROM accounts",
                        &[],
                    )?,
                    tx.query_i64(
                        "SELECT CAST(COALESCE(sum(reserved_fen), 0) AS BIGINT) FROM accounts",
                        &[],
                    )?,
                ))
            })
            .unwrap()
    }

    fn invariants(&self) {
        assert_eq!(ledger::check_invariants(&self.app).unwrap(), vec![]);
    }
}

fn request(p: &Person, env: &Env, kind: PayoutKind, client_id: &str, slip: &str) -> PayoutRequest {
    PayoutRequest {
        client_id: client_id.into(),
        person_ref: p.id,
        kind,
        presented_doc_number: p.doc.clone(),
        amount_fen: None,
        slip_no: slip.into(),
        note: String::new(),
        destination_region: None,
        approval: env.approval("super1"),
    }
}

/// A destination outside the person's pooling region.
fn elsewhere(p: &Person) -> String {
    if p.region == "500000" {
        "511000".into()
    } else {
        "500000".into()
    }
}

fn scenario(url: &str) {
    let env = setup(url);
    let app = &env.app;
    env.invariants();
    let people = env.people(4);
    assert_eq!(people.len(), 4, "the demo has persons with a balance");
    let (a, b, c) = (&people[0], &people[1], &people[2]);
    let (a_balance, _) = env.account(a.account);

    // Refusals of the input, the person and the approval; none changes anything.
    let before = env.snapshot();
    let w = |f: &dyn Fn(&mut PayoutRequest)| {
        let mut r = request(a, &env, PayoutKind::Withdrawal, "w-1", "JS-2026-001");
        r.amount_fen = Some(12_345);
        f(&mut r);
        r
    };
    let refusals: Vec<(&str, Actor, PayoutRequest)> = vec![
        ("FORBIDDEN", actor("agent1", "phone_agent"), w(&|_| {})),
        ("FORBIDDEN", actor("auditor1", "auditor"), w(&|_| {})),
        ("FORBIDDEN", actor("p", "cardholder"), w(&|_| {})),
        (
            "TRANSFER_ID_INVALID",
            clerk(),
            w(&|r| r.client_id = " ".into()),
        ),
        (
            "TRANSFER_ID_INVALID",
            clerk(),
            w(&|r| r.client_id = "x".repeat(65)),
        ),
        (
            "PAYOUT_SLIP_REQUIRED",
            clerk(),
            w(&|r| r.slip_no = "".into()),
        ),
        (
            "PAYOUT_SLIP_INVALID",
            clerk(),
            w(&|r| r.slip_no = "JS 1".into()),
        ),
        (
            "PAYOUT_SLIP_INVALID",
            clerk(),
            w(&|r| r.slip_no = "结算单1".into()),
        ),
        (
            "PAYOUT_SLIP_INVALID",
            clerk(),
            w(&|r| r.slip_no = "A".repeat(41)),
        ),
        (
            "PAYOUT_NOTE_TOO_LONG",
            clerk(),
            w(&|r| r.note = "备".repeat(201)),
        ),
        (
            "PAYOUT_AMOUNT_REQUIRED",
            clerk(),
            w(&|r| r.amount_fen = None),
        ),
        ("AMOUNT_INVALID", clerk(), w(&|r| r.amount_fen = Some(0))),
        ("AMOUNT_INVALID", clerk(), w(&|r| r.amount_fen = Some(-5))),
        (
            "PAYOUT_DESTINATION_UNEXPECTED",
            clerk(),
            w(&|r| r.destination_region = Some("500000".into())),
        ),
        (
            "PAYOUT_DESTINATION_REQUIRED",
            clerk(),
            w(&|r| {
                r.kind = PayoutKind::MigrationOut;
                r.amount_fen = None;
            }),
        ),
        (
            "REGION_CODE_LENGTH",
            clerk(),
            w(&|r| {
                r.kind = PayoutKind::MigrationOut;
                r.destination_region = Some("5000".into());
            }),
        ),
        (
            "REGION_CODE_UNKNOWN",
            clerk(),
            w(&|r| {
                r.kind = PayoutKind::MigrationOut;
                r.destination_region = Some("999999".into());
            }),
        ),
        (
            "PAYOUT_DESTINATION_SAME",
            clerk(),
            w(&|r| {
                r.kind = PayoutKind::MigrationOut;
                r.amount_fen = None;
                r.destination_region = Some(a.region.clone());
            }),
        ),
        (
            "PERSON_NOT_FOUND",
            clerk(),
            w(&|r| r.person_ref = 987_654_321),
        ),
        (
            "ID_MISMATCH",
            clerk(),
            w(&|r| r.presented_doc_number = b.doc.clone()),
        ),
        (
            "INSUFFICIENT_BALANCE",
            clerk(),
            w(&|r| r.amount_fen = Some(a_balance + 1)),
        ),
        (
            "APPROVAL_REQUIRED",
            clerk(),
            w(&|r| r.approval = SupervisorApproval::default()),
        ),
        (
            "APPROVAL_FAILED",
            clerk(),
            w(&|r| r.approval.password = "wrong-password".into()),
        ),
        (
            "APPROVAL_NOT_SUPERVISOR",
            clerk(),
            w(&|r| r.approval = env.approval("clerk2")),
        ),
        // A supervisor asking cannot approve their own payout.
        ("APPROVAL_SELF", actor("super1", "supervisor"), w(&|_| {})),
        // What is refused anyway is refused before the password is tried.
        (
            "INSUFFICIENT_BALANCE",
            clerk(),
            w(&|r| {
                r.amount_fen = Some(a_balance + 1);
                r.approval.password = "wrong-password".into();
            }),
        ),
    ];
    for (expected, who, r) in &refusals {
        assert_eq!(
            code(payouts::pay_out(app, who, r)),
            *expected,
            "{who:?} {r:?}"
        );
    }
    let (t, _, bal, res) = env.snapshot();
    assert_eq!((t, bal, res), (before.0, before.2, before.3));
    assert_eq!(env.snapshot().1, before.1, "no payout audited");

    // A withdrawal of the slip's amount.
    let payout_before = env.cash_payout(&a.region);
    let first = payouts::pay_out(app, &clerk(), &w(&|_| {})).unwrap();
    assert!(!first.replayed);
    assert_eq!(first.amount_fen, 12_345);
    assert_eq!(first.reason_code, "WITHDRAWAL_SLIP");
    assert_eq!(first.kind, "withdrawal");
    assert_eq!(first.approved_by, "super1");
    assert_eq!(first.slip_no, "JS-2026-001");
    assert_eq!(first.balance_after_fen, a_balance - 12_345);
    assert!(first.memo.contains("JS-2026-001"), "{}", first.memo);
    assert_eq!(env.account(a.account).0, a_balance - 12_345);
    assert_eq!(env.cash_payout(&a.region), payout_before + 12_345);
    assert_eq!(env.snapshot().1, before.1 + 1, "one audit row");
    env.invariants();

    // A supervisor may ask, another approves (here the same supervisor, refused above);
    // a retry with the same content returns the first payout and moves nothing.
    let snap = env.snapshot();
    let again = payouts::pay_out(app, &clerk(), &w(&|_| {})).unwrap();
    assert!(again.replayed);
    assert_eq!(again.transfer_id, first.transfer_id);
    assert_eq!(again.amount_fen, 12_345);
    assert_eq!(env.snapshot(), snap);
    // The same id with different content is a conflict.
    for (what, r) in [
        ("amount", w(&|r| r.amount_fen = Some(12_346))),
        ("slip", w(&|r| r.slip_no = "JS-2026-002".into())),
        (
            "kind",
            w(&|r| {
                r.kind = PayoutKind::LeavingRefund;
                r.amount_fen = None;
            }),
        ),
        (
            "person",
            w(&|r| {
                r.person_ref = b.id;
                r.presented_doc_number = b.doc.clone();
            }),
        ),
    ] {
        assert_eq!(
            code(payouts::pay_out(app, &clerk(), &r)),
            "TRANSFER_ID_CONFLICT",
            "{what}"
        );
    }
    // The id of another ledger transfer cannot be taken over either.
    let other: String = env
        .store
        .read(|tx| {
            tx.query_one(
                "SELECT client_id FROM transfers ORDER BY id LIMIT 1",
                &[],
                "transfer",
            )?
            .text(0)
        })
        .unwrap();
    assert_eq!(
        code(payouts::pay_out(
            app,
            &clerk(),
            &w(&|r| r.client_id = other.clone())
        )),
        "TRANSFER_ID_CONFLICT"
    );
    // One slip, one payout.
    assert_eq!(
        code(payouts::pay_out(
            app,
            &clerk(),
            &w(&|r| {
                r.client_id = "w-2".into();
                r.amount_fen = Some(100);
            })
        )),
        "PAYOUT_SLIP_USED"
    );
    assert_eq!(env.snapshot(), snap);
    // The whole available balance may be withdrawn, not a fen more.
    let left = env.account(a.account).0;
    assert_eq!(
        code(payouts::pay_out(
            app,
            &clerk(),
            &w(&|r| {
                r.client_id = "w-3".into();
                r.slip_no = "JS-2026-003".into();
                r.amount_fen = Some(left + 1);
            })
        )),
        "INSUFFICIENT_BALANCE"
    );
    let all = payouts::pay_out(
        app,
        &clerk(),
        &w(&|r| {
            r.client_id = "w-3".into();
            r.slip_no = "JS-2026-003".into();
            r.amount_fen = Some(left);
        }),
    )
    .unwrap();
    assert_eq!(all.balance_after_fen, 0);
    assert_eq!(env.account(a.account), (0, 0));
    env.invariants();

    // Migration out: the whole balance, once the account is settled.
    let (b_balance, _) = env.account(b.account);
    let clearing = env
        .store
        .read(|tx| {
            tx.query_i64(
                "SELECT min(id) FROM accounts WHERE kind = 'institution_clearing'",
                &[],
            )
        })
        .unwrap();
    ledger::reserve(
        app,
        &TransferRequest {
            client_id: "pre-b".into(),
            debit_account: b.account,
            credit_account: clearing,
            amount_fen: 500,
            kind: "settlement".into(),
            reason_code: String::new(),
            memo: "预结算".into(),
        },
        Duration::minutes(30),
    )
    .unwrap();
    let m = |f: &dyn Fn(&mut PayoutRequest)| {
        let mut r = request(b, &env, PayoutKind::MigrationOut, "m-1", "QY-0001");
        r.destination_region = Some(elsewhere(b));
        r.note = "随工作调动迁往外地".into();
        f(&mut r);
        r
    };
    let snap = env.snapshot();
    assert_eq!(
        code(payouts::pay_out(app, &clerk(), &m(&|_| {}))),
        "PAYOUT_ACCOUNT_NOT_SETTLED"
    );
    // A county inside the person's own pooling region is not a migration out.
    let county = format!("{}02", &b.region[..4]);
    if sscard_domain::ids::RegionCode::parse(&county).is_ok() {
        assert_eq!(
            code(payouts::pay_out(
                app,
                &clerk(),
                &m(&|r| r.destination_region = Some(county.clone()))
            )),
            "PAYOUT_DESTINATION_SAME"
        );
    }
    assert_eq!(env.snapshot(), snap);
    ledger::void_pending(app, "pre-b").unwrap();
    assert_eq!(
        code(payouts::pay_out(
            app,
            &clerk(),
            &m(&|r| r.amount_fen = Some(b_balance - 1))
        )),
        "PAYOUT_AMOUNT_MISMATCH"
    );
    let payout_before = env.cash_payout(&b.region);
    let moved = payouts::pay_out(app, &clerk(), &m(&|r| r.amount_fen = Some(b_balance))).unwrap();
    assert_eq!(moved.amount_fen, b_balance);
    assert_eq!(moved.reason_code, "MIGRATION_OUT");
    assert_eq!(
        moved.destination_region.as_deref(),
        Some(elsewhere(b).as_str())
    );
    assert_eq!(moved.balance_after_fen, 0);
    assert_eq!(env.account(b.account), (0, 0));
    assert_eq!(env.cash_payout(&b.region), payout_before + b_balance);
    // A retry (with or without the amount shown) is the same payout, though the balance is
    // now zero; another destination is another payout.
    let again = payouts::pay_out(app, &clerk(), &m(&|_| {})).unwrap();
    assert!(again.replayed);
    assert_eq!(again.transfer_id, moved.transfer_id);
    assert!(
        payouts::pay_out(app, &clerk(), &m(&|r| r.amount_fen = Some(b_balance)))
            .unwrap()
            .replayed
    );
    assert_eq!(
        code(payouts::pay_out(
            app,
            &clerk(),
            &m(&|r| r.destination_region = Some("210200".into()))
        )),
        if b.region == "210200" {
            "PAYOUT_DESTINATION_SAME"
        } else {
            "TRANSFER_ID_CONFLICT"
        }
    );
    // Nothing left to pay.
    let snap = env.snapshot();
    assert_eq!(
        code(payouts::pay_out(
            app,
            &clerk(),
            &m(&|r| {
                r.client_id = "m-2".into();
                r.slip_no = "QY-0002".into();
            })
        )),
        "PAYOUT_NOTHING_TO_PAY"
    );
    assert_eq!(
        code(payouts::pay_out(
            app,
            &clerk(),
            &request(b, &env, PayoutKind::LeavingRefund, "l-0", "TB-0000")
        )),
        "PAYOUT_NOTHING_TO_PAY"
    );
    assert_eq!(env.snapshot(), snap);
    env.invariants();

    // A leaving worker's refund: the whole balance, a supervisor asking and nobody else
    // approving is refused.
    let (c_balance, _) = env.account(c.account);
    let l = request(c, &env, PayoutKind::LeavingRefund, "l-1", "TB-0001");
    assert_eq!(
        code(payouts::pay_out(app, &actor("super1", "supervisor"), &l)),
        "APPROVAL_SELF"
    );
    let refund = payouts::pay_out(app, &clerk(), &l).unwrap();
    assert_eq!(refund.amount_fen, c_balance);
    assert_eq!(refund.reason_code, "LEAVING_REFUND");
    assert_eq!(env.account(c.account), (0, 0));
    env.invariants();

    // A deceased person's account goes to the heirs, not through these payouts.
    let d = &people[3];
    death::record_death(
        app,
        &clerk(),
        &DeathRecord {
            doc_number: d.doc.clone(),
            died_on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            death_certificate_no: "SW-1".into(),
        },
    )
    .unwrap();
    let mut dr = request(d, &env, PayoutKind::Withdrawal, "d-1", "JS-D1");
    dr.amount_fen = Some(100);
    assert_eq!(
        code(payouts::pay_out(app, &clerk(), &dr)),
        "PERSON_DECEASED"
    );

    // The list of a person's payouts (any staff role).
    let list = payouts::payouts_of(app, &actor("auditor1", "auditor"), a.id).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].transfer_id, all.transfer_id);
    assert_eq!(list[1].transfer_id, first.transfer_id);
    assert!(list.iter().all(|p| p.reason_code == "WITHDRAWAL_SLIP"));
    let list = payouts::payouts_of(app, &clerk(), b.id).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].kind, "migration_out");
    assert_eq!(list[0].amount_fen, b_balance);
    assert_eq!(
        code(payouts::payouts_of(app, &actor("p", "cardholder"), a.id)),
        "FORBIDDEN"
    );
    assert_eq!(
        code(payouts::payouts_of(app, &clerk(), 987_654_321)),
        "PERSON_NOT_FOUND"
    );

    // Four payouts made, four audited; the chain and the ledger hold.
    assert_eq!(env.snapshot().1, before.1 + 4);
    env.invariants();
    assert!(
        sscard_service::audit::verify(app)
            .unwrap()
            .first_broken
            .is_none()
    );
}

#[test]
fn payouts_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn payouts_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
