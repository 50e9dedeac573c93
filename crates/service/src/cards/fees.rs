//! Fees: every charge at the counter is a row of `fees` with a unique receipt number
//! (`SF` + region code + row number, e.g. `SF51100000000042`). Free operations charge nothing
//! and issue no receipt.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sscard_store::Tx;
use sscard_store::repo::{aftercare, ts};

use super::reissue::find_person;
use crate::App;
use crate::access::{self, STAFF_ROLES};
use crate::audit::{self, Actor, Change};
use crate::error::ServiceError;

/// What a fee was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// 补卡 after a loss.
    Reissue,
    /// 换卡 of a card damaged by its holder.
    Replacement,
}

impl FeeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeKind::Reissue => "reissue",
            FeeKind::Replacement => "replacement",
        }
    }
}

/// A fee as channels show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FeeView {
    pub receipt_no: String,
    /// `reissue`, `replacement` (older rows may carry other kinds).
    pub kind: String,
    pub amount_fen: i64,
    /// The card the fee was for, once it has a number.
    pub card_no: Option<String>,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// The clerk who charged it.
    pub staff: String,
}

impl From<aftercare::FeeRow> for FeeView {
    fn from(f: aftercare::FeeRow) -> Self {
        FeeView {
            receipt_no: f.receipt_no,
            kind: f.kind,
            amount_fen: f.amount_fen,
            card_no: f.card_no,
            at: f.at,
            staff: f.staff,
        }
    }
}

/// Charges a fee in the caller's transaction and audits it. Returns the receipt, or `None`
/// when `amount_fen` is zero (nothing is charged, no receipt).
#[allow(clippy::too_many_arguments)]
pub(crate) fn charge(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    person_id: i64,
    region: &str,
    card_id: Option<i64>,
    kind: FeeKind,
    amount_fen: i64,
) -> Result<Option<FeeView>, ServiceError> {
    if amount_fen <= 0 {
        return Ok(None);
    }
    let at = ts(now);
    let (_, receipt_no) = aftercare::insert_fee(
        tx,
        &format!("SF{region}"),
        person_id,
        card_id,
        kind.as_str(),
        amount_fen,
        &at,
        &actor.username,
    )?;
    audit::record(
        tx,
        now,
        actor,
        Change {
            action: "fee.charged",
            entity: "fee",
            entity_id: &receipt_no,
            before: serde_json::Value::Null,
            after: serde_json::json!({
                "kind": kind.as_str(),
                "amount_fen": amount_fen,
                "person_id": person_id,
            }),
        },
    )?;
    Ok(Some(FeeView {
        receipt_no,
        kind: kind.as_str().into(),
        amount_fen,
        card_no: None,
        at,
        staff: actor.username.clone(),
    }))
}

/// Every fee charged to the person holding `doc_number`, newest first (any staff role,
/// auditors included). Errors: `FORBIDDEN`, `PERSON_NOT_FOUND`.
pub fn list_for_person(
    app: &App,
    actor: &Actor,
    doc_number: &str,
) -> Result<Vec<FeeView>, ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    app.store().read(|tx| {
        let person = find_person(tx, doc_number)?;
        Ok(aftercare::fees_of(tx, person.id)?
            .into_iter()
            .map(FeeView::from)
            .collect())
    })
}
