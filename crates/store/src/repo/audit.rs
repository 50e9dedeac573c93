//! The append-only audit log. The hash chain itself is computed by the service layer; this
//! module stores rows and reads them back in order.

use crate::{Result, Tx, params};

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub agency: String,
    pub channel: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before_json: String,
    pub after_json: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Locks and returns the chain's tip `(seq, hash)`. Within a write transaction, the row lock
/// (PostgreSQL) or the single writer (SQLite) makes appends strictly sequential.
pub fn lock_head(tx: &mut dyn Tx) -> Result<(i64, String)> {
    let sql = match tx.backend() {
        crate::Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        crate::Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
    };
    let r = tx.query_one(sql, &[], "audit head")?;
    Ok((r.i64(0)?, r.text(1)?))
}

/// Appends a row whose `seq` and hashes the caller computed from [`lock_head`].
pub fn append(tx: &mut dyn Tx, row: &AuditRow) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, role, agency, channel, action, entity, entity_id,
             before_json, after_json, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        params![
            row.seq,
            row.at.as_str(),
            row.actor.as_str(),
            row.role.as_str(),
            row.agency.as_str(),
            row.channel.as_str(),
            row.action.as_str(),
            row.entity.as_str(),
            row.entity_id.as_str(),
            row.before_json.as_str(),
            row.after_json.as_str(),
            row.prev_hash.as_str(),
            row.hash.as_str()
        ],
    )?;
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        params![row.seq, row.hash.as_str()],
    )?;
    Ok(())
}

/// Rows with `seq > after`, in order, at most `limit`.
pub fn rows_after(tx: &mut dyn Tx, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
    tx.query(
        "SELECT seq, at, actor, role, agency, channel, action, entity, entity_id, before_json,
                after_json, prev_hash, hash
         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        params![after, limit],
    )?
    .iter()
    .map(|r| {
        Ok(AuditRow {
            seq: r.i64(0)?,
            at: r.text(1)?,
            actor: r.text(2)?,
            role: r.text(3)?,
            agency: r.text(4)?,
            channel: r.text(5)?,
            action: r.text(6)?,
            entity: r.text(7)?,
            entity_id: r.text(8)?,
            before_json: r.text(9)?,
            after_json: r.text(10)?,
            prev_hash: r.text(11)?,
            hash: r.text(12)?,
        })
    })
    .collect()
}

/// The chain's recorded tip.
pub fn head(tx: &mut dyn Tx) -> Result<(i64, String)> {
    let r = tx.query_one(
        "SELECT seq, hash FROM audit_head WHERE id = 1",
        &[],
        "audit head",
    )?;
    Ok((r.i64(0)?, r.text(1)?))
}
