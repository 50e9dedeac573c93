//! A property test of the card's life: random sequences of operations, on every channel, in any
//! order, with the clock moving forward. After each step it checks:
//! - at most one live regular card per person;
//! - a card that reached a dead state (reissued, replaced, cancelled, expired) never changes
//!   again, and its PIN never verifies (so it can never settle);
//! - a locked PIN never verifies, not even the right one;
//! - once its validity has passed and the daily job ran, no temporary loss is still in force:
//!   the card works again;
//! - every card state change has its audit row, and the audit chain verifies.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use sscard_domain::clock::Clock;
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::batches::{self, NewBatch};
use sscard_service::cards::loss::{self, LiftRequest, LossKind, LossRequest};
use sscard_service::cards::pin;
use sscard_service::cards::{collect, jobs, reissue, replace, temporary};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};
use sscard_store::{Store, StoreError};

/// A clock the test moves forward.
#[derive(Clone)]
struct StepClock(Arc<AtomicI64>);

impl Clock for StepClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.0.load(Ordering::SeqCst), 0).unwrap()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Verify {
        who: usize,
        right: bool,
        channel: u8,
    },
    LossTemporary {
        who: usize,
        channel: u8,
    },
    LossWritten {
        who: usize,
    },
    Lift {
        who: usize,
    },
    Reissue {
        who: usize,
    },
    Produce,
    Collect {
        who: usize,
    },
    Temporary {
        who: usize,
    },
    Replace {
        who: usize,
    },
    Unlock {
        who: usize,
    },
    Advance {
        days: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0usize..6;
    prop_oneof![
        3 => (who.clone(), any::<bool>(), 0u8..4).prop_map(|(who, right, channel)| Op::Verify { who, right, channel }),
        2 => (who.clone(), 0u8..4).prop_map(|(who, channel)| Op::LossTemporary { who, channel }),
        1 => who.clone().prop_map(|who| Op::LossWritten { who }),
        1 => who.clone().prop_map(|who| Op::Lift { who }),
        1 => who.clone().prop_map(|who| Op::Reissue { who }),
        1 => Just(Op::Produce),
        1 => who.clone().prop_map(|who| Op::Collect { who }),
        1 => who.clone().prop_map(|who| Op::Temporary { who }),
        1 => who.clone().prop_map(|who| Op::Replace { who }),
        1 => who.clone().prop_map(|who| Op::Unlock { who }),
        2 => (0u8..12).prop_map(|days| Op::Advance { days }),
    ]
}

struct World {
    _dir: tempfile::TempDir,
    url: String,
    app: App,
    clock: Arc<AtomicI64>,
    /// (id number, region) of the persons the operations pick from.
    people: Vec<(String, String)>,
    /// Known PIN of each card number.
    pins: HashMap<String, String>,
    /// Cards seen dead, with the state they died in.
    dead: HashMap<i64, String>,
    supervisor: (String, String),
    /// How often each operation was accepted or refused (to see the test is not vacuous).
    tally: std::collections::BTreeMap<String, u32>,
}

fn channel(c: u8) -> Channel {
    [Channel::Counter, Channel::Kiosk, Channel::Web, Channel::Ivr][usize::from(c % 4)]
}

fn actor(role: &str, ch: Channel) -> Actor {
    Actor {
        username: format!("{role}-p"),
        role: role.into(),
        agency: "NJ-CARD".into(),
        channel: ch,
    }
}

fn clerk() -> Actor {
    actor("clerk", Channel::Counter)
}

fn world() -> World {
    let (dir, url) = sscard_testkit::sqlite_url();
    let clock = Arc::new(AtomicI64::new(
        Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0)
            .unwrap()
            .timestamp(),
    ));
    let app = App::open(&AppConfig {
        db_url: url.clone(),
        pin_key: Some(PinKey::new(vec![8; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap()
    .with_clock(Arc::new(StepClock(clock.clone())));
    let samples = demo::generate(
        &app,
        &DemoOptions {
            persons: 120,
            seed: 11,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    let mut people = Vec::new();
    let mut pins = HashMap::new();
    for c in samples
        .cardholders
        .iter()
        .filter(|c| c.life_status == "normal" && c.card_kind == "regular")
    {
        if people.len() < 6 && !people.iter().any(|(id, _)| id == &c.id_number) {
            people.push((c.id_number.clone(), c.region_code.clone()));
        }
        if let Some(no) = &c.card_no {
            pins.insert(no.clone(), c.pin.clone());
        }
    }
    let sup = samples
        .staff
        .iter()
        .find(|s| s.role == "supervisor")
        .unwrap();
    World {
        _dir: dir,
        url,
        app,
        clock,
        people,
        pins,
        dead: HashMap::new(),
        supervisor: (sup.username.clone(), sup.password.clone()),
        tally: Default::default(),
    }
}

/// The person's live regular card number, if it has one.
fn live_card(w: &World, who: usize) -> Option<String> {
    let id = &w.people[who % w.people.len()].0;
    Store::open(&w.url)
        .unwrap()
        .read(|tx| {
            tx.query_opt(
                "SELECT c.card_no FROM cards c JOIN persons p ON p.id = c.person_id
                 WHERE p.doc_number = $1 AND c.kind = 'regular'
                   AND c.status NOT IN ('reissuing', 'replacing', 'cancelled', 'expired')",
                sscard_store::params![id.as_str()],
            )?
            .map(|r| r.opt_text(0))
            .transpose()
            .map(Option::flatten)
        })
        .unwrap()
}

fn step(w: &mut World, op: &Op) {
    let ok = step_inner(w, op);
    *w.tally
        .entry(
            format!("{op:?}")
                .split(' ')
                .next()
                .unwrap_or("")
                .to_string()
                + if ok { " ok" } else { " refused" },
        )
        .or_insert(0) += 1;
}

/// Runs one operation; true when the service accepted it.
fn step_inner(w: &mut World, op: &Op) -> bool {
    let who_id = |who: usize| w.people[who % w.people.len()].0.clone();
    match op {
        Op::Verify {
            who,
            right,
            channel: c,
        } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            let pin = if *right {
                w.pins.get(&no).cloned().unwrap_or_else(|| "123456".into())
            } else {
                "000000".into()
            };
            pin::verify(&w.app, &actor("cardholder", channel(*c)), &no, &pin).is_ok()
        }
        Op::LossTemporary { who, channel: c } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            let ch = channel(*c);
            let (a, pin) = if ch == Channel::Counter {
                (clerk(), None)
            } else {
                (actor("cardholder", ch), w.pins.get(&no).cloned())
            };
            let req = LossRequest {
                kind: LossKind::Temporary,
                pin,
                presented_doc_number: Some(who_id(*who)),
            };
            loss::report(&w.app, &a, &no, &req).is_ok()
        }
        Op::LossWritten { who } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            let req = LossRequest {
                kind: LossKind::Written,
                pin: None,
                presented_doc_number: Some(who_id(*who)),
            };
            loss::report(&w.app, &clerk(), &no, &req).is_ok()
        }
        Op::Lift { who } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            let req = LiftRequest {
                presented_doc_number: who_id(*who),
                presented_card_no: no.clone(),
            };
            loss::lift(&w.app, &clerk(), &no, &req).is_ok()
        }
        Op::Reissue { who } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            let req = reissue::ReissueRequest {
                card_no: no,
                presented_doc_number: who_id(*who),
            };
            reissue::reissue(&w.app, &clerk(), &req).is_ok()
        }
        Op::Produce => {
            let mut any = false;
            for region in ["500000", "511000", "210200", "130100"] {
                let new = NewBatch {
                    region_code: region.into(),
                    card_refs: None,
                    bank_code: None,
                };
                let Ok(b) = batches::create(&w.app, &clerk(), &new) else {
                    continue;
                };
                let Ok(file) = batches::bank_file(&w.app, &clerk(), &b.batch_no) else {
                    continue;
                };
                let mut csv = String::from("doc_number,bank_account\n");
                for (k, line) in file_lines(&file).iter().enumerate() {
                    csv.push_str(&format!("{line},62170000000{:08}\n", k + 1));
                }
                any |= batches::bank_return(&w.app, &clerk(), &b.batch_no, csv.as_bytes())
                    .is_ok_and(|r| r.produced > 0);
            }
            any
        }
        Op::Collect { who } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            let req = collect::Collection {
                presented_doc_number: who_id(*who),
                proxy: None,
            };
            let ok = collect::collect(&w.app, &clerk(), &no, &req).is_ok();
            if ok {
                w.pins.entry(no).or_insert_with(|| "123456".into());
            }
            ok
        }
        Op::Temporary { who } => {
            let req = temporary::TemporaryCardRequest {
                presented_doc_number: None,
                doc_number: who_id(*who),
                reason: "住院治疗".into(),
                proof_ref: "ZY-1".into(),
            };
            match temporary::issue(&w.app, &clerk(), &req) {
                Ok(t) => {
                    if let Some(no) = t.card.card_no {
                        w.pins.insert(no, "123456".into());
                    }
                    true
                }
                Err(_) => false,
            }
        }
        Op::Replace { who } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            let req = replace::ReplaceRequest {
                card_no: no,
                presented_doc_number: who_id(*who),
                quality_fault: true,
                damage: "芯片损坏".into(),
                approval: Some(sscard_service::cards::approval::SupervisorApproval {
                    username: w.supervisor.0.clone(),
                    password: w.supervisor.1.clone(),
                }),
            };
            replace::replace_damaged(&w.app, &clerk(), &req).is_ok()
        }
        Op::Unlock { who } => {
            let Some(no) = live_card(w, *who) else {
                return false;
            };
            pin::unlock(&w.app, &clerk(), &no, &who_id(*who)).is_ok()
        }
        Op::Advance { days } => {
            w.clock
                .fetch_add(i64::from(*days) * 86_400 + 3_600, Ordering::SeqCst);
            jobs::run_daily(&w.app).unwrap();
            true
        }
    }
}

/// The document numbers of a bank file (its `doc_number` column).
fn file_lines(file: &batches::BankFile) -> Vec<String> {
    let text = file.content.clone();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = header.iter().position(|h| *h == "doc_number").unwrap_or(4);
    lines
        .filter_map(|l| l.split(',').nth(col).map(str::to_string))
        .collect()
}

fn check(w: &mut World) -> Result<(), TestCaseError> {
    let store = Store::open(&w.url).unwrap();
    let now = sscard_store::repo::ts(StepClock(w.clock.clone()).now());
    let (doubles, cards, stale_losses) = store
        .read(|tx| {
            let doubles = tx.query_i64(
                "SELECT count(*) FROM (SELECT person_id FROM cards WHERE kind = 'regular'
                   AND status NOT IN ('reissuing', 'replacing', 'cancelled', 'expired')
                 GROUP BY person_id HAVING count(*) > 1) d",
                &[],
            )?;
            let cards: Vec<(i64, Option<String>, String, bool)> = tx
                .query("SELECT id, card_no, status, pin_locked FROM cards", &[])?
                .iter()
                .map(|r| Ok((r.i64(0)?, r.opt_text(1)?, r.text(2)?, r.bool(3)?)))
                .collect::<Result<_, StoreError>>()?;
            let stale = tx.query_i64(
                "SELECT count(*) FROM cards c JOIN loss_reports l ON l.card_id = c.id
                 WHERE c.status = 'temporary_loss' AND l.side = 'social' AND l.kind = 'temporary'
                   AND l.status = 'active' AND l.expires_at <= $1",
                sscard_store::params![now.as_str()],
            )?;
            Ok::<_, StoreError>((doubles, cards, stale))
        })
        .unwrap();
    prop_assert_eq!(doubles, 0, "a person holds two live regular cards");
    for (id, no, status, locked) in cards {
        let dead = matches!(
            status.as_str(),
            "reissuing" | "replacing" | "cancelled" | "expired"
        );
        if let Some(before) = w.dead.get(&id) {
            prop_assert_eq!(before, &status, "card {} came back from the dead", id);
        }
        if dead {
            w.dead.insert(id, status.clone());
        }
        let Some(no) = no else { continue };
        let Some(known) = w.pins.get(&no).cloned() else {
            continue;
        };
        if dead || locked {
            let r = pin::verify(&w.app, &actor("cardholder", Channel::Kiosk), &no, &known);
            prop_assert!(r.is_err(), "card {} ({}) verified its PIN", no, status);
        }
    }
    prop_assert_eq!(
        stale_losses,
        0,
        "a lapsed temporary loss still blocks a card"
    );
    Ok(())
}

/// Every card event written by an operation has its audit row: the counts match from the
/// demo's baseline on.
fn audit_matches(w: &World, base_events: i64, base_audit: i64) -> Result<(), TestCaseError> {
    let store = Store::open(&w.url).unwrap();
    let (events, audits) = store
        .read(|tx| {
            Ok::<_, StoreError>((
                tx.query_i64("SELECT count(*) FROM card_events", &[])?,
                tx.query_i64(
                    "SELECT count(*) FROM audit_log WHERE action LIKE 'card.%'",
                    &[],
                )?,
            ))
        })
        .unwrap();
    prop_assert_eq!(
        events - base_events,
        audits - base_audit,
        "card events without audit rows"
    );
    let report = sscard_service::audit::verify(&w.app).unwrap();
    prop_assert!(report.first_broken.is_none(), "{:?}", report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_card_life_keeps_its_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let mut w = world();
        let store = Store::open(&w.url).unwrap();
        let (base_events, base_audit) = store
            .read(|tx| Ok::<_, StoreError>((
                tx.query_i64("SELECT count(*) FROM card_events", &[])?,
                tx.query_i64("SELECT count(*) FROM audit_log WHERE action LIKE 'card.%'", &[])?,
            )))
            .unwrap();
        check(&mut w)?;
        for op in &ops {
            step(&mut w, op);
            check(&mut w)?;
            audit_matches(&w, base_events, base_audit)?;
        }
        if std::env::var("SSCARD_PROP_DEBUG").is_ok() {
            eprintln!("{:?}", w.tally);
        }
    }
}
