//! The audit log: every state change with actor, role, agency, channel, time, before and after.
//!
//! Rows are hash-chained: `hash = SHA-256(prev_hash ‖ every field of the row)`, so altering or
//! removing any row breaks the chain from that row on. [`verify`] walks the chain and names the
//! first broken row.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sscard_store::repo::{audit as repo, ts};
use sscard_store::{StoreError, Tx};

use crate::App;
use crate::error::ServiceError;

/// The channel an action came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Counter,
    Web,
    Kiosk,
    Ivr,
    Hospital,
    Bank,
    Cli,
    System,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Counter => "counter",
            Channel::Web => "web",
            Channel::Kiosk => "kiosk",
            Channel::Ivr => "ivr",
            Channel::Hospital => "hospital",
            Channel::Bank => "bank",
            Channel::Cli => "cli",
            Channel::System => "system",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub username: String,
    pub role: String,
    pub agency: String,
    pub channel: Channel,
}

impl Actor {
    /// The system itself (scheduled jobs, data loads).
    pub fn system(channel: Channel) -> Actor {
        Actor {
            username: "system".into(),
            role: "system".into(),
            agency: String::new(),
            channel,
        }
    }
}

/// One change to record.
pub struct Change<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

fn chain_hash(row: &repo::AuditRow) -> String {
    let mut h = Sha256::new();
    for field in [
        row.prev_hash.as_str(),
        &row.seq.to_string(),
        &row.at,
        &row.actor,
        &row.role,
        &row.agency,
        &row.channel,
        &row.action,
        &row.entity,
        &row.entity_id,
        &row.before_json,
        &row.after_json,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an audit row inside the caller's transaction, so the change and its record commit
/// together or not at all.
pub fn record(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    change: Change<'_>,
) -> Result<(), StoreError> {
    let (seq, prev) = repo::lock_head(tx)?;
    let mut row = repo::AuditRow {
        seq: seq + 1,
        at: ts(now),
        actor: actor.username.clone(),
        role: actor.role.clone(),
        agency: actor.agency.clone(),
        channel: actor.channel.as_str().to_string(),
        action: change.action.to_string(),
        entity: change.entity.to_string(),
        entity_id: change.entity_id.to_string(),
        before_json: change.before.to_string(),
        after_json: change.after.to_string(),
        prev_hash: prev,
        hash: String::new(),
    };
    row.hash = chain_hash(&row);
    repo::append(tx, &row)
}

/// Result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: i64,
    /// The first broken row's sequence number and what is wrong with it.
    pub first_broken: Option<(i64, String)>,
}

/// Walks the whole chain. Detects altered rows (hash mismatch), removed rows (gap in the
/// sequence or a broken link) and a removed tail (the head records a later row).
pub fn verify(app: &App) -> Result<VerifyReport, ServiceError> {
    let mut expected_seq = 1i64;
    let mut prev_hash = String::new();
    let mut rows = 0i64;
    loop {
        let page = app
            .store()
            .read(|tx| repo::rows_after(tx, expected_seq - 1, 5000))?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let broken = |why: String| {
                Ok(VerifyReport {
                    rows,
                    first_broken: Some((row.seq, why)),
                })
            };
            if row.seq != expected_seq {
                return Ok(VerifyReport {
                    rows,
                    first_broken: Some((expected_seq, format!("row {expected_seq} is missing"))),
                });
            }
            if row.prev_hash != prev_hash {
                return broken("its link to the previous row is broken".into());
            }
            if chain_hash(row) != row.hash {
                return broken("its content does not match its hash (altered)".into());
            }
            prev_hash = row.hash.clone();
            expected_seq += 1;
            rows += 1;
        }
    }
    let (head_seq, head_hash) = app.store().read(|tx| repo::head(tx))?;
    if head_seq != rows || head_hash != prev_hash {
        return Ok(VerifyReport {
            rows,
            first_broken: Some((
                rows + 1,
                format!("rows after {rows} were removed (head is at {head_seq})"),
            )),
        });
    }
    Ok(VerifyReport {
        rows,
        first_broken: None,
    })
}

/// Records a change in its own transaction (for actions that have no other write).
pub fn record_alone(app: &App, actor: &Actor, change: Change<'_>) -> Result<(), ServiceError> {
    let now = app.now();
    app.store()
        .write(|tx| record(tx, now, actor, change))
        .map_err(ServiceError::from)
}
