//! The table of call flows shared by the console and the FastAGI tests, the demo world they
//! run in, and one runner per adapter.
#![allow(dead_code)]

use std::net::SocketAddr;

use chrono::NaiveDate;
use sscard_domain::policy::RegionPolicy;
use sscard_ivr::console::{self, ConsoleOptions};
use sscard_ivr::prompts::{Arg, Lang, Prompt};
use sscard_ivr::sim::{self, SimOptions, Step};
use sscard_ivr::{Services, agi};
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig, phone};
use sscard_store::{Store, params};

/// A demo population and the facts the flows need.
pub struct World {
    pub app: App,
    pub url: String,
    /// Active regular cards of living holders (PINs unknown until [`cast`] sets them).
    pub holders: Vec<Holder>,
    /// A person with a work-injury benefit, one with a work-death benefit.
    pub injured_id: String,
    pub deceased_id: String,
    /// An employer number with contributions.
    pub employer_no: String,
}

pub fn world(url: &str) -> World {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![7; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 400,
            seed: 5,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    let store = Store::open(url).unwrap();
    assert!(!s.cardholders.is_empty());
    let holders: Vec<Holder> = store
        .read(|tx| {
            tx.query(
                "SELECT c.card_no, p.doc_number, p.region_code, a.balance_fen
                 FROM cards c JOIN persons p ON p.id = c.person_id
                 LEFT JOIN accounts a ON a.person_id = p.id AND a.kind = 'medical_personal'
                 WHERE c.status = 'active' AND c.kind = 'regular' AND c.pin_locked = $1
                   AND p.life_status = 'normal' AND p.doc_type = 'citizen_id'
                 ORDER BY c.id",
                params![false],
            )?
            .iter()
            .map(|r| {
                Ok(Holder {
                    card_no: Some(r.text(0)?),
                    id_number: r.text(1)?,
                    region_code: r.text(2)?,
                    medical_balance_fen: r.opt_i64(3)?,
                    pin: String::new(),
                    pin_changed: false,
                })
            })
            .collect::<Result<Vec<_>, sscard_store::StoreError>>()
        })
        .unwrap();
    let injured_id = holders[holders.len() - 1].id_number.clone();
    let deceased_id = holders[holders.len() - 2].id_number.clone();
    let employer_no = store
        .write(|tx| {
            for (id, kind, status, monthly, lump, detail) in [
                (
                    &injured_id,
                    "work_injury",
                    "active",
                    300_000i64,
                    2_500_000i64,
                    "{\"disability_grade\":7}",
                ),
                (
                    &deceased_id,
                    "work_death",
                    "unclaimed",
                    0,
                    98_000_000,
                    "{\"funeral_grant_fen\":6000000}",
                ),
            ] {
                let n = tx.execute(
                    "INSERT INTO benefits (person_id, kind, status, start_month, monthly_fen,
                         lump_sum_fen, detail_json)
                     SELECT id, $1, $2, '2025-01', $3, $4, $5 FROM persons WHERE doc_number = $6",
                    params![kind, status, monthly, lump, detail, id.as_str()],
                )?;
                assert_eq!(n, 1);
            }
            tx.query_one(
                "SELECT e.employer_no FROM employers e
                 WHERE EXISTS (SELECT 1 FROM contributions c WHERE c.employer_id = e.id)
                 ORDER BY e.id LIMIT 1",
                &[],
                "employer",
            )?
            .text(0)
        })
        .unwrap();
    World {
        app,
        url: url.to_string(),
        holders,
        injured_id,
        deceased_id,
        employer_no,
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Flow {
    pub name: &'static str,
    pub caller: String,
    pub lang: Lang,
    pub steps: Vec<Step>,
    /// Prompt ids that must be heard in this order (each entry: one of the alternatives).
    pub expect: Vec<Vec<&'static str>>,
    /// How the call log records the end, and the deepest menu.
    pub outcome: &'static str,
    pub menu: &'static str,
    /// A prompt whose exact text (console) / spoken number (AGI) must be heard.
    pub exact: Option<Prompt>,
}

fn k(s: impl Into<String>) -> Step {
    Step::Keys(s.into())
}

/// An ID number as keyed: X as `*`, then `#`.
fn id_keys(id: &str) -> Step {
    k(format!("{}#", id.replace('X', "*")))
}

pub fn one(ids: &[&'static str]) -> Vec<Vec<&'static str>> {
    ids.iter().map(|i| vec![*i]).collect()
}

/// The tries a fresh card of this holder has before its PIN locks.
fn threshold(w: &World, h: &Holder) -> u32 {
    phone::pin_state(&w.app, h.card_no.as_deref().unwrap())
        .unwrap()
        .tries_left
}

fn suffix_of(h: &Holder) -> String {
    let no = h.card_no.clone().unwrap();
    no[1..].replace('X', "*")
}

fn unambiguous(w: &World, h: &Holder) -> bool {
    phone::cards_by_suffix(&w.app, &suffix_of(h)).unwrap().len() == 1
}

/// Picks the holders: each mutating flow gets its own.
/// A cardholder the flows call as.
#[derive(Debug, Clone)]
pub struct Holder {
    pub id_number: String,
    pub card_no: Option<String>,
    pub region_code: String,
    pub pin: String,
    pub pin_changed: bool,
    pub medical_balance_fen: Option<i64>,
}

/// The PIN [`cast`] gives holders whose PIN is enabled.
pub const ENABLED_PIN: &str = "591736";

/// Sets a holder's PIN at the counter (as a clerk would, after the ID check): enabled with
/// [`ENABLED_PIN`], or back to the region's initial PIN.
fn set_pin(w: &World, h: &Holder, enabled: bool) -> Holder {
    let clerk = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: String::new(),
        channel: Channel::Counter,
    };
    let card = h.card_no.as_deref().unwrap();
    let new = enabled.then_some(ENABLED_PIN);
    sscard_service::cards::pin::reset(&w.app, &clerk, card, &h.id_number, new).unwrap();
    Holder {
        pin: match new {
            Some(p) => p.to_string(),
            None => RegionPolicy::for_region(&h.region_code).initial_pin,
        },
        pin_changed: enabled,
        ..h.clone()
    }
}

pub struct Cast {
    pub query: Holder,
    pub lock: Holder,
    pub initial_change: Holder,
    pub x_change: Holder,
    pub mismatch: Holder,
    pub loss: Holder,
    pub loss_initial: Holder,
}

pub fn cast(w: &World) -> Cast {
    let usable: Vec<&Holder> = w
        .holders
        .iter()
        .filter(|h| h.id_number != w.injured_id && h.id_number != w.deceased_id)
        .collect();
    let ends_x = |h: &&&Holder| h.card_no.as_deref().unwrap().ends_with('X');
    let x = usable
        .iter()
        .filter(ends_x)
        .find(|h| unambiguous(w, h))
        .or_else(|| usable.iter().find(ends_x))
        .expect("a card whose number ends with X");
    let mut rest = usable
        .iter()
        .filter(|h| h.card_no != x.card_no && unambiguous(w, h));
    let query = rest
        .clone()
        .find(|h| h.medical_balance_fen.is_some())
        .expect("a holder with a medical account");
    let mut rest2 = rest.by_ref().filter(|h| h.card_no != query.card_no);
    let mut next = || *rest2.next().expect("enough holders");
    Cast {
        x_change: set_pin(w, x, true),
        query: set_pin(w, query, true),
        lock: set_pin(w, next(), true),
        mismatch: set_pin(w, next(), true),
        loss: set_pin(w, next(), true),
        initial_change: set_pin(w, next(), false),
        loss_initial: set_pin(w, next(), false),
    }
}

fn wrong_pin(pin: &str) -> String {
    if pin == "000000" { "000001" } else { "000000" }.to_string()
}

/// Every flow of seed 000 and the error paths.
pub fn flows(w: &World, c: &Cast) -> Vec<Flow> {
    let q = &c.query;
    let balance = Prompt::with(
        "medical-balance",
        vec![Arg::Money(q.medical_balance_fen.unwrap_or_default())],
    );
    let unknown_ssn = "11010519491231002X";
    let mut out = Vec::new();
    let mut n = 0u32;
    let mut caller = || {
        n += 1;
        format!("1380000{n:04}")
    };
    let f = |name, caller: String, steps, expect, outcome, menu| Flow {
        name,
        caller,
        lang: Lang::Zh,
        steps,
        expect,
        outcome,
        menu,
        exact: None,
    };
    out.push(Flow {
        exact: Some(balance.clone()),
        ..f(
            "medical balance (3-1-1)",
            caller(),
            vec![
                k("3"),
                k("1"),
                id_keys(&q.id_number),
                k(format!("{}#", q.pin)),
                k("1"),
            ],
            one(&[
                "welcome",
                "main-menu",
                "info-menu",
                "enter-id",
                "enter-pin",
                "account-menu",
                "medical-balance",
                "account-menu",
            ]),
            "hangup",
            "3-1-1",
        )
    });
    out.push(f(
        "the account menu repeats: unemployment months, pension, back",
        caller(),
        vec![
            k("3"),
            k("1"),
            id_keys(&q.id_number),
            k(format!("{}#", q.pin)),
            k("2"),
            k("3"),
            k("*"),
            Step::Hangup,
        ],
        vec![
            vec!["account-menu"],
            vec!["unemployment-months", "no-unemployment"],
            vec!["account-menu"],
            vec!["pension-amount", "no-pension"],
            vec!["account-menu"],
            vec!["info-menu"],
        ],
        "hangup",
        "3-1-3",
    ));
    out.push(Flow {
        lang: Lang::En,
        exact: Some(balance),
        ..f(
            "medical balance in English",
            caller(),
            vec![
                k("3"),
                k("1"),
                id_keys(&q.id_number),
                k(format!("{}#", q.pin)),
                k("1"),
                Step::Hangup,
            ],
            one(&["welcome", "main-menu", "medical-balance"]),
            "hangup",
            "3-1-1",
        )
    });
    out.push(f(
        "a wrong PIN goes back to the ID number, then the right one works",
        caller(),
        vec![
            k("3"),
            k("1"),
            id_keys(&q.id_number),
            k(format!("{}#", wrong_pin(&q.pin))),
            id_keys(&q.id_number),
            k(format!("{}#", q.pin)),
            k("1"),
            Step::Hangup,
        ],
        one(&[
            "enter-id",
            "enter-pin",
            "pin-wrong",
            "enter-id",
            "enter-pin",
            "account-menu",
            "medical-balance",
        ]),
        "hangup",
        "3-1-1",
    ));
    out.push(f(
        "a PIN of the wrong length is an invalid entry",
        caller(),
        vec![
            k("3"),
            k("1"),
            id_keys(&q.id_number),
            k("12#"),
            Step::Hangup,
        ],
        one(&["enter-pin", "pin-format", "enter-pin"]),
        "hangup",
        "3-1",
    ));
    let t = threshold(w, &c.lock);
    let mut lock_steps = vec![k("3"), k("1")];
    for _ in 0..t {
        lock_steps.push(id_keys(&c.lock.id_number));
        lock_steps.push(k(format!("{}#", wrong_pin(&c.lock.pin))));
    }
    lock_steps.push(k("1"));
    lock_steps.push(id_keys(&c.lock.id_number));
    lock_steps.push(k(format!("{}#", c.lock.pin)));
    lock_steps.push(Step::Hangup);
    let mut lock_expect = vec![vec!["enter-pin"]];
    for _ in 1..t {
        lock_expect.push(vec!["pin-wrong"]);
    }
    lock_expect.extend(one(&[
        "pin-locked",
        "info-menu",
        "enter-id",
        "enter-pin",
        "pin-locked",
        "info-menu",
    ]));
    out.push(f(
        "wrong PINs lock the card, even the right PIN is then refused",
        caller(),
        lock_steps,
        lock_expect,
        "hangup",
        "3-1",
    ));
    out.push(f(
        "an unknown ID number (X keyed as *) is told, then asked again",
        caller(),
        vec![k("3"), k("1"), id_keys(unknown_ssn), Step::Hangup],
        one(&["enter-id", "id-not-found", "enter-id"]),
        "hangup",
        "3-1",
    ));
    out.push(f(
        "work-injury benefits by social security number (3-2)",
        caller(),
        vec![k("3"), k("2"), id_keys(&w.injured_id), Step::Hangup],
        one(&["enter-ssn", "injury-benefit", "info-menu"]),
        "hangup",
        "3-2",
    ));
    out.push(f(
        "no work-injury benefit, then an invalid number",
        caller(),
        vec![
            k("3"),
            k("2"),
            id_keys(unknown_ssn),
            k("2"),
            k("12345#"),
            Step::Hangup,
        ],
        one(&[
            "enter-ssn",
            "no-injury",
            "info-menu",
            "enter-ssn",
            "id-invalid",
            "enter-ssn",
        ]),
        "hangup",
        "3-2",
    ));
    out.push(f(
        "work-death benefits by social security number (3-3)",
        caller(),
        vec![k("3"), k("3"), id_keys(&w.deceased_id), Step::Hangup],
        one(&["enter-ssn", "death-benefit", "death-unclaimed", "info-menu"]),
        "hangup",
        "3-3",
    ));
    out.push(f(
        "employer medical contributions by employer number (3-4)",
        caller(),
        vec![
            k("3"),
            k("4"),
            k(format!("{}#", w.employer_no)),
            k("4"),
            k("999999999999#"),
            Step::Hangup,
        ],
        one(&[
            "enter-employer",
            "employer-medical",
            "info-menu",
            "enter-employer",
            "employer-not-found",
            "enter-employer",
        ]),
        "hangup",
        "3-4",
    ));
    out.push(f(
        "the drug catalogue is on the website (3-5)",
        caller(),
        vec![k("3"), k("5"), Step::Hangup],
        one(&["info-menu", "drug-website", "info-menu"]),
        "hangup",
        "3-5",
    ));
    let ic = &c.initial_change;
    out.push(f(
        "changing the initial PIN asks for the ID number (5-1)",
        caller(),
        vec![
            k("5"),
            k("1"),
            k(format!("{}#", suffix_of(ic))),
            k(format!("{}#", ic.pin)),
            k("11010519491231002*#"),
            id_keys(&ic.id_number),
            k("135792#"),
            k("135792#"),
            Step::Hangup,
        ],
        one(&[
            "card-menu",
            "enter-card-suffix",
            "enter-old-pin",
            "enter-id-initial",
            "id-mismatch",
            "enter-id-initial",
            "enter-new-pin",
            "enter-new-pin-again",
            "pin-changed",
            "card-menu",
        ]),
        "hangup",
        "5-1",
    ));
    let xc = &c.x_change;
    let mut x_steps = vec![k("5"), k("1"), k(format!("{}#", suffix_of(xc)))];
    let mut x_expect = vec!["enter-card-suffix"];
    let ambiguous = !unambiguous(w, xc);
    if ambiguous {
        // Several live cards end with these 8 characters: the ID number picks the card.
        x_steps.push(id_keys(&xc.id_number));
        x_expect.push("enter-id-card-check");
    }
    x_steps.push(k(format!("{}#", xc.pin)));
    x_expect.push("enter-old-pin");
    if !xc.pin_changed && !ambiguous {
        x_steps.push(id_keys(&xc.id_number));
        x_expect.push("enter-id-initial");
    }
    x_steps.extend([k("246813#"), k("246813#"), Step::Hangup]);
    x_expect.extend(["enter-new-pin", "enter-new-pin-again", "pin-changed"]);
    out.push(f(
        "the letter X of the card number keyed as *",
        caller(),
        x_steps,
        one(&x_expect),
        "hangup",
        "5-1",
    ));
    let m = &c.mismatch;
    out.push(f(
        "new PINs that differ, or are weak, are asked again",
        caller(),
        vec![
            k("5"),
            k("1"),
            k(format!("{}#", suffix_of(m))),
            k(format!("{}#", m.pin)),
            k("135792#"),
            k("135793#"),
            k("111111#"),
            k("111111#"),
            Step::Hangup,
        ],
        one(&[
            "enter-old-pin",
            "enter-new-pin",
            "enter-new-pin-again",
            "pin-mismatch",
            "enter-new-pin",
            "enter-new-pin-again",
            "pin-weak",
            "enter-new-pin",
        ]),
        "hangup",
        "5-1",
    ));
    out.push(f(
        "an unknown card number",
        caller(),
        vec![k("5"), k("1"), k("00000000#"), Step::Hangup],
        one(&["enter-card-suffix", "card-not-found", "enter-card-suffix"]),
        "hangup",
        "5-1",
    ));
    let l = &c.loss;
    out.push(f(
        "loss report: ID number, PIN, confirm (5-2)",
        caller(),
        vec![
            k("5"),
            k("2"),
            id_keys(&l.id_number),
            k(format!("{}#", l.pin)),
            k("1"),
            Step::Hangup,
        ],
        one(&[
            "card-menu",
            "enter-id",
            "enter-pin",
            "loss-confirm",
            "loss-done",
            "card-menu",
        ]),
        "hangup",
        "5-2-1",
    ));
    out.push(f(
        "self-service loss needs an enabled PIN: put through to an agent",
        caller(),
        vec![k("5"), k("2"), id_keys(&c.loss_initial.id_number)],
        one(&["enter-id", "loss-use-agent", "transfer"]),
        "transfer",
        "5-2-0",
    ));
    out.push(f(
        "0 transfers to an agent; * goes back",
        caller(),
        vec![k("3"), k("*"), k("5"), k("*"), k("0")],
        one(&[
            "info-menu",
            "main-menu",
            "card-menu",
            "main-menu",
            "transfer",
        ]),
        "transfer",
        "0",
    ));
    out.push(f(
        "three invalid keys end the call politely",
        caller(),
        vec![k("9"), k("#"), k("7")],
        one(&[
            "main-menu",
            "invalid-key",
            "main-menu",
            "invalid-key",
            "main-menu",
            "goodbye-invalid",
        ]),
        "invalid",
        "",
    ));
    out.push(f(
        "no input repeats the prompt, three times end the call",
        caller(),
        vec![Step::Silence, Step::Silence, Step::Silence],
        one(&["main-menu", "main-menu", "main-menu", "goodbye-no-input"]),
        "no_input",
        "",
    ));
    out.push(f(
        "hang-up in the middle of a flow",
        caller(),
        vec![k("3"), k("1"), id_keys(&q.id_number), Step::Hangup],
        one(&["enter-id", "enter-pin"]),
        "hangup",
        "3-1",
    ));
    let mut rl = vec![k("3")];
    for _ in 0..=sscard_ivr::limit::DEFAULT_MAX_ATTEMPTS {
        rl.push(k("2"));
        rl.push(id_keys(unknown_ssn));
    }
    out.push(f(
        "too many look-ups from one number are refused",
        caller(),
        rl,
        one(&["no-injury", "no-injury", "rate-limited"]),
        "rate_limited",
        "3-2",
    ));
    out
}

/// What an adapter heard.
#[derive(Debug, Default)]
pub struct Heard {
    pub ids: Vec<String>,
    /// Console: every line; AGI: the numbers and digits said.
    pub text: String,
    pub call_id: i64,
}

/// Checks a flow's expectations against what was heard and the call log.
pub fn check(w: &World, flow: &Flow, heard: &Heard, agi: bool) {
    let mut at = 0;
    for alts in &flow.expect {
        let found = heard.ids[at..]
            .iter()
            .position(|id| alts.contains(&id.as_str()));
        match found {
            Some(i) => at += i + 1,
            None => panic!(
                "{}: expected one of {alts:?} after position {at}, heard {:?}",
                flow.name, heard.ids
            ),
        }
    }
    if let Some(p) = &flow.exact {
        if agi {
            let Some(Arg::Money(fen)) = p.args.first() else {
                panic!("exact prompts carry an amount")
            };
            let yuan = (fen / 100).to_string();
            assert!(
                heard.text.split_whitespace().any(|s| s == yuan),
                "{}: the amount {yuan} was not said: {}",
                flow.name,
                heard.text
            );
        } else {
            let text = p.text(flow.lang);
            assert!(
                heard.text.contains(&text),
                "{}: {text:?} not in\n{}",
                flow.name,
                heard.text
            );
        }
    }
    let rec = phone::call_record(&w.app, heard.call_id)
        .unwrap()
        .unwrap_or_else(|| panic!("{}: no call log row {}", flow.name, heard.call_id));
    assert_eq!(rec.outcome, flow.outcome, "{}: outcome", flow.name);
    assert_eq!(rec.menu, flow.menu, "{}: deepest menu", flow.name);
    assert!(rec.ended_at.is_some(), "{}: call not closed", flow.name);
    assert!(
        !rec.caller_hash.contains(&flow.caller),
        "{}: caller number stored",
        flow.name
    );
}

/// Runs a flow through the console adapter.
pub fn run_console(svc: &Services, flow: &Flow) -> Heard {
    let mut input = String::new();
    for s in &flow.steps {
        match s {
            Step::Keys(k) => {
                input.push_str(k);
                input.push('\n');
            }
            Step::Silence => input.push('\n'),
            Step::Hangup => break,
        }
    }
    let mut out = Vec::new();
    let report = console::run(
        svc,
        input.as_bytes(),
        &mut out,
        &ConsoleOptions {
            caller: flow.caller.clone(),
            lang: flow.lang,
            show_ids: true,
        },
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let ids = text
        .lines()
        .filter_map(|l| l.strip_prefix('[').and_then(|r| r.split_once(']')))
        .map(|(id, _)| id.to_string())
        .collect();
    Heard {
        ids,
        text,
        call_id: report.call_id,
    }
}

/// A FastAGI server on a random port of this runtime.
pub struct AgiServer {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl AgiServer {
    /// Stops accepting and waits for the server task (which drops its service handle).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

/// Starts a FastAGI server on a random port of this runtime.
pub async fn start_agi(svc: Services) -> AgiServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(agi::serve(
        listener,
        svc,
        agi::AgiConfig::default(),
        async {
            let _ = rx.await;
        },
    ));
    AgiServer { addr, stop, task }
}

/// Runs a flow through the FastAGI server, playing Asterisk's side over TCP.
pub async fn run_agi(addr: SocketAddr, flow: &Flow, barge_in: bool) -> Heard {
    let t = sim::call(
        addr,
        &flow.steps,
        &SimOptions {
            caller: flow.caller.clone(),
            lang: flow.lang.as_str().to_string(),
            barge_in,
        },
    )
    .await
    .unwrap();
    let call_id = t
        .variables
        .iter()
        .find(|(k, _)| k == "SSCARD_CALL_ID")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("{}: no call id set: {:?}", flow.name, t.commands));
    let lang_dir = format!("/{}/", flow.lang.as_str());
    assert!(
        t.files
            .iter()
            .all(|f| f.starts_with("sscard/") && f.contains(&lang_dir)),
        "{}: files {:?}",
        flow.name,
        t.files
    );
    let expected_end = match flow.outcome {
        "transfer" => "transfer",
        "invalid" | "no_input" | "rate_limited" => "hangup",
        _ => "caller",
    };
    assert_eq!(t.ended_by, expected_end, "{}: {:?}", flow.name, t.commands);
    Heard {
        ids: t.prompt_ids(),
        text: t.said.join(" "),
        call_id,
    }
}
