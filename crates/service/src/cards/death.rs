//! Death of a cardholder: recording it, the heirs' statement and the payout of the medical
//! personal account to a named heir.
//!
//! 1. [`record_death`] (counter): the person's life status becomes `deceased` from the day of
//!    death; the death certificate number goes into the audit row.
//! 2. [`heir_statement`] (counter): a heir presents their own document, the death certificate
//!    number and their relationship; they get the deceased's cards and balances (medical
//!    personal account balance and recent entries, pension personal accumulation from
//!    contributions) and a claim is recorded (`pending`).
//! 3. [`pay_heir`] (counter, approved by a supervisor's credentials): the whole medical
//!    personal account balance is transferred to the region's cash payout account (the cash
//!    handed to the heir), the claim becomes `paid` with the transfer, and the deceased's cards
//!    are cancelled (reason death). The balance is never paid twice: a second payout is refused
//!    (`HEIR_ALREADY_PAID`), and the transfer's client id (`heir-payout-<person>`) is unique.

use chrono::NaiveDate;
use serde::Serialize;
use sscard_domain::ids::{Document, DocumentType};
use sscard_store::repo::{aftercare, cards as repo, ledger, persons, ts};

use super::CardView;
use super::approval::{self, SupervisorApproval};
use super::cancel::{CancelReason, cancel_in_tx};
use super::reissue::find_person;
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// `PERSON_NOT_DECEASED`.
pub fn not_deceased() -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "PERSON_NOT_DECEASED",
        "该参保人员未登记死亡,请先办理死亡登记",
        "The person is not recorded as deceased: record the death first",
    )
}

fn bad(code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

fn death_certificate_required() -> ServiceError {
    bad(
        "DEATH_CERTIFICATE_REQUIRED",
        "请填写死亡证明编号",
        "Give the death certificate number",
    )
}

/// A death to record.
#[derive(Debug, Clone)]
pub struct DeathRecord {
    /// The deceased's document number.
    pub doc_number: String,
    pub died_on: NaiveDate,
    pub death_certificate_no: String,
}

/// The person after the death was recorded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeathRecorded {
    pub name: String,
    pub doc_masked: String,
    pub life_status: String,
    pub life_status_since: String,
}

/// Records a death (counter only).
///
/// Errors: `FORBIDDEN`, `DEATH_CERTIFICATE_REQUIRED`, `PERSON_NOT_FOUND`,
/// `DEATH_DATE_INVALID` (in the future or before birth), `PERSON_ALREADY_DECEASED`.
pub fn record_death(
    app: &App,
    actor: &Actor,
    req: &DeathRecord,
) -> Result<DeathRecorded, ServiceError> {
    access::require(actor, &COUNTER)?;
    let cert = req.death_certificate_no.trim();
    if cert.is_empty() {
        return Err(death_certificate_required());
    }
    let now = app.now();
    let today = app.today();
    app.store().write(|tx| {
        let person = find_person(tx, &req.doc_number)?;
        let born = NaiveDate::parse_from_str(&person.birth_date, "%Y-%m-%d").ok();
        if req.died_on > today || born.is_some_and(|b| req.died_on < b) {
            return Err(bad(
                "DEATH_DATE_INVALID",
                "死亡日期不能晚于今天,也不能早于出生日期",
                "The date of death cannot be in the future nor before the birth date",
            ));
        }
        if person.life_status == "deceased" {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "PERSON_ALREADY_DECEASED",
                "该参保人员已登记死亡",
                "The person is already recorded as deceased",
            ));
        }
        let since = req.died_on.to_string();
        aftercare::set_life_status(tx, person.id, "deceased", Some(&since))?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "person.death_recorded",
                entity: "person",
                entity_id: &format!("person#{}", person.id),
                before: serde_json::json!({
                    "life_status": person.life_status,
                    "life_status_since": person.life_status_since,
                }),
                after: serde_json::json!({
                    "life_status": "deceased",
                    "life_status_since": since,
                    "death_certificate_no": cert,
                }),
            },
        )?;
        Ok(DeathRecorded {
            name: person.name,
            doc_masked: sscard_domain::mask::mask_id(&person.doc_number),
            life_status: "deceased".into(),
            life_status_since: since,
        })
    })
}

/// Relationships a heir may declare.
pub const RELATIONSHIPS: [&str; 7] = [
    "spouse",
    "child",
    "parent",
    "sibling",
    "grandparent",
    "grandchild",
    "other",
];

/// A heir asking for the deceased's statement.
#[derive(Debug, Clone)]
pub struct HeirRequest {
    /// The deceased's document number.
    pub deceased_doc_number: String,
    pub heir_name: String,
    /// The heir's document type (`citizen_id`, `passport`, …).
    pub heir_doc_type: String,
    pub heir_doc_number: String,
    /// One of [`RELATIONSHIPS`].
    pub relationship: String,
    pub death_certificate_no: String,
}

/// One entry of the medical personal account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EntryView {
    /// Positive: credited; negative: debited.
    pub amount_fen: i64,
    pub kind: String,
    pub memo: String,
    pub at: String,
}

/// The heirs' statement of a deceased person's card and balances.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeirStatement {
    /// The claim recorded for this heir.
    pub claim_id: i64,
    pub claim_status: String,
    pub deceased_name: String,
    pub deceased_doc_masked: String,
    pub died_on: Option<String>,
    /// Every card the deceased had, newest first.
    pub cards: Vec<CardView>,
    pub medical_balance_fen: i64,
    /// The latest entries of the medical personal account, newest first.
    pub medical_recent: Vec<EntryView>,
    /// Personal pension contributions accumulated.
    pub pension_accumulation_fen: i64,
    /// Whether the medical balance was already paid to a heir.
    pub already_paid: bool,
}

/// Records a heir's claim and returns the statement (counter only).
///
/// Errors: `FORBIDDEN`, `DEATH_CERTIFICATE_REQUIRED`, `HEIR_NAME_REQUIRED`,
/// `HEIR_RELATIONSHIP_INVALID`, the document codes of the heir's number (`DOC_*`, `ID_*`),
/// `PERSON_NOT_FOUND`, `PERSON_NOT_DECEASED`, `HEIR_IS_DECEASED`.
pub fn heir_statement(
    app: &App,
    actor: &Actor,
    req: &HeirRequest,
) -> Result<HeirStatement, ServiceError> {
    access::require(actor, &COUNTER)?;
    let today = app.today();
    let cert = req.death_certificate_no.trim();
    if cert.is_empty() {
        return Err(death_certificate_required());
    }
    let heir_name = req.heir_name.trim();
    if heir_name.is_empty() {
        return Err(bad(
            "HEIR_NAME_REQUIRED",
            "请填写继承人姓名",
            "Give the heir's name",
        ));
    }
    let relationship = req.relationship.trim();
    if !RELATIONSHIPS.contains(&relationship) {
        return Err(bad(
            "HEIR_RELATIONSHIP_INVALID",
            "与死者关系须为 spouse(配偶)、child(子女)、parent(父母)、sibling(兄弟姐妹)、grandparent(祖父母/外祖父母)、grandchild(孙子女/外孙子女)或 other(其他继承人)",
            "The relationship must be spouse, child, parent, sibling, grandparent, grandchild or other",
        ));
    }
    let doc_type = DocumentType::parse(req.heir_doc_type.trim()).ok_or_else(|| {
        bad(
            "DOC_TYPE_UNKNOWN",
            "继承人证件类型无效",
            "Unknown document type of the heir",
        )
    })?;
    let heir_doc = Document::parse(doc_type, &req.heir_doc_number, today)
        .map_err(|e| ServiceError::invalid(&e))?;
    let now = app.now();
    app.store().write(|tx| {
        let person = find_person(tx, &req.deceased_doc_number)?;
        if person.life_status != "deceased" {
            return Err(not_deceased());
        }
        if heir_doc.number() == person.doc_number {
            return Err(bad(
                "HEIR_IS_DECEASED",
                "继承人证件号码不能是死者本人的",
                "The heir's document number is the deceased's own",
            ));
        }
        let balance = ledger::person_balance(tx, person.id, "medical_personal")?.unwrap_or(0);
        let claims = aftercare::heir_claims_of(tx, person.id)?;
        let already_paid = claims.iter().any(|c| c.status == "paid");
        let claim_id = aftercare::insert_heir_claim(
            tx,
            &aftercare::NewHeirClaim {
                person_id: person.id,
                heir_name,
                heir_doc_type: doc_type.as_str(),
                heir_doc_number: heir_doc.number(),
                relationship,
                death_certificate_no: cert,
                amount_fen: balance,
                requested_by: &actor.username,
                created_at: &ts(now),
            },
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "heir_claim.created",
                entity: "heir_claim",
                entity_id: &claim_id.to_string(),
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "person_id": person.id,
                    "heir_name": heir_name,
                    "heir_doc_type": doc_type.as_str(),
                    "heir_doc_masked": sscard_domain::mask::mask_id(heir_doc.number()),
                    "relationship": relationship,
                    "death_certificate_no": cert,
                    "medical_balance_fen": balance,
                }),
            },
        )?;
        let cards = repo::cards_of(tx, person.id)?
            .iter()
            .map(CardView::from)
            .collect();
        let medical_recent = ledger::person_entries(tx, person.id, "medical_personal", 20)?
            .into_iter()
            .map(|e| EntryView {
                amount_fen: e.amount_fen,
                kind: e.kind,
                memo: e.memo,
                at: e.created_at,
            })
            .collect();
        let pension = aftercare::pension_accumulation(tx, person.id)?;
        Ok(HeirStatement {
            claim_id,
            claim_status: "pending".into(),
            deceased_name: person.name.clone(),
            deceased_doc_masked: sscard_domain::mask::mask_id(&person.doc_number),
            died_on: person.life_status_since.clone(),
            cards,
            medical_balance_fen: balance,
            medical_recent,
            pension_accumulation_fen: pension,
            already_paid,
        })
    })
}

/// The outcome of a heir payout.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeirPayout {
    pub claim_id: i64,
    pub status: String,
    pub amount_fen: i64,
    /// The ledger transfer (none when the balance was zero).
    pub transfer_id: Option<i64>,
    pub heir_name: String,
    pub approved_by: String,
    /// Cards cancelled (reason death).
    pub cancelled_cards: Vec<String>,
}

fn heir_already_paid() -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "HEIR_ALREADY_PAID",
        "该死者的医保个人账户余额已支付给继承人,不能重复支付",
        "The deceased's medical personal account balance was already paid to a heir",
    )
}

/// Pays the deceased's medical personal account balance to the claim's heir, approved by a
/// supervisor's credentials, then cancels the deceased's live cards (reason death).
///
/// Errors: `FORBIDDEN`, the approval's `APPROVAL_*` codes, `HEIR_CLAIM_NOT_FOUND`,
/// `HEIR_ALREADY_PAID` (this or another claim of the person was paid), `HEIR_CLAIM_STATE` (the
/// claim was rejected), `PERSON_NOT_DECEASED`, `CANCEL_ACCOUNT_NOT_SETTLED` (an amount is
/// reserved or a transfer pending: settle those first).
pub fn pay_heir(
    app: &App,
    actor: &Actor,
    claim_id: i64,
    approval: &SupervisorApproval,
) -> Result<HeirPayout, ServiceError> {
    access::require(actor, &COUNTER)?;
    let not_found =
        || ServiceError::not_found("HEIR_CLAIM_NOT_FOUND", "无此继承申请", "No such heir claim");
    // Refuse what is refused anyway before the supervisor's password is tried.
    app.store().read(|tx| {
        let claim = aftercare::heir_claim(tx, claim_id)?.ok_or_else(not_found)?;
        if aftercare::heir_claims_of(tx, claim.person_id)?
            .iter()
            .any(|c| c.status == "paid")
        {
            return Err(heir_already_paid());
        }
        Ok(())
    })?;
    let approved = approval::verify_supervisor(app, actor, approval)?;
    let now = app.now();
    let at = ts(now);
    app.store().write(|tx| {
        let claim = aftercare::heir_claim_for_update(tx, claim_id)?.ok_or_else(not_found)?;
        let person = persons::person_by_id(tx, claim.person_id)?.ok_or_else(not_found)?;
        if person.life_status != "deceased" {
            return Err(not_deceased());
        }
        let client_id = format!("heir-payout-{}", person.id);
        if claim.status == "paid"
            || aftercare::heir_claims_of(tx, person.id)?
                .iter()
                .any(|c| c.status == "paid")
            || aftercare::transfer_by_client_id(tx, &client_id)?.is_some()
        {
            return Err(heir_already_paid());
        }
        if claim.status != "pending" {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "HEIR_CLAIM_STATE",
                "该继承申请已被驳回,不能支付",
                "This heir claim was rejected and cannot be paid",
            ));
        }
        let (reserved, pending) = aftercare::unsettled(tx, person.id, "medical_personal")?;
        if reserved != 0 || pending != 0 {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "CANCEL_ACCOUNT_NOT_SETTLED",
                "医保个人账户有未完成的结算,请先处理后再支付继承人",
                "The medical personal account has unfinished settlements: finish them before paying the heir",
            ));
        }
        aftercare::decide_heir_claim(
            tx,
            claim.id,
            "approved",
            &approved.username,
            claim.amount_fen,
            None,
            &at,
        )?;
        let (amount, transfer_id) =
            match aftercare::account_for_update(tx, person.id, "medical_personal")? {
                Some((account, balance)) if balance > 0 => {
                    let payout = ledger::open_account(
                        tx,
                        "cash_payout",
                        None,
                        None,
                        &person.region_code,
                        &at,
                    )?;
                    let memo = format!("个人账户余额支付继承人 {}", claim.heir_name);
                    let id = ledger::post_transfer(
                        tx,
                        &ledger::NewTransfer {
                            client_id: &client_id,
                            debit_account: account,
                            credit_account: payout,
                            amount_fen: balance,
                            kind: "heir_payout",
                            reason_code: "death",
                            memo: &memo,
                            now: &at,
                        },
                    )
                    .map_err(|e| {
                        if e.is_constraint() {
                            heir_already_paid()
                        } else {
                            e.into()
                        }
                    })?;
                    (balance, Some(id))
                }
                _ => (0, None),
            };
        aftercare::decide_heir_claim(
            tx,
            claim.id,
            "paid",
            &approved.username,
            amount,
            transfer_id,
            &at,
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "heir_claim.paid",
                entity: "heir_claim",
                entity_id: &claim.id.to_string(),
                before: serde_json::json!({"status": claim.status}),
                after: serde_json::json!({
                    "status": "paid",
                    "amount_fen": amount,
                    "transfer_id": transfer_id,
                    "approved_by": approved.username,
                    "heir_name": claim.heir_name,
                }),
            },
        )?;
        let mut cancelled = Vec::new();
        if let Some(card) = repo::live_card_of(tx, person.id)? {
            cancelled.push(card.card_no.clone().unwrap_or_else(|| format!("card#{}", card.id)));
            cancelled.extend(cancel_in_tx(
                tx,
                now,
                actor,
                &card,
                CancelReason::Death,
                false,
            )?);
        } else if let Some(temp) = repo::live_temporary_card_of(tx, person.id)? {
            cancelled.push(temp.card_no.clone().unwrap_or_else(|| format!("card#{}", temp.id)));
            cancel_in_tx(tx, now, actor, &temp, CancelReason::Death, false)?;
        }
        Ok(HeirPayout {
            claim_id: claim.id,
            status: "paid".into(),
            amount_fen: amount,
            transfer_id,
            heir_name: claim.heir_name,
            approved_by: approved.username,
            cancelled_cards: cancelled,
        })
    })
}
