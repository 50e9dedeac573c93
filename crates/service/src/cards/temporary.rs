//! Emergency temporary cards (临时卡).
//!
//! For an urgent hospital stay while the person has no usable card (lost, being made, being
//! replaced), the counter issues a temporary card on the spot: with an emergency reason and a
//! proof reference (e.g. the hospital admission certificate number), active at once with a card
//! number, no bank function (`bank_status` `none`), valid for the region's
//! `temp_card_valid_days`. A person has at most one live temporary card (a database index
//! guarantees it). It expires by itself (the daily job applies `CardEvent::Expire`).

use chrono::Duration;
use serde::Serialize;
use sscard_domain::card::{CardKind, CardStatus};
use sscard_domain::ids::{CardId, RegionCode};
use sscard_store::Tx;
use sscard_store::repo::{aftercare, cards as repo, production, ts};

use super::numbers;
use super::reissue::{find_person, person_deceased};
use super::{CardView, policy_of};
use super::{insert_card, record_new_card};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::Actor;
use crate::error::{ErrorKind, ServiceError};

/// The letter that starts every temporary card number (regular cards start with the region's
/// letter); numbers are made by [`super::numbers`].
pub const TEMPORARY_LETTER: char = 'T';

/// Chip serials of temporary cards start here, apart from the regular cards' range.
const TEMPORARY_CHIP_BASE: u64 = 0x7E00_0000_0000_0000;

/// A temporary card request at the counter.
#[derive(Debug, Clone)]
pub struct TemporaryCardRequest {
    /// The person's document number.
    pub doc_number: String,
    /// The document the person presents at the counter, when the caller identified the person
    /// some other way (the console's person page): it must be the person's own (`ID_MISMATCH`).
    pub presented_doc_number: Option<String>,
    /// The emergency, e.g. "住院治疗".
    pub reason: String,
    /// The proof, e.g. the hospital admission certificate number.
    pub proof_ref: String,
}

/// A temporary card just issued, with the initial PIN's reminder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TemporaryCardOutcome {
    pub card: CardView,
    /// The last day it can be used (YYYY-MM-DD).
    pub expires_on: String,
}

/// The next temporary card number and identifier (chip serials of temporary cards live in
/// their own range).
fn next_numbers(tx: &mut dyn Tx, region: &str) -> Result<(String, String), ServiceError> {
    let serial = production::max_card_serial(tx, TEMPORARY_LETTER)? + 1;
    let card_no = numbers::card_no(TEMPORARY_LETTER, serial);
    let area = RegionCode::parse(region).map_err(|e| ServiceError::invalid(&e))?;
    let ident = CardId::new(&area, TEMPORARY_CHIP_BASE + serial);
    Ok((card_no, ident.as_str().to_string()))
}

fn required(code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

/// Issues a temporary card (counter only).
///
/// Errors: `FORBIDDEN`, `EMERGENCY_REASON_REQUIRED`, `PROOF_REQUIRED`, `PERSON_NOT_FOUND`, `ID_MISMATCH`,
/// `PERSON_DECEASED`, `TEMP_CARD_NOT_NEEDED` (the person's regular card is active and usable),
/// `TEMP_CARD_EXISTS` (a live temporary card already exists).
pub fn issue(
    app: &App,
    actor: &Actor,
    req: &TemporaryCardRequest,
) -> Result<TemporaryCardOutcome, ServiceError> {
    access::require(actor, &COUNTER)?;
    let reason = req.reason.trim();
    let proof = req.proof_ref.trim();
    if reason.is_empty() {
        return Err(required(
            "EMERGENCY_REASON_REQUIRED",
            "请填写办理临时卡的紧急原因",
            "Give the emergency the temporary card is for",
        ));
    }
    if proof.is_empty() {
        return Err(required(
            "PROOF_REQUIRED",
            "请填写证明材料编号(如住院证明编号)",
            "Give the proof reference (e.g. the hospital admission certificate number)",
        ));
    }
    let now = app.now();
    let today = app.today();
    let key = app.pin_key().clone();
    app.store().write(|tx| {
        let person = find_person(tx, &req.doc_number)?;
        if let Some(presented) = req.presented_doc_number.as_deref() {
            super::check_holder_document(&person, presented)?;
        }
        if person.life_status == "deceased" {
            return Err(person_deceased());
        }
        if let Some(regular) = repo::live_card_of(tx, person.id)?
            && regular.status == CardStatus::Active
            && !regular.pin_locked
        {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "TEMP_CARD_NOT_NEEDED",
                "该参保人员的社会保障卡状态正常,无需办理临时卡",
                "The person's card is active and usable: no temporary card is needed",
            ));
        }
        let temp_exists = || {
            ServiceError::new(
                ErrorKind::Conflict,
                "TEMP_CARD_EXISTS",
                "该参保人员已有一张有效的临时卡",
                "The person already holds a live temporary card",
            )
        };
        if repo::live_temporary_card_of(tx, person.id)?.is_some() {
            return Err(temp_exists());
        }
        let policy = policy_of(tx, &person.region_code, today)?;
        let expires = today + Duration::days(i64::from(policy.temp_card_valid_days));
        let expires_s = expires.to_string();
        let agency_id = if actor.agency.is_empty() {
            None
        } else {
            aftercare::agency_id_by_code(tx, &actor.agency)?
        };
        let pin_mac = key.seal_new_pin(&policy.initial_pin);
        let at = ts(now);
        let id = insert_card(
            tx,
            &repo::NewCard {
                person_id: person.id,
                kind: CardKind::Temporary,
                status: CardStatus::Active,
                region_code: &person.region_code,
                agency_id,
                previous_card_id: None,
                applied_at: &at,
                expires_on: Some(&expires_s),
                pin_mac: &pin_mac,
            },
        )
        .map_err(|e| {
            if e.code == "CARD_LIVE_EXISTS" {
                temp_exists()
            } else {
                e
            }
        })?;
        let (card_no, ident) = next_numbers(tx, &person.region_code)?;
        aftercare::set_card_numbers(tx, id, &card_no, &ident)?;
        aftercare::set_collected_activated(tx, id, &at)?;
        let card = repo::card_by_id(tx, id)?
            .ok_or_else(|| ServiceError::internal("temporary card vanished"))?;
        record_new_card(
            tx,
            now,
            actor,
            &card,
            "issue_temporary",
            serde_json::json!({
                "reason": reason,
                "proof_ref": proof,
                "expires_on": expires_s,
            }),
        )?;
        Ok(TemporaryCardOutcome {
            card: CardView::from(&card),
            expires_on: expires_s,
        })
    })
}
