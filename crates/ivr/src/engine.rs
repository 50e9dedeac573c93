//! The menu engine: one [`Call`] is a state machine fed with the caller's entries, timeouts
//! and hang-up, answering with [`Action`]s for the telephony adapter: prompts to play, then
//! either what to collect next, a transfer to a human agent, or a hang-up.
//!
//! The engine is synchronous and calls the service layer itself (`sscard_service::phone`,
//! `cards::pin`, `cards::loss`); asynchronous adapters run its steps on blocking threads.
//!
//! Menu tree (seed 000; `*` goes back, `0` in a menu transfers to an agent):
//!
//! ```text
//! main   3 information ─ 1 personal account: ID number # → PIN # → 1 medical balance
//!        │                                                       2 unemployment months
//!        │                                                       3 pension amount (repeats)
//!        │             ─ 2 work-injury benefits: social security number #
//!        │             ─ 3 work-death benefits: social security number #
//!        │             ─ 4 employer medical contributions: employer number #
//!        │             ─ 5 drug catalogue, treatment items: told to use the website
//!        5 PIN, loss   ─ 1 change PIN: last 8 of card number (X as *) # → old PIN #
//!        │                 → [ID number # when the old PIN is the initial one]
//!        │                 → new PIN # → again # (the two must match)
//!        │             ─ 2 loss: ID number # → PIN # → 1 confirm / 2 cancel
//!        0 agent
//! ```
//!
//! Errors of entry and silence: a key that is not on the menu or a malformed entry is an
//! invalid input (the prompt is said again); the third invalid input in a row ends the call
//! politely. No input repeats the prompt; the third silence in a row ends the call too. A wrong
//! PIN counts on the card's shared counter (and, in the personal-account flow, sends the caller
//! back to the ID number as the seed describes); a locked PIN is told where to unlock it.

use std::fmt;

use sscard_domain::pin::is_pin_format;
use sscard_service::audit::Actor;
use sscard_service::cards::loss::{self, LossKind, LossRequest};
use sscard_service::cards::pin::{self, PinChange};
use sscard_service::phone::{self, PhoneAuth, PhoneCard};
use sscard_service::{App, ErrorKind, ServiceError};

use crate::limit::RateLimiter;
use crate::prompts::{Arg, Lang, Prompt};

/// What the engine needs: the service handle and the process's rate limiter.
#[derive(Debug, Clone)]
pub struct Services {
    pub app: App,
    pub limiter: std::sync::Arc<RateLimiter>,
}

impl Services {
    /// Services with the default rate limit.
    pub fn new(app: App) -> Services {
        Services {
            app,
            limiter: std::sync::Arc::new(RateLimiter::default()),
        }
    }
}

/// What to collect from the caller next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Collect {
    /// Most keys of the entry. A terminated entry takes up to one more key before it is cut
    /// (and refused as too long), so a caller's `#` always ends it.
    pub max_digits: usize,
    /// Whether `#` ends the entry (numbers); menus take one key.
    pub terminated: bool,
    /// How long to wait for keys before it counts as no input.
    pub timeout_ms: u64,
}

/// What the adapter must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play these prompts.
    Play(Vec<Prompt>),
    /// Collect an entry (always the last action of a step that goes on).
    Collect(Collect),
    /// Put the caller through to the human agents (the call leaves the menu).
    Transfer,
    /// Hang up.
    Hangup,
}

/// One input of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete entry: one menu key, or the keys before `#` (or before the timeout).
    Entry(String),
    /// Nothing was keyed in time.
    Timeout,
    /// The caller hung up.
    Hangup,
}

const MENU: Collect = Collect {
    max_digits: 1,
    terminated: false,
    timeout_ms: 6_000,
};
const fn entry(max: usize) -> Collect {
    Collect {
        max_digits: max,
        terminated: true,
        timeout_ms: 12_000,
    }
}
/// The third invalid input in a row ends the call.
pub const MAX_STRIKES: u32 = 3;
/// The third silence in a row ends the call.
pub const MAX_SILENCES: u32 = 3;

/// A keyed secret (PIN, ID number) held for the rest of a flow; never printed.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Default)]
enum State {
    #[default]
    Main,
    Info,
    AcctId,
    AcctPin(PhoneCard),
    AcctMenu(PhoneAuth),
    InjuryId,
    DeathId,
    EmployerNo,
    CardMenu,
    ChangeSuffix,
    ChangePick(Vec<String>),
    ChangeOld {
        card_no: String,
        id: Option<Secret>,
    },
    ChangeId {
        card_no: String,
        old: Secret,
    },
    ChangeNew {
        card_no: String,
        old: Secret,
        id: Option<Secret>,
    },
    ChangeAgain {
        card_no: String,
        old: Secret,
        id: Option<Secret>,
        new: Secret,
    },
    LossId,
    LossPin(PhoneCard),
    LossConfirm {
        card_no: String,
        pin: Secret,
    },
    Done,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Main => "main",
            State::Info => "info",
            State::AcctId => "account-id",
            State::AcctPin(_) => "account-pin",
            State::AcctMenu(_) => "account-menu",
            State::InjuryId => "injury-ssn",
            State::DeathId => "death-ssn",
            State::EmployerNo => "employer-no",
            State::CardMenu => "card-menu",
            State::ChangeSuffix => "change-card",
            State::ChangePick(_) => "change-pick",
            State::ChangeOld { .. } => "change-old-pin",
            State::ChangeId { .. } => "change-id",
            State::ChangeNew { .. } => "change-new-pin",
            State::ChangeAgain { .. } => "change-new-pin-again",
            State::LossId => "loss-id",
            State::LossPin(_) => "loss-pin",
            State::LossConfirm { .. } => "loss-confirm",
            State::Done => "done",
        }
    }

    /// The menu path of the state (`3-1`), for the call log.
    fn path(&self) -> &'static str {
        match self {
            State::Main | State::Done => "",
            State::Info => "3",
            State::AcctId | State::AcctPin(_) | State::AcctMenu(_) => "3-1",
            State::InjuryId => "3-2",
            State::DeathId => "3-3",
            State::EmployerNo => "3-4",
            State::CardMenu => "5",
            State::ChangeSuffix
            | State::ChangePick(_)
            | State::ChangeOld { .. }
            | State::ChangeId { .. }
            | State::ChangeNew { .. }
            | State::ChangeAgain { .. } => "5-1",
            State::LossId | State::LossPin(_) | State::LossConfirm { .. } => "5-2",
        }
    }

    fn prompt(&self) -> &'static str {
        match self {
            State::Main | State::Done => "main-menu",
            State::Info => "info-menu",
            State::AcctId | State::LossId => "enter-id",
            State::AcctPin(_) | State::LossPin(_) => "enter-pin",
            State::AcctMenu(_) => "account-menu",
            State::InjuryId | State::DeathId => "enter-ssn",
            State::EmployerNo => "enter-employer",
            State::CardMenu => "card-menu",
            State::ChangeSuffix => "enter-card-suffix",
            State::ChangePick(_) => "enter-id-card-check",
            State::ChangeOld { .. } => "enter-old-pin",
            State::ChangeId { .. } => "enter-id-initial",
            State::ChangeNew { .. } => "enter-new-pin",
            State::ChangeAgain { .. } => "enter-new-pin-again",
            State::LossConfirm { .. } => "loss-confirm",
        }
    }

    fn collect(&self) -> Collect {
        match self {
            State::Main
            | State::Done
            | State::Info
            | State::AcctMenu(_)
            | State::CardMenu
            | State::LossConfirm { .. } => MENU,
            State::AcctId
            | State::LossId
            | State::InjuryId
            | State::DeathId
            | State::ChangePick(_)
            | State::ChangeId { .. } => entry(18),
            State::AcctPin(_)
            | State::LossPin(_)
            | State::ChangeOld { .. }
            | State::ChangeNew { .. }
            | State::ChangeAgain { .. } => entry(6),
            State::ChangeSuffix => entry(8),
            State::EmployerNo => entry(20),
        }
    }

    /// Where `*` leads.
    fn parent(&self) -> State {
        match self {
            State::Main | State::Info | State::CardMenu | State::Done => State::Main,
            State::AcctId
            | State::AcctPin(_)
            | State::AcctMenu(_)
            | State::InjuryId
            | State::DeathId
            | State::EmployerNo => State::Info,
            _ => State::CardMenu,
        }
    }
}

/// Where a refused PIN leads.
struct PinPaths {
    /// A malformed PIN: ask again.
    retry: State,
    /// A wrong PIN.
    wrong: State,
    /// A locked PIN or an unusable card.
    back: State,
}

enum Next {
    Go(State),
    Transfer(&'static str),
    Hangup(&'static str),
}

/// One call on the line.
pub struct Call {
    call_id: i64,
    caller_hash: String,
    actor: Actor,
    lang: Lang,
    state: State,
    strikes: u32,
    silences: u32,
    deepest: String,
    outcome: Option<&'static str>,
    /// Keys of a terminated entry collected so far (key-by-key adapters).
    buffer: String,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("call_id", &self.call_id)
            .field("state", &self.state.name())
            .field("menu", &self.deepest)
            .field("outcome", &self.outcome)
            .finish()
    }
}

/// The keys of an ID number or card number as keyed: `*` stands for the letter X.
fn keyed_to_x(entry: &str) -> String {
    entry.replace('*', "X")
}

fn is_id_error(e: &ServiceError) -> bool {
    e.code.starts_with("ID_") && e.kind == ErrorKind::BadRequest
}

impl Call {
    /// Answers a call: opens its log row, greets, offers the main menu. `caller` is the
    /// caller's number as the network gives it (empty when withheld).
    pub fn start(
        svc: &Services,
        caller: &str,
        lang: Lang,
    ) -> Result<(Call, Vec<Action>), ServiceError> {
        let caller_hash = phone::caller_hash(&svc.app, caller);
        let call_id = phone::start_call(&svc.app, &caller_hash)?;
        let call = Call {
            call_id,
            actor: phone::caller_actor(&caller_hash),
            caller_hash,
            lang,
            state: State::Main,
            strikes: 0,
            silences: 0,
            deepest: String::new(),
            outcome: None,
            buffer: String::new(),
        };
        tracing::info!(call_id, "ivr call answered");
        let actions = vec![
            Action::Play(vec![Prompt::new("welcome"), Prompt::new("main-menu")]),
            Action::Collect(MENU),
        ];
        Ok((call, actions))
    }

    /// The call log id.
    pub fn id(&self) -> i64 {
        self.call_id
    }

    /// The call's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The caller's keyed hash.
    pub fn caller_hash(&self) -> &str {
        &self.caller_hash
    }

    /// The deepest menu reached so far (`3-1-1`).
    pub fn menu(&self) -> &str {
        &self.deepest
    }

    /// How the call ended, once it did.
    pub fn outcome(&self) -> Option<&'static str> {
        self.outcome
    }

    /// Whether the call is over (hung up or transferred).
    pub fn is_over(&self) -> bool {
        self.outcome.is_some()
    }

    /// The name of the current state (logs, tests).
    pub fn state_name(&self) -> &'static str {
        self.state.name()
    }

    /// What is being collected now (`None` once the call is over).
    pub fn collecting(&self) -> Option<Collect> {
        (!self.is_over()).then(|| self.state.collect())
    }

    /// One key from a key-by-key adapter (console, HTTP): menus act on it at once; numbers
    /// are buffered until `#` or until they are one key too long. Other characters are
    /// ignored. Returns the actions of the step the key completed, if any.
    pub fn key(&mut self, svc: &Services, k: char) -> Vec<Action> {
        let Some(c) = self.collecting() else {
            return Vec::new();
        };
        if !matches!(k, '0'..='9' | '*' | '#') {
            return Vec::new();
        }
        if !c.terminated {
            return self.handle(svc, Event::Entry(k.to_string()));
        }
        if k == '#' {
            let e = std::mem::take(&mut self.buffer);
            return self.handle(svc, Event::Entry(e));
        }
        self.buffer.push(k);
        if self.buffer.len() > c.max_digits {
            let e = std::mem::take(&mut self.buffer);
            return self.handle(svc, Event::Entry(e));
        }
        Vec::new()
    }

    /// The wait for keys ran out: keys already given count as the entry, otherwise it is no
    /// input.
    pub fn timeout(&mut self, svc: &Services) -> Vec<Action> {
        if self.buffer.is_empty() {
            self.handle(svc, Event::Timeout)
        } else {
            let e = std::mem::take(&mut self.buffer);
            self.handle(svc, Event::Entry(e))
        }
    }

    /// The session expired without the caller (an abandoned HTTP session): closes the log.
    pub fn expire(&mut self, svc: &Services) {
        if !self.is_over() {
            self.end(svc, "timeout");
            self.state = State::Done;
        }
    }

    /// Runs one step.
    pub fn handle(&mut self, svc: &Services, event: Event) -> Vec<Action> {
        if self.is_over() {
            return Vec::new();
        }
        self.buffer.clear();
        let state = std::mem::take(&mut self.state);
        let before = std::mem::discriminant(&state);
        let mut say = Vec::new();
        let next = match event {
            Event::Hangup => {
                self.end(svc, "hangup");
                self.state = State::Done;
                return Vec::new();
            }
            Event::Timeout => {
                self.silences += 1;
                if self.silences >= MAX_SILENCES {
                    say.push(Prompt::new("goodbye-no-input"));
                    Next::Hangup("no_input")
                } else {
                    Next::Go(state)
                }
            }
            Event::Entry(e) => {
                self.silences = 0;
                self.on_entry(svc, state, e.trim(), &mut say)
            }
        };
        if let Next::Go(s) = &next
            && std::mem::discriminant(s) != before
        {
            self.strikes = 0;
        }
        self.finish(svc, say, next)
    }

    fn finish(&mut self, svc: &Services, mut say: Vec<Prompt>, next: Next) -> Vec<Action> {
        match next {
            Next::Go(state) => {
                self.note(state.path());
                say.push(Prompt::new(state.prompt()));
                let c = state.collect();
                self.state = state;
                vec![Action::Play(say), Action::Collect(c)]
            }
            Next::Transfer(outcome) => {
                say.push(Prompt::new("transfer"));
                self.end(svc, outcome);
                self.state = State::Done;
                vec![Action::Play(say), Action::Transfer]
            }
            Next::Hangup(outcome) => {
                self.end(svc, outcome);
                self.state = State::Done;
                vec![Action::Play(say), Action::Hangup]
            }
        }
    }

    /// Records a menu path if it is the deepest so far.
    fn note(&mut self, path: &str) {
        let depth = |p: &str| {
            if p.is_empty() {
                0
            } else {
                p.split('-').count()
            }
        };
        if depth(path) >= depth(&self.deepest) && !path.is_empty() {
            self.deepest = path.to_string();
        }
    }

    fn end(&mut self, svc: &Services, outcome: &'static str) {
        self.outcome = Some(outcome);
        tracing::info!(call_id = self.call_id, menu = %self.deepest, outcome, "ivr call ended");
        if let Err(e) = phone::end_call(&svc.app, self.call_id, &self.deepest, outcome) {
            tracing::warn!(
                call_id = self.call_id,
                code = e.code,
                "cannot close the call log row"
            );
        }
    }

    fn strike(&mut self, say: &mut Vec<Prompt>, prompt: &'static str, stay: State) -> Next {
        self.strikes += 1;
        if self.strikes >= MAX_STRIKES {
            say.push(Prompt::new("goodbye-invalid"));
            Next::Hangup("invalid")
        } else {
            say.push(Prompt::new(prompt));
            Next::Go(stay)
        }
    }

    fn transfer_path(&mut self, from: &State) -> Next {
        let p = from.path();
        let path = if p.is_empty() {
            "0".to_string()
        } else {
            format!("{p}-0")
        };
        self.note(&path);
        Next::Transfer("transfer")
    }

    fn failed(&mut self, say: &mut Vec<Prompt>, e: &ServiceError) -> Next {
        tracing::warn!(
            call_id = self.call_id,
            code = e.code,
            "ivr service call failed"
        );
        say.push(Prompt::new("system-error"));
        Next::Transfer("error")
    }

    /// Takes one identity attempt from the caller's budget; on refusal says goodbye.
    fn limited(&mut self, svc: &Services, say: &mut Vec<Prompt>) -> Option<Next> {
        if svc.limiter.try_acquire(&self.caller_hash) {
            None
        } else {
            tracing::warn!(call_id = self.call_id, "ivr caller rate-limited");
            say.push(Prompt::new("rate-limited"));
            Some(Next::Hangup("rate_limited"))
        }
    }

    /// The answer to a refused PIN on any flow: where a malformed PIN, a wrong PIN and a
    /// locked or unusable card lead.
    fn pin_refused(
        &mut self,
        svc: &Services,
        say: &mut Vec<Prompt>,
        e: &ServiceError,
        card_no: &str,
        to: PinPaths,
    ) -> Next {
        let PinPaths { retry, wrong, back } = to;
        match e.code {
            "PIN_FORMAT" => self.strike(say, "pin-format", retry),
            "PIN_WRONG" => match phone::pin_state(&svc.app, card_no) {
                Ok(st) => {
                    say.push(Prompt::with(
                        "pin-wrong",
                        vec![Arg::Number(i64::from(st.tries_left))],
                    ));
                    Next::Go(wrong)
                }
                Err(e) => self.failed(say, &e),
            },
            "PIN_LOCKED" => match phone::pin_state(&svc.app, card_no) {
                Ok(st) => {
                    say.push(Prompt::with("pin-locked", vec![Arg::Digits(st.hotline)]));
                    Next::Go(back)
                }
                Err(e) => self.failed(say, &e),
            },
            _ if matches!(e.kind, ErrorKind::Conflict | ErrorKind::Forbidden) => {
                say.push(Prompt::new("card-state"));
                Next::Go(back)
            }
            _ => self.failed(say, e),
        }
    }

    fn on_entry(&mut self, svc: &Services, state: State, e: &str, say: &mut Vec<Prompt>) -> Next {
        // Menus first: one key each.
        match &state {
            State::Main => {
                return match e {
                    "3" => Next::Go(State::Info),
                    "5" => Next::Go(State::CardMenu),
                    "0" => self.transfer_path(&state),
                    "*" => Next::Go(State::Main),
                    _ => self.strike(say, "invalid-key", state),
                };
            }
            State::Info => {
                return match e {
                    "1" => Next::Go(State::AcctId),
                    "2" => Next::Go(State::InjuryId),
                    "3" => Next::Go(State::DeathId),
                    "4" => Next::Go(State::EmployerNo),
                    "5" => {
                        self.note("3-5");
                        say.push(Prompt::new("drug-website"));
                        Next::Go(State::Info)
                    }
                    "0" => self.transfer_path(&state),
                    "*" => Next::Go(State::Main),
                    _ => self.strike(say, "invalid-key", state),
                };
            }
            State::CardMenu => {
                return match e {
                    "1" => Next::Go(State::ChangeSuffix),
                    "2" => Next::Go(State::LossId),
                    "0" => self.transfer_path(&state),
                    "*" => Next::Go(State::Main),
                    _ => self.strike(say, "invalid-key", state),
                };
            }
            _ => {}
        }
        if e == "*" {
            return Next::Go(state.parent());
        }
        match state {
            State::AcctMenu(auth) => self.account_query(svc, auth, e, say),
            State::AcctId => match phone::card_of_id(&svc.app, &keyed_to_x(e)) {
                Ok(card) => Next::Go(State::AcctPin(card)),
                Err(err) => self.id_refused(say, &err, State::AcctId, State::Info),
            },
            State::AcctPin(card) => {
                if let Some(n) = self.limited(svc, say) {
                    return n;
                }
                match phone::login(&svc.app, &self.actor, &card, e) {
                    Ok(auth) => Next::Go(State::AcctMenu(auth)),
                    Err(err) => {
                        let no = card.card_no.clone();
                        self.pin_refused(
                            svc,
                            say,
                            &err,
                            &no,
                            PinPaths {
                                retry: State::AcctPin(card),
                                wrong: State::AcctId,
                                back: State::Info,
                            },
                        )
                    }
                }
            }
            State::InjuryId => {
                if let Some(n) = self.limited(svc, say) {
                    return n;
                }
                match phone::work_injury_benefits(&svc.app, &keyed_to_x(e)) {
                    Ok(list) => {
                        self.note("3-2");
                        if list.is_empty() {
                            say.push(Prompt::new("no-injury"));
                        }
                        for b in list {
                            say.push(match b.disability_grade {
                                Some(g) => Prompt::with(
                                    "injury-benefit",
                                    vec![
                                        Arg::Number(g),
                                        Arg::Money(b.monthly.fen()),
                                        Arg::Money(b.lump_sum.fen()),
                                    ],
                                ),
                                None => Prompt::with(
                                    "injury-benefit-ungraded",
                                    vec![Arg::Money(b.monthly.fen()), Arg::Money(b.lump_sum.fen())],
                                ),
                            });
                            if !b.active {
                                say.push(Prompt::new("benefit-ended"));
                            }
                        }
                        Next::Go(State::Info)
                    }
                    Err(err) if is_id_error(&err) => {
                        self.strike(say, "id-invalid", State::InjuryId)
                    }
                    Err(err) => self.failed(say, &err),
                }
            }
            State::DeathId => {
                if let Some(n) = self.limited(svc, say) {
                    return n;
                }
                match phone::work_death_benefits(&svc.app, &keyed_to_x(e)) {
                    Ok(list) => {
                        self.note("3-3");
                        if list.is_empty() {
                            say.push(Prompt::new("no-death"));
                        }
                        for b in list {
                            say.push(Prompt::with(
                                "death-benefit",
                                vec![
                                    Arg::Money(b.lump_sum.fen()),
                                    Arg::Money(b.funeral_grant.fen()),
                                ],
                            ));
                            say.push(Prompt::new(if b.paid {
                                "death-paid"
                            } else {
                                "death-unclaimed"
                            }));
                        }
                        Next::Go(State::Info)
                    }
                    Err(err) if is_id_error(&err) => self.strike(say, "id-invalid", State::DeathId),
                    Err(err) => self.failed(say, &err),
                }
            }
            State::EmployerNo => {
                if let Some(n) = self.limited(svc, say) {
                    return n;
                }
                match phone::employer_medical(&svc.app, e) {
                    Ok(found) => {
                        self.note("3-4");
                        say.push(match found {
                            Some(m) => Prompt::with(
                                "employer-medical",
                                vec![
                                    Arg::Month(m.month),
                                    Arg::Number(m.persons),
                                    Arg::Money(m.employer.fen()),
                                    Arg::Money(m.personal.fen()),
                                ],
                            ),
                            None => Prompt::new("employer-none"),
                        });
                        Next::Go(State::Info)
                    }
                    Err(err) if err.code == "EMPLOYER_NOT_FOUND" => {
                        self.strike(say, "employer-not-found", State::EmployerNo)
                    }
                    Err(err) if err.kind == ErrorKind::BadRequest => {
                        self.strike(say, "invalid-key", State::EmployerNo)
                    }
                    Err(err) => self.failed(say, &err),
                }
            }
            State::ChangeSuffix => match phone::cards_by_suffix(&svc.app, e) {
                Ok(cards) if cards.is_empty() => {
                    self.strike(say, "card-not-found", State::ChangeSuffix)
                }
                Ok(mut cards) if cards.len() == 1 => Next::Go(State::ChangeOld {
                    card_no: cards.remove(0),
                    id: None,
                }),
                Ok(cards) => Next::Go(State::ChangePick(cards)),
                Err(err) if err.kind == ErrorKind::BadRequest => {
                    self.strike(say, "invalid-key", State::ChangeSuffix)
                }
                Err(err) => self.failed(say, &err),
            },
            State::ChangePick(cards) => {
                let id = keyed_to_x(e);
                let mut found = None;
                for c in &cards {
                    match phone::holder_id_matches(&svc.app, c, &id) {
                        Ok(true) => {
                            found = Some(c.clone());
                            break;
                        }
                        Ok(false) => {}
                        Err(err) if is_id_error(&err) => {
                            return self.strike(say, "id-invalid", State::ChangePick(cards));
                        }
                        Err(err) => return self.failed(say, &err),
                    }
                }
                match found {
                    Some(card_no) => Next::Go(State::ChangeOld {
                        card_no,
                        id: Some(Secret(id)),
                    }),
                    None => self.strike(say, "id-mismatch", State::ChangePick(cards)),
                }
            }
            State::ChangeOld { card_no, id } => {
                if let Some(n) = self.limited(svc, say) {
                    return n;
                }
                match pin::verify(&svc.app, &self.actor, &card_no, e) {
                    Ok(ok) if !ok.pin_changed && id.is_none() => Next::Go(State::ChangeId {
                        card_no,
                        old: Secret(e.to_string()),
                    }),
                    Ok(_) => Next::Go(State::ChangeNew {
                        card_no,
                        old: Secret(e.to_string()),
                        id,
                    }),
                    Err(err) => {
                        let no = card_no.clone();
                        let retry = || State::ChangeOld {
                            card_no: no.clone(),
                            id: id.clone(),
                        };
                        self.pin_refused(
                            svc,
                            say,
                            &err,
                            &no,
                            PinPaths {
                                retry: retry(),
                                wrong: retry(),
                                back: State::CardMenu,
                            },
                        )
                    }
                }
            }
            State::ChangeId { card_no, old } => {
                let id = keyed_to_x(e);
                match phone::holder_id_matches(&svc.app, &card_no, &id) {
                    Ok(true) => Next::Go(State::ChangeNew {
                        card_no,
                        old,
                        id: Some(Secret(id)),
                    }),
                    Ok(false) => self.strike(say, "id-mismatch", State::ChangeId { card_no, old }),
                    Err(err) if is_id_error(&err) => {
                        self.strike(say, "id-invalid", State::ChangeId { card_no, old })
                    }
                    Err(err) => self.failed(say, &err),
                }
            }
            State::ChangeNew { card_no, old, id } => {
                if is_pin_format(e) {
                    Next::Go(State::ChangeAgain {
                        card_no,
                        old,
                        id,
                        new: Secret(e.to_string()),
                    })
                } else {
                    self.strike(say, "pin-format", State::ChangeNew { card_no, old, id })
                }
            }
            State::ChangeAgain {
                card_no,
                old,
                id,
                new,
            } => {
                if e != new.0 {
                    return self.strike(say, "pin-mismatch", State::ChangeNew { card_no, old, id });
                }
                let req = PinChange {
                    old_pin: old.0.clone(),
                    new_pin: new.0.clone(),
                    holder_doc_number: id.as_ref().map(|s| s.0.clone()),
                };
                match pin::change(&svc.app, &self.actor, &card_no, &req) {
                    Ok(_) => {
                        say.push(Prompt::new("pin-changed"));
                        Next::Go(State::CardMenu)
                    }
                    Err(err)
                        if err.code.starts_with("PIN_WEAK")
                            || err.code == "PIN_SAME_AS_INITIAL" =>
                    {
                        self.strike(say, "pin-weak", State::ChangeNew { card_no, old, id })
                    }
                    Err(err) if err.code == "ID_MISMATCH" || err.code == "ID_REQUIRED" => {
                        self.strike(say, "id-mismatch", State::ChangeId { card_no, old })
                    }
                    Err(err) => {
                        let no = card_no.clone();
                        self.pin_refused(
                            svc,
                            say,
                            &err,
                            &no,
                            PinPaths {
                                retry: State::ChangeNew {
                                    card_no,
                                    old,
                                    id: id.clone(),
                                },
                                wrong: State::ChangeOld {
                                    card_no: no.clone(),
                                    id,
                                },
                                back: State::CardMenu,
                            },
                        )
                    }
                }
            }
            State::LossId => match phone::card_of_id(&svc.app, &keyed_to_x(e)) {
                Ok(card) => match phone::loss_precheck(&svc.app, &self.actor, &card.card_no) {
                    Ok(()) => Next::Go(State::LossPin(card)),
                    Err(err) if err.code == "PIN_NOT_ENABLED_USE_AGENT" => {
                        self.note("5-2-0");
                        say.push(Prompt::new("loss-use-agent"));
                        Next::Transfer("transfer")
                    }
                    Err(err) if matches!(err.kind, ErrorKind::Conflict | ErrorKind::Forbidden) => {
                        say.push(Prompt::new("card-state"));
                        Next::Go(State::CardMenu)
                    }
                    Err(err) => self.failed(say, &err),
                },
                Err(err) => self.id_refused(say, &err, State::LossId, State::CardMenu),
            },
            State::LossPin(card) => {
                if let Some(n) = self.limited(svc, say) {
                    return n;
                }
                match pin::verify(&svc.app, &self.actor, &card.card_no, e) {
                    Ok(_) => Next::Go(State::LossConfirm {
                        card_no: card.card_no.clone(),
                        pin: Secret(e.to_string()),
                    }),
                    Err(err) => {
                        let no = card.card_no.clone();
                        self.pin_refused(
                            svc,
                            say,
                            &err,
                            &no,
                            PinPaths {
                                retry: State::LossPin(card.clone()),
                                wrong: State::LossPin(card),
                                back: State::CardMenu,
                            },
                        )
                    }
                }
            }
            State::LossConfirm { card_no, pin } => match e {
                "1" => {
                    let req = LossRequest {
                        kind: LossKind::Temporary,
                        pin: Some(pin.0.clone()),
                        presented_doc_number: None,
                    };
                    match loss::report(&svc.app, &self.actor, &card_no, &req) {
                        Ok(done) => {
                            self.note("5-2-1");
                            let days = done
                                .expires_at
                                .as_deref()
                                .and_then(|t| chrono_days_from(&svc.app, t))
                                .unwrap_or(0);
                            say.push(Prompt::with("loss-done", vec![Arg::Number(days)]));
                            Next::Go(State::CardMenu)
                        }
                        Err(err) => {
                            let no = card_no.clone();
                            self.pin_refused(
                                svc,
                                say,
                                &err,
                                &no,
                                PinPaths {
                                    retry: State::CardMenu,
                                    wrong: State::CardMenu,
                                    back: State::CardMenu,
                                },
                            )
                        }
                    }
                }
                "2" => {
                    say.push(Prompt::new("loss-cancelled"));
                    Next::Go(State::CardMenu)
                }
                "0" => {
                    let s = State::LossConfirm { card_no, pin };
                    self.transfer_path(&s)
                }
                _ => self.strike(say, "invalid-key", State::LossConfirm { card_no, pin }),
            },
            // Menus were handled above.
            other => Next::Go(other),
        }
    }

    fn id_refused(
        &mut self,
        say: &mut Vec<Prompt>,
        err: &ServiceError,
        retry: State,
        back: State,
    ) -> Next {
        match err.code {
            _ if is_id_error(err) => self.strike(say, "id-invalid", retry),
            "PERSON_NOT_FOUND" => self.strike(say, "id-not-found", retry),
            "PHONE_NO_CARD" => {
                say.push(Prompt::new("no-card"));
                Next::Go(back)
            }
            _ => self.failed(say, err),
        }
    }

    fn account_query(
        &mut self,
        svc: &Services,
        auth: PhoneAuth,
        e: &str,
        say: &mut Vec<Prompt>,
    ) -> Next {
        let app = &svc.app;
        let result = match e {
            "1" => phone::medical_balance(app, &auth).map(|b| {
                self.note("3-1-1");
                match b {
                    Some(m) => Prompt::with("medical-balance", vec![Arg::Money(m.fen())]),
                    None => Prompt::new("no-medical-account"),
                }
            }),
            "2" => phone::unemployment_continuous_months(app, &auth).map(|r| {
                self.note("3-1-2");
                match r {
                    Some(r) => Prompt::with(
                        "unemployment-months",
                        vec![Arg::Month(r.through), Arg::Number(i64::from(r.months))],
                    ),
                    None => Prompt::new("no-unemployment"),
                }
            }),
            "3" => phone::monthly_pension(app, &auth).map(|p| {
                self.note("3-1-3");
                match p {
                    Some(m) => Prompt::with("pension-amount", vec![Arg::Money(m.fen())]),
                    None => Prompt::new("no-pension"),
                }
            }),
            "0" => {
                let s = State::AcctMenu(auth);
                return self.transfer_path(&s);
            }
            _ => return self.strike(say, "invalid-key", State::AcctMenu(auth)),
        };
        match result {
            Ok(p) => {
                say.push(p);
                Next::Go(State::AcctMenu(auth))
            }
            Err(err) => self.failed(say, &err),
        }
    }
}

/// Whole days from now to an RFC 3339 instant, rounded.
fn chrono_days_from(app: &App, rfc3339: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    let hours = (t.with_timezone(&chrono::Utc) - app.now()).num_hours();
    Some((hours + 12) / 24)
}
