//! Replacement of a damaged card (换卡) and correction of wrong card data (信息更正).
//!
//! Both take the old card back: it becomes `replacing` (dead for ever) and a new regular card
//! is applied for with the region's initial PIN.
//!
//! - Replacement is free when the clerk records a quality fault and a supervisor approves it
//!   (the supervisor's credentials, checked by [`approval::verify_supervisor`]); otherwise the
//!   region's `replacement_fee_fen` is charged with a receipt.
//! - Correction is always free: the person's wrong data (name, gender, birth date, ethnicity)
//!   is corrected — audited with before and after — and the card remade with the right data.
//!   For a citizen ID holder the gender and birth date must agree with the ID number.

use chrono::NaiveDate;
use serde::Serialize;
use sscard_domain::card::{CardEvent, CardKind, next_status};
use sscard_domain::ids::{CardNo, Document, DocumentType};
use sscard_store::repo::{aftercare, cards as repo};

use super::approval::{self, Approved, SupervisorApproval};
use super::fees::{self, FeeKind, FeeView};
use super::reissue::{apply_successor, card_temporary, person_deceased};
use super::{CardView, check_holder_document, holder, load_for_update, policy_of, transition};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// A damaged card brought to the counter.
#[derive(Debug, Clone, Default)]
pub struct ReplaceRequest {
    pub card_no: String,
    /// The number of the document the holder presents (ID check).
    pub presented_doc_number: String,
    /// The clerk finds a quality fault (chip or print failure not caused by the holder).
    pub quality_fault: bool,
    /// What is wrong with the card (free text for the timeline).
    pub damage: String,
    /// Required when `quality_fault`: the approving supervisor's credentials.
    pub approval: Option<SupervisorApproval>,
}

/// What a replacement or correction produced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReplaceOutcome {
    /// The old card, now `replacing`.
    pub old_card: CardView,
    /// The new card, `applied`.
    pub new_card: CardView,
    /// The fee, when charged.
    pub fee: Option<FeeView>,
    /// The supervisor who approved a free replacement.
    pub approved_by: Option<String>,
}

/// Replaces a damaged card (counter only, after an ID check).
///
/// Errors: `FORBIDDEN`, `CARD_NO_*`, `CARD_NOT_FOUND`, `CARD_TEMPORARY`, `ID_MISMATCH`,
/// `PERSON_DECEASED`, `CARD_STATE` / `CARD_LOST` / `CARD_DEAD` (only an awaiting-collection,
/// collected or active card can be replaced), the approval's `APPROVAL_*` codes (quality fault
/// only), `CARD_LIVE_EXISTS`.
pub fn replace_damaged(
    app: &App,
    actor: &Actor,
    req: &ReplaceRequest,
) -> Result<ReplaceOutcome, ServiceError> {
    access::require(actor, &COUNTER)?;
    // Cheap checks before the supervisor's password is tried.
    app.store().read(|tx| {
        let no = CardNo::parse(&req.card_no).map_err(|e| ServiceError::invalid(&e))?;
        let old =
            repo::card_by_no(tx, no.as_str())?.ok_or_else(|| super::card_not_found(no.as_str()))?;
        if old.kind == CardKind::Temporary {
            return Err(card_temporary());
        }
        let person = holder(tx, &old)?;
        check_holder_document(&person, &req.presented_doc_number)?;
        if person.life_status == "deceased" {
            return Err(person_deceased());
        }
        next_status(old.status, old.kind, CardEvent::Replace)
            .map_err(|e| super::transition_refused(&e))?;
        Ok::<_, ServiceError>(())
    })?;
    let approved: Option<Approved> = if req.quality_fault {
        let a = req
            .approval
            .as_ref()
            .ok_or_else(approval::approval_required)?;
        Some(approval::verify_supervisor(app, actor, a)?)
    } else {
        None
    };
    let now = app.now();
    let today = app.today();
    let key = app.pin_key().clone();
    app.store().write(|tx| {
        let old = load_for_update(tx, &req.card_no)?;
        let person = holder(tx, &old)?;
        check_holder_document(&person, &req.presented_doc_number)?;
        if person.life_status == "deceased" {
            return Err(person_deceased());
        }
        let policy = policy_of(tx, &old.region_code, today)?;
        let approver = approved.as_ref().map(|a| a.username.clone());
        transition(
            tx,
            now,
            actor,
            &old,
            CardEvent::Replace,
            serde_json::json!({
                "reason": "damaged",
                "damage": req.damage.trim(),
                "quality_fault": req.quality_fault,
                "approved_by": approver,
                "card_returned": true,
            }),
        )?;
        let new = apply_successor(
            tx,
            now,
            actor,
            &key,
            &policy,
            &old,
            "apply_replacement",
            serde_json::json!({
                "previous_card": old.card_no,
                "reason": "damaged",
                "quality_fault": req.quality_fault,
                "approved_by": approver,
            }),
        )?;
        let fee = if req.quality_fault {
            None
        } else {
            fees::charge(
                tx,
                now,
                actor,
                person.id,
                &old.region_code,
                Some(new.id),
                FeeKind::Replacement,
                policy.replacement_fee_fen,
            )?
        };
        let old_now = repo::card_by_id(tx, old.id)?
            .ok_or_else(|| ServiceError::internal("old card vanished"))?;
        Ok(ReplaceOutcome {
            old_card: CardView::from(&old_now),
            new_card: CardView::from(&new),
            fee,
            approved_by: approver,
        })
    })
}

/// Corrected card data; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct CorrectionRequest {
    pub card_no: String,
    /// The number of the document the holder presents (ID check).
    pub presented_doc_number: String,
    pub name: Option<String>,
    /// `male` or `female`.
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub ethnicity: Option<String>,
}

fn bad(code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

/// Corrects wrong card data and remakes the card, free (counter only, after an ID check).
///
/// Errors: `FORBIDDEN`, `CARD_NO_*`, `CARD_NOT_FOUND`, `CARD_TEMPORARY`, `ID_MISMATCH`,
/// `PERSON_DECEASED`, `CORRECTION_EMPTY` (nothing differs), `CORRECTION_INVALID` (empty name,
/// unknown gender), `CORRECTION_CONFLICTS_ID` (gender or birth date against the citizen ID
/// number), `CARD_STATE` / `CARD_LOST` / `CARD_DEAD`, `CARD_LIVE_EXISTS`.
pub fn correct(
    app: &App,
    actor: &Actor,
    req: &CorrectionRequest,
) -> Result<ReplaceOutcome, ServiceError> {
    access::require(actor, &COUNTER)?;
    let now = app.now();
    let today = app.today();
    let key = app.pin_key().clone();
    app.store().write(|tx| {
        let old = load_for_update(tx, &req.card_no)?;
        if old.kind == CardKind::Temporary {
            return Err(card_temporary());
        }
        let person = holder(tx, &old)?;
        check_holder_document(&person, &req.presented_doc_number)?;
        if person.life_status == "deceased" {
            return Err(person_deceased());
        }
        let name = req
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(&person.name)
            .to_string();
        let gender = req.gender.clone().unwrap_or_else(|| person.gender.clone());
        let birth = req
            .birth_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| person.birth_date.clone());
        let ethnicity = req
            .ethnicity
            .as_deref()
            .map(str::trim)
            .unwrap_or(&person.ethnicity)
            .to_string();
        if name.is_empty() || name.chars().count() > 50 || ethnicity.is_empty() {
            return Err(bad(
                "CORRECTION_INVALID",
                "姓名和民族不能为空,姓名不超过 50 个字",
                "Name and ethnicity cannot be empty; the name has at most 50 characters",
            ));
        }
        if gender != "male" && gender != "female" {
            return Err(bad(
                "CORRECTION_INVALID",
                "性别只能是 male(男)或 female(女)",
                "Gender must be male or female",
            ));
        }
        if name == person.name
            && gender == person.gender
            && birth == person.birth_date
            && ethnicity == person.ethnicity
        {
            return Err(bad(
                "CORRECTION_EMPTY",
                "更正后的信息与原信息相同",
                "The corrected data is the same as the stored data",
            ));
        }
        if person.doc_type == DocumentType::CitizenId.as_str()
            && let Ok(doc) = Document::parse(DocumentType::CitizenId, &person.doc_number, today)
        {
            let id_gender = doc.gender().map(|g| g.as_str().to_string());
            let id_birth = doc.birth_date().map(|d| d.to_string());
            if id_gender.is_some_and(|g| g != gender) || id_birth.is_some_and(|b| b != birth) {
                return Err(bad(
                    "CORRECTION_CONFLICTS_ID",
                    "更正后的性别或出生日期与身份证号码不符",
                    "The corrected gender or birth date contradicts the citizen ID number",
                ));
            }
        }
        let policy = policy_of(tx, &old.region_code, today)?;
        let before = serde_json::json!({
            "name": person.name,
            "gender": person.gender,
            "birth_date": person.birth_date,
            "ethnicity": person.ethnicity,
        });
        let after = serde_json::json!({
            "name": name,
            "gender": gender,
            "birth_date": birth,
            "ethnicity": ethnicity,
        });
        transition(
            tx,
            now,
            actor,
            &old,
            CardEvent::Replace,
            serde_json::json!({"reason": "correction", "card_returned": true}),
        )?;
        aftercare::correct_person(tx, person.id, &name, &gender, &birth, &ethnicity)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "person.corrected",
                entity: "person",
                entity_id: &format!("person#{}", person.id),
                before,
                after,
            },
        )?;
        let new = apply_successor(
            tx,
            now,
            actor,
            &key,
            &policy,
            &old,
            "apply_replacement",
            serde_json::json!({"previous_card": old.card_no, "reason": "correction"}),
        )?;
        let old_now = repo::card_by_id(tx, old.id)?
            .ok_or_else(|| ServiceError::internal("old card vanished"))?;
        Ok(ReplaceOutcome {
            old_card: CardView::from(&old_now),
            new_card: CardView::from(&new),
            fee: None,
            approved_by: None,
        })
    })
}
