//! The card's life. Every state change goes through [`transition`], which applies the domain
//! state machine, records the card's timeline and writes the audit row, in the caller's
//! transaction.

pub mod apply;
pub mod approval;
pub mod batches;
pub mod cancel;
pub mod certificates;
pub mod collect;
pub mod death;
pub mod fees;
pub mod jobs;
pub mod loss;
pub mod numbers;
pub mod photo;
pub mod pin;
pub mod reissue;
pub mod replace;
pub mod roster;
pub mod temporary;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sscard_domain::Coded;
use sscard_domain::card::{CardEvent, CardStatus, next_status};
use sscard_domain::ids::CardNo;
use sscard_domain::policy::RegionPolicy;
use sscard_store::Tx;
use sscard_store::repo::{cards as repo, persons, regions, ts};

use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// A card as channels show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardView {
    pub card_no: Option<String>,
    pub card_id: Option<String>,
    pub kind: String,
    pub status: String,
    pub status_label: String,
    pub status_label_en: String,
    pub region_code: String,
    pub bank_status: String,
    pub bank_account_masked: Option<String>,
    pub applied_at: String,
    pub notice_date: Option<String>,
    pub at_card_centre: bool,
    pub expires_on: Option<String>,
    pub pin_changed: bool,
    pub pin_locked: bool,
    pub pin_failed: i64,
}

impl From<&repo::CardRow> for CardView {
    fn from(c: &repo::CardRow) -> Self {
        CardView {
            card_no: c.card_no.clone(),
            card_id: c.card_id.clone(),
            kind: c.kind.as_str().into(),
            status: c.status.as_str().into(),
            status_label: c.status.label_zh().into(),
            status_label_en: c.status.label_en().into(),
            region_code: c.region_code.clone(),
            bank_status: c.bank_status.clone(),
            bank_account_masked: c.bank_account.as_deref().map(sscard_domain::mask::mask_id),
            applied_at: c.applied_at.clone(),
            notice_date: c.notice_date.clone(),
            at_card_centre: c.at_card_centre,
            expires_on: c.expires_on.clone(),
            pin_changed: c.pin_changed,
            pin_locked: c.pin_locked,
            pin_failed: c.pin_failed,
        }
    }
}

/// `无此卡信息`: the card number is unknown (the hospitals' wording, seed 002).
pub fn card_not_found(card_no: &str) -> ServiceError {
    ServiceError::new(
        ErrorKind::NotFound,
        "CARD_NOT_FOUND",
        format!("无此卡信息(卡号 {card_no})"),
        format!("No such card ({card_no})"),
    )
}

/// Parses a card number and reads the card for a change (locked on PostgreSQL).
pub fn load_for_update(tx: &mut dyn Tx, card_no: &str) -> Result<repo::CardRow, ServiceError> {
    let no = CardNo::parse(card_no).map_err(|e| ServiceError::invalid(&e))?;
    repo::card_for_update_by_no(tx, no.as_str())?.ok_or_else(|| card_not_found(no.as_str()))
}

/// The holder of a card.
pub fn holder(tx: &mut dyn Tx, card: &repo::CardRow) -> Result<persons::PersonRow, ServiceError> {
    persons::person_by_id(tx, card.person_id)?
        .ok_or_else(|| ServiceError::internal(format!("card {} has no holder", card.id)))
}

/// The ID check at the counter: the presented document number must be the holder's.
pub fn check_holder_document(
    holder: &persons::PersonRow,
    presented: &str,
) -> Result<(), ServiceError> {
    let presented = presented.trim().to_ascii_uppercase();
    if presented == holder.doc_number {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorKind::BadRequest,
            "ID_MISMATCH",
            "所出示的证件号码与持卡人不符",
            "The document presented does not belong to the cardholder",
        ))
    }
}

/// The policy in force for a region on a day (defaults when the region has none stored).
pub fn policy_of(
    tx: &mut dyn Tx,
    region: &str,
    day: NaiveDate,
) -> Result<RegionPolicy, ServiceError> {
    Ok(regions::policy_in_force(tx, region, day)?
        .unwrap_or_else(|| RegionPolicy::for_region(region)))
}

/// A refused transition, as a conflict with the domain's code.
pub fn transition_refused(e: &dyn Coded) -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        e.code(),
        e.message_zh(),
        e.message_en(),
    )
}

/// Applies `event` to `card`: checks the state machine, updates the status, appends the
/// timeline entry and the audit row. Returns the new status.
pub fn transition(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    card: &repo::CardRow,
    event: CardEvent,
    detail: serde_json::Value,
) -> Result<CardStatus, ServiceError> {
    let to = next_status(card.status, card.kind, event).map_err(|e| transition_refused(&e))?;
    repo::set_status(tx, card.id, to, &ts(now))?;
    record_event(tx, now, actor, card, event.as_str(), to, detail)?;
    Ok(to)
}

/// Appends a timeline entry and its audit row for `card` ending in status `to` (which may be
/// its current status, for events that change something else: PIN locked, moved to the card
/// centre…). Never put a PIN or password in `detail`.
pub fn record_event(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    card: &repo::CardRow,
    event: &str,
    to: CardStatus,
    detail: serde_json::Value,
) -> Result<(), ServiceError> {
    let at = ts(now);
    repo::insert_event(
        tx,
        card.id,
        event,
        Some(card.status),
        to,
        actor.channel.as_str(),
        &actor.username,
        &detail.to_string(),
        &at,
    )?;
    let entity_id = card
        .card_no
        .clone()
        .unwrap_or_else(|| format!("card#{}", card.id));
    audit::record(
        tx,
        now,
        actor,
        Change {
            action: &format!("card.{event}"),
            entity: "card",
            entity_id: &entity_id,
            before: serde_json::json!({"status": card.status.as_str()}),
            after: serde_json::json!({"status": to.as_str(), "detail": detail}),
        },
    )?;
    Ok(())
}

/// `CARD_LIVE_EXISTS`: at most one live card per person.
pub(crate) fn live_card_exists(card: Option<&repo::CardRow>) -> ServiceError {
    let what = card
        .map(|c| {
            format!(
                "{}{}",
                c.status.label_zh(),
                c.card_no
                    .as_deref()
                    .map(|n| format!(",卡号 {n}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    ServiceError::new(
        ErrorKind::Conflict,
        "CARD_LIVE_EXISTS",
        format!("该人员已有一张有效社会保障卡({what}),不能重复申领"),
        "The person already holds a live card; a second one cannot be applied for",
    )
}

/// Inserts a new card, mapping the one-live-card index's refusal to `CARD_LIVE_EXISTS`. Every
/// way a card comes into being (application, reissue, replacement, correction, temporary card)
/// goes through here.
pub(crate) fn insert_card(tx: &mut dyn Tx, c: &repo::NewCard<'_>) -> Result<i64, ServiceError> {
    match repo::insert_card(tx, c) {
        Ok(id) => Ok(id),
        Err(e) if e.is_constraint() => Err(live_card_exists(None)),
        Err(e) => Err(e.into()),
    }
}

/// Appends the first timeline entry of a new card and its audit row.
pub(crate) fn record_new_card(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    card: &repo::CardRow,
    event: &str,
    detail: serde_json::Value,
) -> Result<(), ServiceError> {
    repo::insert_event(
        tx,
        card.id,
        event,
        None,
        card.status,
        actor.channel.as_str(),
        &actor.username,
        &detail.to_string(),
        &ts(now),
    )?;
    let entity_id = card
        .card_no
        .clone()
        .unwrap_or_else(|| format!("card#{}", card.id));
    audit::record(
        tx,
        now,
        actor,
        Change {
            action: &format!("card.{event}"),
            entity: "card",
            entity_id: &entity_id,
            before: serde_json::Value::Null,
            after: serde_json::json!({
                "status": card.status.as_str(),
                "kind": card.kind.as_str(),
                "person_id": card.person_id,
                "detail": detail,
            }),
        },
    )?;
    Ok(())
}
