//! The daily job (`sscard jobs run-daily`), run by the system actor. Idempotent: running it
//! twice on the same day changes nothing the second time.
//!
//! 1. Temporary (oral) loss reports past their validity lapse: the card works again
//!    (`loss_lapsed`), the report is `lapsed`.
//! 2. Cards awaiting collection: 14 days before the collection window ends a "collection
//!    window ending" SMS is queued (once); after the window (`collection_window_months` after
//!    the notice date) the card moves to the city card centre (`at_card_centre`, timeline entry
//!    `moved_to_card_centre`), where alone it can then be collected.
//! 3. Temporary cards past their validity (`expires_on`) expire.
//! 4. Cards of holders recorded deceased or emigrated longer than `auto_cancel_after_days` ago
//!    are cancelled, but only when the medical personal account balance is zero: otherwise the
//!    heirs' (or the holder's) payout must come first, and the card is listed in the report.

use chrono::{Duration, Months, NaiveDate, NaiveTime};
use serde::Serialize;
use sscard_domain::card::{CardEvent, CardStatus};
use sscard_store::repo::{cards as card_repo, ledger, parse_ts, production, ts};

use super::{policy_of, record_event, transition};
use crate::App;
use crate::audit::{self, Actor, Change, Channel};
use crate::error::ServiceError;
use crate::notices;

/// Days before the end of the collection window when the reminder is sent.
pub const WINDOW_NOTICE_DAYS: i64 = 14;

/// A card the job would cancel but may not yet.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlockedCancel {
    pub card_ref: i64,
    pub card_no: Option<String>,
    /// `deceased` or `emigrated`.
    pub life_status: String,
    pub medical_balance_fen: i64,
}

/// What one run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct JobReport {
    pub lapsed_losses: usize,
    pub window_notices: usize,
    pub moved_to_card_centre: usize,
    pub expired_temporary_cards: usize,
    pub cancelled: usize,
    /// Cards left live because the medical personal account still holds money.
    pub cancel_blocked: Vec<BlockedCancel>,
}

impl JobReport {
    /// Whether the run changed anything.
    pub fn changed_anything(&self) -> bool {
        self.lapsed_losses
            + self.window_notices
            + self.moved_to_card_centre
            + self.expired_temporary_cards
            + self.cancelled
            > 0
    }
}

/// The last day of a card's collection window.
pub fn window_end(notice_date: NaiveDate, months: u32) -> NaiveDate {
    notice_date
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Runs the daily job as the system actor. See the module documentation.
pub fn run_daily(app: &App) -> Result<JobReport, ServiceError> {
    let actor = Actor::system(Channel::System);
    let now = app.now();
    let today = app.today();
    let at = ts(now);
    let mut report = JobReport::default();

    // 1. Lapsed temporary losses.
    let due = app
        .store()
        .read(|tx| production::lapsed_temporary_losses(tx, &at))?;
    for r in due {
        app.store().write(|tx| -> Result<(), ServiceError> {
            let Some(card) = card_repo::card_for_update(tx, r.card_id)? else {
                return Ok(());
            };
            if card.status == CardStatus::TemporaryLoss {
                transition(
                    tx,
                    now,
                    &actor,
                    &card,
                    CardEvent::LossLapsed,
                    serde_json::json!({"expires_at": r.expires_at}),
                )?;
            }
            production::close_loss_report(tx, r.id, "lapsed", &at)?;
            Ok(())
        })?;
        report.lapsed_losses += 1;
    }

    // 2. Collection window: reminder, then move to the card centre.
    let awaiting = app
        .store()
        .read(|tx| production::awaiting_collection_not_at_centre(tx))?;
    for card in awaiting {
        let Some(notice) = card
            .notice_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        app.store().write(|tx| -> Result<(), ServiceError> {
            let policy = policy_of(tx, &card.region_code, today)?;
            let end = window_end(notice, policy.collection_window_months);
            if today > end {
                let centre = production::card_centre_of(tx, &card.region_code)?;
                production::set_at_card_centre(tx, card.id, true)?;
                record_event(
                    tx,
                    now,
                    &actor,
                    &card,
                    "moved_to_card_centre",
                    card.status,
                    serde_json::json!({
                        "window_end": end.to_string(),
                        "agency": centre.map(|c| c.code),
                    }),
                )?;
                report.moved_to_card_centre += 1;
            } else if today >= end - Duration::days(WINDOW_NOTICE_DAYS)
                && !production::notice_exists(
                    tx,
                    card.id,
                    notices::Kind::CollectionWindowEnding.as_str(),
                )?
            {
                notices::queue_for_card(tx, now, &card, notices::Kind::CollectionWindowEnding)?;
                record_event(
                    tx,
                    now,
                    &actor,
                    &card,
                    "collection_window_notice",
                    card.status,
                    serde_json::json!({"window_end": end.to_string()}),
                )?;
                report.window_notices += 1;
            }
            Ok(())
        })?;
    }

    // 3. Temporary cards past their validity.
    let expired = app
        .store()
        .read(|tx| production::temporary_cards_past(tx, &today.to_string()))?;
    for card in expired {
        app.store().write(|tx| {
            transition(
                tx,
                now,
                &actor,
                &card,
                CardEvent::Expire,
                serde_json::json!({"expires_on": card.expires_on}),
            )
        })?;
        report.expired_temporary_cards += 1;
    }

    // 4. Automatic cancellation after death or emigration.
    let departed = app
        .store()
        .read(|tx| production::live_cards_of_departed(tx, &at))?;
    for (card, life, since) in departed {
        // Stored as an instant (RFC 3339) or as a date (the day of death).
        let since_at = match parse_ts(&since) {
            Ok(t) => t,
            Err(_) => match NaiveDate::parse_from_str(&since, "%Y-%m-%d") {
                Ok(d) => d.and_time(NaiveTime::MIN).and_utc() - Duration::hours(8),
                Err(_) => continue,
            },
        };
        app.store().write(|tx| -> Result<(), ServiceError> {
            let policy = policy_of(tx, &card.region_code, today)?;
            if since_at + Duration::days(i64::from(policy.auto_cancel_after_days)) > now {
                return Ok(());
            }
            let balance =
                ledger::person_balance(tx, card.person_id, "medical_personal")?.unwrap_or(0);
            if balance != 0 {
                report.cancel_blocked.push(BlockedCancel {
                    card_ref: card.id,
                    card_no: card.card_no.clone(),
                    life_status: life.clone(),
                    medical_balance_fen: balance,
                });
                return Ok(());
            }
            let reason = if life == "deceased" {
                "death"
            } else {
                "emigration"
            };
            transition(
                tx,
                now,
                &actor,
                &card,
                CardEvent::Cancel,
                serde_json::json!({
                    "reason": reason,
                    "automatic": true,
                    "life_status_since": since,
                    "after_days": policy.auto_cancel_after_days,
                }),
            )?;
            report.cancelled += 1;
            Ok(())
        })?;
    }

    if report.changed_anything() {
        audit::record_alone(
            app,
            &actor,
            Change {
                action: "job.run_daily",
                entity: "job",
                entity_id: &today.to_string(),
                before: serde_json::Value::Null,
                after: serde_json::to_value(&report).unwrap_or(serde_json::Value::Null),
            },
        )?;
    }
    Ok(report)
}
