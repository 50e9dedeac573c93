//! Notices to cardholders (card ready, loss reported, PIN locked, reissue ready, collection
//! window ending). Operations only queue a row in the outbox, inside their own transaction;
//! [`deliver_due`] sends them later through an [`SmsGateway`]. A failing gateway never blocks
//! nor undoes an operation: the notice stays pending and is retried with a growing delay.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sscard_store::repo::{cards::CardRow, persons, ts};
use sscard_store::{StoreError, Tx, params};

use crate::App;
use crate::error::ServiceError;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CardReady,
    LossReported,
    PinLocked,
    ReissueReady,
    CollectionWindowEnding,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CardReady => "card_ready",
            Kind::LossReported => "loss_reported",
            Kind::PinLocked => "pin_locked",
            Kind::ReissueReady => "reissue_ready",
            Kind::CollectionWindowEnding => "collection_window_ending",
        }
    }

    fn texts(self, card_no: &str) -> (String, String) {
        let tail = card_no
            .get(card_no.len().saturating_sub(4)..)
            .unwrap_or(card_no);
        match self {
            Kind::CardReady => (
                format!(
                    "【社保卡】您的社会保障卡(尾号{tail})已制成,请于6个月内持本人有效身份证件到经办网点领取。"
                ),
                format!(
                    "[SSC] Your social security card (ending {tail}) is ready: collect it with your ID within 6 months."
                ),
            ),
            Kind::LossReported => (
                format!(
                    "【社保卡】您的社会保障卡(尾号{tail})已挂失。如非本人操作,请立即拨打12333。"
                ),
                format!(
                    "[SSC] Your card (ending {tail}) was reported lost. If this was not you, call 12333 now."
                ),
            ),
            Kind::PinLocked => (
                format!(
                    "【社保卡】您的社会保障卡(尾号{tail})密码已锁定,请持本人身份证到服务网点解锁。"
                ),
                format!(
                    "[SSC] The PIN of your card (ending {tail}) is locked: unlock it at a counter with your ID."
                ),
            ),
            Kind::ReissueReady => (
                format!(
                    "【社保卡】您补办的社会保障卡(尾号{tail})已制成,请持领卡凭证和身份证领取。"
                ),
                format!(
                    "[SSC] Your reissued card (ending {tail}) is ready: collect it with the pickup certificate and your ID."
                ),
            ),
            Kind::CollectionWindowEnding => (
                format!(
                    "【社保卡】您的社会保障卡(尾号{tail})即将超过领取期限,逾期将移交市社保卡管理中心。"
                ),
                format!(
                    "[SSC] Your card (ending {tail}) will soon move to the city card centre if not collected."
                ),
            ),
        }
    }
}

/// Queues a notice about a card to its holder's phone, in the caller's transaction.
pub fn queue_for_card(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    card: &CardRow,
    kind: Kind,
) -> Result<(), StoreError> {
    let Some(person) = persons::person_by_id(tx, card.person_id)? else {
        return Ok(());
    };
    if person.phone.is_empty() {
        return Ok(());
    }
    let card_no = card.card_no.clone().unwrap_or_default();
    let (zh, en) = kind.texts(&card_no);
    let at = ts(now);
    tx.execute(
        "INSERT INTO notices (person_id, card_id, kind, phone, text_zh, text_en, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        params![person.id, card.id, kind.as_str(), person.phone.as_str(), zh, en, at],
    )?;
    Ok(())
}

/// Where notices go.
pub trait SmsGateway: Send + Sync {
    /// Sends one message; an error leaves the notice pending for a retry.
    fn send(&self, phone: &str, text: &str) -> Result<(), String>;
}

/// The default sink: appends each message to a log file (phone numbers masked).
pub struct LogFileGateway {
    path: PathBuf,
    lock: Mutex<()>,
}

impl LogFileGateway {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LogFileGateway {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

impl SmsGateway for LogFileGateway {
    fn send(&self, phone: &str, text: &str) -> Result<(), String> {
        let _g = self.lock.lock().map_err(|_| "lock poisoned".to_string())?;
        let masked = if phone.len() >= 7 {
            format!("{}****{}", &phone[..3], &phone[phone.len() - 4..])
        } else {
            "****".into()
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| e.to_string())?;
        writeln!(f, "{}\t{masked}\t{text}", Utc::now().to_rfc3339()).map_err(|e| e.to_string())
    }
}

/// Result of one delivery round.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u64,
    pub retried_later: u64,
}

/// How long a server that took a notice to send has it to itself: another server (several
/// may share one PostgreSQL database and each drain the outbox) passes it over meanwhile. A
/// server that stops while sending leaves the notice to be sent again after this.
const SEND_CLAIM: i64 = 10;

/// Sends the notices that are due (at most `limit`). Each notice is claimed before it is sent,
/// so that servers draining the outbox side by side never send one twice. Failures are
/// rescheduled with exponential back-off (1, 2, 4 … minutes, at most a day); nothing is ever
/// lost.
pub fn deliver_due(
    app: &App,
    gateway: &dyn SmsGateway,
    limit: i64,
) -> Result<DeliveryReport, ServiceError> {
    let now = app.now();
    let due = app.store().read(|tx| {
        tx.query(
            "SELECT id, phone, text_zh, attempts FROM notices
             WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
            params![ts(now), limit],
        )
    })?;
    let mut report = DeliveryReport::default();
    for row in due {
        let (id, phone, text, attempts) = (row.i64(0)?, row.text(1)?, row.text(2)?, row.i64(3)?);
        // Take it, unless another server did since it was read (PostgreSQL re-checks the
        // condition on the locked row; SQLite has one writer).
        let claimed = app.store().write(|tx| {
            tx.execute(
                "UPDATE notices SET next_attempt_at = $1
                  WHERE id = $2 AND status = 'pending' AND next_attempt_at <= $3",
                params![ts(now + Duration::minutes(SEND_CLAIM)), id, ts(now)],
            )
        })?;
        if claimed != 1 {
            continue;
        }
        match gateway.send(&phone, &text) {
            Ok(()) => {
                app.store().write(|tx| {
                    tx.execute(
                        "UPDATE notices SET status = 'sent', attempts = $1, sent_at = $2 WHERE id = $3",
                        params![attempts + 1, ts(now), id],
                    )
                })?;
                report.sent += 1;
            }
            Err(e) => {
                let delay = Duration::minutes(1i64 << attempts.clamp(0, 10)).min(Duration::days(1));
                app.store().write(|tx| {
                    tx.execute(
                        "UPDATE notices SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
                        params![attempts + 1, ts(now + delay), e.as_str(), id],
                    )
                })?;
                tracing::warn!(notice = id, error = %e, "SMS gateway failed; will retry");
                report.retried_later += 1;
            }
        }
    }
    Ok(report)
}
