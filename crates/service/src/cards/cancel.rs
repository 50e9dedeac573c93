//! Cancellation (注销) of a card: on transfer out of the region, emigration (settling abroad),
//! leaving insurance, or death.
//!
//! First the medical personal account is settled: cancellation is refused
//! (`CANCEL_ACCOUNT_NOT_SETTLED`) while its balance is not zero, an amount is reserved by a
//! pre-settlement or a transfer is pending. Then the card is taken back (recorded in the
//! event) and cancelled on both sides: the social-security status becomes `cancelled` and the
//! bank side, when the card has one, is closed too (`bank_status` `cancelled`) — the one
//! social-security operation that touches the bank side. A live temporary card of the person
//! is cancelled with it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sscard_domain::card::{CardEvent, CardKind, next_status};
use sscard_store::Tx;
use sscard_store::repo::{aftercare, cards as repo, ledger};

use super::{
    CardView, check_holder_document, holder, load_for_update, transition, transition_refused,
};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::Actor;
use crate::error::{ErrorKind, ServiceError};

/// Why a card is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// 转出 (moved to another pooling region / province).
    TransferOut,
    /// 出国(境)定居.
    Emigration,
    /// 退出参保.
    LeavingInsurance,
    /// 死亡.
    Death,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::TransferOut => "transfer_out",
            CancelReason::Emigration => "emigration",
            CancelReason::LeavingInsurance => "leaving_insurance",
            CancelReason::Death => "death",
        }
    }

    /// Parses the snake_case name. Errors: `CANCEL_REASON_INVALID`.
    pub fn parse(s: &str) -> Result<CancelReason, ServiceError> {
        match s.trim() {
            "transfer_out" => Ok(CancelReason::TransferOut),
            "emigration" => Ok(CancelReason::Emigration),
            "leaving_insurance" => Ok(CancelReason::LeavingInsurance),
            "death" => Ok(CancelReason::Death),
            _ => Err(ServiceError::new(
                ErrorKind::BadRequest,
                "CANCEL_REASON_INVALID",
                "注销原因只能是 transfer_out(转出)、emigration(出国定居)、leaving_insurance(退出参保)或 death(死亡)",
                "The reason must be transfer_out, emigration, leaving_insurance or death",
            )),
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            CancelReason::TransferOut => "转出",
            CancelReason::Emigration => "出国(境)定居",
            CancelReason::LeavingInsurance => "退出参保",
            CancelReason::Death => "死亡",
        }
    }
}

/// A cancellation at the counter.
#[derive(Debug, Clone)]
pub struct CancelRequest {
    pub card_no: String,
    pub reason: CancelReason,
    /// The holder's document (ID check). For a death, the holder is not there: the death must
    /// have been recorded and this may be empty.
    pub presented_doc_number: String,
    /// Whether the card itself was handed back (a lost card cannot be).
    pub card_returned: bool,
}

/// A cancelled card.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CancelOutcome {
    pub card: CardView,
    /// Temporary cards cancelled with it.
    pub also_cancelled: Vec<String>,
}

/// `CANCEL_ACCOUNT_NOT_SETTLED`.
fn not_settled(balance: i64, reserved: i64, pending: i64) -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "CANCEL_ACCOUNT_NOT_SETTLED",
        format!(
            "医保个人账户尚未结清(余额 {}.{:02} 元,冻结 {}.{:02} 元,未完成交易 {} 笔),请先办理个人账户清算",
            balance / 100,
            (balance % 100).abs(),
            reserved / 100,
            (reserved % 100).abs(),
            pending
        ),
        format!(
            "The medical personal account is not settled (balance {balance} fen, reserved {reserved} fen, \
             {pending} pending transfers): settle it first"
        ),
    )
}

/// Checks the medical personal account is settled (zero balance, nothing reserved or pending).
pub(crate) fn check_settled(tx: &mut dyn Tx, person_id: i64) -> Result<(), ServiceError> {
    let balance = ledger::person_balance(tx, person_id, "medical_personal")?.unwrap_or(0);
    let (reserved, pending) = aftercare::unsettled(tx, person_id, "medical_personal")?;
    if balance != 0 || reserved != 0 || pending != 0 {
        return Err(not_settled(balance, reserved, pending));
    }
    Ok(())
}

/// Cancels `card` and the person's other live temporary card in the caller's transaction,
/// after the account check. Closes the bank side. Returns the numbers of the extra cards.
pub(crate) fn cancel_in_tx(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    card: &repo::CardRow,
    reason: CancelReason,
    card_returned: bool,
) -> Result<Vec<String>, ServiceError> {
    check_settled(tx, card.person_id)?;
    let mut cards = vec![card.clone()];
    if card.kind == CardKind::Regular
        && let Some(temp) = repo::live_temporary_card_of(tx, card.person_id)?
    {
        cards.push(temp);
    }
    let mut also = Vec::new();
    for (k, c) in cards.iter().enumerate() {
        let bank_closed = c.bank_status != "none" && c.bank_status != "cancelled";
        transition(
            tx,
            now,
            actor,
            c,
            CardEvent::Cancel,
            serde_json::json!({
                "reason": reason.as_str(),
                "card_returned": k == 0 && card_returned,
                "bank_status_from": c.bank_status,
                "bank_closed": bank_closed,
            }),
        )?;
        if bank_closed {
            aftercare::set_bank_status(tx, c.id, "cancelled")?;
        }
        if k > 0 {
            also.push(
                c.card_no
                    .clone()
                    .unwrap_or_else(|| format!("card#{}", c.id)),
            );
        }
    }
    Ok(also)
}

/// Cancels a card (counter roles only).
///
/// Errors: `FORBIDDEN`, `CARD_NO_*`, `CARD_NOT_FOUND`, `CARD_DEAD` (already cancelled,
/// reissued, replaced, expired), `ID_MISMATCH` (not for a death), `PERSON_NOT_DECEASED` (reason
/// death but no death recorded), `CANCEL_ACCOUNT_NOT_SETTLED`.
pub fn cancel(
    app: &App,
    actor: &Actor,
    req: &CancelRequest,
) -> Result<CancelOutcome, ServiceError> {
    access::require(actor, &COUNTER)?;
    let now = app.now();
    app.store().write(|tx| {
        let card = load_for_update(tx, &req.card_no)?;
        next_status(card.status, card.kind, CardEvent::Cancel)
            .map_err(|e| transition_refused(&e))?;
        let person = holder(tx, &card)?;
        if req.reason == CancelReason::Death {
            if person.life_status != "deceased" {
                return Err(super::death::not_deceased());
            }
        } else {
            check_holder_document(&person, &req.presented_doc_number)?;
        }
        let also = cancel_in_tx(tx, now, actor, &card, req.reason, req.card_returned)?;
        let card = repo::card_by_id(tx, card.id)?
            .ok_or_else(|| ServiceError::internal("card vanished"))?;
        Ok(CancelOutcome {
            card: CardView::from(&card),
            also_cancelled: also,
        })
    })
}
