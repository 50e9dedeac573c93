//! A property test of the medical personal-account ledger on SQLite and PostgreSQL.
//!
//! Random sequences of operations over a handful of accounts of a small demo population:
//! transfers (and replays of a client id, with the same and with different content),
//! reservations, partial and full posts (and their replays), voids, the clock moving forward
//! and expiries, and monthly contribution postings. The test keeps its own model (expected
//! balance and reservation of each account, the state of each reservation) and predicts
//! every outcome. After every operation:
//! - `ledger::check_invariants` finds nothing (balances equal their entries, reservations
//!   their pending transfers, balances sum to zero);
//! - no personal or clearing account is negative, nor its available balance;
//! - the stored balances and reservations equal the model's;
//! - a refused operation (or a replay) changed nothing at all.
//!
//! One world per backend serves every case (the model carries over), so a case is cheap.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sscard_domain::clock::{Clock, FixedClock};
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::ledger::{self, TransferRequest, TransferResult};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig, ServiceError};
use sscard_store::repo::{ledger as repo, regions};
use sscard_store::{Store, StoreError, params};

/// How an amount is chosen: a percentage of the debit account's available balance (1 000
/// fen per point for fund accounts), or a small number of fen (including zero and negatives).
#[derive(Debug, Clone, Copy)]
enum Amt {
    Pct(u8),
    Fen(i64),
}

/// Which transfer a post or a void names.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// One of the latest reservations made (open, posted or voided).
    Res(usize),
    /// One of the reservations still open, if any.
    Open(usize),
    /// The k-th plain transfer made (not a reservation).
    Plain(usize),
    /// A client id nobody used.
    Unknown,
}

#[derive(Debug, Clone)]
enum Op {
    Transfer {
        from: usize,
        to: usize,
        amount: Amt,
    },
    /// Sends the k-th accepted transfer or reservation again, unchanged or with one fen more.
    Replay {
        k: usize,
        same: bool,
    },
    Reserve {
        from: usize,
        to: usize,
        amount: Amt,
        ttl_minutes: i64,
    },
    /// Posts all (`None`) or a percentage of the reservation.
    Post {
        target: Target,
        pct: Option<u8>,
    },
    /// Posts the k-th post again under its id, unchanged or with one fen more.
    RePost {
        k: usize,
        same: bool,
    },
    Void {
        target: Target,
    },
    Advance {
        minutes: i64,
    },
    /// Moves the clock and voids the reservations past their expiry.
    Expire {
        minutes: i64,
    },
    /// Posts a new month of contributions of the chosen persons (bases from `base`), or
    /// posts an already posted month again.
    Contribute {
        base: i64,
        again: Option<usize>,
    },
}

fn amt() -> impl Strategy<Value = Amt> {
    prop_oneof![
        3 => (0u8..=130).prop_map(Amt::Pct),
        2 => (-2i64..=5_000).prop_map(Amt::Fen),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        3 => (0usize..40).prop_map(Target::Res),
        4 => (0usize..40).prop_map(Target::Open),
        1 => (0usize..40).prop_map(Target::Plain),
        1 => Just(Target::Unknown),
    ]
}

fn op(n_accounts: usize) -> impl Strategy<Value = Op> {
    let acc = 0..n_accounts;
    prop_oneof![
        6 => (acc.clone(), acc.clone(), amt()).prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        2 => (0usize..60, any::<bool>()).prop_map(|(k, same)| Op::Replay { k, same }),
        5 => (acc.clone(), acc, amt(), 1i64..=90).prop_map(|(from, to, amount, ttl_minutes)| Op::Reserve { from, to, amount, ttl_minutes }),
        4 => (target(), prop::option::of(0u8..=120)).prop_map(|(target, pct)| Op::Post { target, pct }),
        1 => (0usize..30, any::<bool>()).prop_map(|(k, same)| Op::RePost { k, same }),
        2 => target().prop_map(|target| Op::Void { target }),
        1 => (1i64..=60).prop_map(|minutes| Op::Advance { minutes }),
        1 => (0i64..=60).prop_map(|minutes| Op::Expire { minutes }),
        1 => (0i64..=1_500_000, prop::option::of(0usize..10)).prop_map(|(base, again)| Op::Contribute { base, again }),
    ]
}

/// One account of the handful the operations use.
#[derive(Debug, Clone)]
struct Acc {
    id: i64,
    /// Fund accounts may go negative; personal and clearing accounts never.
    may_go_negative: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResState {
    Open,
    Posted,
    Voided,
}

#[derive(Debug, Clone)]
struct Reservation {
    client_id: String,
    from: usize,
    to: usize,
    amount: i64,
    expires_at: DateTime<Utc>,
    state: ResState,
}

/// An accepted transfer or reservation, to send again.
#[derive(Debug, Clone)]
struct Done {
    req: TransferRequest,
    reservation: bool,
    transfer_id: i64,
}

struct World {
    base: App,
    store: Store,
    now: DateTime<Utc>,
    accounts: Vec<Acc>,
    /// Expected (balance, reserved) of each account of the handful.
    model: Vec<(i64, i64)>,
    /// Persons whose contributions are posted: (person id, index of their account).
    persons: Vec<(i64, usize)>,
    income: usize,
    rate_bp: i64,
    done: Vec<Done>,
    reservations: Vec<Reservation>,
    /// Posts made: (post client id, reservation client id, amount, transfer id).
    posts: Vec<(String, String, i64, i64)>,
    /// Months posted by the test, and the next one to post.
    months: Vec<String>,
    next_month: NaiveDate,
    seq: u64,
    tally: BTreeMap<String, u32>,
}

fn admin() -> Actor {
    Actor {
        username: "admin".into(),
        role: "admin".into(),
        agency: String::new(),
        channel: Channel::Cli,
    }
}

impl World {
    fn new(url: &str) -> World {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap();
        let base = App::open(&AppConfig {
            db_url: url.to_string(),
            pin_key: Some(PinKey::new(vec![9; 32]).unwrap()),
            ..Default::default()
        })
        .unwrap();
        demo::generate(
            &base.with_clock(Arc::new(FixedClock(now))),
            &DemoOptions {
                persons: 60,
                seed: 23,
                as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            },
            &|_, _| {},
        )
        .unwrap();
        let store = Store::open(url).unwrap();
        // The model knows every reservation: release the demo's, if any.
        let open: Vec<String> = store
            .read(|tx| {
                tx.query(
                    "SELECT client_id FROM transfers WHERE status = 'pending' ORDER BY id",
                    &[],
                )?
                .iter()
                .map(|r| r.text(0))
                .collect::<Result<Vec<_>, StoreError>>()
            })
            .unwrap();
        for c in &open {
            ledger::void_pending(&base, c).unwrap();
        }
        // The region with the most insured persons having an account and contributions.
        let region: String = store
            .read(|tx| {
                tx.query_one(
                    "SELECT p.region_code FROM persons p
                     JOIN accounts a ON a.person_id = p.id AND a.kind = 'medical_personal'
                     WHERE EXISTS (SELECT 1 FROM contributions c WHERE c.person_id = p.id)
                     GROUP BY p.region_code ORDER BY count(*) DESC, p.region_code LIMIT 1",
                    &[],
                    "region",
                )?
                .text(0)
            })
            .unwrap();
        let (persons, clearing, funds, last_month) = store
            .read(|tx| {
                let persons = tx
                    .query(
                        "SELECT p.id, a.id FROM persons p
                         JOIN accounts a ON a.person_id = p.id AND a.kind = 'medical_personal'
                         WHERE p.region_code = $1
                           AND EXISTS (SELECT 1 FROM contributions c WHERE c.person_id = p.id)
                         ORDER BY p.id LIMIT 4",
                        params![region.as_str()],
                    )?
                    .iter()
                    .map(|r| Ok((r.i64(0)?, r.i64(1)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                let clearing = tx
                    .query(
                        "SELECT id FROM accounts WHERE kind = 'institution_clearing'
                         ORDER BY CASE WHEN region_code = $1 THEN 0 ELSE 1 END, id LIMIT 2",
                        params![region.as_str()],
                    )?
                    .iter()
                    .map(|r| r.i64(0))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                let mut funds = Vec::new();
                for kind in ["contribution_income", "pooling_fund"] {
                    let id = match repo::fund_account(tx, &region, kind)? {
                        Some(id) => id,
                        None => repo::open_account(
                            tx,
                            kind,
                            None,
                            None,
                            &region,
                            "2026-01-01T00:00:00Z",
                        )?,
                    };
                    funds.push(id);
                }
                let last = tx
                    .query_one("SELECT max(month) FROM contributions", &[], "month")?
                    .text(0)?;
                Ok::<_, StoreError>((persons, clearing, funds, last))
            })
            .unwrap();
        assert!(persons.len() >= 3, "too few insured persons: {persons:?}");
        assert_eq!(clearing.len(), 2, "the demo has clearing accounts");
        let mut accounts: Vec<Acc> = persons
            .iter()
            .map(|(_, a)| Acc {
                id: *a,
                may_go_negative: false,
            })
            .collect();
        accounts.extend(clearing.iter().map(|&id| Acc {
            id,
            may_go_negative: false,
        }));
        let income = accounts.len();
        accounts.extend(funds.iter().map(|&id| Acc {
            id,
            may_go_negative: true,
        }));
        let persons = persons
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (*p, i))
            .collect();
        let today = FixedClock(now).today();
        let rate_bp = store
            .read(|tx| regions::policy_in_force(tx, &region, today))
            .unwrap()
            .unwrap_or_default()
            .medical_account_rate_bp;
        let next_month = NaiveDate::parse_from_str(&format!("{last_month}-01"), "%Y-%m-%d")
            .unwrap()
            .checked_add_months(chrono::Months::new(1))
            .unwrap();
        let mut w = World {
            base,
            store,
            now,
            accounts,
            model: Vec::new(),
            persons,
            income,
            rate_bp: i64::from(rate_bp),
            done: Vec::new(),
            reservations: Vec::new(),
            posts: Vec::new(),
            months: Vec::new(),
            next_month,
            seq: 0,
            tally: BTreeMap::new(),
        };
        w.model = w.stored();
        w
    }

    fn app(&self) -> App {
        self.base.with_clock(Arc::new(FixedClock(self.now)))
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("prop-{prefix}-{}", self.seq)
    }

    /// Stored (balance, reserved) of each account of the handful.
    fn stored(&self) -> Vec<(i64, i64)> {
        self.store
            .read(|tx| {
                self.accounts
                    .iter()
                    .map(|a| repo::account_balance(tx, a.id))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .unwrap()
    }

    /// Everything an operation could change.
    fn snapshot(&self) -> Vec<i64> {
        let mut out = self
            .store
            .read(|tx| {
                Ok::<_, StoreError>(vec![
                    tx.query_i64("SELECT count(*) FROM transfers", &[])?,
                    tx.query_i64(
                        "SELECT count(*) FROM transfers WHERE status = 'pending'",
                        &[],
                    )?,
                    tx.query_i64(
                        "SELECT count(*) FROM transfers WHERE status = 'voided'",
                        &[],
                    )?,
                    tx.query_i64("SELECT count(*) FROM audit_log", &[])?,
                    tx.query_i64(
                        "SELECT CAST(COALESCE(sum(abs(balance_fen)), 0) AS BIGINT) FROM accounts",
                        &[],
                    )?,
                    tx.query_i64(
                        "SELECT CAST(COALESCE(sum(reserved_fen), 0) AS BIGINT) FROM accounts",
                        &[],
                    )?,
                ])
            })
            .unwrap();
        out.extend(self.stored().iter().flat_map(|(b, r)| [*b, *r]));
        out
    }

    fn available(&self, i: usize) -> i64 {
        self.model[i].0 - self.model[i].1
    }

    fn amount(&self, from: usize, a: Amt) -> i64 {
        match a {
            Amt::Fen(f) => f,
            Amt::Pct(p) if self.accounts[from].may_go_negative => i64::from(p) * 1_000,
            Amt::Pct(p) => self.available(from).max(0) * i64::from(p) / 100,
        }
    }

    fn request(&self, id: String, from: usize, to: usize, amount: i64) -> TransferRequest {
        TransferRequest {
            client_id: id,
            debit_account: self.accounts[from].id,
            credit_account: self.accounts[to].id,
            amount_fen: amount,
            kind: "settlement".into(),
            reason_code: String::new(),
            memo: "性质测试".into(),
        }
    }

    /// The outcome the ledger's rules give a new transfer or reservation of `amount`.
    fn predict_new(&self, from: usize, to: usize, amount: i64) -> Result<(), &'static str> {
        if amount <= 0 {
            Err("AMOUNT_INVALID")
        } else if from == to {
            Err("TRANSFER_SAME_ACCOUNT")
        } else if !self.accounts[from].may_go_negative && amount > self.available(from) {
            Err("INSUFFICIENT_BALANCE")
        } else {
            Ok(())
        }
    }

    fn note(&mut self, what: String) {
        *self.tally.entry(what).or_default() += 1;
    }

    fn find_done(&self, client_id: &str) -> Option<usize> {
        self.done.iter().position(|d| d.req.client_id == client_id)
    }

    /// The client id a post or void names, and the reservation it is, if one.
    fn resolve(&mut self, t: Target) -> (String, Option<usize>) {
        match t {
            Target::Open(k) if self.reservations.iter().any(|r| r.state == ResState::Open) => {
                let open: Vec<usize> = (0..self.reservations.len())
                    .filter(|&i| self.reservations[i].state == ResState::Open)
                    .collect();
                let k = open[k % open.len()];
                (self.reservations[k].client_id.clone(), Some(k))
            }
            Target::Res(k) | Target::Open(k) if !self.reservations.is_empty() => {
                let n = self.reservations.len();
                let k = n - 1 - k % n.min(8);
                (self.reservations[k].client_id.clone(), Some(k))
            }
            Target::Plain(k) => {
                let plain: Vec<&Done> = self.done.iter().filter(|d| !d.reservation).collect();
                if plain.is_empty() {
                    (self.next_id("nope"), None)
                } else {
                    (plain[k % plain.len()].req.client_id.clone(), None)
                }
            }
            _ => (self.next_id("nope"), None),
        }
    }
}

type Outcome = Result<(), &'static str>;

fn check_result(
    name: &str,
    got: &Result<TransferResult, ServiceError>,
    expected: Outcome,
) -> Result<(), TestCaseError> {
    match (got, expected) {
        (Ok(_), Ok(())) => Ok(()),
        (Err(e), Err(code)) => {
            prop_assert_eq!(e.code, code, "{}: {:?}", name, e);
            Ok(())
        }
        (got, expected) => Err(TestCaseError::fail(format!(
            "{name}: expected {expected:?}, got {got:?}"
        ))),
    }
}

/// Runs one operation against the ledger and the model.
fn step(w: &mut World, op: &Op) -> Result<(), TestCaseError> {
    let before = w.snapshot();
    // Whether the operation must leave everything as it was (refusals and replays).
    let mut unchanged = false;
    match *op {
        Op::Transfer { from, to, amount } => {
            let amount = w.amount(from, amount);
            let id = w.next_id("t");
            let req = w.request(id, from, to, amount);
            let expected = w.predict_new(from, to, amount);
            let got = ledger::transfer(&w.app(), &req);
            check_result("transfer", &got, expected)?;
            match got {
                Ok(r) => {
                    prop_assert!(!r.replayed);
                    prop_assert_eq!(r.status.as_str(), "posted");
                    w.model[from].0 -= amount;
                    w.model[to].0 += amount;
                    w.done.push(Done {
                        req,
                        reservation: false,
                        transfer_id: r.transfer_id,
                    });
                    w.note("transfer ok".into());
                }
                Err(e) => {
                    unchanged = true;
                    w.note(format!("transfer {}", e.code));
                }
            }
        }
        Op::Replay { k, same } => {
            if w.done.is_empty() {
                w.note("replay skipped".into());
                return Ok(());
            }
            let d = w.done[k % w.done.len()].clone();
            let mut req = d.req.clone();
            if !same {
                req.amount_fen += 1;
            }
            let app = w.app();
            let got = if d.reservation {
                ledger::reserve(&app, &req, Duration::minutes(5))
            } else {
                ledger::transfer(&app, &req)
            };
            unchanged = true;
            if same {
                let r = got.map_err(|e| TestCaseError::fail(format!("replay: {e:?}")))?;
                prop_assert!(r.replayed);
                prop_assert_eq!(r.transfer_id, d.transfer_id);
                prop_assert_eq!(r.amount_fen, d.req.amount_fen);
                w.note("replay same".into());
            } else {
                check_result("replay different", &got, Err("TRANSFER_ID_CONFLICT"))?;
                w.note("replay conflict".into());
            }
        }
        Op::Reserve {
            from,
            to,
            amount,
            ttl_minutes,
        } => {
            let amount = w.amount(from, amount);
            let id = w.next_id("r");
            let req = w.request(id.clone(), from, to, amount);
            let expected = w.predict_new(from, to, amount);
            let got = ledger::reserve(&w.app(), &req, Duration::minutes(ttl_minutes));
            check_result("reserve", &got, expected)?;
            match got {
                Ok(r) => {
                    prop_assert!(!r.replayed);
                    prop_assert_eq!(r.status.as_str(), "pending");
                    w.model[from].1 += amount;
                    w.reservations.push(Reservation {
                        client_id: id,
                        from,
                        to,
                        amount,
                        expires_at: w.now + Duration::minutes(ttl_minutes),
                        state: ResState::Open,
                    });
                    w.done.push(Done {
                        req,
                        reservation: true,
                        transfer_id: r.transfer_id,
                    });
                    w.note("reserve ok".into());
                }
                Err(e) => {
                    unchanged = true;
                    w.note(format!("reserve {}", e.code));
                }
            }
        }
        Op::Post { target, pct } => {
            let (pending_id, res) = w.resolve(target);
            let post_id = w.next_id("p");
            let base_amount = match res {
                Some(k) => Some(w.reservations[k].amount),
                None => w.find_done(&pending_id).map(|i| w.done[i].req.amount_fen),
            };
            let amount = pct.and_then(|p| base_amount.map(|a| a * i64::from(p) / 100));
            let expected: Outcome = match (base_amount, res) {
                (None, _) => Err("PENDING_NOT_FOUND"),
                (Some(full), res) => {
                    let amount = amount.unwrap_or(full);
                    match res {
                        _ if amount <= 0 => Err("AMOUNT_INVALID"),
                        None => Err("PENDING_NOT_OPEN"),
                        Some(k) => {
                            let r = &w.reservations[k];
                            if r.state != ResState::Open {
                                Err("PENDING_NOT_OPEN")
                            } else if r.expires_at <= w.now {
                                Err("PENDING_EXPIRED")
                            } else if amount > r.amount {
                                Err("POST_EXCEEDS_RESERVED")
                            } else {
                                Ok(())
                            }
                        }
                    }
                }
            };
            let got = ledger::post_pending(&w.app(), &pending_id, &post_id, amount);
            check_result("post", &got, expected)?;
            match got {
                Ok(r) => {
                    let k = res.expect("only a reservation posts");
                    let (from, to, reserved) = {
                        let rv = &mut w.reservations[k];
                        rv.state = ResState::Posted;
                        (rv.from, rv.to, rv.amount)
                    };
                    let amount = amount.unwrap_or(reserved);
                    prop_assert!(!r.replayed);
                    prop_assert_eq!(r.amount_fen, amount);
                    w.model[from].1 -= reserved;
                    w.model[from].0 -= amount;
                    w.model[to].0 += amount;
                    w.posts.push((post_id, pending_id, amount, r.transfer_id));
                    w.note(
                        if amount < reserved {
                            "post partial"
                        } else {
                            "post full"
                        }
                        .into(),
                    );
                }
                Err(e) => {
                    unchanged = true;
                    w.note(format!("post {}", e.code));
                }
            }
        }
        Op::RePost { k, same } => {
            if w.posts.is_empty() {
                w.note("repost skipped".into());
                return Ok(());
            }
            let (post_id, pending_id, amount, transfer_id) = w.posts[k % w.posts.len()].clone();
            let asked = if same { amount } else { amount + 1 };
            let got = ledger::post_pending(&w.app(), &pending_id, &post_id, Some(asked));
            unchanged = true;
            if same {
                let r = got.map_err(|e| TestCaseError::fail(format!("repost: {e:?}")))?;
                prop_assert!(r.replayed);
                prop_assert_eq!(r.transfer_id, transfer_id);
                w.note("repost same".into());
            } else {
                check_result("repost different", &got, Err("TRANSFER_ID_CONFLICT"))?;
                w.note("repost conflict".into());
            }
        }
        Op::Void { target } => {
            let (pending_id, res) = w.resolve(target);
            let known = res.is_some() || w.find_done(&pending_id).is_some();
            let expected: Outcome = match res {
                None if !known => Err("PENDING_NOT_FOUND"),
                None => Err("PENDING_NOT_OPEN"),
                Some(k) => match w.reservations[k].state {
                    ResState::Posted => Err("PENDING_NOT_OPEN"),
                    ResState::Open | ResState::Voided => Ok(()),
                },
            };
            let got = ledger::void_pending(&w.app(), &pending_id);
            check_result("void", &got, expected)?;
            match got {
                Ok(r) => {
                    let k = res.expect("only a reservation voids");
                    let rv = w.reservations[k].clone();
                    prop_assert_eq!(r.replayed, rv.state == ResState::Voided);
                    if rv.state == ResState::Open {
                        w.model[rv.from].1 -= rv.amount;
                        w.reservations[k].state = ResState::Voided;
                        w.note("void ok".into());
                    } else {
                        unchanged = true;
                        w.note("void replayed".into());
                    }
                }
                Err(e) => {
                    unchanged = true;
                    w.note(format!("void {}", e.code));
                }
            }
        }
        Op::Advance { minutes } => {
            w.now += Duration::minutes(minutes);
            unchanged = true;
            w.note("advance".into());
        }
        Op::Expire { minutes } => {
            w.now += Duration::minutes(minutes);
            let now = w.now;
            let mut expected = 0u64;
            for k in 0..w.reservations.len() {
                let rv = w.reservations[k].clone();
                if rv.state == ResState::Open && rv.expires_at <= now {
                    expected += 1;
                    w.model[rv.from].1 -= rv.amount;
                    w.reservations[k].state = ResState::Voided;
                }
            }
            let n = ledger::expire_pending(&w.app())
                .map_err(|e| TestCaseError::fail(format!("expire: {e:?}")))?;
            prop_assert_eq!(n, expected);
            unchanged = expected == 0;
            w.note(format!("expire {}", expected.min(2)));
        }
        Op::Contribute { base, again } => {
            let app = w.app();
            match again {
                Some(k) if !w.months.is_empty() => {
                    let month = w.months[k % w.months.len()].clone();
                    let r = ledger::post_contributions(&app, &admin(), &month)
                        .map_err(|e| TestCaseError::fail(format!("repost month: {e:?}")))?;
                    prop_assert_eq!((r.transfers, r.credited_fen), (0, 0));
                    w.note("contribution again".into());
                    // Only the run's audit row is new.
                    let after = w.snapshot();
                    let mut expected = before.clone();
                    expected[3] += 1;
                    prop_assert_eq!(after, expected, "a repeated posting moved something");
                }
                _ => {
                    let month = w.next_month.format("%Y-%m").to_string();
                    w.next_month = w
                        .next_month
                        .checked_add_months(chrono::Months::new(1))
                        .unwrap();
                    let mut credits = Vec::new();
                    for (n, (person, acc)) in w.persons.clone().into_iter().enumerate() {
                        let b = (base + n as i64 * 37_911) % 1_600_000;
                        w.store
                            .write(|tx| {
                                tx.execute(
                                    "INSERT INTO contributions (person_id, month, employer_id, base_fen,
                                         pension_employer_fen, pension_personal_fen, medical_employer_fen,
                                         medical_personal_fen, unemployment_employer_fen,
                                         unemployment_personal_fen, injury_employer_fen, maternity_employer_fen)
                                     SELECT person_id, $1, employer_id, $2, pension_employer_fen,
                                         pension_personal_fen, medical_employer_fen, medical_personal_fen,
                                         unemployment_employer_fen, unemployment_personal_fen,
                                         injury_employer_fen, maternity_employer_fen
                                     FROM contributions WHERE person_id = $3
                                     ORDER BY month DESC LIMIT 1",
                                    params![month.as_str(), b, person],
                                )
                            })
                            .unwrap();
                        let credit = b * w.rate_bp / 10_000;
                        if credit > 0 {
                            credits.push((acc, credit));
                        }
                    }
                    let r = ledger::post_contributions(&app, &admin(), &month)
                        .map_err(|e| TestCaseError::fail(format!("post month: {e:?}")))?;
                    let total: i64 = credits.iter().map(|c| c.1).sum();
                    prop_assert_eq!(r.transfers, credits.len() as i64);
                    prop_assert_eq!(r.credited_fen, total);
                    for (acc, credit) in credits {
                        w.model[acc].0 += credit;
                    }
                    let income = w.income;
                    w.model[income].0 -= total;
                    w.months.push(month);
                    w.note("contribution month".into());
                }
            }
        }
    }
    if unchanged {
        prop_assert_eq!(w.snapshot(), before, "{:?} changed something", op);
    }
    Ok(())
}

/// The invariants after every operation.
fn check(w: &World) -> Result<(), TestCaseError> {
    let violations = ledger::check_invariants(&w.base).unwrap();
    prop_assert!(violations.is_empty(), "{:?}", violations);
    let negative = w
        .store
        .read(|tx| {
            tx.query_i64(
                "SELECT count(*) FROM accounts
                 WHERE may_go_negative = $1 AND (balance_fen < 0 OR balance_fen - reserved_fen < 0)",
                params![false],
            )
        })
        .unwrap();
    prop_assert_eq!(negative, 0, "a personal or clearing account went negative");
    prop_assert_eq!(
        w.stored(),
        w.model.clone(),
        "stored balances differ from the model"
    );
    for (i, a) in w.accounts.iter().enumerate() {
        if !a.may_go_negative {
            prop_assert!(w.available(i) >= 0);
        }
    }
    Ok(())
}

fn run(url: &str) {
    let world = RefCell::new(World::new(url));
    let n_accounts = world.borrow().accounts.len();
    // Every case continues the same world (the model carries over), so a shrunk case would
    // not start from the state that failed: no shrinking, no persisted failures.
    let mut runner = TestRunner::new(Config {
        cases: 12,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(n_accounts), 40..80), |ops| {
        let mut w = world.borrow_mut();
        check(&w)?;
        for op in &ops {
            step(&mut w, op)?;
            check(&w)?;
        }
        Ok(())
    });
    let w = world.borrow();
    if std::env::var("SSCARD_PROP_DEBUG").is_ok() {
        eprintln!("{:#?}", w.tally);
    }
    if let Err(e) = result {
        panic!("{e}\ntally: {:?}", w.tally);
    }
    // Not vacuous: the operations were accepted and refused in every way.
    for what in [
        "transfer ok",
        "transfer INSUFFICIENT_BALANCE",
        "replay same",
        "replay conflict",
        "reserve ok",
        "post partial",
        "post full",
        "void ok",
        "contribution month",
    ] {
        assert!(
            w.tally.get(what).copied().unwrap_or(0) > 0,
            "never happened: {what}; tally {:?}",
            w.tally
        );
    }
}

#[test]
fn ledger_keeps_its_invariants_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    run(&url);
}

#[test]
fn ledger_keeps_its_invariants_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    run(&url);
}
