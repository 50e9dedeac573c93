//! Loss reports (挂失) on the social-security side, and lifting them (解挂).
//!
//! - **Temporary** (口头/临时挂失): at the counter (ID check), by phone, at a kiosk or on the
//!   web. It freezes the card at once and lapses by itself after the region's
//!   `oral_loss_valid_days` unless made written (the daily job lapses it). Self-service (the
//!   cardholder on the phone menu, a kiosk or the web) needs the card's PIN, checked on the
//!   shared wrong-try counter, and only where the PIN was enabled (changed from the initial
//!   one): otherwise `PIN_NOT_ENABLED_USE_AGENT` and the caller is put through to a human.
//!   The 12333 human agent (`phone_agent`) takes a temporary loss without the PIN after
//!   identifying the caller by ID number.
//! - **Written** (书面挂失): at the counter only, with the ID check; permanent. An active
//!   temporary report is converted.
//! - **Lift**: at the counter only, with the ID check and the card itself (its number as
//!   read from the presented card); impossible once a reissue was applied for
//!   (`LOSS_LIFT_AFTER_REISSUE`, from the domain).
//!
//! The bank side (bank loss and unfreeze) is the bank's business and is not touched here.
//! Every report queues a "loss reported" SMS to the holder.
//!
//! Refusals: `PIN_REQUIRED`, `PIN_NOT_ENABLED_USE_AGENT`, `PIN_WRONG`, `PIN_LOCKED`,
//! `PIN_FORMAT`, `ID_REQUIRED`, `ID_MISMATCH`, `LOSS_COUNTER_ONLY`, `CARD_MISMATCH`,
//! `CARD_STATE`, `CARD_LOST`, `CARD_DEAD`, `LOSS_LIFT_AFTER_REISSUE`, `CARD_NOT_FOUND`,
//! `FORBIDDEN`.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use sscard_domain::card::CardEvent;
use sscard_domain::ids::CardNo;
use sscard_store::repo::{cards as card_repo, production, ts};

use super::{CardView, check_holder_document, holder, load_for_update, pin, policy_of, transition};
use crate::App;
use crate::access::{self, CARDHOLDER, CLERK, COUNTER, PHONE_AGENT, SUPERVISOR};
use crate::audit::{Actor, Channel};
use crate::error::{ErrorKind, ServiceError};
use crate::notices;

/// Temporary (oral) or written loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    Temporary,
    Written,
}

impl LossKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LossKind::Temporary => "temporary",
            LossKind::Written => "written",
        }
    }
}

/// A loss report request.
#[derive(Debug, Clone)]
pub struct LossRequest {
    pub kind: LossKind,
    /// The card's PIN: self-service channels (cardholder role) only.
    pub pin: Option<String>,
    /// The holder's document number: counter staff and the phone agent.
    pub presented_doc_number: Option<String>,
}

/// A filed loss report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LossResult {
    pub card: CardView,
    /// `temporary` or `written`.
    pub kind: String,
    /// When a temporary report lapses unless made written (RFC 3339 UTC).
    pub expires_at: Option<String>,
}

/// Lifting a loss report at the counter.
#[derive(Debug, Clone, Default)]
pub struct LiftRequest {
    pub presented_doc_number: String,
    /// The number read from the card the holder brings.
    pub presented_card_no: String,
}

fn counter_only() -> ServiceError {
    ServiceError::new(
        ErrorKind::Forbidden,
        "LOSS_COUNTER_ONLY",
        "书面挂失和解除挂失须本人持有效身份证件到服务窗口办理",
        "A written loss report and lifting a loss are done only at a counter, in person with ID",
    )
}

fn id_required() -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "ID_REQUIRED",
        "请核验持卡人身份证件号码",
        "The cardholder's document number is required",
    )
}

/// Whether the caller is a cardholder on a self-service channel.
fn self_service(actor: &Actor) -> bool {
    actor.role == CARDHOLDER
        && matches!(actor.channel, Channel::Ivr | Channel::Kiosk | Channel::Web)
}

/// Files a loss report. See the module documentation for who may file which kind.
pub fn report(
    app: &App,
    actor: &Actor,
    card_no: &str,
    req: &LossRequest,
) -> Result<LossResult, ServiceError> {
    let needs_id = match req.kind {
        LossKind::Written => {
            access::require(actor, &COUNTER)?;
            if actor.channel != Channel::Counter {
                return Err(counter_only());
            }
            true
        }
        LossKind::Temporary if self_service(actor) => {
            let no = CardNo::parse(card_no).map_err(|e| ServiceError::invalid(&e))?;
            let card = app
                .store()
                .read(|tx| card_repo::card_by_no(tx, no.as_str()))?
                .ok_or_else(|| super::card_not_found(no.as_str()))?;
            if !card.pin_changed {
                let hotline = app
                    .store()
                    .read(|tx| policy_of(tx, &card.region_code, app.today()))?
                    .local_hotline;
                return Err(ServiceError::new(
                    ErrorKind::Forbidden,
                    "PIN_NOT_ENABLED_USE_AGENT",
                    format!(
                        "您的社保卡密码尚未启用(仍为初始密码),不能自助挂失,正在为您转接人工服务(工作时间),或请持身份证到服务网点办理(咨询电话 {hotline})"
                    ),
                    format!(
                        "Your card's PIN was never changed from the initial one: self-service loss is not possible. You are put through to an agent (office hours), or go to a counter with your ID (enquiries: {hotline})"
                    ),
                ));
            }
            let Some(p) = req.pin.as_deref() else {
                return Err(ServiceError::new(
                    ErrorKind::BadRequest,
                    "PIN_REQUIRED",
                    "请输入社保卡密码",
                    "The card's PIN is required",
                ));
            };
            pin::verify(app, actor, no.as_str(), p)?;
            false
        }
        LossKind::Temporary => {
            access::require(actor, &[CLERK, SUPERVISOR, PHONE_AGENT])?;
            true
        }
    };
    let presented = if needs_id {
        Some(
            req.presented_doc_number
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .ok_or_else(id_required)?,
        )
    } else {
        None
    };
    let now = app.now();
    let today = app.today();
    app.store().write(|tx| {
        let card = load_for_update(tx, card_no)?;
        let person = holder(tx, &card)?;
        if let Some(doc) = presented {
            check_holder_document(&person, doc)?;
        }
        let at = ts(now);
        let (event, expires_at) = match req.kind {
            LossKind::Temporary => {
                let policy = policy_of(tx, &card.region_code, today)?;
                let until = ts(now + Duration::days(i64::from(policy.oral_loss_valid_days)));
                (CardEvent::ReportLossTemporary, Some(until))
            }
            LossKind::Written => (CardEvent::ReportLossWritten, None),
        };
        transition(
            tx,
            now,
            actor,
            &card,
            event,
            serde_json::json!({
                "side": "social",
                "id_checked": presented.is_some(),
                "pin_checked": presented.is_none(),
                "expires_at": expires_at,
            }),
        )?;
        if req.kind == LossKind::Written {
            for r in production::active_loss_reports(tx, card.id, "social")? {
                production::close_loss_report(tx, r.id, "converted", &at)?;
            }
        }
        production::insert_loss_report(
            tx,
            card.id,
            "social",
            req.kind.as_str(),
            actor.channel.as_str(),
            &at,
            expires_at.as_deref(),
        )?;
        notices::queue_for_card(tx, now, &card, notices::Kind::LossReported)?;
        let after = card_repo::card_by_id(tx, card.id)?
            .ok_or_else(|| ServiceError::internal("card vanished"))?;
        Ok(LossResult {
            card: CardView::from(&after),
            kind: req.kind.as_str().to_string(),
            expires_at,
        })
    })
}

/// Lifts a loss report at the counter (clerk or supervisor) with the ID check and the card.
pub fn lift(
    app: &App,
    actor: &Actor,
    card_no: &str,
    req: &LiftRequest,
) -> Result<CardView, ServiceError> {
    access::require(actor, &COUNTER)?;
    if actor.channel != Channel::Counter {
        return Err(counter_only());
    }
    let presented_card =
        CardNo::parse(&req.presented_card_no).map_err(|e| ServiceError::invalid(&e))?;
    let now = app.now();
    app.store().write(|tx| {
        let card = load_for_update(tx, card_no)?;
        if card.card_no.as_deref() != Some(presented_card.as_str()) {
            return Err(ServiceError::new(
                ErrorKind::BadRequest,
                "CARD_MISMATCH",
                "所持卡片与挂失的卡号不符",
                "The card presented is not the card reported lost",
            ));
        }
        let person = holder(tx, &card)?;
        check_holder_document(&person, &req.presented_doc_number)?;
        transition(
            tx,
            now,
            actor,
            &card,
            CardEvent::LiftLoss,
            serde_json::json!({"side": "social", "id_checked": true, "card_presented": true}),
        )?;
        let at = ts(now);
        for r in production::active_loss_reports(tx, card.id, "social")? {
            production::close_loss_report(tx, r.id, "lifted", &at)?;
        }
        let after = card_repo::card_by_id(tx, card.id)?
            .ok_or_else(|| ServiceError::internal("card vanished"))?;
        Ok(CardView::from(&after))
    })
}
