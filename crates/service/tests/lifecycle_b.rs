//! After-issue card business on both backends: reissue with fee, pickup certificate and its
//! PDF, temporary cards, replacement (with supervisor approval), correction, cancellation,
//! death and the heirs' payout, fees, and notice delivery through a failing gateway.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sscard_domain::card::CardStatus;
use sscard_domain::clock::FixedClock;
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::approval::SupervisorApproval;
use sscard_service::cards::cancel::{self, CancelReason, CancelRequest};
use sscard_service::cards::certificates;
use sscard_service::cards::death::{self, DeathRecord, HeirRequest};
use sscard_service::cards::fees;
use sscard_service::cards::reissue::{self, ReissueRequest};
use sscard_service::cards::replace::{self, CorrectionRequest, ReplaceRequest};
use sscard_service::cards::temporary::{self, TemporaryCardRequest};
use sscard_service::demo::{self, DemoOptions, DemoSamples};
use sscard_service::notices::{self, SmsGateway};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig, ServiceError};
use sscard_store::repo::{cards as card_repo, ledger, ts};
use sscard_store::{Store, params};

/// Monday 23 November 2026, 10:00 in Shanghai.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

struct Env {
    app: App,
    store: Store,
    samples: DemoSamples,
}

fn setup(url: &str) -> Env {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![5; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap()
    .with_clock(Arc::new(FixedClock(monday())));
    let samples = demo::generate(
        &app,
        &DemoOptions {
            persons: 400,
            seed: 11,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    let store = Store::open(url).unwrap();
    Env {
        app,
        store,
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

/// A regular card of a living person without a live temporary card.
#[derive(Debug, Clone)]
struct Holder {
    card_no: String,
    doc: String,
    person_id: i64,
    region: String,
}

impl Env {
    /// Up to `n` holders whose regular card is in `status` (filtered by `extra` SQL on `c`).
    fn holders(&self, status: &str, extra: &str, n: i64) -> Vec<Holder> {
        let sql = format!(
            "SELECT c.card_no, p.doc_number, p.id, c.region_code FROM cards c
             JOIN persons p ON p.id = c.person_id
             WHERE c.kind = 'regular' AND c.status = $1 AND c.card_no IS NOT NULL
               AND p.life_status = 'normal' AND p.doc_type = 'citizen_id'
               AND NOT EXISTS (SELECT 1 FROM cards t WHERE t.person_id = p.id
                   AND t.kind = 'temporary' AND t.status NOT IN ('expired', 'cancelled'))
               {extra}
             ORDER BY c.id LIMIT $2"
        );
        self.store
            .read(|tx| tx.query(&sql, params![status, n]))
            .unwrap()
            .iter()
            .map(|r| Holder {
                card_no: r.text(0).unwrap(),
                doc: r.text(1).unwrap(),
                person_id: r.i64(2).unwrap(),
                region: r.text(3).unwrap(),
            })
            .collect()
    }

    fn card(&self, card_no: &str) -> card_repo::CardRow {
        self.store
            .read(|tx| card_repo::card_by_no(tx, card_no))
            .unwrap()
            .unwrap()
    }

    fn set_status(&self, card_no: &str, status: CardStatus) {
        let c = self.card(card_no);
        self.store
            .write(|tx| card_repo::set_status(tx, c.id, status, &ts(monday())))
            .unwrap();
    }

    fn balance(&self, person_id: i64) -> i64 {
        self.store
            .read(|tx| ledger::person_balance(tx, person_id, "medical_personal"))
            .unwrap()
            .unwrap_or(0)
    }

    /// Settles the medical personal account (a cash withdrawal, 冲卡提款) so it is zero.
    fn settle(&self, person_id: i64, region: &str) {
        let balance = self.balance(person_id);
        if balance == 0 {
            return;
        }
        self.store
            .write(|tx| {
                let at = ts(monday());
                let acc = ledger::open_account(
                    tx,
                    "medical_personal",
                    Some(person_id),
                    None,
                    region,
                    &at,
                )?;
                let payout = ledger::open_account(tx, "cash_payout", None, None, region, &at)?;
                ledger::post_transfer(
                    tx,
                    &ledger::NewTransfer {
                        client_id: &format!("test-withdraw-{person_id}"),
                        debit_account: acc,
                        credit_account: payout,
                        amount_fen: balance,
                        kind: "cash_withdrawal",
                        reason_code: "",
                        memo: "test",
                        now: &at,
                    },
                )
            })
            .unwrap();
    }

    fn password(&self, username: &str) -> String {
        self.samples
            .staff
            .iter()
            .find(|s| s.username == username)
            .unwrap()
            .password
            .clone()
    }

    fn approval(&self, username: &str) -> SupervisorApproval {
        SupervisorApproval {
            username: username.into(),
            password: self.password(username),
        }
    }

    fn audit_actions(&self, action: &str) -> i64 {
        self.store
            .read(|tx| {
                tx.query_i64(
                    "SELECT count(*) FROM audit_log WHERE action = $1",
                    params![action],
                )
            })
            .unwrap()
    }
}

fn reissue_scenario(env: &Env) {
    let app = &env.app;
    let hs = env.holders("active", "", 3);
    let h = &hs[0];
    let req = |doc: &str| ReissueRequest {
        card_no: h.card_no.clone(),
        presented_doc_number: doc.into(),
    };
    // Only after a written loss.
    assert_eq!(
        code(reissue::reissue(app, &clerk(), &req(&h.doc))),
        "REISSUE_NEEDS_WRITTEN_LOSS"
    );
    env.set_status(&h.card_no, CardStatus::TemporaryLoss);
    assert_eq!(
        code(reissue::reissue(app, &clerk(), &req(&h.doc))),
        "REISSUE_NEEDS_WRITTEN_LOSS"
    );
    env.set_status(&h.card_no, CardStatus::WrittenLoss);
    assert_eq!(
        code(reissue::reissue(
            app,
            &actor("agent1", "phone_agent"),
            &req(&h.doc)
        )),
        "FORBIDDEN"
    );
    assert_eq!(
        code(reissue::reissue(app, &clerk(), &req("11010519491231002X"))),
        "ID_MISMATCH"
    );
    assert_eq!(
        code(reissue::reissue(
            app,
            &clerk(),
            &ReissueRequest {
                card_no: "Z99999999".into(),
                presented_doc_number: h.doc.clone(),
            }
        )),
        "CARD_NOT_FOUND"
    );
    let bank_before = env.card(&h.card_no).bank_status;
    let out = reissue::reissue(app, &clerk(), &req(&h.doc.to_lowercase())).unwrap();
    assert_eq!(out.old_card.status, "reissuing");
    assert_eq!(out.new_card.status, "applied");
    assert_eq!(out.new_card.card_no, None);
    // The social-security operation leaves the bank side alone.
    assert_eq!(env.card(&h.card_no).bank_status, bank_before);
    let fee = out.fee.clone().expect("a reissue is charged");
    assert_eq!(fee.amount_fen, 2000);
    assert_eq!(fee.kind, "reissue");
    assert!(
        fee.receipt_no.starts_with(&format!("SF{}", h.region)),
        "{}",
        fee.receipt_no
    );
    // 15 working days from Monday 23 November 2026.
    assert_eq!(out.certificate.ready_date, "2026-12-14");
    assert_eq!(
        out.certificate.fee_receipt_no.as_deref(),
        Some(fee.receipt_no.as_str())
    );
    assert!(out.certificate.voucher_valid);
    let cert_no = out.certificate.cert_no.clone();
    assert!(cert_no.starts_with("LK"));
    // The old card is dead for ever.
    assert_eq!(
        code(reissue::reissue(app, &clerk(), &req(&h.doc))),
        "CARD_DEAD"
    );
    let new_card = env
        .store
        .read(|tx| card_repo::live_card_of(tx, h.person_id))
        .unwrap()
        .unwrap();
    assert_eq!(new_card.status, CardStatus::Applied);
    // The new card starts with the initial PIN.
    assert!(
        PinKey::new(vec![5; 32])
            .unwrap()
            .verify_pin(&new_card.pin_mac, "123456")
    );

    // The certificate: voucher, view, PDF.
    let v = certificates::voucher_valid(app, &cert_no).unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.ready_date, "2026-12-14");
    assert!(!v.holder_doc_masked.contains(&h.doc[6..14]));
    assert_eq!(
        code(certificates::voucher_valid(app, "LK12")),
        "CERT_NO_INVALID"
    );
    let mut tampered = cert_no.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        code(certificates::voucher_valid(app, &tampered)),
        "CERT_NO_INVALID"
    );
    let unknown = certificates::cert_number("511000", 99_999_999);
    assert_eq!(
        code(certificates::voucher_valid(app, &unknown)),
        "CERT_NOT_FOUND"
    );
    let view = certificates::get(app, &actor("auditor1", "auditor"), &cert_no).unwrap();
    assert_eq!(view.cert_no, cert_no);
    assert_eq!(
        code(certificates::get(
            app,
            &Actor::system(Channel::Web),
            &cert_no
        )),
        "FORBIDDEN"
    );
    let pdf = certificates::pdf(app, &clerk(), &cert_no).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    if let Ok(path) = std::env::var("SSCARD_DUMP_PDF") {
        std::fs::write(path, &pdf).unwrap();
    }
    assert!(
        pdf.len() < 200_000,
        "the font is subset: {} bytes",
        pdf.len()
    );
    assert_eq!(env.audit_actions("certificate.printed"), 1);
    // Once the new card is collected the voucher no longer counts.
    env.store
        .write(|tx| card_repo::set_status(tx, new_card.id, CardStatus::Collected, &ts(monday())))
        .unwrap();
    let v = certificates::voucher_valid(app, &cert_no).unwrap();
    assert!(!v.valid);
    assert_eq!(v.reason.as_deref(), Some("card_collected"));

    // Fees per person.
    let list = fees::list_for_person(app, &actor("auditor1", "auditor"), &h.doc).unwrap();
    assert!(
        list.iter()
            .any(|f| f.receipt_no == fee.receipt_no && f.amount_fen == 2000)
    );
    assert_eq!(
        code(fees::list_for_person(
            app,
            &Actor::system(Channel::Web),
            &h.doc
        )),
        "FORBIDDEN"
    );
    assert_eq!(
        code(fees::list_for_person(app, &clerk(), "11010519491231002X")),
        "PERSON_NOT_FOUND"
    );

    // Across the National Day holidays: 15 working days from Wednesday 30 September 2026
    // skip 1–7 October and count Saturday 10 October.
    let h2 = &hs[1];
    env.set_status(&h2.card_no, CardStatus::WrittenLoss);
    let autumn = app.with_clock(Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 9, 30, 2, 0, 0).unwrap(),
    )));
    let out2 = reissue::reissue(
        &autumn,
        &clerk(),
        &ReissueRequest {
            card_no: h2.card_no.clone(),
            presented_doc_number: h2.doc.clone(),
        },
    )
    .unwrap();
    assert_eq!(out2.certificate.ready_date, "2026-10-27");
    assert_ne!(out2.certificate.cert_no, cert_no);
    assert_ne!(out2.fee.unwrap().receipt_no, fee.receipt_no);
}

fn temporary_scenario(env: &Env) {
    let app = &env.app;
    // A person whose card is being reissued (no usable card).
    let h = env.holders("active", "", 5)[2].clone();
    let req = |reason: &str, proof: &str| TemporaryCardRequest {
        presented_doc_number: None,
        doc_number: h.doc.clone(),
        reason: reason.into(),
        proof_ref: proof.into(),
    };
    assert_eq!(
        code(temporary::issue(app, &clerk(), &req("", "ZY2026-001"))),
        "EMERGENCY_REASON_REQUIRED"
    );
    assert_eq!(
        code(temporary::issue(app, &clerk(), &req("住院治疗", " "))),
        "PROOF_REQUIRED"
    );
    assert_eq!(
        code(temporary::issue(
            app,
            &clerk(),
            &TemporaryCardRequest {
                presented_doc_number: None,
                doc_number: "11010519491231002X".into(),
                reason: "住院治疗".into(),
                proof_ref: "ZY2026-001".into(),
            }
        )),
        "PERSON_NOT_FOUND"
    );
    assert_eq!(
        code(temporary::issue(
            app,
            &clerk(),
            &req("住院治疗", "ZY2026-001")
        )),
        "TEMP_CARD_NOT_NEEDED"
    );
    assert_eq!(
        code(temporary::issue(
            app,
            &actor("auditor1", "auditor"),
            &req("住院治疗", "ZY2026-001")
        )),
        "FORBIDDEN"
    );
    env.set_status(&h.card_no, CardStatus::WrittenLoss);
    let out = temporary::issue(app, &clerk(), &req("住院治疗", "ZY2026-001")).unwrap();
    assert_eq!(out.card.kind, "temporary");
    assert_eq!(out.card.status, "active");
    assert_eq!(out.card.bank_status, "none");
    assert_eq!(out.expires_on, "2027-01-22");
    let no = out.card.card_no.clone().unwrap();
    assert!(no.starts_with('T') && no.len() == 9, "{no}");
    sscard_domain::ids::CardNo::parse(&no).unwrap();
    // The regular card stays as it was.
    assert_eq!(env.card(&h.card_no).status, CardStatus::WrittenLoss);
    assert_eq!(
        code(temporary::issue(
            app,
            &clerk(),
            &req("住院治疗", "ZY2026-002")
        )),
        "TEMP_CARD_EXISTS"
    );
    // A second person gets the next number.
    let h2 = env.holders("written_loss", "", 1);
    if let Some(h2) = h2.first() {
        let out2 = temporary::issue(
            app,
            &clerk(),
            &TemporaryCardRequest {
                presented_doc_number: None,
                doc_number: h2.doc.clone(),
                reason: "急诊".into(),
                proof_ref: "JZ-7".into(),
            },
        )
        .unwrap();
        assert_ne!(out2.card.card_no, out.card.card_no);
    }
    // Temporary cards are not reissued.
    env.set_status(&no, CardStatus::WrittenLoss);
    assert_eq!(
        code(reissue::reissue(
            app,
            &clerk(),
            &ReissueRequest {
                card_no: no.clone(),
                presented_doc_number: h.doc.clone(),
            }
        )),
        "CARD_TEMPORARY"
    );
}

fn replace_scenario(env: &Env) {
    let app = &env.app;
    let hs = env.holders("active", "", 12);
    let (a, b) = (&hs[5], &hs[6]);
    let req = |h: &Holder, quality: bool, approval: Option<SupervisorApproval>| ReplaceRequest {
        card_no: h.card_no.clone(),
        presented_doc_number: h.doc.clone(),
        quality_fault: quality,
        damage: "芯片无法读取".into(),
        approval,
    };
    assert_eq!(
        code(replace::replace_damaged(app, &clerk(), &req(a, true, None))),
        "APPROVAL_REQUIRED"
    );
    let wrong = SupervisorApproval {
        username: "super1".into(),
        password: "not-the-password-1".into(),
    };
    assert_eq!(
        code(replace::replace_damaged(
            app,
            &clerk(),
            &req(a, true, Some(wrong))
        )),
        "APPROVAL_FAILED"
    );
    assert_eq!(env.audit_actions("approval.failed"), 1);
    assert_eq!(
        code(replace::replace_damaged(
            app,
            &clerk(),
            &req(a, true, Some(env.approval("clerk2")))
        )),
        "APPROVAL_NOT_SUPERVISOR"
    );
    assert_eq!(
        code(replace::replace_damaged(
            app,
            &actor("super1", "supervisor"),
            &req(a, true, Some(env.approval("super1")))
        )),
        "APPROVAL_SELF"
    );
    assert_eq!(
        code(replace::replace_damaged(
            app,
            &clerk(),
            &ReplaceRequest {
                presented_doc_number: b.doc.clone(),
                ..req(a, false, None)
            }
        )),
        "ID_MISMATCH"
    );
    let bank_before = env.card(&a.card_no).bank_status;
    let free = replace::replace_damaged(app, &clerk(), &req(a, true, Some(env.approval("super1"))))
        .unwrap();
    assert_eq!(free.old_card.status, "replacing");
    assert_eq!(free.new_card.status, "applied");
    assert_eq!(free.fee, None);
    assert_eq!(free.approved_by.as_deref(), Some("super1"));
    assert_eq!(env.card(&a.card_no).bank_status, bank_before);
    let events = env
        .store
        .read(|tx| card_repo::events_of(tx, env.card(&a.card_no).id))
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event, "replace");
    assert!(
        last.detail_json.contains("\"approved_by\":\"super1\""),
        "{}",
        last.detail_json
    );
    assert_eq!(
        code(replace::replace_damaged(
            app,
            &clerk(),
            &req(a, false, None)
        )),
        "CARD_DEAD"
    );
    // The holder's fault: charged.
    let paid = replace::replace_damaged(app, &clerk(), &req(b, false, None)).unwrap();
    let fee = paid.fee.unwrap();
    assert_eq!((fee.kind.as_str(), fee.amount_fen), ("replacement", 2000));
    assert_eq!(paid.approved_by, None);
    // A lost card is not replaced (it is reissued).
    let c = &hs[7];
    env.set_status(&c.card_no, CardStatus::WrittenLoss);
    assert_eq!(
        code(replace::replace_damaged(
            app,
            &clerk(),
            &req(c, false, None)
        )),
        "CARD_LOST"
    );
    env.set_status(&c.card_no, CardStatus::Applied);
    assert_eq!(
        code(replace::replace_damaged(
            app,
            &clerk(),
            &req(c, false, None)
        )),
        "CARD_STATE"
    );

    // Correction of wrong card data: free, person corrected, audited before/after.
    let d = &hs[8];
    let person = |id: i64| {
        env.store
            .read(|tx| sscard_store::repo::persons::person_by_id(tx, id))
            .unwrap()
            .unwrap()
    };
    let before = person(d.person_id);
    let creq = |f: &dyn Fn(&mut CorrectionRequest)| {
        let mut r = CorrectionRequest {
            card_no: d.card_no.clone(),
            presented_doc_number: d.doc.clone(),
            ..Default::default()
        };
        f(&mut r);
        r
    };
    assert_eq!(
        code(replace::correct(
            app,
            &clerk(),
            &creq(&|r| r.name = Some(before.name.clone()))
        )),
        "CORRECTION_EMPTY"
    );
    let flipped = if before.gender == "male" {
        "female"
    } else {
        "male"
    };
    assert_eq!(
        code(replace::correct(
            app,
            &clerk(),
            &creq(&|r| r.gender = Some(flipped.into()))
        )),
        "CORRECTION_CONFLICTS_ID"
    );
    assert_eq!(
        code(replace::correct(
            app,
            &clerk(),
            &creq(&|r| r.gender = Some("x".into()))
        )),
        "CORRECTION_INVALID"
    );
    assert_eq!(
        code(replace::correct(
            app,
            &clerk(),
            &creq(&|r| r.name = Some(" ".into()))
        )),
        "CORRECTION_INVALID"
    );
    assert_eq!(
        code(replace::correct(
            app,
            &actor("agent1", "phone_agent"),
            &creq(&|r| r.name = Some("王更正".into()))
        )),
        "FORBIDDEN"
    );
    let out = replace::correct(app, &clerk(), &creq(&|r| r.name = Some("王更正".into()))).unwrap();
    assert_eq!(out.old_card.status, "replacing");
    assert_eq!(out.new_card.status, "applied");
    assert_eq!(out.fee, None);
    assert_eq!(person(d.person_id).name, "王更正");
    let audit_row = env
        .store
        .read(|tx| {
            tx.query_one(
                "SELECT before_json, after_json FROM audit_log WHERE action = 'person.corrected'
                 ORDER BY seq DESC LIMIT 1",
                &[],
                "audit",
            )
        })
        .unwrap();
    assert!(audit_row.text(0).unwrap().contains(&before.name));
    assert!(audit_row.text(1).unwrap().contains("王更正"));
}

fn cancel_scenario(env: &Env) {
    let app = &env.app;
    let hs = env.holders("active", "AND c.bank_status = 'active'", 20);
    let h = hs
        .iter()
        .skip(3)
        .find(|h| env.balance(h.person_id) > 0)
        .expect("a holder with a balance")
        .clone();
    let req = |reason: CancelReason, doc: &str| CancelRequest {
        card_no: h.card_no.clone(),
        reason,
        presented_doc_number: doc.into(),
        card_returned: true,
    };
    assert_eq!(
        CancelReason::parse("bored").unwrap_err().code,
        "CANCEL_REASON_INVALID"
    );
    assert_eq!(
        CancelReason::parse("leaving_insurance").unwrap(),
        CancelReason::LeavingInsurance
    );
    assert_eq!(
        code(cancel::cancel(
            app,
            &clerk(),
            &req(CancelReason::TransferOut, &h.doc)
        )),
        "CANCEL_ACCOUNT_NOT_SETTLED"
    );
    assert_eq!(
        code(cancel::cancel(
            app,
            &actor("auditor1", "auditor"),
            &req(CancelReason::TransferOut, &h.doc)
        )),
        "FORBIDDEN"
    );
    assert_eq!(
        code(cancel::cancel(app, &clerk(), &req(CancelReason::Death, ""))),
        "PERSON_NOT_DECEASED"
    );
    assert_eq!(
        code(cancel::cancel(
            app,
            &clerk(),
            &req(CancelReason::TransferOut, "11010519491231002X")
        )),
        "ID_MISMATCH"
    );
    env.settle(h.person_id, &h.region);
    // Something reserved by a pre-settlement, or a pending transfer, still blocks.
    env.store
        .write(|tx| {
            tx.execute(
                "INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
                     status, created_at)
                 SELECT 'test-pending', a.id, b.id, 100, 'settlement', 'pending', '2026-11-23T02:00:00.000Z'
                 FROM accounts a, accounts b
                 WHERE a.person_id = $1 AND a.kind = 'medical_personal'
                   AND b.kind = 'cash_payout' AND b.region_code = $2",
                params![h.person_id, h.region.as_str()],
            )
        })
        .unwrap();
    assert_eq!(
        code(cancel::cancel(
            app,
            &clerk(),
            &req(CancelReason::TransferOut, &h.doc)
        )),
        "CANCEL_ACCOUNT_NOT_SETTLED"
    );
    env.store
        .write(|tx| {
            tx.execute(
                "UPDATE transfers SET status = 'voided' WHERE client_id = 'test-pending'",
                &[],
            )
        })
        .unwrap();
    let out = cancel::cancel(app, &clerk(), &req(CancelReason::TransferOut, &h.doc)).unwrap();
    assert_eq!(out.card.status, "cancelled");
    // Cancellation closes both sides.
    assert_eq!(out.card.bank_status, "cancelled");
    let events = env
        .store
        .read(|tx| card_repo::events_of(tx, env.card(&h.card_no).id))
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event, "cancel");
    assert!(last.detail_json.contains("\"card_returned\":true"));
    assert!(last.detail_json.contains("transfer_out"));
    assert_eq!(
        code(cancel::cancel(
            app,
            &clerk(),
            &req(CancelReason::TransferOut, &h.doc)
        )),
        "CARD_DEAD"
    );
}

fn death_scenario(env: &Env) {
    let app = &env.app;
    let hs = env.holders("active", "", 40);
    let h = hs
        .iter()
        .skip(15)
        .find(|h| env.balance(h.person_id) > 0)
        .expect("a holder with a balance")
        .clone();
    let heir_doc = "11010519491231002X";
    let death = |cert: &str, day: NaiveDate| DeathRecord {
        doc_number: h.doc.clone(),
        died_on: day,
        death_certificate_no: cert.into(),
    };
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let heir = |f: &dyn Fn(&mut HeirRequest)| {
        let mut r = HeirRequest {
            deceased_doc_number: h.doc.clone(),
            heir_name: "张继承".into(),
            heir_doc_type: "citizen_id".into(),
            heir_doc_number: heir_doc.into(),
            relationship: "child".into(),
            death_certificate_no: "SW2026-0001".into(),
        };
        f(&mut r);
        r
    };
    // Before the death is recorded.
    assert_eq!(
        code(death::heir_statement(app, &clerk(), &heir(&|_| {}))),
        "PERSON_NOT_DECEASED"
    );
    assert_eq!(
        code(death::record_death(app, &clerk(), &death(" ", day))),
        "DEATH_CERTIFICATE_REQUIRED"
    );
    assert_eq!(
        code(death::record_death(
            app,
            &clerk(),
            &death("SW2026-0001", NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        )),
        "DEATH_DATE_INVALID"
    );
    assert_eq!(
        code(death::record_death(
            app,
            &actor("agent1", "phone_agent"),
            &death("SW2026-0001", day)
        )),
        "FORBIDDEN"
    );
    let rec = death::record_death(app, &clerk(), &death("SW2026-0001", day)).unwrap();
    assert_eq!(rec.life_status, "deceased");
    assert_eq!(rec.life_status_since, "2026-11-20");
    assert_eq!(
        code(death::record_death(
            app,
            &clerk(),
            &death("SW2026-0001", day)
        )),
        "PERSON_ALREADY_DECEASED"
    );
    // A deceased person's card is not reissued, replaced, nor given a temporary card.
    assert_eq!(
        code(temporary::issue(
            app,
            &clerk(),
            &TemporaryCardRequest {
                presented_doc_number: None,
                doc_number: h.doc.clone(),
                reason: "x".into(),
                proof_ref: "y".into(),
            }
        )),
        "PERSON_DECEASED"
    );

    // The heirs' statement.
    assert_eq!(
        code(death::heir_statement(
            app,
            &clerk(),
            &heir(&|r| r.relationship = "friend".into())
        )),
        "HEIR_RELATIONSHIP_INVALID"
    );
    assert_eq!(
        code(death::heir_statement(
            app,
            &clerk(),
            &heir(&|r| r.heir_name = "".into())
        )),
        "HEIR_NAME_REQUIRED"
    );
    assert_eq!(
        code(death::heir_statement(
            app,
            &clerk(),
            &heir(&|r| r.death_certificate_no = "".into())
        )),
        "DEATH_CERTIFICATE_REQUIRED"
    );
    assert_eq!(
        code(death::heir_statement(
            app,
            &clerk(),
            &heir(&|r| r.heir_doc_number = "110105194912310021".into())
        )),
        "ID_CHECK_CHAR"
    );
    assert_eq!(
        code(death::heir_statement(
            app,
            &clerk(),
            &heir(&|r| r.heir_doc_number = h.doc.clone())
        )),
        "HEIR_IS_DECEASED"
    );
    let balance = env.balance(h.person_id);
    let st = death::heir_statement(app, &clerk(), &heir(&|_| {})).unwrap();
    assert_eq!(st.medical_balance_fen, balance);
    assert!(!st.medical_recent.is_empty());
    assert!(st.pension_accumulation_fen >= 0);
    assert!(
        st.cards
            .iter()
            .any(|c| c.card_no.as_deref() == Some(h.card_no.as_str()))
    );
    assert_eq!(st.claim_status, "pending");
    assert!(!st.already_paid);
    assert_eq!(st.died_on.as_deref(), Some("2026-11-20"));
    // Cancellation with reason death is refused while the balance is unpaid.
    assert_eq!(
        code(cancel::cancel(
            app,
            &clerk(),
            &CancelRequest {
                card_no: h.card_no.clone(),
                reason: CancelReason::Death,
                presented_doc_number: String::new(),
                card_returned: false,
            }
        )),
        "CANCEL_ACCOUNT_NOT_SETTLED"
    );

    // The payout, approved by a supervisor.
    assert_eq!(
        code(death::pay_heir(
            app,
            &clerk(),
            999_999,
            &env.approval("super1")
        )),
        "HEIR_CLAIM_NOT_FOUND"
    );
    assert_eq!(
        code(death::pay_heir(
            app,
            &clerk(),
            st.claim_id,
            &SupervisorApproval::default()
        )),
        "APPROVAL_REQUIRED"
    );
    assert_eq!(
        code(death::pay_heir(
            app,
            &clerk(),
            st.claim_id,
            &env.approval("clerk2")
        )),
        "APPROVAL_NOT_SUPERVISOR"
    );
    let paid = death::pay_heir(app, &clerk(), st.claim_id, &env.approval("super1")).unwrap();
    assert_eq!(paid.amount_fen, balance);
    assert!(paid.transfer_id.is_some());
    assert_eq!(paid.approved_by, "super1");
    assert_eq!(paid.cancelled_cards, vec![h.card_no.clone()]);
    assert_eq!(env.balance(h.person_id), 0);
    assert_eq!(env.card(&h.card_no).status, CardStatus::Cancelled);
    // Never twice: neither the same claim nor another heir's.
    assert_eq!(
        code(death::pay_heir(
            app,
            &clerk(),
            st.claim_id,
            &env.approval("super1")
        )),
        "HEIR_ALREADY_PAID"
    );
    let st2 = death::heir_statement(
        app,
        &clerk(),
        &heir(&|r| {
            r.heir_name = "张另一".into();
            r.relationship = "spouse".into();
        }),
    )
    .unwrap();
    assert!(st2.already_paid);
    assert_eq!(st2.medical_balance_fen, 0);
    assert_eq!(
        code(death::pay_heir(
            app,
            &clerk(),
            st2.claim_id,
            &env.approval("super1")
        )),
        "HEIR_ALREADY_PAID"
    );
    assert!(
        sscard_service::ledger::check_invariants(app)
            .unwrap()
            .is_empty()
    );
}

/// A gateway that fails while `down` and records what it sends.
struct Gateway {
    down: AtomicBool,
    sent: AtomicUsize,
}

impl SmsGateway for Gateway {
    fn send(&self, _phone: &str, _text: &str) -> Result<(), String> {
        if self.down.load(Ordering::SeqCst) {
            Err("gateway down".into())
        } else {
            self.sent.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }
}

fn notices_scenario(env: &Env) {
    let app = &env.app;
    // Clear whatever the other scenarios queued.
    let gw = Gateway {
        down: AtomicBool::new(false),
        sent: AtomicUsize::new(0),
    };
    notices::deliver_due(app, &gw, 10_000).unwrap();
    let sql = "SELECT c.card_no FROM cards c JOIN persons p ON p.id = c.person_id
               WHERE c.kind = 'regular' AND c.status = 'active' AND p.phone <> ''
                 AND p.life_status = 'normal' AND c.pin_failed = 0 AND c.card_no IS NOT NULL
               ORDER BY c.id DESC LIMIT 1";
    let card_no = env
        .store
        .read(|tx| tx.query_one(sql, &[], "card"))
        .unwrap()
        .text(0)
        .unwrap();
    let kiosk = Actor::system(Channel::Kiosk);
    let mut locked = false;
    for _ in 0..10 {
        let e = sscard_service::cards::pin::verify(app, &kiosk, &card_no, "000000").unwrap_err();
        if e.code == "PIN_LOCKED" {
            locked = true;
            break;
        }
    }
    assert!(locked);
    gw.down.store(true, Ordering::SeqCst);
    let r = notices::deliver_due(app, &gw, 100).unwrap();
    assert_eq!((r.sent, r.retried_later), (0, 1));
    // The operation that queued it is not undone.
    assert!(env.card(&card_no).pin_locked);
    let pending = |env: &Env| {
        env.store
            .read(|tx| tx.query_i64("SELECT count(*) FROM notices WHERE status = 'pending'", &[]))
            .unwrap()
    };
    assert_eq!(pending(env), 1);
    // Not due again before its back-off…
    gw.down.store(false, Ordering::SeqCst);
    assert_eq!(notices::deliver_due(app, &gw, 100).unwrap().sent, 0);
    // …and sent on a later round.
    let later = app.with_clock(Arc::new(FixedClock(monday() + Duration::minutes(5))));
    let r = notices::deliver_due(&later, &gw, 100).unwrap();
    assert_eq!((r.sent, r.retried_later), (1, 0));
    assert_eq!(pending(env), 0);

    // Several servers draining the outbox at once send each notice once.
    let cards: Vec<card_repo::CardRow> = env
        .store
        .read(|tx| {
            tx.query(
                "SELECT c.card_no FROM cards c JOIN persons p ON p.id = c.person_id
                  WHERE c.card_no IS NOT NULL AND p.phone <> '' ORDER BY c.id LIMIT 30",
                &[],
            )
        })
        .unwrap()
        .iter()
        .map(|r| env.card(&r.text(0).unwrap()))
        .collect();
    env.store
        .write(|tx| {
            for c in &cards {
                notices::queue_for_card(tx, monday(), c, notices::Kind::CardReady)?;
            }
            Ok::<_, sscard_store::StoreError>(())
        })
        .unwrap();
    assert_eq!(pending(env), 30);
    let gw = Gateway {
        down: AtomicBool::new(false),
        sent: AtomicUsize::new(0),
    };
    let sent: u64 = std::thread::scope(|s| {
        let servers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| notices::deliver_due(&later, &gw, 100).unwrap().sent))
            .collect();
        servers.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(sent, 30);
    assert_eq!(gw.sent.load(Ordering::SeqCst), 30);
    assert_eq!(pending(env), 0);
}

fn scenario(url: &str) {
    let env = setup(url);
    reissue_scenario(&env);
    temporary_scenario(&env);
    replace_scenario(&env);
    cancel_scenario(&env);
    death_scenario(&env);
    notices_scenario(&env);
    assert!(
        sscard_service::audit::verify(&env.app)
            .unwrap()
            .first_broken
            .is_none()
    );
}

#[test]
fn after_issue_business_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn after_issue_business_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}

/// Temporary cards issued at the same moment at several counters get distinct numbers (on
/// PostgreSQL two transactions used to read the same highest serial).
fn concurrent_temporary_cards(url: &str) {
    let env = setup(url);
    let hs = env.holders("active", "", 24)[12..].to_vec();
    for h in &hs {
        env.set_status(&h.card_no, CardStatus::WrittenLoss);
    }
    let numbers: Vec<String> = std::thread::scope(|s| {
        let running: Vec<_> = hs
            .iter()
            .map(|h| {
                let app = env.app.clone();
                s.spawn(move || {
                    temporary::issue(
                        &app,
                        &clerk(),
                        &TemporaryCardRequest {
                            presented_doc_number: None,
                            doc_number: h.doc.clone(),
                            reason: "住院治疗".into(),
                            proof_ref: format!("ZY-{}", h.person_id),
                        },
                    )
                    .expect("a temporary card")
                    .card
                    .card_no
                    .expect("a card number")
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut distinct = numbers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), hs.len(), "{numbers:?}");
}

#[test]
fn concurrent_temporary_cards_on_sqlite() {
    let (_dir, url) = sscard_testkit::sqlite_url();
    concurrent_temporary_cards(&url);
}

#[test]
fn concurrent_temporary_cards_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    concurrent_temporary_cards(&url);
}
