//! The self-service kiosk (自助终端): touchscreens in the service halls (seed 000).
//!
//! # Session
//!
//! The holder inserts the social security card or swipes the ID card ([`reader`]); [`insert`]
//! opens a session on that terminal waiting for the PIN (any earlier session of the terminal is
//! forgotten: a terminal has one card reader). [`enter_pin`] checks the PIN through
//! [`cards::pin::verify`](crate::cards::pin::verify), on the card's shared wrong-try counter:
//! a wrong PIN says how many tries remain (`PIN_WRONG`); a locked PIN ends the session and says
//! where to unlock it (`PIN_LOCKED`, with the region's card centre and hotline).
//!
//! A session is bound to its card and its terminal (`KIOSK_TERMINAL_MISMATCH` from any other
//! terminal). It expires after the region's `kiosk_idle_timeout_secs` without a request
//! (`KIOSK_SESSION_EXPIRED`; the page's own idle timer returns home first, this is the server's
//! guard), and after [`MAX_SESSION_MINUTES`] in any case. 退卡 ([`end`]) forgets it. Only a
//! SHA-256 of the session token is stored.
//!
//! # What a logged-in holder can do
//!
//! The seven query categories come from the self-service records
//! ([`selfservice::records`](crate::selfservice)); the kiosk adds, for its own holder only:
//! - [`change_pin`]: old, new and confirmation (`PIN_CONFIRM_MISMATCH`, the PIN rules' codes);
//! - [`report_loss`]: the self-service temporary loss pre-report
//!   ([`cards::loss::report`](crate::cards::loss::report), channel `kiosk`);
//! - [`update_contact`]: own mobile number and address (`PHONE_INVALID`, `ADDRESS_EMPTY`,
//!   `ADDRESS_TOO_LONG`, `ADDRESS_INVALID`), audited;
//! - [`flexible_options`] / [`choose_flexible_level`]: flexible-employment contributors pick
//!   next year's monthly contribution base among the region's
//!   `flexible_contribution_levels_fen` (`NOT_FLEXIBLE_CONTRIBUTOR`, `FLEXIBLE_LEVEL_INVALID`),
//!   audited;
//! - [`rights::rights_record_pdf`]: the personal rights record (个人权益记录) as an A4 PDF.
//!
//! The actor of every call is the cardholder actor of the selfservice module
//! (`person:<id>`, channel `kiosk`), with `kiosk:<terminal>` as its agency.

pub mod reader;
pub mod rights;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sscard_domain::card::{CardEvent, CardStatus, TransitionError};
use sscard_domain::mask::mask_id;
use sscard_domain::person::LifeStatus;
use sscard_domain::policy::RegionPolicy;
use sscard_store::Tx;
use sscard_store::repo::kiosk::{self as repo, FlexibleChoiceRow, KioskSessionRow};
use sscard_store::repo::{cards as card_repo, org, parse_ts, persons, selfservice, ts};

pub use reader::{CardReader, Presented, TypedCardReader, TypedIdCardReader};

use crate::App;
use crate::audit::{self, Actor, Change, Channel};
use crate::cards::loss::{self, LossKind, LossRequest, LossResult};
use crate::cards::pin::{self, PinChange, PinOk};
use crate::cards::{self, policy_of};
use crate::error::{ErrorKind, ServiceError};
use crate::selfservice::cardholder_actor;

/// A session ends this long after the card was read, whatever happens.
pub const MAX_SESSION_MINUTES: i64 = 30;
/// Longest address accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 100;

/// A kiosk session as channels see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KioskSession {
    pub terminal_id: String,
    pub person_id: i64,
    pub holder_name: String,
    /// The name with all but the first character starred (shown before the PIN).
    pub holder_name_masked: String,
    pub card_no: String,
    /// The card number with all but its first 4 characters starred (`N000*****`).
    pub card_no_masked: String,
    pub card_status: String,
    pub card_status_label: String,
    pub card_status_label_en: String,
    /// Whether the PIN was changed from the initial one (self-service loss needs it).
    pub pin_changed: bool,
    pub region_code: String,
    /// `card` (card inserted) or `id_card` (ID card swiped).
    pub via: String,
    /// Whether the PIN was verified.
    pub ready: bool,
    /// The token every form of this session carries.
    pub csrf_token: String,
    /// Idle seconds after which the session ends.
    pub idle_timeout_secs: u32,
}

impl KioskSession {
    /// The actor of this session's holder on the kiosk channel.
    pub fn actor(&self) -> Actor {
        Actor {
            agency: format!("kiosk:{}", self.terminal_id),
            ..cardholder_actor(self.person_id, Channel::Kiosk)
        }
    }
}

/// A new session: the token for the cookie (handed out once) and the session.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub token: String,
    pub session: KioskSession,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// 退卡: the holder took the card.
    TakeCard,
    /// The page's idle timer fired.
    Idle,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            EndReason::TakeCard => "take_card",
            EndReason::Idle => "idle",
        }
    }
}

fn err(
    kind: ErrorKind,
    code: &'static str,
    zh: impl Into<String>,
    en: impl Into<String>,
) -> ServiceError {
    ServiceError::new(kind, code, zh, en)
}

fn session_missing() -> ServiceError {
    err(
        ErrorKind::Unauthorized,
        "KIOSK_SESSION_MISSING",
        "请插入社会保障卡或刷身份证",
        "Insert your social security card or swipe your ID card",
    )
}

fn session_expired() -> ServiceError {
    err(
        ErrorKind::Unauthorized,
        "KIOSK_SESSION_EXPIRED",
        "长时间未操作,已自动退出,请取走卡片后重新插卡",
        "You were signed out after a period of inactivity: take your card and insert it again",
    )
}

fn pin_required() -> ServiceError {
    err(
        ErrorKind::Unauthorized,
        "KIOSK_PIN_REQUIRED",
        "请先输入社保卡密码",
        "Enter the card's PIN first",
    )
}

/// Checks a terminal id: 1 to 32 letters, digits, `-` or `_`.
/// Error: `KIOSK_TERMINAL_INVALID`.
pub fn parse_terminal_id(input: &str) -> Result<String, ServiceError> {
    let t = input.trim();
    if !t.is_empty()
        && t.len() <= 32
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(t.to_string())
    } else {
        Err(err(
            ErrorKind::BadRequest,
            "KIOSK_TERMINAL_INVALID",
            "终端编号无效(1 至 32 位字母、数字、- 或 _)",
            "Invalid terminal id (1 to 32 letters, digits, - or _)",
        ))
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// `张三` → `张*`.
fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// `N00000010` → `N000*****`.
fn mask_card_no(no: &str) -> String {
    no.chars()
        .enumerate()
        .map(|(i, c)| if i < 4 { c } else { '*' })
        .collect()
}

/// Where a locked PIN is unlocked: the region's card centre (or first agency) and hotline.
fn where_to_unlock(
    tx: &mut dyn Tx,
    region: &str,
    policy: &RegionPolicy,
) -> Result<(String, String), ServiceError> {
    let prefix = if region.ends_with("0000") {
        &region[..2]
    } else if region.ends_with("00") {
        &region[..4]
    } else {
        region
    };
    let agencies = org::list_agencies(tx, Some(prefix))?;
    let agency = agencies
        .iter()
        .find(|a| a.kind == "card_centre")
        .or_else(|| agencies.first());
    let hotline = &policy.local_hotline;
    Ok(match agency {
        Some(a) => (
            format!(
                "社保卡密码已锁定,请持本人有效身份证件到{}({},电话 {})或其他社保卡服务网点办理解锁(咨询电话 {hotline})",
                a.name, a.address, a.phone
            ),
            format!(
                "The card's PIN is locked. Unlock it in person with your ID at {} ({}, phone {}) or \
                 another card service counter (enquiries: {hotline})",
                a.name, a.address, a.phone
            ),
        ),
        None => (
            format!(
                "社保卡密码已锁定,请持本人有效身份证件到社保卡服务网点办理解锁(咨询电话 {hotline})"
            ),
            format!(
                "The card's PIN is locked. Unlock it in person with your ID at a card service counter \
                 (enquiries: {hotline})"
            ),
        ),
    })
}

fn locked_error((zh, en): (String, String)) -> ServiceError {
    err(ErrorKind::Locked, "PIN_LOCKED", zh, en)
}

/// Whether a card read this way may open a session. An inserted card must be usable; through
/// the ID card the holder may also reach a card reported lost (to see it, or to report it).
fn check_card(card: &card_repo::CardRow, via: &str) -> Result<(), ServiceError> {
    let refused = || {
        cards::transition_refused(&TransitionError {
            from: card.status,
            event: CardEvent::Activate,
        })
    };
    if card.card_no.is_none() {
        return Err(refused());
    }
    match card.status {
        CardStatus::Active | CardStatus::Collected => Ok(()),
        CardStatus::TemporaryLoss | CardStatus::WrittenLoss if via == "id_card" => Ok(()),
        _ => Err(refused()),
    }
}

fn view(
    row: &KioskSessionRow,
    card: &card_repo::CardRow,
    person: &persons::PersonRow,
) -> KioskSession {
    let card_no = card.card_no.clone().unwrap_or_default();
    KioskSession {
        terminal_id: row.terminal_id.clone(),
        person_id: person.id,
        holder_name: person.name.clone(),
        holder_name_masked: mask_name(&person.name),
        card_no_masked: mask_card_no(&card_no),
        card_no,
        card_status: card.status.as_str().to_string(),
        card_status_label: card.status.label_zh().to_string(),
        card_status_label_en: card.status.label_en().to_string(),
        pin_changed: card.pin_changed,
        region_code: card.region_code.clone(),
        via: row.via.clone(),
        ready: row.state == "ready",
        csrf_token: row.csrf_token.clone(),
        idle_timeout_secs: u32::try_from(row.idle_timeout_secs).unwrap_or(u32::MAX),
    }
}

fn load_parts(
    tx: &mut dyn Tx,
    row: &KioskSessionRow,
) -> Result<(card_repo::CardRow, persons::PersonRow), ServiceError> {
    let card = card_repo::card_by_id(tx, row.card_id)?
        .ok_or_else(|| ServiceError::internal("kiosk session without its card"))?;
    let person = cards::holder(tx, &card)?;
    Ok((card, person))
}

fn audit_session(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    action: &str,
    card_no: &str,
    after: serde_json::Value,
) -> Result<(), ServiceError> {
    audit::record(
        tx,
        now,
        actor,
        Change {
            action,
            entity: "kiosk_session",
            entity_id: card_no,
            before: serde_json::Value::Null,
            after,
        },
    )?;
    Ok(())
}

enum Opened {
    Started(Box<Started>),
    Locked((String, String)),
}

/// Reads the card in `reader` at terminal `terminal_id` and opens a session waiting for the
/// PIN. Errors: `KIOSK_TERMINAL_INVALID`, the reader's (`CARD_NO_*`, `ID_*`),
/// `CARD_NOT_FOUND`, `PERSON_NOT_FOUND` (ID card of nobody insured here), `KIOSK_NO_CARD`
/// (insured but without a card that is produced), `CARD_STATE` / `CARD_LOST` / `CARD_DEAD`,
/// `PERSON_DECEASED`, `PIN_LOCKED` (with where to unlock).
pub fn insert(
    app: &App,
    terminal_id: &str,
    reader: &dyn CardReader,
) -> Result<Started, ServiceError> {
    let terminal = parse_terminal_id(terminal_id)?;
    let presented = reader.read(app.today())?;
    let now = app.now();
    let today = app.today();
    let opened = app.store().write(|tx| {
        repo::delete_expired_sessions(tx, &ts(now))?;
        repo::delete_sessions_of_terminal(tx, &terminal)?;
        let card = match &presented {
            Presented::Card(no) => card_repo::card_by_no(tx, no.as_str())?
                .ok_or_else(|| cards::card_not_found(no.as_str()))?,
            Presented::IdCard(id) => {
                let person = persons::person_by_document(tx, "citizen_id", id.as_str())?
                    .ok_or_else(|| {
                        ServiceError::not_found(
                            "PERSON_NOT_FOUND",
                            "无参保人员信息",
                            "No insured person with this ID number",
                        )
                    })?;
                let regular = card_repo::live_card_of(tx, person.id)?;
                let card = match regular {
                    Some(c) if c.card_no.is_some() => Some(c),
                    _ => card_repo::live_temporary_card_of(tx, person.id)?
                        .filter(|c| c.card_no.is_some()),
                };
                card.ok_or_else(|| {
                    ServiceError::not_found(
                        "KIOSK_NO_CARD",
                        "您尚无可使用的社会保障卡,请到服务网点咨询办理",
                        "You have no usable social security card yet: ask at a service counter",
                    )
                })?
            }
        };
        check_card(&card, presented.via())?;
        let person = cards::holder(tx, &card)?;
        if LifeStatus::parse(&person.life_status) == Some(LifeStatus::Deceased) {
            return Err(err(
                ErrorKind::Conflict,
                "PERSON_DECEASED",
                "持卡人已登记死亡,该卡不能使用",
                "The cardholder is recorded as deceased: the card cannot be used",
            ));
        }
        let policy = policy_of(tx, &card.region_code, today)?;
        if card.pin_locked {
            return Ok(Opened::Locked(where_to_unlock(
                tx,
                &card.region_code,
                &policy,
            )?));
        }
        let token = random_hex(32);
        let idle = i64::from(policy.kiosk_idle_timeout_secs.max(1));
        let row = KioskSessionRow {
            token_hash: token_hash(&token),
            terminal_id: terminal.clone(),
            card_id: card.id,
            person_id: person.id,
            via: presented.via().to_string(),
            state: "pin".into(),
            csrf_token: random_hex(16),
            idle_timeout_secs: idle,
            created_at: ts(now),
            last_seen_at: ts(now),
            expires_at: ts(now + Duration::seconds(idle)),
            hard_expires_at: ts(now + Duration::minutes(MAX_SESSION_MINUTES)),
        };
        repo::insert_session(tx, &row)?;
        let session = view(&row, &card, &person);
        audit_session(
            tx,
            now,
            &session.actor(),
            "kiosk.card_read",
            &session.card_no,
            serde_json::json!({"via": row.via, "terminal": terminal}),
        )?;
        Ok(Opened::Started(Box::new(Started { token, session })))
    })?;
    match opened {
        Opened::Started(s) => Ok(*s),
        Opened::Locked(w) => Err(locked_error(w)),
    }
}

/// The session of `token` at `terminal_id`, counting this call as activity. With `ready`, the
/// PIN must have been verified. Errors: `KIOSK_SESSION_MISSING`, `KIOSK_SESSION_EXPIRED` (the
/// session is forgotten), `KIOSK_TERMINAL_MISMATCH`, `KIOSK_PIN_REQUIRED`.
pub fn session(
    app: &App,
    token: &str,
    terminal_id: &str,
    ready: bool,
) -> Result<KioskSession, ServiceError> {
    if token.is_empty() {
        return Err(session_missing());
    }
    let hash = token_hash(token);
    let now = app.now();
    let resolved = app.store().write(|tx| {
        let row = repo::session_by_hash(tx, &hash)?.ok_or_else(session_missing)?;
        if row.terminal_id != terminal_id.trim() {
            return Err(err(
                ErrorKind::Forbidden,
                "KIOSK_TERMINAL_MISMATCH",
                "该会话不属于本终端,请重新插卡",
                "This session belongs to another terminal: insert your card again",
            ));
        }
        let expired = [&row.expires_at, &row.hard_expires_at]
            .into_iter()
            .any(|t| parse_ts(t).map(|t| now >= t).unwrap_or(true));
        let (card, person) = load_parts(tx, &row)?;
        if expired {
            repo::delete_session(tx, &hash)?;
            let s = view(&row, &card, &person);
            audit_session(
                tx,
                now,
                &s.actor(),
                "kiosk.session_expired",
                &s.card_no,
                serde_json::json!({"terminal": row.terminal_id, "last_seen_at": row.last_seen_at}),
            )?;
            return Ok(None); // expired
        }
        if ready && row.state != "ready" {
            return Err(pin_required());
        }
        repo::touch_session(
            tx,
            &hash,
            &ts(now),
            &ts(now + Duration::seconds(row.idle_timeout_secs)),
        )?;
        Ok(Some(view(&row, &card, &person)))
    })?;
    resolved.ok_or_else(session_expired)
}

/// Ends a session (退卡, or the page's idle timer). Ending a session that no longer exists is
/// not an error.
pub fn end(app: &App, token: &str, reason: EndReason) -> Result<(), ServiceError> {
    if token.is_empty() {
        return Ok(());
    }
    let hash = token_hash(token);
    let now = app.now();
    app.store().write(|tx| {
        let Some(row) = repo::session_by_hash(tx, &hash)? else {
            return Ok(());
        };
        let (card, person) = load_parts(tx, &row)?;
        repo::delete_session(tx, &hash)?;
        let s = view(&row, &card, &person);
        audit_session(
            tx,
            now,
            &s.actor(),
            "kiosk.session_ended",
            &s.card_no,
            serde_json::json!({"terminal": row.terminal_id, "reason": reason.as_str()}),
        )
    })
}

/// Ends the session and answers with where to unlock, when `e` is `PIN_LOCKED`.
fn on_locked(app: &App, token: &str, s: &KioskSession, e: ServiceError) -> ServiceError {
    if e.code != "PIN_LOCKED" {
        return e;
    }
    let hash = token_hash(token);
    let now = app.now();
    let today = app.today();
    let res = app.store().write(|tx| {
        repo::delete_session(tx, &hash)?;
        audit_session(
            tx,
            now,
            &s.actor(),
            "kiosk.session_ended",
            &s.card_no,
            serde_json::json!({"terminal": s.terminal_id, "reason": "pin_locked"}),
        )?;
        let policy = policy_of(tx, &s.region_code, today)?;
        where_to_unlock(tx, &s.region_code, &policy)
    });
    match res {
        Ok(w) => locked_error(w),
        Err(other) => other,
    }
}

/// Checks the PIN typed on the keypad; the session becomes ready. Errors: those of
/// [`session`], `PIN_FORMAT`, `PIN_WRONG` (with the tries left), `PIN_LOCKED` (the session
/// ends; where to unlock), `CARD_DEAD`.
pub fn enter_pin(
    app: &App,
    token: &str,
    terminal_id: &str,
    pin_typed: &str,
) -> Result<KioskSession, ServiceError> {
    let mut s = session(app, token, terminal_id, false)?;
    if s.ready {
        return Ok(s);
    }
    let actor = s.actor();
    if let Err(e) = pin::verify(app, &actor, &s.card_no, pin_typed) {
        return Err(on_locked(app, token, &s, e));
    }
    let hash = token_hash(token);
    let now = app.now();
    app.store().write(|tx| {
        repo::set_session_state(tx, &hash, "ready")?;
        audit_session(
            tx,
            now,
            &actor,
            "kiosk.login",
            &s.card_no,
            serde_json::json!({"terminal": s.terminal_id, "via": s.via}),
        )
    })?;
    s.ready = true;
    Ok(s)
}

/// 卡密码修改: old PIN, new PIN and its confirmation, all from the keypad. Errors:
/// `KIOSK_PIN_REQUIRED`, `PIN_CONFIRM_MISMATCH`, those of
/// [`cards::pin::change`](crate::cards::pin::change) (`PIN_WRONG`, `PIN_WEAK_*`,
/// `PIN_SAME_AS_INITIAL`…); `PIN_LOCKED` ends the session.
pub fn change_pin(
    app: &App,
    token: &str,
    s: &KioskSession,
    old_pin: &str,
    new_pin: &str,
    confirm: &str,
) -> Result<PinOk, ServiceError> {
    if !s.ready {
        return Err(pin_required());
    }
    if new_pin != confirm {
        return Err(err(
            ErrorKind::BadRequest,
            "PIN_CONFIRM_MISMATCH",
            "两次输入的新密码不一致",
            "The new PIN and its confirmation differ",
        ));
    }
    let req = PinChange {
        old_pin: old_pin.to_string(),
        new_pin: new_pin.to_string(),
        holder_doc_number: None,
    };
    pin::change(app, &s.actor(), &s.card_no, &req).map_err(|e| on_locked(app, token, s, e))
}

/// The self-service loss pre-report (临时挂失) of the session's card, confirmed with the PIN.
/// Errors: `KIOSK_PIN_REQUIRED`, those of [`cards::loss::report`](crate::cards::loss::report)
/// (`PIN_NOT_ENABLED_USE_AGENT`, `PIN_WRONG`, `CARD_LOST`…); `PIN_LOCKED` ends the session.
pub fn report_loss(
    app: &App,
    token: &str,
    s: &KioskSession,
    pin_typed: &str,
) -> Result<LossResult, ServiceError> {
    if !s.ready {
        return Err(pin_required());
    }
    let req = LossRequest {
        kind: LossKind::Temporary,
        pin: Some(pin_typed.to_string()),
        presented_doc_number: None,
    };
    loss::report(app, &s.actor(), &s.card_no, &req).map_err(|e| on_locked(app, token, s, e))
}

/// The holder's contact details as the kiosk shows them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContactView {
    pub phone: String,
    /// `138****5678`.
    pub phone_masked: String,
    pub address: String,
    /// Whether the last update changed anything.
    pub changed: bool,
}

/// `13800138000` → `138****8000`.
pub fn mask_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        mask_id(phone)
    }
}

/// Whether `phone` is a mainland Chinese mobile number: 11 digits, `1`, then `3`–`9`.
pub fn is_mobile_number(phone: &str) -> bool {
    let b = phone.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

/// The holder's current phone and address.
pub fn contact(app: &App, s: &KioskSession) -> Result<ContactView, ServiceError> {
    if !s.ready {
        return Err(pin_required());
    }
    let p = app
        .store()
        .read(|tx| persons::person_by_id(tx, s.person_id))?
        .ok_or_else(crate::persons::person_not_found)?;
    Ok(ContactView {
        phone_masked: mask_phone(&p.phone),
        phone: p.phone,
        address: p.address,
        changed: false,
    })
}

/// Updates the holder's own mobile number and address (spaces and `-` in the number are
/// ignored). Audited with the phone masked. Errors: `KIOSK_PIN_REQUIRED`, `PHONE_INVALID`,
/// `ADDRESS_EMPTY`, `ADDRESS_TOO_LONG`, `ADDRESS_INVALID` (control characters).
pub fn update_contact(
    app: &App,
    s: &KioskSession,
    phone: &str,
    address: &str,
) -> Result<ContactView, ServiceError> {
    if !s.ready {
        return Err(pin_required());
    }
    let phone: String = phone
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !is_mobile_number(&phone) {
        return Err(err(
            ErrorKind::BadRequest,
            "PHONE_INVALID",
            "请输入 11 位手机号码(以 13–19 开头)",
            "Enter an 11-digit mainland mobile number (starting 13 to 19)",
        ));
    }
    let address = address.trim();
    if address.is_empty() {
        return Err(err(
            ErrorKind::BadRequest,
            "ADDRESS_EMPTY",
            "请输入联系地址",
            "Enter an address",
        ));
    }
    if address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(err(
            ErrorKind::BadRequest,
            "ADDRESS_TOO_LONG",
            format!("联系地址不能超过 {MAX_ADDRESS_CHARS} 个字"),
            format!("The address may have at most {MAX_ADDRESS_CHARS} characters"),
        ));
    }
    if address.chars().any(char::is_control) {
        return Err(err(
            ErrorKind::BadRequest,
            "ADDRESS_INVALID",
            "联系地址含有无效字符",
            "The address contains invalid characters",
        ));
    }
    let now = app.now();
    let actor = s.actor();
    app.store().write(|tx| {
        let p =
            persons::person_by_id(tx, s.person_id)?.ok_or_else(crate::persons::person_not_found)?;
        let changed = p.phone != phone || p.address != address;
        if changed {
            repo::set_contact(tx, p.id, &phone, address)?;
            audit::record(
                tx,
                now,
                &actor,
                Change {
                    action: "person.contact_updated",
                    entity: "person",
                    entity_id: &p.id.to_string(),
                    before: serde_json::json!({
                        "phone": mask_phone(&p.phone),
                        "address_chars": p.address.chars().count(),
                    }),
                    after: serde_json::json!({
                        "phone": mask_phone(&phone),
                        "address_chars": address.chars().count(),
                        "address_changed": p.address != address,
                    }),
                },
            )?;
        }
        Ok(ContactView {
            phone_masked: mask_phone(&phone),
            phone: phone.clone(),
            address: address.to_string(),
            changed,
        })
    })
}

/// The contribution levels a flexible-employment contributor may choose for next year.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlexibleOptions {
    /// The year the choice is for (next calendar year).
    pub year: i32,
    pub region_code: String,
    /// Monthly contribution bases, fen, from the region's policy for that year.
    pub levels_fen: Vec<i64>,
    /// The base of the latest contribution month.
    pub current_base_fen: Option<i64>,
    /// The level already chosen for `year`, if any.
    pub chosen_fen: Option<i64>,
}

fn not_flexible() -> ServiceError {
    err(
        ErrorKind::Conflict,
        "NOT_FLEXIBLE_CONTRIBUTOR",
        "您不是灵活就业参保人员,不能选择缴费档次",
        "Only flexible-employment contributors choose a contribution level",
    )
}

fn flexible_options_in(
    tx: &mut dyn Tx,
    person_id: i64,
    today: NaiveDate,
) -> Result<FlexibleOptions, ServiceError> {
    let region = selfservice::enrolments_of(tx, person_id)?
        .into_iter()
        .find(|e| e.scheme == "flexible" && e.status == "active")
        .map(|e| e.region_code)
        .ok_or_else(not_flexible)?;
    let year = today.year() + 1;
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
    let mut levels = policy_of(tx, &region, jan1)?.flexible_contribution_levels_fen;
    levels.sort_unstable();
    levels.dedup();
    let current_base_fen = persons::contributions_of(tx, person_id)?
        .last()
        .map(|c| c.base_fen);
    let chosen_fen = repo::flexible_choice(tx, person_id, i64::from(year))?.map(|c| c.level_fen);
    Ok(FlexibleOptions {
        year,
        region_code: region,
        levels_fen: levels,
        current_base_fen,
        chosen_fen,
    })
}

/// Next year's levels for the session's holder. Errors: `KIOSK_PIN_REQUIRED`,
/// `NOT_FLEXIBLE_CONTRIBUTOR` (no active flexible-employment enrolment).
pub fn flexible_options(app: &App, s: &KioskSession) -> Result<FlexibleOptions, ServiceError> {
    if !s.ready {
        return Err(pin_required());
    }
    let today = app.today();
    app.store()
        .read(|tx| flexible_options_in(tx, s.person_id, today))
}

/// Records next year's contribution level (choosing again replaces the choice). Audited.
/// Errors: those of [`flexible_options`], `FLEXIBLE_LEVEL_INVALID` (not one of the region's
/// levels).
pub fn choose_flexible_level(
    app: &App,
    s: &KioskSession,
    level_fen: i64,
) -> Result<FlexibleOptions, ServiceError> {
    if !s.ready {
        return Err(pin_required());
    }
    let today = app.today();
    let now = app.now();
    let actor = s.actor();
    app.store().write(|tx| {
        let mut opts = flexible_options_in(tx, s.person_id, today)?;
        if !opts.levels_fen.contains(&level_fen) {
            return Err(err(
                ErrorKind::BadRequest,
                "FLEXIBLE_LEVEL_INVALID",
                "所选缴费档次不在本地区规定的档次之内",
                "The level chosen is not one of the region's contribution levels",
            ));
        }
        repo::upsert_flexible_choice(
            tx,
            &FlexibleChoiceRow {
                person_id: s.person_id,
                year: i64::from(opts.year),
                level_fen,
                region_code: opts.region_code.clone(),
                channel: actor.channel.as_str().to_string(),
                chosen_at: ts(now),
            },
        )?;
        audit::record(
            tx,
            now,
            &actor,
            Change {
                action: "flexible.level_chosen",
                entity: "person",
                entity_id: &s.person_id.to_string(),
                before: serde_json::json!({"year": opts.year, "level_fen": opts.chosen_fen}),
                after: serde_json::json!({"year": opts.year, "level_fen": level_fen}),
            },
        )?;
        opts.chosen_fen = Some(level_fen);
        Ok(opts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_ids() {
        assert_eq!(parse_terminal_id(" KIOSK-01 ").unwrap(), "KIOSK-01");
        for bad in ["", "a b", "终端", &"x".repeat(33)] {
            assert_eq!(
                parse_terminal_id(bad).unwrap_err().code,
                "KIOSK_TERMINAL_INVALID"
            );
        }
    }

    #[test]
    fn mobile_numbers() {
        assert!(is_mobile_number("13800138000"));
        assert!(is_mobile_number("19912345678"));
        for bad in [
            "12800138000",
            "1380013800",
            "138001380001",
            "1380013800a",
            "",
        ] {
            assert!(!is_mobile_number(bad), "{bad}");
        }
        assert_eq!(mask_phone("13800138000"), "138****8000");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_card_no("N00000010"), "N000*****");
    }
}
