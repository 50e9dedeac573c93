//! Cards, their event history and loss reports.

use std::str::FromStr;

use sscard_domain::card::{CardKind, CardStatus};

use crate::{Result, Row, StoreError, Tx, params};

/// A card as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    pub id: i64,
    pub person_id: i64,
    pub kind: CardKind,
    pub status: CardStatus,
    pub card_no: Option<String>,
    pub card_id: Option<String>,
    pub region_code: String,
    pub bank_id: Option<i64>,
    pub bank_account: Option<String>,
    pub bank_status: String,
    pub applied_at: String,
    pub notice_date: Option<String>,
    pub at_card_centre: bool,
    pub expires_on: Option<String>,
    pub status_changed_at: String,
    pub pin_mac: String,
    pub pin_changed: bool,
    pub pin_failed: i64,
    pub pin_locked: bool,
}

pub const CARD_COLUMNS: &str = "id, person_id, kind, status, card_no, card_id, region_code, \
    bank_id, bank_account, bank_status, applied_at, notice_date, at_card_centre, expires_on, \
    status_changed_at, pin_mac, pin_changed, pin_failed, pin_locked";

struct Parse<T>(T);
impl FromStr for Parse<CardStatus> {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        CardStatus::parse(s)
            .map(Parse)
            .ok_or_else(|| StoreError::Data(format!("unknown card status {s:?}")))
    }
}

/// A card from a row of [`CARD_COLUMNS`].
pub fn card_row(r: &Row) -> Result<CardRow> {
    let kind = r.text(2)?;
    Ok(CardRow {
        id: r.i64(0)?,
        person_id: r.i64(1)?,
        kind: CardKind::parse(&kind)
            .ok_or_else(|| StoreError::Data(format!("unknown card kind {kind:?}")))?,
        status: r.text(3)?.parse::<Parse<CardStatus>>()?.0,
        card_no: r.opt_text(4)?,
        card_id: r.opt_text(5)?,
        region_code: r.text(6)?,
        bank_id: r.opt_i64(7)?,
        bank_account: r.opt_text(8)?,
        bank_status: r.text(9)?,
        applied_at: r.text(10)?,
        notice_date: r.opt_text(11)?,
        at_card_centre: r.bool(12)?,
        expires_on: r.opt_text(13)?,
        status_changed_at: r.text(14)?,
        pin_mac: r.text(15)?,
        pin_changed: r.bool(16)?,
        pin_failed: r.i64(17)?,
        pin_locked: r.bool(18)?,
    })
}

pub fn card_by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<CardRow>> {
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE id = $1");
    tx.query_opt(&sql, params![id])?
        .map(|r| card_row(&r))
        .transpose()
}

pub fn card_by_no(tx: &mut dyn Tx, card_no: &str) -> Result<Option<CardRow>> {
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE card_no = $1");
    tx.query_opt(&sql, params![card_no])?
        .map(|r| card_row(&r))
        .transpose()
}

/// The person's live regular card (at most one exists: a unique index guarantees it).
pub fn live_card_of(tx: &mut dyn Tx, person_id: i64) -> Result<Option<CardRow>> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE person_id = $1 AND kind = 'regular'
         AND status NOT IN ('reissuing', 'replacing', 'cancelled', 'expired')"
    );
    tx.query_opt(&sql, params![person_id])?
        .map(|r| card_row(&r))
        .transpose()
}

/// The person's live temporary card, if any.
pub fn live_temporary_card_of(tx: &mut dyn Tx, person_id: i64) -> Result<Option<CardRow>> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE person_id = $1 AND kind = 'temporary'
         AND status NOT IN ('reissuing', 'replacing', 'cancelled', 'expired')"
    );
    tx.query_opt(&sql, params![person_id])?
        .map(|r| card_row(&r))
        .transpose()
}

/// Every card the person ever had, newest first.
pub fn cards_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<CardRow>> {
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE person_id = $1 ORDER BY id DESC");
    tx.query(&sql, params![person_id])?
        .iter()
        .map(card_row)
        .collect()
}

/// Number of cards in each status.
pub fn count_by_status(tx: &mut dyn Tx) -> Result<Vec<(String, i64)>> {
    tx.query(
        "SELECT status, count(*) FROM cards GROUP BY status ORDER BY status",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.i64(1)?)))
    .collect()
}

/// One entry of a card's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardEventRow {
    pub id: i64,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub channel: String,
    pub actor: String,
    pub detail_json: String,
    pub at: String,
}

pub fn events_of(tx: &mut dyn Tx, card_id: i64) -> Result<Vec<CardEventRow>> {
    tx.query(
        "SELECT id, event, from_status, to_status, channel, actor, detail_json, at
         FROM card_events WHERE card_id = $1 ORDER BY id",
        params![card_id],
    )?
    .iter()
    .map(|r| {
        Ok(CardEventRow {
            id: r.i64(0)?,
            event: r.text(1)?,
            from_status: r.opt_text(2)?,
            to_status: r.text(3)?,
            channel: r.text(4)?,
            actor: r.text(5)?,
            detail_json: r.text(6)?,
            at: r.text(7)?,
        })
    })
    .collect()
}

/// Reads a card for a change: on PostgreSQL the row is locked until the transaction ends
/// (SQLite's single writer already serialises writes).
pub fn card_for_update_by_no(tx: &mut dyn Tx, card_no: &str) -> Result<Option<CardRow>> {
    let lock = if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE card_no = $1{lock}");
    tx.query_opt(&sql, params![card_no])?
        .map(|r| card_row(&r))
        .transpose()
}

/// Reads a card by id for a change (locked on PostgreSQL).
pub fn card_for_update(tx: &mut dyn Tx, id: i64) -> Result<Option<CardRow>> {
    let lock = if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE id = $1{lock}");
    tx.query_opt(&sql, params![id])?
        .map(|r| card_row(&r))
        .transpose()
}

/// Fields of a new card application.
pub struct NewCard<'a> {
    pub person_id: i64,
    pub kind: CardKind,
    pub status: CardStatus,
    pub region_code: &'a str,
    pub agency_id: Option<i64>,
    pub previous_card_id: Option<i64>,
    pub applied_at: &'a str,
    pub expires_on: Option<&'a str>,
    pub pin_mac: &'a str,
}

/// Inserts a card; a second live card of the same kind for the person is refused by the
/// database (`StoreError::Constraint`).
pub fn insert_card(tx: &mut dyn Tx, c: &NewCard<'_>) -> Result<i64> {
    tx.query_one(
        "INSERT INTO cards (person_id, kind, status, region_code, agency_id, previous_card_id,
             applied_at, expires_on, status_changed_at, pin_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9) RETURNING id",
        params![
            c.person_id,
            c.kind.as_str(),
            c.status.as_str(),
            c.region_code,
            c.agency_id,
            c.previous_card_id,
            c.applied_at,
            c.expires_on,
            c.pin_mac
        ],
        "card",
    )?
    .i64(0)
}

/// Sets a card's status.
pub fn set_status(tx: &mut dyn Tx, id: i64, status: CardStatus, at: &str) -> Result<()> {
    tx.execute(
        "UPDATE cards SET status = $1, status_changed_at = $2 WHERE id = $3",
        params![status.as_str(), at, id],
    )?;
    Ok(())
}

/// Records the PIN's state: the MAC, whether it was changed from the initial PIN, the shared
/// wrong-try counter and the lock.
pub fn set_pin_state(
    tx: &mut dyn Tx,
    id: i64,
    pin_mac: &str,
    pin_changed: bool,
    pin_failed: i64,
    pin_locked: bool,
) -> Result<()> {
    tx.execute(
        "UPDATE cards SET pin_mac = $1, pin_changed = $2, pin_failed = $3, pin_locked = $4 WHERE id = $5",
        params![pin_mac, pin_changed, pin_failed, pin_locked, id],
    )?;
    Ok(())
}

/// Appends an entry to a card's timeline.
#[allow(clippy::too_many_arguments)]
pub fn insert_event(
    tx: &mut dyn Tx,
    card_id: i64,
    event: &str,
    from: Option<CardStatus>,
    to: CardStatus,
    channel: &str,
    actor: &str,
    detail_json: &str,
    at: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO card_events (card_id, event, from_status, to_status, channel, actor, detail_json, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            card_id,
            event,
            from.map(|f| f.as_str()),
            to.as_str(),
            channel,
            actor,
            detail_json,
            at
        ],
    )?;
    Ok(())
}

/// Parses a row selected with [`CARD_COLUMNS`] (for other repo modules' queries).
pub fn parse_card_row(r: &Row) -> Result<CardRow> {
    card_row(r)
}

/// The status of the card this one replaces (reissue, replacement, correction), if any.
pub fn previous_card_status(tx: &mut dyn Tx, card_id: i64) -> Result<Option<String>> {
    tx.query_opt(
        "SELECT p.status FROM cards c JOIN cards p ON p.id = c.previous_card_id WHERE c.id = $1",
        params![card_id],
    )?
    .map(|r| r.text(0))
    .transpose()
}
