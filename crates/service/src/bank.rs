//! The cooperating banks' side of a card: bank-side activation, bank loss and unfreeze.
//!
//! A card is both a social-security card and a bank debit card, and the two sides are tracked
//! separately (dual loss): these operations only move `bank_status`
//! (`opened` → `active` → `lost` → `active`) and record bank-side loss reports; they never
//! touch the social-security status, and the social-security operations never touch
//! `bank_status` (except cancellation, which closes both). A bank may act only on the cards it
//! issued. Callers are authenticated by [`signing::verify`](crate::signing::verify) with the
//! bank's API key ([`authenticate`]).

use serde::Serialize;
use sscard_domain::card::CardStatus;
use sscard_domain::ids::CardNo;
use sscard_store::repo::{aftercare, cards as repo};

use crate::App;
use crate::access::{self, BANK};
use crate::audit::{Actor, Channel};
use crate::cards::{card_not_found, record_event};
use crate::error::{ErrorKind, ServiceError};
use crate::signing::{self, SignedRequest};

/// An authenticated bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankCaller {
    pub bank_id: i64,
    pub code: String,
    pub name: String,
    pub key_id: String,
}

impl BankCaller {
    /// The actor for permission checks and the audit log.
    pub fn actor(&self) -> Actor {
        Actor {
            username: self.key_id.clone(),
            role: BANK.into(),
            agency: self.code.clone(),
            channel: Channel::Bank,
        }
    }
}

/// Authenticates a signed bank request. Errors: those of [`signing::verify`].
pub fn authenticate(app: &App, req: &SignedRequest<'_>) -> Result<BankCaller, ServiceError> {
    signing::verify(app, req, |tx, key_id| {
        Ok(aftercare::bank_by_key_id(tx, key_id)?.map(|b| {
            (
                b.api_secret.clone(),
                BankCaller {
                    bank_id: b.id,
                    code: b.code,
                    name: b.name,
                    key_id: b.key_id,
                },
            )
        }))
    })
}

/// A card's two sides after a bank operation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BankCardView {
    pub card_no: String,
    /// The social-security status (never changed by the bank).
    pub status: String,
    pub bank_status: String,
}

/// What a bank does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BankOp {
    Activate,
    Loss,
    Unfreeze,
}

impl BankOp {
    fn event(self) -> &'static str {
        match self {
            BankOp::Activate => "bank_activate",
            BankOp::Loss => "bank_loss",
            BankOp::Unfreeze => "bank_unfreeze",
        }
    }
    fn allowed_from(self) -> &'static [&'static str] {
        match self {
            BankOp::Activate => &["opened"],
            BankOp::Loss => &["opened", "active"],
            BankOp::Unfreeze => &["lost"],
        }
    }
    fn to(self) -> &'static str {
        match self {
            BankOp::Activate | BankOp::Unfreeze => "active",
            BankOp::Loss => "lost",
        }
    }
}

fn bank_state(from: &str, op: BankOp) -> ServiceError {
    let zh = match from {
        "none" => "该卡未开通金融功能".to_string(),
        "cancelled" => "该卡金融账户已销户".to_string(),
        s => format!("该卡金融功能当前状态为 {s},不能办理此业务"),
    };
    ServiceError::new(
        ErrorKind::Conflict,
        "BANK_STATUS",
        zh,
        format!(
            "The card's bank side is {from}: {} is not possible",
            op.event().replace('_', " ")
        ),
    )
}

fn run(
    app: &App,
    bank: &BankCaller,
    card_no: &str,
    op: BankOp,
    loss_kind: &str,
) -> Result<BankCardView, ServiceError> {
    let actor = bank.actor();
    access::require(&actor, &[BANK])?;
    let no = CardNo::parse(card_no).map_err(|e| ServiceError::invalid(&e))?;
    let now = app.now();
    let at = sscard_store::repo::ts(now);
    app.store().write(|tx| {
        let card = repo::card_for_update_by_no(tx, no.as_str())?
            .ok_or_else(|| card_not_found(no.as_str()))?;
        // Another bank's card is not this bank's business: it looks unknown.
        if card.bank_id != Some(bank.bank_id) {
            return Err(card_not_found(no.as_str()));
        }
        if matches!(card.status, CardStatus::Cancelled) || card.bank_status == "cancelled" {
            return Err(bank_state("cancelled", op));
        }
        if !op.allowed_from().contains(&card.bank_status.as_str()) {
            return Err(bank_state(&card.bank_status, op));
        }
        let to = op.to();
        aftercare::set_bank_status(tx, card.id, to)?;
        match op {
            BankOp::Loss => {
                aftercare::insert_loss_report(tx, card.id, "bank", loss_kind, "bank", &at)?;
            }
            BankOp::Unfreeze => {
                aftercare::close_loss_reports(tx, card.id, "bank", "lifted", &at)?;
            }
            BankOp::Activate => {}
        }
        record_event(
            tx,
            now,
            &actor,
            &card,
            op.event(),
            card.status,
            serde_json::json!({
                "bank": bank.code,
                "bank_status_from": card.bank_status,
                "bank_status_to": to,
            }),
        )?;
        Ok(BankCardView {
            card_no: no.as_str().to_string(),
            status: card.status.as_str().into(),
            bank_status: to.into(),
        })
    })
}

/// The bank activated the card's financial function (`opened` → `active`).
/// Errors: `FORBIDDEN`, `CARD_NO_*`, `CARD_NOT_FOUND` (unknown or another bank's card),
/// `BANK_STATUS`.
pub fn activate(app: &App, bank: &BankCaller, card_no: &str) -> Result<BankCardView, ServiceError> {
    run(app, bank, card_no, BankOp::Activate, "")
}

/// The bank side was reported lost at the bank (`opened`/`active` → `lost`); a bank-side loss
/// report is recorded. `written` tells a formal (written) loss from a provisional one.
/// Errors: as [`activate`].
pub fn report_loss(
    app: &App,
    bank: &BankCaller,
    card_no: &str,
    written: bool,
) -> Result<BankCardView, ServiceError> {
    run(
        app,
        bank,
        card_no,
        BankOp::Loss,
        if written { "written" } else { "temporary" },
    )
}

/// The bank lifted its loss report (`lost` → `active`); the bank-side reports are closed.
/// Errors: as [`activate`].
pub fn unfreeze(app: &App, bank: &BankCaller, card_no: &str) -> Result<BankCardView, ServiceError> {
    run(app, bank, card_no, BankOp::Unfreeze, "")
}
