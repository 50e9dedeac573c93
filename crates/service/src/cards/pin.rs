//! The social-security PIN. One wrong-try counter per card, shared by every channel (counter,
//! kiosk, web, phone, hospital): a success resets it, reaching the region's threshold locks the
//! PIN, and only the counter unlocks or resets it after an ID check.
//!
//! A wrong PIN is recorded (committed) even though the caller's operation fails.

use serde::Serialize;
use sscard_domain::card::CardStatus;
use sscard_domain::pin::{is_pin_format, validate_new_pin};
use sscard_store::repo::cards as repo;

use super::{check_holder_document, holder, load_for_update, policy_of, record_event};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::{Actor, Channel};
use crate::error::{ErrorKind, ServiceError};

/// The outcome of a successful PIN check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PinOk {
    /// Whether the PIN was changed away from the initial one ("enabled").
    pub pin_changed: bool,
}

fn pin_format_error() -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "PIN_FORMAT",
        "密码必须是 6 位数字",
        "The PIN must be 6 digits",
    )
}

/// The PIN is locked: where to unlock it.
pub fn pin_locked_error(hotline: &str) -> ServiceError {
    ServiceError::new(
        ErrorKind::Locked,
        "PIN_LOCKED",
        format!(
            "社保卡密码已锁定,请持本人有效身份证件到社保卡服务网点办理解锁或重置(咨询电话 {hotline})"
        ),
        format!(
            "The card's PIN is locked. Unlock or reset it in person, with your ID, at a card service \
             counter (enquiries: {hotline})"
        ),
    )
}

/// What a PIN check inside a larger transaction found. A wrong try has already been counted
/// on the card: the caller must commit the transaction even though its own operation fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PinCheck {
    Ok { changed: bool },
    Wrong { remaining: u32 },
    Locked { hotline: String },
}

impl PinCheck {
    /// The check as a result: `PIN_WRONG` (with the tries left) or `PIN_LOCKED`.
    pub(crate) fn into_result(self) -> Result<PinOk, ServiceError> {
        match self {
            PinCheck::Ok { changed } => Ok(PinOk {
                pin_changed: changed,
            }),
            PinCheck::Locked { hotline } => Err(pin_locked_error(&hotline)),
            PinCheck::Wrong { remaining } => Err(ServiceError::new(
                ErrorKind::Unauthorized,
                "PIN_WRONG",
                format!("密码错误,还可尝试 {remaining} 次"),
                format!("Wrong PIN: {remaining} tries left"),
            )),
        }
    }
}

/// Checks `pin` against a live card inside the caller's transaction, on the card's shared
/// counter: a success resets it, a wrong try counts and may lock the PIN (timeline entry,
/// audit row and notice). The card must have been read for update.
pub(crate) fn check_in(
    tx: &mut dyn sscard_store::Tx,
    now: chrono::DateTime<chrono::Utc>,
    key: &crate::secrets::PinKey,
    actor: &Actor,
    card: &repo::CardRow,
    policy: &sscard_domain::policy::RegionPolicy,
    pin: &str,
) -> Result<PinCheck, ServiceError> {
    if !is_pin_format(pin) {
        return Err(pin_format_error());
    }
    if card.pin_locked {
        return Ok(PinCheck::Locked {
            hotline: policy.local_hotline.clone(),
        });
    }
    if key.verify_pin(&card.pin_mac, pin) {
        if card.pin_failed != 0 {
            repo::set_pin_state(tx, card.id, &card.pin_mac, card.pin_changed, 0, false)?;
        }
        return Ok(PinCheck::Ok {
            changed: card.pin_changed,
        });
    }
    let failed = card.pin_failed + 1;
    let threshold = i64::from(policy.pin_lock_threshold);
    let locked = failed >= threshold;
    repo::set_pin_state(tx, card.id, &card.pin_mac, card.pin_changed, failed, locked)?;
    if locked {
        record_event(
            tx,
            now,
            actor,
            card,
            "pin_locked",
            card.status,
            serde_json::json!({"failed_tries": failed}),
        )?;
        crate::notices::queue_for_card(tx, now, card, crate::notices::Kind::PinLocked)?;
        return Ok(PinCheck::Locked {
            hotline: policy.local_hotline.clone(),
        });
    }
    Ok(PinCheck::Wrong {
        remaining: (threshold - failed) as u32,
    })
}

/// Checks a card's PIN on any channel, counting wrong tries on the card's shared counter.
/// Errors: `PIN_FORMAT`, `PIN_WRONG` (with the tries left), `PIN_LOCKED`, `CARD_NOT_FOUND`,
/// `CARD_DEAD` (a cancelled, reissued, replaced or expired card).
pub fn verify(app: &App, actor: &Actor, card_no: &str, pin: &str) -> Result<PinOk, ServiceError> {
    if !is_pin_format(pin) {
        return Err(pin_format_error());
    }
    let now = app.now();
    let today = app.today();
    let key = app.pin_key().clone();
    let outcome = app.store().write(|tx| {
        let card = load_for_update(tx, card_no)?;
        let policy = policy_of(tx, &card.region_code, today)?;
        if card.status.is_terminal() {
            return Err(super::transition_refused(
                &sscard_domain::card::TransitionError {
                    from: card.status,
                    event: sscard_domain::card::CardEvent::Activate,
                },
            ));
        }
        check_in(tx, now, &key, actor, &card, &policy, pin)
    })?;
    outcome.into_result()
}

/// A PIN change request.
#[derive(Debug, Clone)]
pub struct PinChange {
    pub old_pin: String,
    pub new_pin: String,
    /// The holder's document number: required on remote channels (phone, web) while the PIN
    /// is still the initial one, since knowing `123456` proves nothing there.
    pub holder_doc_number: Option<String>,
}

/// Changes the PIN (any channel). The old PIN is checked on the shared counter; the new one
/// must pass the domain's rules. Changing away from the initial PIN "enables" it.
/// Errors: those of [`verify`], `ID_REQUIRED`, `ID_MISMATCH`, the `PIN_WEAK_*` codes.
pub fn change(
    app: &App,
    actor: &Actor,
    card_no: &str,
    req: &PinChange,
) -> Result<PinOk, ServiceError> {
    let before = verify(app, actor, card_no, &req.old_pin)?;
    let now = app.now();
    let today = app.today();
    let key = app.pin_key().clone();
    let remote = matches!(actor.channel, Channel::Ivr | Channel::Web);
    app.store().write(|tx| {
        let card = load_for_update(tx, card_no)?;
        let person = holder(tx, &card)?;
        let policy = policy_of(tx, &card.region_code, today)?;
        if !before.pin_changed && remote {
            let Some(doc) = req.holder_doc_number.as_deref() else {
                return Err(ServiceError::new(
                    ErrorKind::BadRequest,
                    "ID_REQUIRED",
                    "初始密码修改需验证本人身份证号码",
                    "Changing the initial PIN needs the holder's ID number",
                ));
            };
            check_holder_document(&person, doc)?;
        }
        let birth = chrono::NaiveDate::parse_from_str(&person.birth_date, "%Y-%m-%d").ok();
        validate_new_pin(&req.new_pin, birth, &policy.initial_pin)
            .map_err(|e| ServiceError::invalid(&e))?;
        let mac = key.seal_new_pin(&req.new_pin);
        repo::set_pin_state(tx, card.id, &mac, true, 0, false)?;
        record_event(
            tx,
            now,
            actor,
            &card,
            "pin_changed",
            card.status,
            serde_json::json!({"enabled": true}),
        )?;
        Ok(PinOk { pin_changed: true })
    })
}

/// Counter only, after an ID check: resets the PIN to `new_pin` chosen by the holder, or to the
/// region's initial PIN when `None`; clears the counter and the lock.
pub fn reset(
    app: &App,
    actor: &Actor,
    card_no: &str,
    presented_doc_number: &str,
    new_pin: Option<&str>,
) -> Result<PinOk, ServiceError> {
    access::require(actor, &COUNTER)?;
    let now = app.now();
    let today = app.today();
    let key = app.pin_key().clone();
    app.store().write(|tx| {
        let card = load_for_update(tx, card_no)?;
        if card.status.is_terminal() || card.status == CardStatus::Applied {
            return Err(super::transition_refused(
                &sscard_domain::card::TransitionError {
                    from: card.status,
                    event: sscard_domain::card::CardEvent::Activate,
                },
            ));
        }
        let person = holder(tx, &card)?;
        check_holder_document(&person, presented_doc_number)?;
        let policy = policy_of(tx, &card.region_code, today)?;
        let (pin, changed) = match new_pin {
            Some(p) => {
                let birth = chrono::NaiveDate::parse_from_str(&person.birth_date, "%Y-%m-%d").ok();
                validate_new_pin(p, birth, &policy.initial_pin)
                    .map_err(|e| ServiceError::invalid(&e))?;
                (p.to_string(), true)
            }
            None => (policy.initial_pin.clone(), false),
        };
        let mac = key.seal_new_pin(&pin);
        repo::set_pin_state(tx, card.id, &mac, changed, 0, false)?;
        record_event(
            tx,
            now,
            actor,
            &card,
            "pin_reset",
            card.status,
            serde_json::json!({"id_checked": true, "to_initial": !changed}),
        )?;
        Ok(PinOk {
            pin_changed: changed,
        })
    })
}

/// Counter only, after an ID check: unlocks a locked PIN (keeps the PIN itself).
pub fn unlock(
    app: &App,
    actor: &Actor,
    card_no: &str,
    presented_doc_number: &str,
) -> Result<(), ServiceError> {
    access::require(actor, &COUNTER)?;
    let now = app.now();
    app.store().write(|tx| {
        let card = load_for_update(tx, card_no)?;
        let person = holder(tx, &card)?;
        check_holder_document(&person, presented_doc_number)?;
        repo::set_pin_state(tx, card.id, &card.pin_mac, card.pin_changed, 0, false)?;
        record_event(
            tx,
            now,
            actor,
            &card,
            "pin_unlocked",
            card.status,
            serde_json::json!({"id_checked": true}),
        )?;
        Ok(())
    })
}
