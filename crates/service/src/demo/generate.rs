//! The generator proper. One [`Gen`] walks the persons in order with a seeded ChaCha RNG, so
//! the output depends only on (persons, seed, as-of date).

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sscard_domain::card::CardStatus;
use sscard_domain::divisions;
use sscard_domain::ids::{CardId, CreditCode, IdNumber, RegionCode};
use sscard_domain::person::{Gender, LifeStatus};
use sscard_domain::pin::validate_new_pin;
use sscard_domain::policy::RegionPolicy;
use sscard_store::repo::{org, regions, ts};
use sscard_store::{StoreError, Tx, Value};

use super::names::*;
use super::{DemoOptions, DemoSamples, SampleCardholder, SampleInstitution, SampleStaff};
use crate::App;
use crate::audit::{self, Actor, Change, Channel};
use crate::cards::numbers::{card_no, chip_serial};
use crate::error::ServiceError;
use crate::secrets;

const CHUNK: u64 = 20_000;

/// Share of persons per seed city, in per mille: Chongqing, Neijiang, Dalian, Shijiazhuang.
const REGION_WEIGHTS: [(&str, char, u32); 4] = [
    ("500000", 'C', 400),
    ("511000", 'N', 200),
    ("210200", 'D', 200),
    ("130100", 'S', 200),
];

fn t(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}
fn i(v: i64) -> Value {
    Value::Int(v)
}
fn b(v: bool) -> Value {
    Value::Bool(v)
}
fn opt_t(v: Option<String>) -> Value {
    v.map(Value::Text).unwrap_or(Value::Null)
}

/// Rows of one table waiting to be written.
#[derive(Default)]
struct Rows(Vec<Vec<Value>>);

/// Every table's rows of one chunk of persons.
#[derive(Default)]
struct Chunk {
    persons: Rows,
    employment: Rows,
    enrolments: Rows,
    contributions: Rows,
    accounts: Rows,
    transfers: Rows,
    cards: Rows,
    card_events: Rows,
    loss_reports: Rows,
    benefits: Rows,
    injury_cases: Rows,
    fees: Rows,
    done: u64,
}

const PERSON_COLS: &[&str] = &[
    "id",
    "doc_type",
    "doc_number",
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "phone",
    "address",
    "region_code",
    "life_status",
    "life_status_since",
    "query_password_hash",
    "query_password_changed",
    "created_at",
];
const EMPLOYMENT_COLS: &[&str] = &[
    "person_id",
    "employer_id",
    "start_date",
    "end_date",
    "position",
];
const ENROLMENT_COLS: &[&str] = &[
    "person_id",
    "insurance",
    "scheme",
    "status",
    "region_code",
    "start_date",
    "end_date",
];
const CONTRIBUTION_COLS: &[&str] = &[
    "person_id",
    "month",
    "employer_id",
    "base_fen",
    "pension_employer_fen",
    "pension_personal_fen",
    "medical_employer_fen",
    "medical_personal_fen",
    "unemployment_employer_fen",
    "unemployment_personal_fen",
    "injury_employer_fen",
    "maternity_employer_fen",
];
const ACCOUNT_COLS: &[&str] = &[
    "id",
    "kind",
    "person_id",
    "region_code",
    "balance_fen",
    "may_go_negative",
    "created_at",
];
const TRANSFER_COLS: &[&str] = &[
    "period",
    "id",
    "client_id",
    "debit_account",
    "credit_account",
    "amount_fen",
    "kind",
    "reason_code",
    "status",
    "memo",
    "created_at",
];
const CARD_COLS: &[&str] = &[
    "id",
    "person_id",
    "kind",
    "status",
    "card_no",
    "card_id",
    "region_code",
    "agency_id",
    "batch_id",
    "bank_id",
    "bank_account",
    "bank_status",
    "previous_card_id",
    "applied_at",
    "notice_date",
    "at_card_centre",
    "collected_at",
    "activated_at",
    "expires_on",
    "status_changed_at",
    "pin_mac",
    "pin_changed",
    "pin_failed",
    "pin_locked",
];
const EVENT_COLS: &[&str] = &[
    "card_id",
    "event",
    "from_status",
    "to_status",
    "channel",
    "actor",
    "detail_json",
    "at",
];
const LOSS_COLS: &[&str] = &[
    "card_id",
    "side",
    "kind",
    "channel",
    "status",
    "reported_at",
    "expires_at",
    "closed_at",
];
const BENEFIT_COLS: &[&str] = &[
    "person_id",
    "kind",
    "status",
    "start_month",
    "end_month",
    "monthly_fen",
    "lump_sum_fen",
    "detail_json",
];
const INJURY_COLS: &[&str] = &[
    "person_id",
    "employer_id",
    "kind",
    "occurred_on",
    "recognised_on",
    "disability_grade",
    "description",
];
const FEE_COLS: &[&str] = &[
    "receipt_no",
    "person_id",
    "card_id",
    "kind",
    "amount_fen",
    "at",
    "staff",
];

struct Institution {
    clearing_account: i64,
}

struct Region {
    code: &'static str,
    letter: char,
    name: &'static str,
    counties: Vec<(&'static str, &'static str)>,
    policy: RegionPolicy,
    card_centre: i64,
    agencies: Vec<i64>,
    institutions: Vec<Institution>,
    income_account: i64,
    payout_account: i64,
    employers: Vec<Employer>,
    batch_id: i64,
}

struct Employer {
    id: i64,
    base_level_fen: i64,
    founded: NaiveDate,
}

/// A sample candidate, filled while generating.
#[derive(Clone)]
struct Candidate {
    sample: SampleCardholder,
}

struct Gen {
    rng: ChaCha8Rng,
    as_of: NaiveDate,
    regions: Vec<Region>,
    nationwide: Vec<&'static str>,
    seen_ids: HashSet<String>,
    next_account: i64,
    next_transfer: i64,
    next_card: i64,
    next_card_serial: HashMap<char, u64>,
    next_receipt: u64,
    banks: Vec<(i64, &'static str)>,
    fund_delta: HashMap<i64, i64>,
    fund_max: i64,
    candidates: HashMap<&'static str, Vec<Candidate>>,
    pin_key: secrets::PinKey,
    created_at: String,
}

fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

fn month_str(idx: i32) -> String {
    format!("{:04}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
}

fn month_first(idx: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
}

/// An instant on a Shanghai calendar day at the given local hour, formatted for storage.
fn at(d: NaiveDate, hour: u32) -> String {
    let local = d.and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("valid time"));
    ts(Utc.from_utc_datetime(&(local - Duration::hours(8))))
}

impl Gen {
    fn per_mille(&mut self) -> u32 {
        self.rng.random_range(0..1000)
    }

    fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        list[self.rng.random_range(0..list.len())]
    }

    /// Surname with a Zipf-like bias towards the common ones.
    fn surname(&mut self) -> &'static str {
        let a = self.rng.random_range(0..SURNAMES.len());
        let b = self.rng.random_range(0..SURNAMES.len());
        SURNAMES[a.min(b)]
    }

    fn name(&mut self, gender: Gender) -> String {
        let chars = if gender == Gender::Male {
            MALE_CHARS
        } else {
            FEMALE_CHARS
        };
        let mut n = self.surname().to_string();
        n.push_str(self.pick(chars));
        if self.per_mille() < 700 {
            n.push_str(self.pick(chars));
        }
        n
    }

    fn salt(&mut self) -> [u8; 16] {
        let mut s = [0u8; 16];
        self.rng.fill_bytes(&mut s);
        s
    }

    fn random_pin(&mut self, birth: NaiveDate, initial: &str) -> String {
        loop {
            let pin = format!("{:06}", self.rng.random_range(0..1_000_000u32));
            if validate_new_pin(&pin, Some(birth), initial).is_ok() {
                return pin;
            }
        }
    }

    fn account(&mut self) -> i64 {
        self.next_account += 1;
        self.next_account
    }

    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &mut self,
        chunk: &mut Chunk,
        debit: i64,
        credit: i64,
        amount: i64,
        kind: &str,
        memo: &str,
        when: &str,
    ) {
        self.next_transfer += 1;
        let id = self.next_transfer;
        // A contribution credit is for the month before the one it is booked in, and may exist
        // once per account and month (the monthly posting skips months already credited).
        let period = (kind == "contribution")
            .then(|| {
                NaiveDate::parse_from_str(&when[..10], "%Y-%m-%d")
                    .ok()
                    .map(|d| month_str(month_index(d) - 1))
            })
            .flatten();
        chunk.transfers.0.push(vec![
            opt_t(period),
            i(id),
            // Zero-padded so the UNIQUE index on client_id is appended to in order.
            t(format!("d{id:010}")),
            i(debit),
            i(credit),
            i(amount),
            t(kind),
            t(""),
            t("posted"),
            t(memo),
            t(when),
        ]);
        for (acc, delta) in [(debit, -amount), (credit, amount)] {
            // Personal accounts are written with their final balance; only the shared fund
            // and clearing accounts (created before any person) are adjusted afterwards.
            if acc <= self.fund_max {
                *self.fund_delta.entry(acc).or_insert(0) += delta;
            }
        }
    }

    fn new_id_number(&mut self, region: usize, birth: NaiveDate, gender: Gender) -> IdNumber {
        loop {
            let division = if self.per_mille() < 850 {
                let counties = &self.regions[region].counties;
                counties[self.rng.random_range(0..counties.len())].0
            } else {
                self.nationwide[self.rng.random_range(0..self.nationwide.len())]
            };
            let mut seq: u16 = self.rng.random_range(0..1000);
            let male = seq % 2 == 1;
            if male != (gender == Gender::Male) {
                seq = if seq == 999 { 998 } else { seq + 1 };
            }
            let id = IdNumber::from_parts(division, birth, seq);
            if self.seen_ids.insert(id.as_str().to_string()) {
                return id;
            }
        }
    }

    fn sample_slot(
        &mut self,
        key: &'static str,
        want: usize,
        c: impl FnOnce() -> SampleCardholder,
    ) {
        let list = self.candidates.entry(key).or_default();
        if list.len() < want {
            let sample = c();
            // Samples are living holders, but for an unclaimed estate and a cancelled card
            // (cards are cancelled on death or emigration).
            if sample.life_status == "normal" || matches!(key, "deceased_unclaimed" | "cancelled") {
                list.push(Candidate { sample });
            }
        }
    }

    fn wants(&self, key: &'static str, want: usize) -> bool {
        self.candidates
            .get(key)
            .map(|l| l.len() < want)
            .unwrap_or(true)
    }
}

/// Card history to generate for one person.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plan {
    None,
    Simple(CardStatus),
    PinLocked,
    ExpiredTemporary,
    Reissue {
        new_awaiting: bool,
        with_temporary: bool,
    },
    Replacing,
    Cancelled,
}

fn plan_for(g: &mut Gen, life: LifeStatus, age: i32, claimed: bool) -> Plan {
    if age < 1 {
        return Plan::None;
    }
    match life {
        LifeStatus::Deceased if claimed => return Plan::Cancelled,
        LifeStatus::Emigrated => return Plan::Cancelled,
        _ => {}
    }
    let d = g.per_mille();
    match d {
        0..880 => Plan::Simple(CardStatus::Active),
        880..895 => Plan::Simple(CardStatus::Applied),
        895..910 => Plan::Simple(CardStatus::InProduction),
        910..940 => Plan::Simple(CardStatus::AwaitingCollection),
        940..950 => Plan::Simple(CardStatus::Collected),
        950..962 => Plan::Simple(CardStatus::TemporaryLoss),
        962..970 => Plan::Simple(CardStatus::WrittenLoss),
        970..978 => Plan::Reissue {
            new_awaiting: d.is_multiple_of(2),
            with_temporary: false,
        },
        978..983 => Plan::Replacing,
        983..988 => Plan::PinLocked,
        988..993 => Plan::ExpiredTemporary,
        993..996 => Plan::Reissue {
            new_awaiting: false,
            with_temporary: true,
        },
        _ => Plan::None,
    }
}

struct PersonCtx<'a> {
    pid: i64,
    region: usize,
    id_number: &'a str,
    name: &'a str,
    birth: NaiveDate,
    life: &'static str,
    query_password: String,
    query_changed: bool,
    balance: i64,
}

/// Writes one card row plus its events; returns the card id.
struct CardSpec {
    status: CardStatus,
    temporary: bool,
    previous: Option<i64>,
    applied: NaiveDate,
    pin_changed: bool,
    pin_locked: bool,
    at_centre: bool,
    expires_on: Option<NaiveDate>,
}

impl Gen {
    fn add_card(
        &mut self,
        chunk: &mut Chunk,
        p: &PersonCtx<'_>,
        spec: &CardSpec,
    ) -> (i64, Option<String>, Option<String>) {
        self.next_card += 1;
        let id = self.next_card;
        let r = &self.regions[p.region];
        let region_code = r.code;
        let letter = r.letter;
        let batch = r.batch_id;
        let initial = r.policy.initial_pin.clone();
        let threshold = i64::from(r.policy.pin_lock_threshold);
        let agency = r.agencies[self.rng.random_range(0..r.agencies.len())];
        let card_centre = r.card_centre;
        let s = spec.status;
        let produced = !matches!(s, CardStatus::Applied | CardStatus::InProduction);
        let (card_no_v, card_id_v) = if produced {
            let serial = self.next_card_serial.entry(letter).or_insert(0);
            *serial += 1;
            let serial = *serial;
            let cid = CardId::new(
                &RegionCode::parse(region_code).expect("seed region"),
                chip_serial(serial),
            );
            (
                Some(card_no(letter, serial)),
                Some(cid.as_str().to_string()),
            )
        } else {
            (None, None)
        };
        let (bank_id, bank_code) = self.banks[self.rng.random_range(0..self.banks.len())];
        let bank_account = (produced && !spec.temporary).then(|| {
            format!(
                "6217{:015}",
                self.rng.random_range(0..1_000_000_000_000_000u64)
            )
        });
        let collected = matches!(
            s,
            CardStatus::Collected
                | CardStatus::Active
                | CardStatus::TemporaryLoss
                | CardStatus::WrittenLoss
                | CardStatus::Reissuing
                | CardStatus::Replacing
                | CardStatus::Cancelled
                | CardStatus::Expired
        );
        let activated = collected && s != CardStatus::Collected;
        let notice = produced.then(|| spec.applied + Duration::days(self.rng.random_range(20..40)));
        let collected_on = notice
            .filter(|_| collected)
            .map(|n| n + Duration::days(self.rng.random_range(1..30)));
        let bank_status = if spec.temporary || bank_account.is_none() {
            "none"
        } else if matches!(s, CardStatus::Cancelled) {
            "cancelled"
        } else if matches!(s, CardStatus::WrittenLoss | CardStatus::Reissuing) {
            "lost"
        } else if activated && self.per_mille() < 850 {
            "active"
        } else {
            "opened"
        };
        let pin = if spec.pin_changed {
            self.random_pin(p.birth, &initial)
        } else {
            initial.clone()
        };
        let salt = self.salt();
        let pin_mac = self.pin_key.seal_pin(&pin, salt);
        let last_change = collected_on.or(notice).unwrap_or(spec.applied);
        let status_changed = match s {
            CardStatus::TemporaryLoss => self.as_of - Duration::days(self.rng.random_range(0..3)),
            CardStatus::Active
            | CardStatus::Collected
            | CardStatus::Applied
            | CardStatus::InProduction
            | CardStatus::AwaitingCollection => last_change,
            _ => (last_change + Duration::days(self.rng.random_range(30..300))).min(self.as_of),
        };
        chunk.cards.0.push(vec![
            i(id),
            i(p.pid),
            t(if spec.temporary {
                "temporary"
            } else {
                "regular"
            }),
            t(s.as_str()),
            opt_t(card_no_v.clone()),
            opt_t(card_id_v.clone()),
            t(region_code),
            i(agency),
            if matches!(s, CardStatus::Applied) {
                Value::Null
            } else {
                i(batch)
            },
            if spec.temporary {
                Value::Null
            } else {
                i(bank_id)
            },
            opt_t(bank_account),
            t(bank_status),
            spec.previous.map(i).unwrap_or(Value::Null),
            t(at(spec.applied, 10)),
            opt_t(notice.map(|d| d.to_string())),
            b(spec.at_centre),
            opt_t(collected_on.map(|d| at(d, 11))),
            opt_t(collected_on.filter(|_| activated).map(|d| at(d, 11))),
            opt_t(spec.expires_on.map(|d| d.to_string())),
            t(at(status_changed, 15)),
            t(pin_mac),
            b(spec.pin_changed),
            i(if spec.pin_locked { threshold } else { 0 }),
            b(spec.pin_locked),
        ]);
        // Timeline.
        let mut ev = |event: &str,
                      from: Option<CardStatus>,
                      to: CardStatus,
                      when: String,
                      channel: &str,
                      detail: String| {
            chunk.card_events.0.push(vec![
                i(id),
                t(event),
                opt_t(from.map(|f| f.as_str().to_string())),
                t(to.as_str()),
                t(channel),
                t(if channel == "counter" {
                    "clerk1"
                } else {
                    "system"
                }),
                t(detail),
                t(when),
            ]);
        };
        let apply_event = if spec.temporary {
            "issue_temporary"
        } else if spec.previous.is_some() {
            "apply_replacement"
        } else {
            "apply"
        };
        let first = if spec.temporary {
            CardStatus::Active
        } else {
            CardStatus::Applied
        };
        ev(
            apply_event,
            None,
            first,
            at(spec.applied, 10),
            "counter",
            format!("{{\"bank\":\"{bank_code}\"}}"),
        );
        if !spec.temporary && s != CardStatus::Applied {
            ev(
                "batch",
                Some(CardStatus::Applied),
                CardStatus::InProduction,
                at(spec.applied + Duration::days(3), 9),
                "system",
                "{}".into(),
            );
        }
        if let Some(n) = notice.filter(|_| !spec.temporary) {
            ev(
                "produced",
                Some(CardStatus::InProduction),
                CardStatus::AwaitingCollection,
                at(n, 9),
                "system",
                "{}".into(),
            );
        }
        if let Some(n) = notice.filter(|_| spec.at_centre) {
            ev(
                "moved_to_card_centre",
                Some(CardStatus::AwaitingCollection),
                CardStatus::AwaitingCollection,
                at(n + Duration::days(183), 9),
                "system",
                format!("{{\"agency_id\":{card_centre}}}"),
            );
        }
        if let Some(c) = collected_on.filter(|_| !spec.temporary) {
            ev(
                "collect",
                Some(CardStatus::AwaitingCollection),
                CardStatus::Collected,
                at(c, 11),
                "counter",
                "{\"by\":\"holder\"}".into(),
            );
            if activated {
                ev(
                    "activate",
                    Some(CardStatus::Collected),
                    CardStatus::Active,
                    at(c, 11),
                    "counter",
                    "{}".into(),
                );
            }
        }
        match s {
            CardStatus::TemporaryLoss => {
                let when = at(status_changed, 15);
                ev(
                    "report_loss_temporary",
                    Some(CardStatus::Active),
                    s,
                    when.clone(),
                    "ivr",
                    "{}".into(),
                );
                let days = i64::from(self.regions[p.region].policy.oral_loss_valid_days);
                chunk.loss_reports.0.push(vec![
                    i(id),
                    t("social"),
                    t("temporary"),
                    t("ivr"),
                    t("active"),
                    t(when),
                    t(at(status_changed + Duration::days(days), 15)),
                    Value::Null,
                ]);
            }
            CardStatus::WrittenLoss | CardStatus::Reissuing => {
                let when = at(status_changed, 15);
                ev(
                    "report_loss_written",
                    Some(CardStatus::Active),
                    CardStatus::WrittenLoss,
                    when.clone(),
                    "counter",
                    "{}".into(),
                );
                chunk.loss_reports.0.push(vec![
                    i(id),
                    t("social"),
                    t("written"),
                    t("counter"),
                    t("active"),
                    t(when.clone()),
                    Value::Null,
                    Value::Null,
                ]);
                chunk.loss_reports.0.push(vec![
                    i(id),
                    t("bank"),
                    t("written"),
                    t("bank"),
                    t("active"),
                    t(when),
                    Value::Null,
                    Value::Null,
                ]);
                if s == CardStatus::Reissuing {
                    ev(
                        "reissue",
                        Some(CardStatus::WrittenLoss),
                        s,
                        at(status_changed, 16),
                        "counter",
                        "{}".into(),
                    );
                }
            }
            CardStatus::Replacing => {
                ev(
                    "replace",
                    Some(CardStatus::Active),
                    s,
                    at(status_changed, 15),
                    "counter",
                    "{\"reason\":\"damaged\"}".into(),
                );
            }
            CardStatus::Cancelled => {
                ev(
                    "cancel",
                    Some(CardStatus::Active),
                    s,
                    at(status_changed, 15),
                    "counter",
                    format!("{{\"reason\":\"{}\"}}", p.life),
                );
            }
            CardStatus::Expired => {
                ev(
                    "expire",
                    Some(CardStatus::Active),
                    s,
                    at(spec.expires_on.unwrap_or(self.as_of), 0),
                    "system",
                    "{}".into(),
                );
            }
            _ => {}
        }
        if spec.pin_locked {
            ev(
                "pin_locked",
                Some(CardStatus::Active),
                CardStatus::Active,
                at(self.as_of - Duration::days(2), 20),
                "ivr",
                "{}".into(),
            );
        }
        let _ = &p.name;
        (id, card_no_v, Some(pin))
    }
}

fn counties_of(code: &str) -> Vec<(&'static str, &'static str)> {
    let prefix = if code.ends_with("0000") {
        &code[..2]
    } else {
        &code[..4]
    };
    divisions::all()
        .filter(|(c, _)| c.starts_with(prefix) && !c.ends_with("00"))
        .collect()
}

/// Sets up staff, banks, institutions, fund accounts and employers; returns the generator and
/// the sample staff/institution lists.
fn setup(app: &App, opts: &DemoOptions, samples: &mut DemoSamples) -> Result<Gen, ServiceError> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let now = app.now();
    let created_at = ts(now);
    let nationwide: Vec<&'static str> = divisions::all()
        .filter(|(c, _)| !c.ends_with("00"))
        .map(|(c, _)| c)
        .collect();
    let pin_key = app.pin_key().clone();

    // Staff: one per role, and a new clerk who must change the initial password.
    let staff_plan: [(&str, &str, &str, &str, bool); 8] = [
        ("admin", "系统管理员", "admin", "NJ-CARD", false),
        ("clerk1", "窗口经办员一", "clerk", "NJ-CARD", false),
        ("clerk2", "窗口经办员二", "clerk", "CQ-CARD", false),
        ("super1", "业务主管", "supervisor", "NJ-CARD", false),
        ("agent1", "12333坐席", "phone_agent", "NJ-CARD", false),
        ("auditor1", "审计员", "auditor", "NJ-CARD", false),
        ("clerk3", "窗口经办员三", "clerk", "DL-CARD", false),
        ("newclerk", "新入职经办员", "clerk", "SJZ-CARD", true),
    ];
    let mut staff_rows = Vec::new();
    for (username, display, role, agency, must_change) in staff_plan {
        let password = format!("Sscard-{}-{:04}", username, rng.random_range(0..10_000u32));
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        staff_rows.push((
            username,
            display,
            role,
            agency,
            must_change,
            secrets::hash_password(&password, salt),
        ));
        samples.staff.push(SampleStaff {
            username: username.into(),
            password,
            role: role.into(),
            must_change_password: must_change,
        });
    }

    let mut regions_v = Vec::new();
    let mut banks = Vec::new();
    let today = app.today();
    app.store().write(|tx| {
        let agencies = org::list_agencies(tx, None)?;
        let agency_id = |code: &str| agencies.iter().find(|a| a.code == code).map(|a| a.id);
        for (username, display, role, agency, must_change, hash) in &staff_rows {
            org::insert_staff(
                tx,
                &org::NewStaff {
                    username,
                    display_name: display,
                    password_hash: hash,
                    role,
                    agency_id: agency_id(agency),
                    must_change_password: *must_change,
                },
                now,
            )?;
        }
        for (code, name, hotline) in crate::reference::BANKS {
            let key_id = format!("BANK-{code}");
            let secret = hex::encode(rng.random::<[u8; 32]>());
            let id = org::insert_bank(tx, code, name, hotline, &key_id, &secret)?;
            banks.push((id, code));
            samples.banks.push(super::SampleBank {
                code: code.to_string(),
                name: name.to_string(),
                key_id: key_id.clone(),
                secret: secret.clone(),
            });
        }
        for (code, letter, _) in REGION_WEIGHTS {
            let policy = regions::policy_in_force(tx, code, today)?.unwrap_or_else(|| RegionPolicy::for_region(code));
            let name = divisions::name(code).unwrap_or(code);
            let short = name.trim_end_matches('市');
            let counties = counties_of(code);
            let region_agencies: Vec<i64> = agencies
                .iter()
                .filter(|a| a.region_code.starts_with(&code[..if code.ends_with("0000") { 2 } else { 4 }]) && a.kind != "bureau")
                .map(|a| a.id)
                .collect();
            let card_centre = agencies
                .iter()
                .find(|a| a.region_code == code && a.kind == "card_centre")
                .map(|a| a.id)
                .ok_or_else(|| StoreError::NotFound(format!("card centre of {code}")))?;
            let income = sscard_store::repo::ledger::open_account(tx, "contribution_income", None, None, code, &created_at)?;
            let payout = sscard_store::repo::ledger::open_account(tx, "cash_payout", None, None, code, &created_at)?;
            sscard_store::repo::ledger::open_account(tx, "pooling_fund", None, None, code, &created_at)?;
            let mut institutions = Vec::new();
            let hospital_names = [
                (format!("{short}市第一人民医院"), 3),
                (format!("{short}市中医医院"), 3),
                (format!("{short}市妇幼保健院"), 2),
                (format!("{short}市第二人民医院"), 2),
                (format!("{}人民医院", counties.first().map(|c| c.1).unwrap_or(short)), 2),
                (format!("{}社区卫生服务中心", counties.get(1).map(|c| c.1).unwrap_or(short)), 1),
                (format!("{}社区卫生服务中心", counties.get(2).map(|c| c.1).unwrap_or(short)), 1),
            ];
            let pharmacy_names = [
                format!("{short}康民大药房(人民路店)"),
                format!("{short}百姓大药房(中山路店)"),
                format!("{short}同仁堂药店"),
            ];
            let all: Vec<(String, i64, &str)> = hospital_names
                .into_iter()
                .map(|(n, l)| (n, l, "hospital"))
                .chain(pharmacy_names.into_iter().map(|n| (n, 0, "pharmacy")))
                .collect();
            for (k, (iname, level, kind)) in all.into_iter().enumerate() {
                let icode = format!("{}{}{:05}", if kind == "hospital" { 'H' } else { 'P' }, code, k + 1);
                let key_id = format!("INST-{icode}");
                let secret = hex::encode(rng.random::<[u8; 32]>());
                let id = org::insert_institution(
                    tx,
                    &org::NewInstitution {
                        code: &icode,
                        name: &iname,
                        kind,
                        level,
                        region_code: code,
                        address: &format!("{name}{}{}号", STREETS[k % STREETS.len()], 10 + k * 7),
                        phone: &policy.local_hotline,
                        key_id: &key_id,
                        secret: &secret,
                    },
                )?;
                let clearing = sscard_store::repo::ledger::open_account(tx, "institution_clearing", None, Some(id), code, &created_at)?;
                institutions.push(Institution { clearing_account: clearing });
                samples.institutions.push(SampleInstitution {
                    code: icode,
                    name: iname,
                    kind: kind.into(),
                    key_id,
                    secret,
                });
            }
            let batch_id = tx
                .query_one(
                    "INSERT INTO production_batches (batch_no, region_code, bank_id, status, created_at, created_by)
                     VALUES ($1, $2, $3, 'sent_to_bank', $4, 'clerk1') RETURNING id",
                    sscard_store::params![format!("B{code}-DEMO-001"), code, banks[0].0, created_at.as_str()],
                    "batch",
                )?
                .i64(0)?;
            regions_v.push(Region {
                code,
                letter,
                name,
                counties,
                policy,
                card_centre,
                agencies: if region_agencies.is_empty() { vec![card_centre] } else { region_agencies },
                institutions,
                income_account: income,
                payout_account: payout,
                employers: Vec::new(),
                batch_id,
            });
        }
        Ok::<_, StoreError>(())
    })?;
    let next_account = app.store().read(|tx| {
        tx.query_i64(
            "SELECT CAST(COALESCE(max(id), 0) AS BIGINT) FROM accounts",
            &[],
        )
    })?;
    Ok(Gen {
        rng,
        as_of: opts.as_of,
        regions: regions_v,
        nationwide,
        seen_ids: HashSet::with_capacity(opts.persons as usize),
        next_account,
        next_transfer: 0,
        next_card: 0,
        next_card_serial: HashMap::new(),
        next_receipt: 0,
        banks,
        fund_delta: HashMap::new(),
        fund_max: next_account,
        candidates: HashMap::new(),
        pin_key,
        created_at,
    })
}

/// Employers: about one per 40 persons, spread over the regions by weight.
fn employers(g: &mut Gen, persons: u64) -> Rows {
    let total = (persons / 40).max(8);
    let mut rows = Rows::default();
    let mut seen = HashSet::new();
    let mut id = 0i64;
    #[allow(clippy::needless_range_loop)]
    for r in 0..g.regions.len() {
        let share = u64::from(REGION_WEIGHTS[r].2);
        let n = (total * share / 1000).max(2);
        for k in 0..n {
            id += 1;
            let county = {
                let c = &g.regions[r].counties;
                c[g.rng.random_range(0..c.len())]
            };
            let code = loop {
                let mut body = format!("91{}", county.0);
                for _ in 0..9 {
                    let chars = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
                    body.push(chars[g.rng.random_range(0..chars.len())] as char);
                }
                let code = CreditCode::from_body(&body);
                if seen.insert(code.as_str().to_string()) {
                    break code;
                }
            };
            let word = g.pick(COMPANY_WORDS);
            let industry = g.pick(INDUSTRIES);
            let name = format!(
                "{}{}{}{}有限公司",
                g.regions[r].name.trim_end_matches('市'),
                word,
                if k % 3 == 0 {
                    county.1.trim_end_matches(['区', '县', '市'])
                } else {
                    ""
                },
                industry
            );
            let base_level_fen = g.rng.random_range(40..200) * 10_000;
            let founded = g.as_of - Duration::days(g.rng.random_range(365..365 * 30));
            let employer_no = format!("{}{:06}", g.regions[r].code, k + 1);
            rows.0.push(vec![
                i(id),
                t(employer_no),
                t(code.as_str()),
                Value::Null,
                t(name),
                t(g.regions[r].code),
                t(format!(
                    "{}{}{}号",
                    county.1,
                    g.pick(STREETS),
                    g.rng.random_range(1..300)
                )),
                t(g.created_at.clone()),
            ]);
            g.regions[r].employers.push(Employer {
                id,
                base_level_fen,
                founded,
            });
        }
    }
    rows
}

/// Generates one person and everything hanging off them.
fn person(g: &mut Gen, pid: i64, chunk: &mut Chunk) {
    let as_of = g.as_of;
    let w = g.per_mille();
    let mut acc = 0;
    let mut region = 0;
    for (k, (_, _, share)) in REGION_WEIGHTS.iter().enumerate() {
        acc += share;
        if w < acc {
            region = k;
            break;
        }
    }
    // Age pyramid: 0-95, bulk in working ages.
    let age_draw = g.per_mille();
    let age: i32 = match age_draw {
        0..150 => g.rng.random_range(0..16),
        150..780 => g.rng.random_range(16..60),
        _ => g.rng.random_range(60..96),
    };
    let birth = {
        let year = as_of.year() - age;
        let day0 = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
        let mut d = day0 + Duration::days(g.rng.random_range(0..365));
        if d > as_of {
            d = as_of - Duration::days(g.rng.random_range(1..200));
        }
        d
    };
    let gender = if g.per_mille() < 510 {
        Gender::Male
    } else {
        Gender::Female
    };
    let id_number = g.new_id_number(region, birth, gender);
    let age = as_of.year()
        - birth.year()
        - i32::from((as_of.month(), as_of.day()) < (birth.month(), birth.day()));
    let name = g.name(gender);
    let ethnicity = if g.per_mille() < 950 {
        "汉族"
    } else {
        g.pick(ETHNICITIES)
    };
    let phone = format!(
        "1{}{:09}",
        g.pick(&[3, 5, 7, 8, 9]),
        g.rng.random_range(0..1_000_000_000u64)
    );
    let county = {
        let c = &g.regions[region].counties;
        c[g.rng.random_range(0..c.len())]
    };
    let region_name = g.regions[region].name;
    let street = g.pick(STREETS);
    let address = format!(
        "{}{}{}{}号{}栋{}单元",
        region_name,
        county.1,
        street,
        g.rng.random_range(1..500),
        g.rng.random_range(1..30),
        g.rng.random_range(1..6)
    );
    // Life status.
    let life_draw = g.per_mille();
    let second = g.per_mille();
    let life = match life_draw {
        0..12 if age >= 30 => LifeStatus::Deceased,
        12..15 => LifeStatus::Emigrated,
        15..16 => LifeStatus::Missing,
        16..17 if age >= 18 => LifeStatus::Imprisoned,
        _ => LifeStatus::Normal,
    };
    let claimed = life == LifeStatus::Deceased && second < 400;
    let life_since =
        (life != LifeStatus::Normal).then(|| as_of - Duration::days(g.rng.random_range(40..700)));
    let retire_age = if gender == Gender::Male { 60 } else { 55 };
    let policy_rate = i64::from(g.regions[region].policy.medical_account_rate_bp);
    let region_code = g.regions[region].code;
    let query_password = g.regions[region]
        .policy
        .query_password
        .initial_for(id_number.as_str());

    chunk.persons.0.push(vec![
        i(pid),
        t("citizen_id"),
        t(id_number.as_str()),
        t(name.clone()),
        t(gender.as_str()),
        t(birth.to_string()),
        t(ethnicity),
        t(phone),
        t(address),
        t(region_code),
        t(life.as_str()),
        opt_t(life_since.map(|d| at(d, 9))),
        t(""),
        b(false),
        t(g.created_at.clone()),
    ]);

    // Work and insurance.
    let work_draw = g.per_mille();
    let working_age = (16..retire_age).contains(&age);
    let employed = working_age && age >= 18 && work_draw < 700 && life == LifeStatus::Normal;
    let flexible =
        working_age && age >= 18 && (700..800).contains(&work_draw) && life == LifeStatus::Normal;
    let retired = age >= retire_age;
    let end_month = month_index(as_of) - 1; // last contributed month
    let mut balance_events: Vec<(NaiveDate, i64, &'static str)> = Vec::new();
    let mut has_medical_account = false;
    let mut employer_for_injury = None;
    let this_year_start = as_of.year() * 12;
    if employed || flexible {
        let years_possible = (age - 18).max(0);
        let tenure_months: i32 = g.rng.random_range(3..=(years_possible * 12).clamp(4, 180));
        let start_idx = (end_month - tenure_months + 1).max(month_index(birth) + 18 * 12);
        let (employer_id, base, founded) = if employed {
            let emps = &g.regions[region].employers;
            let e = &emps[g.rng.random_range(0..emps.len())];
            let base =
                (e.base_level_fen * i64::from(g.rng.random_range(70..160u32)) / 100 / 100) * 100;
            (Some(e.id), base.max(300_000), Some(month_index(e.founded)))
        } else {
            let levels = &g.regions[region].policy.flexible_contribution_levels_fen;
            (None, levels[g.rng.random_range(0..levels.len())], None)
        };
        let start_idx = match founded {
            Some(founded) => start_idx.max(founded + 1).min(end_month),
            None => start_idx.min(end_month),
        };
        let start_date = month_first(start_idx);
        if let Some(eid) = employer_id {
            chunk.employment.0.push(vec![
                i(pid),
                i(eid),
                t(start_date.to_string()),
                Value::Null,
                t(g.pick(POSITIONS)),
            ]);
            employer_for_injury = Some(eid);
        }
        let scheme = if employed { "employee" } else { "flexible" };
        let insurances: &[&str] = if employed {
            &[
                "pension",
                "medical",
                "unemployment",
                "work_injury",
                "maternity",
            ]
        } else {
            &["pension", "medical"]
        };
        for ins in insurances {
            chunk.enrolments.0.push(vec![
                i(pid),
                t(*ins),
                t(scheme),
                t("active"),
                t(region_code),
                t(start_date.to_string()),
                Value::Null,
            ]);
        }
        // Several years of monthly contributions (at most the last 36 months).
        let first = start_idx.max(end_month - 35);
        for m in first..=end_month {
            let row = if employed {
                vec![
                    i(pid),
                    t(month_str(m)),
                    employer_id.map(i).unwrap_or(Value::Null),
                    i(base),
                    i(base * 16 / 100),
                    i(base * 8 / 100),
                    i(base * 8 / 100),
                    i(base * 2 / 100),
                    i(base * 5 / 1000),
                    i(base * 5 / 1000),
                    i(base * 4 / 1000),
                    i(base * 8 / 1000),
                ]
            } else {
                vec![
                    i(pid),
                    t(month_str(m)),
                    Value::Null,
                    i(base),
                    i(0),
                    i(base * 20 / 100),
                    i(0),
                    i(base * 9 / 100),
                    i(0),
                    i(0),
                    i(0),
                    i(0),
                ]
            };
            chunk.contributions.0.push(row);
        }
        // Medical personal account: carry-forward of earlier years, then this year's credits.
        has_medical_account = true;
        let monthly = base * policy_rate / 10_000;
        let before_this_year = (this_year_start - start_idx).clamp(0, 120);
        if before_this_year > 0 {
            let kept = i64::from(g.rng.random_range(20..90u32));
            let amount = monthly * i64::from(before_this_year) * kept / 100;
            if amount > 0 {
                balance_events.push((
                    NaiveDate::from_ymd_opt(as_of.year(), 1, 1).expect("date"),
                    amount,
                    "carry_forward",
                ));
            }
        }
        for m in start_idx.max(this_year_start)..=end_month {
            balance_events.push((
                month_first(m + 1) + Duration::days(4),
                monthly,
                "contribution",
            ));
        }
    } else if retired {
        let employee_medical = g.per_mille() < 650;
        let scheme = if employee_medical {
            "employee"
        } else {
            "resident"
        };
        chunk.enrolments.0.push(vec![
            i(pid),
            t("pension"),
            t(scheme),
            t("retired"),
            t(region_code),
            t(month_first(month_index(birth) + retire_age * 12).to_string()),
            Value::Null,
        ]);
        chunk.enrolments.0.push(vec![
            i(pid),
            t("medical"),
            t(scheme),
            t("retired"),
            t(region_code),
            t(month_first(month_index(birth) + retire_age * 12).to_string()),
            Value::Null,
        ]);
        let retire_idx = month_index(birth) + retire_age * 12 + 1;
        let monthly_pension: i64 = if employee_medical {
            g.rng.random_range(1_800..6_500) * 100
        } else {
            g.rng.random_range(150..400) * 100
        };
        chunk.benefits.0.push(vec![
            i(pid),
            t("pension"),
            t(if life == LifeStatus::Normal {
                "active"
            } else {
                "ended"
            }),
            t(month_str(retire_idx)),
            opt_t(life_since.map(|d| month_str(month_index(d)))),
            i(monthly_pension),
            i(0),
            t(format!(
                "{{\"contribution_months\":{},\"scheme\":\"{scheme}\"}}",
                g.rng.random_range(180..480)
            )),
        ]);
        if employee_medical {
            has_medical_account = true;
            let monthly = i64::from(g.rng.random_range(80..260u32)) * 100;
            let kept = i64::from(g.rng.random_range(1..40u32));
            balance_events.push((
                NaiveDate::from_ymd_opt(as_of.year(), 1, 1).expect("date"),
                monthly * 12 * kept / 10,
                "carry_forward",
            ));
            for m in this_year_start..=end_month {
                balance_events.push((
                    month_first(m + 1) + Duration::days(4),
                    monthly,
                    "retiree_credit",
                ));
            }
        }
    } else {
        // Children, students and the non-working: residents' schemes.
        chunk.enrolments.0.push(vec![
            i(pid),
            t("medical"),
            t("resident"),
            t("active"),
            t(region_code),
            t(format!("{}-01-01", as_of.year())),
            Value::Null,
        ]);
        if age >= 16 {
            chunk.enrolments.0.push(vec![
                i(pid),
                t("pension"),
                t("resident"),
                t("active"),
                t(region_code),
                t(format!(
                    "{}-01-01",
                    as_of.year() - g.rng.random_range(0..10)
                )),
                Value::Null,
            ]);
        }
        if working_age && age >= 18 && work_draw >= 960 && life == LifeStatus::Normal {
            // Registered unemployed, receiving unemployment insurance benefit.
            let months_total = g.rng.random_range(3..=24);
            let start = end_month - g.rng.random_range(0..months_total);
            chunk.benefits.0.push(vec![
                i(pid), t("unemployment"), t("active"), t(month_str(start)), t(month_str(start + months_total - 1)),
                i(i64::from(g.rng.random_range(1_700..2_100u32)) * 100), i(0),
                t(format!("{{\"registered_on\":\"{}\",\"continuous_contribution_months\":{},\"months_total\":{months_total}}}", month_first(start), g.rng.random_range(12..120))),
            ]);
        }
    }
    // Other benefits.
    let extra = g.per_mille();
    if employed && extra < 5 {
        let grade = g.rng.random_range(1..=10);
        let occurred = as_of - Duration::days(g.rng.random_range(60..2000));
        chunk.injury_cases.0.push(vec![
            i(pid),
            employer_for_injury.map(i).unwrap_or(Value::Null),
            t("injury"),
            t(occurred.to_string()),
            t((occurred + Duration::days(45)).to_string()),
            i(grade),
            t("工作时间在工作场所内因工作原因受到事故伤害"),
        ]);
        let allowance = (11 - grade) * 30_000;
        chunk.benefits.0.push(vec![
            i(pid),
            t("work_injury"),
            t("active"),
            t(month_str(month_index(occurred) + 2)),
            Value::Null,
            i(allowance),
            i((11 - grade) * 500_000),
            t(format!("{{\"disability_grade\":{grade}}}")),
        ]);
    }
    if life == LifeStatus::Deceased && extra >= 990 {
        let d = life_since.unwrap_or(as_of);
        chunk.injury_cases.0.push(vec![
            i(pid),
            Value::Null,
            t("death"),
            t(d.to_string()),
            t((d + Duration::days(30)).to_string()),
            Value::Null,
            t("因工死亡"),
        ]);
        chunk.benefits.0.push(vec![
            i(pid),
            t("work_death"),
            t(if claimed { "ended" } else { "unclaimed" }),
            t(month_str(month_index(d))),
            Value::Null,
            i(0),
            i(g.rng.random_range(90..110) * 1_000_000),
            t("{\"funeral_grant_fen\":6000000,\"dependants\":2}"),
        ]);
    }
    if employed && gender == Gender::Female && (22..41).contains(&age) && (5..20).contains(&extra) {
        chunk.benefits.0.push(vec![
            i(pid),
            t("maternity"),
            t("ended"),
            t(month_str(end_month - g.rng.random_range(1..30))),
            Value::Null,
            i(0),
            i(g.rng.random_range(15_000..40_000) * 100),
            t("{\"leave_days\":158}"),
        ]);
    }
    if (20..30).contains(&extra) {
        chunk.benefits.0.push(vec![
            i(pid),
            t("minimum_living"),
            t("active"),
            t(month_str(end_month - g.rng.random_range(1..60))),
            Value::Null,
            i(g.rng.random_range(600..800) * 100),
            i(0),
            t("{\"household_size\":2}"),
        ]);
    }
    if (30..33).contains(&extra) {
        chunk.benefits.0.push(vec![
            i(pid),
            t("special_care"),
            t("active"),
            t(month_str(end_month - g.rng.random_range(1..120))),
            Value::Null,
            i(g.rng.random_range(800..3000) * 100),
            i(0),
            t("{\"category\":\"退役军人\"}"),
        ]);
    }

    // Medical personal account: apply events in date order, settlements only within balance.
    let mut balance = 0i64;
    if has_medical_account {
        let account = g.account();
        let r = &g.regions[region];
        let income = r.income_account;
        let payout = r.payout_account;
        let n_inst = r.institutions.len();
        let mut settlements = Vec::new();
        for _ in 0..g.rng.random_range(0..4) {
            let day = NaiveDate::from_ymd_opt(as_of.year(), 1, 1).expect("date")
                + Duration::days(g.rng.random_range(10..i64::from(as_of.ordinal().max(11))));
            settlements.push((
                day.min(as_of),
                -i64::from(g.rng.random_range(20..300u32)) * 100,
                "settlement",
            ));
        }
        balance_events.extend(settlements);
        balance_events.sort_by_key(|e| e.0);
        let mut pending = Vec::new();
        for (day, amount, kind) in balance_events {
            if amount >= 0 {
                balance += amount;
                pending.push((income, account, amount, kind, day));
            } else if balance + amount >= 0 {
                balance += amount;
                let inst =
                    g.regions[region].institutions[g.rng.random_range(0..n_inst)].clearing_account;
                pending.push((account, inst, -amount, kind, day));
            }
        }
        if claimed || life == LifeStatus::Emigrated {
            if balance > 0 {
                let when = life_since.unwrap_or(as_of) + Duration::days(20);
                pending.push((
                    account,
                    payout,
                    balance,
                    if claimed {
                        "heir_payout"
                    } else {
                        "migration_out"
                    },
                    when.min(as_of),
                ));
            }
            balance = 0;
        }
        chunk.accounts.0.push(vec![
            i(account),
            t("medical_personal"),
            i(pid),
            t(region_code),
            i(balance),
            b(false),
            t(g.created_at.clone()),
        ]);
        for (debit, credit, amount, kind, day) in pending {
            let memo = match kind {
                "carry_forward" => "上年度结转",
                "contribution" => "个人账户划入",
                "retiree_credit" => "退休人员个人账户划入",
                "settlement" => "门诊刷卡结算",
                "heir_payout" => "个人账户余额支付继承人",
                _ => "个人账户转出",
            };
            g.transfer(chunk, debit, credit, amount, kind, memo, &at(day, 12));
        }
    }

    // Cards.
    let plan = plan_for(g, life, age, claimed);
    let applied = {
        let earliest = birth.max(as_of - Duration::days(365 * 8));
        let span = (as_of - earliest).num_days().max(2);
        earliest + Duration::days(g.rng.random_range(0..span))
    };
    let ctx = PersonCtx {
        pid,
        region,
        id_number: id_number.as_str(),
        name: &name,
        birth,
        life: life.as_str(),
        query_password,
        query_changed: false,
        balance,
    };
    let spec = |status, applied: NaiveDate| CardSpec {
        status,
        temporary: false,
        previous: None,
        applied,
        pin_changed: false,
        pin_locked: false,
        at_centre: false,
        expires_on: None,
    };
    let recent = |g: &mut Gen, days: i64| as_of - Duration::days(g.rng.random_range(1..days));
    match plan {
        Plan::None => {}
        Plan::Simple(status) => {
            let mut s = spec(status, applied);
            match status {
                CardStatus::Applied => s.applied = recent(g, 10),
                CardStatus::InProduction => s.applied = recent(g, 25),
                CardStatus::AwaitingCollection => {
                    s.applied = as_of - Duration::days(g.rng.random_range(40..260));
                    s.at_centre = (as_of - s.applied).num_days() > 183 + 40;
                }
                CardStatus::Collected => s.applied = recent(g, 120).min(as_of - Duration::days(70)),
                _ => {}
            }
            s.pin_changed = status == CardStatus::Active && g.per_mille() < 600;
            let (_, no, pin) = g.add_card(chunk, &ctx, &s);
            let key: &'static str = match (status, s.pin_changed, life) {
                (CardStatus::Active, _, LifeStatus::Deceased) => "deceased_unclaimed",
                (CardStatus::Active, true, LifeStatus::Normal) => "active_changed",
                (CardStatus::Active, false, LifeStatus::Normal) => "active_initial",
                (CardStatus::Active, _, _) => "active_other",
                (other, _, _) => other.as_str(),
            };
            let want = match key {
                "active_changed" => 4,
                "active_initial" => 3,
                _ => 1,
            };
            if g.wants(key, want) {
                // A card is "active" in the samples only when it is usable.
                let label = if key == "deceased_unclaimed" {
                    "holder_deceased"
                } else {
                    status.as_str()
                };
                let sample = sample_of(&ctx, no, label, pin, s.pin_changed);
                g.sample_slot(key, want, || sample);
            }
        }
        Plan::PinLocked => {
            let mut s = spec(CardStatus::Active, applied);
            s.pin_changed = true;
            s.pin_locked = true;
            let (_, no, pin) = g.add_card(chunk, &ctx, &s);
            if g.wants("pin_locked", 1) {
                let sample = sample_of(&ctx, no, "pin_locked", pin, true);
                g.sample_slot("pin_locked", 1, || sample);
            }
        }
        Plan::ExpiredTemporary => {
            let mut s = spec(CardStatus::Active, applied);
            s.pin_changed = g.per_mille() < 500;
            let (regular, no, pin) = g.add_card(chunk, &ctx, &s);
            let temp_applied = applied + Duration::days(2);
            let valid = i64::from(g.regions[region].policy.temp_card_valid_days);
            let mut ts_ = spec(CardStatus::Expired, temp_applied);
            ts_.temporary = true;
            ts_.previous = Some(regular);
            ts_.expires_on = Some(temp_applied + Duration::days(valid));
            let (_, tno, tpin) = g.add_card(chunk, &ctx, &ts_);
            if g.wants("expired", 1) {
                let sample = sample_of(&ctx, tno, "expired", tpin, false);
                g.sample_slot("expired", 1, || sample);
            }
            let _ = (no, pin);
        }
        Plan::Reissue {
            new_awaiting,
            with_temporary,
        } => {
            let mut old = spec(
                CardStatus::Reissuing,
                applied.min(as_of - Duration::days(400)),
            );
            old.pin_changed = g.per_mille() < 500;
            let (old_id, old_no, old_pin) = g.add_card(chunk, &ctx, &old);
            let new_status = if new_awaiting {
                CardStatus::AwaitingCollection
            } else {
                CardStatus::InProduction
            };
            let mut new = spec(new_status, recent(g, 20));
            new.previous = Some(old_id);
            let (new_id, new_no, new_pin) = g.add_card(chunk, &ctx, &new);
            g.next_receipt += 1;
            let fee = g.regions[region].policy.reissue_fee_fen;
            chunk.fees.0.push(vec![
                t(format!("R{}{:08}", g.regions[region].code, g.next_receipt)),
                i(pid),
                i(new_id),
                t("reissue"),
                i(fee),
                t(at(new.applied, 10)),
                t("clerk1"),
            ]);
            if g.wants("reissuing", 1) {
                let sample = sample_of(&ctx, old_no, "reissuing", old_pin, old.pin_changed);
                g.sample_slot("reissuing", 1, || sample);
            }
            if with_temporary {
                let mut temp = spec(CardStatus::Active, new.applied);
                temp.temporary = true;
                temp.previous = Some(old_id);
                temp.expires_on = Some(
                    new.applied
                        + Duration::days(i64::from(g.regions[region].policy.temp_card_valid_days)),
                );
                let (_, tno, tpin) = g.add_card(chunk, &ctx, &temp);
                if g.wants("temporary_active", 1) {
                    let sample = sample_of(&ctx, tno, "active", tpin, false);
                    g.sample_slot("temporary_active", 1, || sample);
                }
            }
            let _ = (new_no, new_pin);
        }
        Plan::Replacing => {
            let old = spec(
                CardStatus::Replacing,
                applied.min(as_of - Duration::days(400)),
            );
            let (old_id, old_no, old_pin) = g.add_card(chunk, &ctx, &old);
            let mut new = spec(CardStatus::Applied, recent(g, 10));
            new.previous = Some(old_id);
            g.add_card(chunk, &ctx, &new);
            if g.wants("replacing", 1) {
                let sample = sample_of(&ctx, old_no, "replacing", old_pin, false);
                g.sample_slot("replacing", 1, || sample);
            }
        }
        Plan::Cancelled => {
            let s = spec(
                CardStatus::Cancelled,
                applied.min(as_of - Duration::days(800)),
            );
            let (_, no, pin) = g.add_card(chunk, &ctx, &s);
            if g.wants("cancelled", 1) {
                let sample = sample_of(&ctx, no, "cancelled", pin, false);
                g.sample_slot("cancelled", 1, || sample);
            }
        }
    }
}

fn sample_of(
    ctx: &PersonCtx<'_>,
    card_no: Option<String>,
    status: &str,
    pin: Option<String>,
    pin_changed: bool,
) -> SampleCardholder {
    SampleCardholder {
        name: ctx.name.to_string(),
        id_number: ctx.id_number.to_string(),
        card_no,
        card_status: status.to_string(),
        pin: pin.unwrap_or_default(),
        pin_changed,
        query_password: ctx.query_password.clone(),
        query_password_changed: ctx.query_changed,
        medical_balance_fen: ctx.balance,
        region_code: String::new(),
        life_status: ctx.life.to_string(),
        card_kind: String::new(),
        pin_locked: false,
        usable: false,
        card_sn: None,
    }
}

fn write_chunk(tx: &mut dyn Tx, chunk: Chunk) -> Result<(), StoreError> {
    let tables: [(&str, &[&str], Rows); 12] = [
        ("persons", PERSON_COLS, chunk.persons),
        ("employment", EMPLOYMENT_COLS, chunk.employment),
        ("enrolments", ENROLMENT_COLS, chunk.enrolments),
        ("contributions", CONTRIBUTION_COLS, chunk.contributions),
        ("accounts", ACCOUNT_COLS, chunk.accounts),
        ("transfers", TRANSFER_COLS, chunk.transfers),
        ("cards", CARD_COLS, chunk.cards),
        ("card_events", EVENT_COLS, chunk.card_events),
        ("loss_reports", LOSS_COLS, chunk.loss_reports),
        ("benefits", BENEFIT_COLS, chunk.benefits),
        ("injury_cases", INJURY_COLS, chunk.injury_cases),
        ("fees", FEE_COLS, chunk.fees),
    ];
    for (table, cols, rows) in tables {
        if !rows.0.is_empty() {
            let t0 = std::time::Instant::now();
            let n = rows.0.len();
            tx.bulk_insert(table, cols, &mut rows.0.into_iter())?;
            tracing::debug!(
                table,
                rows = n,
                elapsed_ms = t0.elapsed().as_millis() as u64,
                "demo rows written"
            );
        }
    }
    Ok(())
}

pub(super) fn run(
    app: &App,
    opts: &DemoOptions,
    progress: &dyn Fn(u64, u64),
) -> Result<DemoSamples, ServiceError> {
    let mut samples = DemoSamples::default();
    let mut g = setup(app, opts, &mut samples)?;
    let employer_rows = employers(&mut g, opts.persons);
    let n_employers = employer_rows.0.len() as u64;
    app.store().write(|tx| {
        tx.bulk_insert(
            "employers",
            &[
                "id",
                "employer_no",
                "credit_code",
                "credit_code_override_by",
                "name",
                "region_code",
                "address",
                "created_at",
            ],
            &mut employer_rows.0.into_iter(),
        )
    })?;
    // Indexes keyed by person or card id grow in insertion order: cheaper to keep than rebuild.
    app.store().set_bulk_load(
        true,
        &[
            "employment_person",
            "enrolments_person_insurance",
            "accounts_person",
            "benefits_person",
            "injury_cases_person",
            "cards_one_live",
            "cards_one_live_temporary",
            "cards_person",
            "card_events_card",
            "loss_reports_card",
        ],
    )?;
    let total = opts.persons;
    let (sender, receiver) = mpsc::sync_channel::<Chunk>(2);
    let mut counts: HashMap<&'static str, u64> = HashMap::new();
    let result = std::thread::scope(|scope| {
        let generator = scope.spawn(move || {
            let mut pid = 0i64;
            while (pid as u64) < total {
                let mut chunk = Chunk::default();
                let end = (pid as u64 + CHUNK).min(total) as i64;
                while pid < end {
                    pid += 1;
                    person(&mut g, pid, &mut chunk);
                }
                chunk.done = pid as u64;
                if sender.send(chunk).is_err() {
                    break;
                }
            }
            g
        });
        let mut write_result: Result<(), ServiceError> = Ok(());
        for chunk in receiver {
            let done = chunk.done;
            for (name, n) in [
                ("persons", chunk.persons.0.len()),
                ("contributions", chunk.contributions.0.len()),
                ("transfers", chunk.transfers.0.len()),
                ("cards", chunk.cards.0.len()),
                ("card_events", chunk.card_events.0.len()),
                ("benefits", chunk.benefits.0.len()),
                ("enrolments", chunk.enrolments.0.len()),
            ] {
                *counts.entry(name).or_insert(0) += n as u64;
            }
            let t0 = std::time::Instant::now();
            let r = app.store().write(|tx| write_chunk(tx, chunk));
            tracing::debug!(
                elapsed_ms = t0.elapsed().as_millis() as u64,
                "demo chunk committed"
            );
            if let Err(e) = r {
                write_result = Err(e.into());
                break;
            }
            progress(done, total);
        }
        let g = generator
            .join()
            .map_err(|_| ServiceError::internal("demo generator thread panicked"))?;
        write_result.map(|()| g)
    });
    let t0 = std::time::Instant::now();
    let restore = app.store().set_bulk_load(false, &[]);
    tracing::info!(
        elapsed_ms = t0.elapsed().as_millis() as u64,
        "demo indexes rebuilt"
    );
    let mut g = result?;
    restore?;

    // Life and health data for the self-service records: a few rows per person, set-based.
    let as_of_day = opts.as_of.to_string();
    app.store()
        .write(|tx| sscard_store::repo::selfservice::seed_demo_health(tx, &as_of_day))?;
    // Fund accounts take the other side of every transfer; then sequences and statistics.
    let now = app.now();
    let fund_delta = std::mem::take(&mut g.fund_delta);
    app.store().write(|tx| {
        for (acc, delta) in &fund_delta {
            tx.execute(
                "UPDATE accounts SET balance_fen = balance_fen + $1 WHERE id = $2 AND person_id IS NULL",
                sscard_store::params![*delta, *acc],
            )?;
        }
        tx.resync_ids(&["persons", "employers", "accounts", "transfers", "cards", "card_events", "loss_reports", "benefits", "injury_cases", "fees", "employment", "enrolments"])?;
        counts.insert("employers", n_employers);
        let mut sorted: Vec<(String, u64)> = counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        sorted.sort();
        audit::record(
            tx,
            now,
            &Actor::system(Channel::Cli),
            Change {
                action: "demo.generate",
                entity: "database",
                entity_id: "demo",
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "persons": opts.persons,
                    "seed": opts.seed,
                    "as_of": opts.as_of.to_string(),
                    "counts": sorted,
                }),
            },
        )
    })?;
    app.store().optimize()?;

    // Samples: give one usable card holder a changed query password so both kinds exist.
    let order = [
        "active_changed",
        "active_initial",
        "temporary_active",
        "pin_locked",
        "deceased_unclaimed",
        "applied",
        "in_production",
        "awaiting_collection",
        "collected",
        "temporary_loss",
        "written_loss",
        "reissuing",
        "replacing",
        "cancelled",
        "expired",
    ];
    for key in order {
        for (k, c) in g
            .candidates
            .remove(key)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let mut s = c.sample;
            if key == "active_changed" && k == 0 {
                let password = format!("Cx{:06}", g.rng.random_range(0..1_000_000u32));
                let salt: [u8; 16] = g.rng.random();
                let hash = secrets::hash_password(&password, salt);
                let id_number = s.id_number.clone();
                app.store().write(|tx| {
                    tx.execute(
                        "UPDATE persons SET query_password_hash = $1, query_password_changed = $2
                         WHERE doc_type = 'citizen_id' AND doc_number = $3",
                        sscard_store::params![hash, true, id_number],
                    )
                })?;
                s.query_password = password;
                s.query_password_changed = true;
            }
            s.card_kind = if matches!(key, "temporary_active" | "expired") {
                "temporary"
            } else {
                "regular"
            }
            .into();
            s.pin_locked = key == "pin_locked";
            s.usable = s.card_status == "active";
            s.region_code = app
                .store()
                .read(|tx| {
                    tx.query_one(
                        "SELECT region_code FROM persons WHERE doc_type = 'citizen_id' AND doc_number = $1",
                        sscard_store::params![s.id_number.as_str()],
                        "person",
                    )?
                    .text(0)
                })?;
            if let Some(no) = s.card_no.clone() {
                s.card_sn = app.store().read(|tx| {
                    Ok::<_, StoreError>(
                        tx.query_opt(
                            "SELECT card_id FROM cards WHERE card_no = $1",
                            sscard_store::params![no.as_str()],
                        )?
                        .and_then(|r| r.opt_text(0).ok().flatten()),
                    )
                })?;
            }
            samples.cardholders.push(s);
        }
    }
    let mut c: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    c.sort();
    samples.counts = c;
    samples.settle_cardholders = super::settle::pick(app, 2000)?;
    Ok(samples)
}
