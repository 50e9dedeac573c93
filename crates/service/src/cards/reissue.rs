//! Reissue (补卡) after a written loss.
//!
//! Only a card lost in writing (书面挂失) may be reissued. The old card becomes `reissuing`,
//! dead for ever (a found old card never works again and its loss can no longer be lifted); a
//! new regular card is applied for in its place with the region's initial PIN; the region's
//! reissue fee is charged (a reissue is never the first card) with a receipt; and a pickup
//! certificate (领卡凭证) is issued whose number hospitals accept as a temporary medical voucher
//! until the new card is collected. The new card is ready `reissue_working_days` working days
//! later (weekends and public holidays skipped, adjusted working days counted).
//!
//! This module also holds the helpers the other after-issue operations share: finding a person
//! by document number and applying for a successor card.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use sscard_domain::calendar::add_working_days;
use sscard_domain::card::{CardEvent, CardKind, CardStatus};
use sscard_domain::policy::RegionPolicy;
use sscard_store::Tx;
use sscard_store::repo::{aftercare, cards as repo, persons, regions, ts};

use super::certificates::{self, CertificateView};
use super::fees::{self, FeeKind, FeeView};
use super::{CardView, check_holder_document, holder, load_for_update, policy_of, transition};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::Actor;
use crate::error::{ErrorKind, ServiceError};
use crate::secrets::PinKey;

/// A reissue application at the counter.
#[derive(Debug, Clone)]
pub struct ReissueRequest {
    /// The card lost in writing.
    pub card_no: String,
    /// The number of the document the holder presents (ID check).
    pub presented_doc_number: String,
}

/// What a reissue produced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReissueOutcome {
    /// The old card, now `reissuing` (dead for ever).
    pub old_card: CardView,
    /// The new card, `applied` (its number comes with production).
    pub new_card: CardView,
    /// The fee charged, with its receipt (none when the region's fee is zero).
    pub fee: Option<FeeView>,
    /// The pickup certificate (temporary medical voucher until collection).
    pub certificate: CertificateView,
}

/// `PERSON_NOT_FOUND`.
pub fn person_not_found() -> ServiceError {
    ServiceError::not_found(
        "PERSON_NOT_FOUND",
        "未找到该证件号码对应的参保人员(无参保人员信息)",
        "No insured person holds this document number",
    )
}

/// The person holding a document number (citizen ID numbers are upper-cased).
/// Errors: `PERSON_NOT_FOUND`.
pub fn find_person(tx: &mut dyn Tx, doc_number: &str) -> Result<persons::PersonRow, ServiceError> {
    let number = doc_number.trim().to_ascii_uppercase();
    let id = aftercare::person_id_by_doc_number(tx, &number)?.ok_or_else(person_not_found)?;
    persons::person_by_id(tx, id)?.ok_or_else(person_not_found)
}

/// `PERSON_DECEASED`: a deceased person's card business is the heirs' (see `death`).
pub fn person_deceased() -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "PERSON_DECEASED",
        "该参保人员已登记死亡,不能办理此业务",
        "The insured person is recorded as deceased: this operation is not possible",
    )
}

/// `CARD_TEMPORARY`: temporary cards are not reissued, replaced nor corrected.
pub fn card_temporary() -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "CARD_TEMPORARY",
        "临时卡不能办理补卡、换卡或信息更正",
        "A temporary card cannot be reissued, replaced or corrected",
    )
}

/// Applies for the regular card that succeeds `old` (reissue, replacement, correction): status
/// `applied`, the region's initial PIN, `previous_card_id` pointing at the old card, at the
/// actor's agency. Records its first timeline entry (`event`) and audit row.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_successor(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    key: &PinKey,
    policy: &RegionPolicy,
    old: &repo::CardRow,
    event: &str,
    detail: serde_json::Value,
) -> Result<repo::CardRow, ServiceError> {
    let agency_id = if actor.agency.is_empty() {
        None
    } else {
        aftercare::agency_id_by_code(tx, &actor.agency)?
    };
    let pin_mac = key.seal_new_pin(&policy.initial_pin);
    let at = ts(now);
    let id = super::insert_card(
        tx,
        &repo::NewCard {
            person_id: old.person_id,
            kind: CardKind::Regular,
            status: CardStatus::Applied,
            region_code: &old.region_code,
            agency_id,
            previous_card_id: Some(old.id),
            applied_at: &at,
            expires_on: None,
            pin_mac: &pin_mac,
        },
    )?;
    let card = repo::card_by_id(tx, id)?
        .ok_or_else(|| ServiceError::internal(format!("card {id} vanished")))?;
    super::record_new_card(tx, now, actor, &card, event, detail)?;
    Ok(card)
}

/// The day `n` working days after `start`, by the working-day calendar (holidays and adjusted
/// working days from `calendar_days`).
pub(crate) fn working_days_after(
    tx: &mut dyn Tx,
    start: NaiveDate,
    n: u32,
) -> Result<NaiveDate, ServiceError> {
    // n working days never span more than n weeks plus the longest holiday run.
    let horizon = start + Duration::days(i64::from(n) * 7 + 60);
    let overrides: HashMap<NaiveDate, bool> = regions::calendar_between(tx, start, horizon)?
        .into_iter()
        .collect();
    Ok(add_working_days(start, n, &|d| overrides.get(&d).copied()))
}

/// `REISSUE_NEEDS_WRITTEN_LOSS`.
fn needs_written_loss(status: CardStatus) -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "REISSUE_NEEDS_WRITTEN_LOSS",
        format!("补卡须先办理书面挂失(该卡当前状态:{})", status.label_zh()),
        format!(
            "A reissue needs a written loss report first (the card is {})",
            status.label_en().to_lowercase()
        ),
    )
}

/// Reissues a card lost in writing (counter only, after an ID check).
///
/// Errors: `FORBIDDEN`, `CARD_NO_*`, `CARD_NOT_FOUND`, `CARD_TEMPORARY`,
/// `REISSUE_NEEDS_WRITTEN_LOSS` (the card is not lost in writing), `CARD_DEAD` (already
/// reissued, replaced, cancelled), `ID_MISMATCH`, `PERSON_DECEASED`, `CARD_LIVE_EXISTS`.
pub fn reissue(
    app: &App,
    actor: &Actor,
    req: &ReissueRequest,
) -> Result<ReissueOutcome, ServiceError> {
    access::require(actor, &COUNTER)?;
    let now = app.now();
    let today = app.today();
    let key = app.pin_key().clone();
    app.store().write(|tx| {
        let old = load_for_update(tx, &req.card_no)?;
        if old.kind == CardKind::Temporary {
            return Err(card_temporary());
        }
        if old.status.is_live() && old.status != CardStatus::WrittenLoss {
            return Err(needs_written_loss(old.status));
        }
        let person = holder(tx, &old)?;
        check_holder_document(&person, &req.presented_doc_number)?;
        if person.life_status == "deceased" {
            return Err(person_deceased());
        }
        let policy = policy_of(tx, &old.region_code, today)?;
        transition(
            tx,
            now,
            actor,
            &old,
            CardEvent::Reissue,
            serde_json::json!({"id_checked": true}),
        )?;
        let new = apply_successor(
            tx,
            now,
            actor,
            &key,
            &policy,
            &old,
            "apply_reissue",
            serde_json::json!({"previous_card": old.card_no}),
        )?;
        let fee = fees::charge(
            tx,
            now,
            actor,
            person.id,
            &old.region_code,
            Some(new.id),
            FeeKind::Reissue,
            policy.reissue_fee_fen,
        )?;
        let ready = working_days_after(tx, today, policy.reissue_working_days)?;
        let cert = certificates::issue(
            tx,
            now,
            actor,
            &person,
            &old,
            &new,
            ready,
            fee.as_ref().map(|f| f.receipt_no.as_str()),
        )?;
        let old_now = repo::card_by_id(tx, old.id)?
            .ok_or_else(|| ServiceError::internal("old card vanished"))?;
        Ok(ReissueOutcome {
            old_card: CardView::from(&old_now),
            new_card: CardView::from(&new),
            fee,
            certificate: cert,
        })
    })
}
