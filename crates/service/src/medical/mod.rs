//! Medical settlement for designated hospitals and pharmacies, modelled on the national medical
//! security platform's interfaces:
//!
//! | infno | what | writes |
//! |---|---|---|
//! | 9001 | operator sign-in: the day's sign number | sign-in row |
//! | 1101 | person and card information | — |
//! | 2206 | pre-settlement: the split of an itemised bill | — |
//! | 2207 | settlement: commits the split, idempotent by message id | settlement, ledger |
//! | 2208 | reversal of a settlement | status, ledger |
//! | 2601 | reversal of a call that timed out (the caller never saw the answer) | status, ledger |
//! | 3201 | daily reconciliation: totals | — |
//! | 3202 | daily reconciliation: detail, with a mismatch report | — |
//!
//! Every call is signed by the institution ([`auth`]): a bad signature, a stale timestamp or a
//! reused nonce is refused before anything else. The nonce is consumed in the same durable
//! commit as the call's own effects, and survives the call's failure.
//!
//! Settlements are the financial record: each row keeps the institution, operator, sign
//! number, message id, a hash of the request and the amounts; its money moves as immutable
//! ledger transfers (personal account → institution clearing, pooling fund → institution
//! clearing). A reversal posts the opposite transfers (reason `REVERSAL`). They are not copied
//! into the staff audit chain; a PIN lock caused by a hospital's wrong tries is (it changes
//! the card).
//!
//! The card PIN is required when the personal-account part of a settlement exceeds the
//! region's `pin_required_above_fen`; wrong tries count on the card's shared counter, as on
//! every channel. The electronic card's QR code ([`crate::ecard`]) stands in for card + PIN.

pub mod auth;
mod batch;
pub mod cache;
mod settle;
pub mod verify;

use serde::{Deserialize, Serialize};
use sscard_domain::card::{CardKind, CardStatus};
use sscard_domain::settlement::BillItem;
use sscard_store::Tx;
use sscard_store::repo::cards as card_repo;
use sscard_store::repo::medical::{self as repo, InsuredPerson};

use crate::App;
use crate::error::{ErrorKind, ServiceError};

pub use auth::{Institution, authenticate, authenticate_cached};
pub use settle::{
    PendingCall, ReverseInput, RevokeInput, calls_run_in_background, person_info, presettle,
    reconcile_detail, reconcile_totals, reverse, revoke_timed_out, settle, settle_call,
    settle_in_task, settle_unbatched, sign_in,
};

/// How a person is identified (`mdtrt_cert_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertType {
    /// `01`: the electronic card's QR token.
    #[serde(rename = "01")]
    Ecard,
    /// `02`: the resident ID card (number).
    #[serde(rename = "02")]
    IdCard,
    /// `03`: the social security card (number + identifier).
    #[serde(rename = "03")]
    Card,
}

/// Who the bill is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub mdtrt_cert_type: CertType,
    /// The card number, the ID number, or the QR token.
    pub mdtrt_cert_no: String,
    /// The card identifier (识别码), required with a card.
    #[serde(default)]
    pub card_sn: Option<String>,
}

/// The body of 1101.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonQuery {
    #[serde(flatten)]
    pub credential: Credential,
}

/// The body of 2206 and 2207.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleInput {
    #[serde(flatten)]
    pub credential: Credential,
    /// The card PIN, when the region's policy requires it for this amount.
    #[serde(default, skip_serializing)]
    pub pin: Option<String>,
    /// Whether the personal account pays (默认 true).
    #[serde(default = "yes")]
    pub acct_used_flag: bool,
    /// The itemised bill.
    pub items: Vec<BillItem>,
}

fn yes() -> bool {
    true
}

/// The parts of a call every interface carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMeta {
    /// The institution's message id: unique per institution, the idempotency key of 2207,
    /// 2208 and 2601.
    pub msg_id: String,
    /// The operator (经办人).
    pub operator: String,
    /// The sign number from 9001 (required by 2206, 2207, 2208).
    pub sign_no: String,
}

/// The person answer of 1101.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PersonInfo {
    /// The person number (psn_no).
    pub psn_no: String,
    pub psn_name: String,
    /// `male` / `female`.
    pub gend: String,
    /// Birth date.
    pub brdy: String,
    /// The ID number, masked.
    pub certno_masked: String,
    /// Insurance scheme of the medical enrolment: `employee`, `resident`, `flexible`.
    pub insutype: String,
    /// The insured region (pooling area).
    pub insuplc_admdvs: String,
    /// Medical personal account available balance in fen.
    pub balc_fen: i64,
    pub card_no_masked: Option<String>,
    pub card_status: Option<String>,
    /// Whether a PIN is required above this personal-account amount (fen).
    pub pin_required_above_fen: i64,
}

/// The answer of 2206 and 2207.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SettleOutput {
    /// The settlement id (setl_id); absent for a pre-settlement.
    pub setl_id: Option<i64>,
    pub psn_no: String,
    pub psn_name: String,
    /// 医疗费总额.
    pub medfee_sumamt_fen: i64,
    /// Items the scheme does not cover (class C, the self-paid part of class B).
    pub self_pay_fen: i64,
    /// The part counted against the annual deductible.
    pub deductible_fen: i64,
    /// 统筹基金支付.
    pub fund_pay_fen: i64,
    /// 个人账户支付.
    pub acct_pay_fen: i64,
    /// 个人现金支付.
    pub psn_cash_pay_fen: i64,
    /// The personal account's available balance after this settlement.
    pub balc_fen: i64,
    /// True when this answer repeats an earlier identical 2207.
    pub replayed: bool,
}

/// The answer of 2208 and 2601.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReverseOutput {
    pub setl_id: Option<i64>,
    /// `reversed` (money returned), or `voided` (2601 for a settlement that never happened:
    /// the original message id is now barred).
    pub status: String,
    pub acct_refund_fen: i64,
    pub fund_refund_fen: i64,
    pub replayed: bool,
}

/// The sign-in answer of 9001.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignIn {
    pub sign_no: String,
    /// RFC 3339 UTC.
    pub sign_time: String,
    /// The day (Asia/Shanghai) the sign number is valid for.
    pub day: String,
}

/// An institution's totals for 3201.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DayTotals {
    pub setl_cnt: i64,
    pub medfee_sumamt_fen: i64,
    pub fund_pay_fen: i64,
    pub acct_pay_fen: i64,
    pub psn_cash_pay_fen: i64,
}

/// The body of 3201.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReconcileTotalsInput {
    /// The day (Asia/Shanghai), `YYYY-MM-DD`.
    pub stmt_day: String,
    #[serde(flatten)]
    pub totals: DayTotals,
}

/// The answer of 3201.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReconcileTotals {
    pub stmt_day: String,
    /// `match` or `mismatch`.
    pub stmt_rslt: String,
    pub ours: DayTotals,
    pub theirs: DayTotals,
}

/// One settlement as the institution recorded it (3202).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DetailRecord {
    pub msgid: String,
    pub medfee_sumamt_fen: i64,
    pub fund_pay_fen: i64,
    pub acct_pay_fen: i64,
    /// `settled` or `reversed`.
    pub status: String,
}

/// The body of 3202.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReconcileDetailInput {
    pub stmt_day: String,
    #[serde(default)]
    pub records: Vec<DetailRecord>,
}

/// One difference found by 3202.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Mismatch {
    pub msgid: String,
    /// `missing_here` (the institution has it, we do not), `missing_there`, `amount`, `status`.
    pub kind: String,
    pub ours: Option<DetailRecord>,
    pub theirs: Option<DetailRecord>,
}

/// The answer of 3202.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReconcileDetail {
    pub stmt_day: String,
    pub stmt_rslt: String,
    pub records: Vec<DetailRecord>,
    pub mismatches: Vec<Mismatch>,
}

// ---- errors ---------------------------------------------------------------------------

fn err(kind: ErrorKind, code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(kind, code, zh, en)
}

/// `CARD_NOT_FOUND` in the hospitals' wording: 无此卡信息 (unknown or not activated card).
pub fn no_card() -> ServiceError {
    err(
        ErrorKind::NotFound,
        "CARD_NOT_FOUND",
        "无此卡信息",
        "No such card (unknown, or not activated)",
    )
}

/// `NO_INSURED_RECORD`: 无参保人员信息.
pub fn no_insured() -> ServiceError {
    err(
        ErrorKind::NotFound,
        "NO_INSURED_RECORD",
        "无参保人员信息",
        "No insured person record",
    )
}

fn card_lost() -> ServiceError {
    err(
        ErrorKind::Conflict,
        "CARD_LOST",
        "此卡已挂失或冻结,不能结算",
        "This card is reported lost or frozen and cannot be used",
    )
}

fn card_cancelled() -> ServiceError {
    err(
        ErrorKind::Conflict,
        "CARD_CANCELLED",
        "此卡已注销,不能结算",
        "This card is cancelled and cannot be used",
    )
}

fn temp_expired() -> ServiceError {
    err(
        ErrorKind::Conflict,
        "TEMP_CARD_EXPIRED",
        "临时卡已过有效期",
        "The temporary card has expired",
    )
}

fn bad_input(zh: &str, en: &str) -> ServiceError {
    err(ErrorKind::BadRequest, "MEDICAL_INPUT", zh, en)
}

/// Refuses a card that cannot settle, with the code the hospital shows.
fn check_card_usable(card: &card_repo::CardRow, today: &str) -> Result<(), ServiceError> {
    if card.kind == CardKind::Temporary
        && (card.status == CardStatus::Expired
            || card.expires_on.as_deref().is_some_and(|e| e < today))
    {
        return Err(temp_expired());
    }
    match card.status {
        CardStatus::Active => Ok(()),
        CardStatus::TemporaryLoss
        | CardStatus::WrittenLoss
        | CardStatus::Reissuing
        | CardStatus::Replacing => Err(card_lost()),
        CardStatus::Cancelled | CardStatus::Expired => Err(card_cancelled()),
        _ => Err(no_card()),
    }
}

/// Whom a credential names: the person and, for a card or an e-card, the card (read for
/// update). An ID card names the person's live card when they have one (for the PIN).
pub(crate) struct Resolved {
    pub person: InsuredPerson,
    pub card: Option<card_repo::CardRow>,
    /// `card`, `id_card` or `ecard`.
    pub via: &'static str,
}

pub(crate) fn resolve(
    app: &App,
    tx: &mut dyn Tx,
    cred: &Credential,
    now: chrono::DateTime<chrono::Utc>,
    today: &str,
    consume_ecard: bool,
) -> Result<Resolved, ServiceError> {
    let no = cred.mdtrt_cert_no.trim();
    if no.is_empty() || no.len() > 1024 {
        return Err(bad_input("缺少就诊凭证编号", "mdtrt_cert_no is missing"));
    }
    let (card, via) = match cred.mdtrt_cert_type {
        CertType::Card => {
            let card = card_repo::card_for_update_by_no(tx, &no.to_ascii_uppercase())?;
            (Some(physical_card(card, cred, today)?), "card")
        }
        CertType::Ecard => {
            let (_, card) = crate::ecard::check_token(app, tx, no, now, consume_ecard)?;
            check_card_usable(&card, today)?;
            (Some(card), "ecard")
        }
        CertType::IdCard => {
            let person = repo::insured_person_by_doc(tx, &no.to_ascii_uppercase())?
                .ok_or_else(no_insured)?;
            let card = card_repo::live_card_of(tx, person.id)?;
            let card = match card {
                Some(c) => card_repo::card_for_update(tx, c.id)?,
                None => None,
            };
            return finish_person(person, card, "id_card");
        }
    };
    let card = card.expect("card set above");
    let person = repo::insured_person(tx, card.person_id)?.ok_or_else(no_insured)?;
    finish_person(person, Some(card), via)
}

/// The card a physical-card credential names, when it is usable: the number must exist and
/// the identifier (`card_sn`) match.
fn physical_card(
    card: Option<card_repo::CardRow>,
    cred: &Credential,
    today: &str,
) -> Result<card_repo::CardRow, ServiceError> {
    let card = card.ok_or_else(no_card)?;
    let sn = cred.card_sn.as_deref().map(str::trim).unwrap_or("");
    if sn.is_empty() || card.card_id.as_deref() != Some(sn) {
        return Err(no_card());
    }
    check_card_usable(&card, today)?;
    Ok(card)
}

/// [`resolve`] for a physical card whose row and holder were read already (without locks, by
/// work that checks the card again when it writes: the one-statement settlement).
pub(crate) fn resolve_card_read(
    card: card_repo::CardRow,
    person: InsuredPerson,
    cred: &Credential,
    today: &str,
) -> Result<Resolved, ServiceError> {
    if cred.mdtrt_cert_type != CertType::Card || card.person_id != person.id {
        return Err(no_card());
    }
    let card = physical_card(Some(card), cred, today)?;
    finish_person(person, Some(card), "card")
}

fn finish_person(
    person: InsuredPerson,
    card: Option<card_repo::CardRow>,
    via: &'static str,
) -> Result<Resolved, ServiceError> {
    if person.life_status == "deceased" || person.medical_scheme.is_none() {
        return Err(no_insured());
    }
    Ok(Resolved { person, card, via })
}

/// Checks a bill's items before anything is looked up.
pub(crate) fn check_items(items: &[BillItem]) -> Result<(), ServiceError> {
    if items.is_empty() || items.len() > 500 {
        return Err(bad_input(
            "费用明细须为 1 至 500 项",
            "The bill must have 1 to 500 items",
        ));
    }
    Ok(())
}
