//! The self-service kiosk: its sessions (bound to a card and a terminal), the cardholder's own
//! contact details and the flexible-employment contribution level choices.

use crate::{Result, Row, Tx, params};

/// A kiosk session as stored (the token itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskSessionRow {
    pub token_hash: String,
    pub terminal_id: String,
    pub card_id: i64,
    pub person_id: i64,
    /// `card` (social security card inserted) or `id_card` (ID card swiped).
    pub via: String,
    /// `pin` (waiting for the PIN) or `ready` (PIN verified).
    pub state: String,
    pub csrf_token: String,
    pub idle_timeout_secs: i64,
    pub created_at: String,
    pub last_seen_at: String,
    /// The idle deadline (RFC 3339 UTC).
    pub expires_at: String,
    /// The absolute deadline (RFC 3339 UTC).
    pub hard_expires_at: String,
}

const COLUMNS: &str = "token_hash, terminal_id, card_id, person_id, via, state, csrf_token, \
    idle_timeout_secs, created_at, last_seen_at, expires_at, hard_expires_at";

fn session(r: &Row) -> Result<KioskSessionRow> {
    Ok(KioskSessionRow {
        token_hash: r.text(0)?,
        terminal_id: r.text(1)?,
        card_id: r.i64(2)?,
        person_id: r.i64(3)?,
        via: r.text(4)?,
        state: r.text(5)?,
        csrf_token: r.text(6)?,
        idle_timeout_secs: r.i64(7)?,
        created_at: r.text(8)?,
        last_seen_at: r.text(9)?,
        expires_at: r.text(10)?,
        hard_expires_at: r.text(11)?,
    })
}

/// Stores a new session.
pub fn insert_session(tx: &mut dyn Tx, s: &KioskSessionRow) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO kiosk_sessions ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        params![
            s.token_hash,
            s.terminal_id,
            s.card_id,
            s.person_id,
            s.via,
            s.state,
            s.csrf_token,
            s.idle_timeout_secs,
            s.created_at,
            s.last_seen_at,
            s.expires_at,
            s.hard_expires_at
        ],
    )?;
    Ok(())
}

/// A session by the hash of its token.
pub fn session_by_hash(tx: &mut dyn Tx, token_hash: &str) -> Result<Option<KioskSessionRow>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM kiosk_sessions WHERE token_hash = $1"),
        params![token_hash],
    )?
    .map(|r| session(&r))
    .transpose()
}

/// Records activity: the last request and the new idle deadline.
pub fn touch_session(
    tx: &mut dyn Tx,
    token_hash: &str,
    last_seen_at: &str,
    expires_at: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE kiosk_sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3",
        params![last_seen_at, expires_at, token_hash],
    )?;
    Ok(())
}

/// Moves a session to another state (`pin` → `ready`).
pub fn set_session_state(tx: &mut dyn Tx, token_hash: &str, state: &str) -> Result<()> {
    tx.execute(
        "UPDATE kiosk_sessions SET state = $1 WHERE token_hash = $2",
        params![state, token_hash],
    )?;
    Ok(())
}

/// Forgets one session. Returns whether it existed.
pub fn delete_session(tx: &mut dyn Tx, token_hash: &str) -> Result<bool> {
    Ok(tx.execute(
        "DELETE FROM kiosk_sessions WHERE token_hash = $1",
        params![token_hash],
    )? > 0)
}

/// Forgets every session of a terminal (a new card was inserted there). Returns how many.
pub fn delete_sessions_of_terminal(tx: &mut dyn Tx, terminal_id: &str) -> Result<u64> {
    tx.execute(
        "DELETE FROM kiosk_sessions WHERE terminal_id = $1",
        params![terminal_id],
    )
}

/// Forgets every session whose idle or absolute deadline is at or before `now`.
pub fn delete_expired_sessions(tx: &mut dyn Tx, now: &str) -> Result<u64> {
    tx.execute(
        "DELETE FROM kiosk_sessions WHERE expires_at <= $1 OR hard_expires_at <= $1",
        params![now],
    )
}

/// Updates a person's own contact details (phone, address).
pub fn set_contact(tx: &mut dyn Tx, person_id: i64, phone: &str, address: &str) -> Result<()> {
    tx.execute(
        "UPDATE persons SET phone = $1, address = $2 WHERE id = $3",
        params![phone, address, person_id],
    )?;
    Ok(())
}

/// A stored flexible-employment level choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexibleChoiceRow {
    pub person_id: i64,
    pub year: i64,
    pub level_fen: i64,
    pub region_code: String,
    pub channel: String,
    pub chosen_at: String,
}

/// The level the person chose for `year`, if any.
pub fn flexible_choice(
    tx: &mut dyn Tx,
    person_id: i64,
    year: i64,
) -> Result<Option<FlexibleChoiceRow>> {
    tx.query_opt(
        "SELECT person_id, year, level_fen, region_code, channel, chosen_at
         FROM flexible_level_choices WHERE person_id = $1 AND year = $2",
        params![person_id, year],
    )?
    .map(|r| {
        Ok(FlexibleChoiceRow {
            person_id: r.i64(0)?,
            year: r.i64(1)?,
            level_fen: r.i64(2)?,
            region_code: r.text(3)?,
            channel: r.text(4)?,
            chosen_at: r.text(5)?,
        })
    })
    .transpose()
}

/// Records (or replaces) the level chosen for a year.
pub fn upsert_flexible_choice(tx: &mut dyn Tx, c: &FlexibleChoiceRow) -> Result<()> {
    tx.execute(
        "INSERT INTO flexible_level_choices (person_id, year, level_fen, region_code, channel, chosen_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (person_id, year) DO UPDATE SET level_fen = excluded.level_fen,
             region_code = excluded.region_code, channel = excluded.channel,
             chosen_at = excluded.chosen_at",
        params![
            c.person_id,
            c.year,
            c.level_fen,
            c.region_code,
            c.channel,
            c.chosen_at
        ],
    )?;
    Ok(())
}
