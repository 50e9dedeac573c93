//! Applications, photos, production batches, collection, loss reports and the daily job's
//! queries: the SQL of the first half of the card's life (`sscard_service::cards::{apply,
//! roster, batches, collect, loss, jobs}` and `sscard_service::persons`).

use super::cards::{CARD_COLUMNS, CardRow, card_for_update};
use super::persons::{PersonRow, person_by_id};
use crate::{Backend, Result, Row, StoreError, Tx, Value, params};

// ---------------------------------------------------------------------------------------------
// Photos

/// What is known about a stored photo, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoMeta {
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size: i64,
    pub uploaded_at: String,
}

/// Stores (or replaces) a person's application photo.
pub fn upsert_photo(
    tx: &mut dyn Tx,
    person_id: i64,
    content_type: &str,
    width: i64,
    height: i64,
    bytes: &[u8],
    uploaded_at: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO person_photos (person_id, content_type, width, height, bytes, uploaded_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (person_id) DO UPDATE SET content_type = excluded.content_type,
             width = excluded.width, height = excluded.height, bytes = excluded.bytes,
             uploaded_at = excluded.uploaded_at",
        params![
            person_id,
            content_type,
            width,
            height,
            Value::Bytes(bytes.to_vec()),
            uploaded_at
        ],
    )?;
    Ok(())
}

/// The photo's metadata, if the person has one.
pub fn photo_meta(tx: &mut dyn Tx, person_id: i64) -> Result<Option<PhotoMeta>> {
    tx.query_opt(
        "SELECT content_type, width, height, CAST(length(bytes) AS BIGINT), uploaded_at
         FROM person_photos WHERE person_id = $1",
        params![person_id],
    )?
    .map(|r| {
        Ok(PhotoMeta {
            content_type: r.text(0)?,
            width: r.i64(1)?,
            height: r.i64(2)?,
            size: r.i64(3)?,
            uploaded_at: r.text(4)?,
        })
    })
    .transpose()
}

/// The photo's content type and bytes.
pub fn photo_bytes(tx: &mut dyn Tx, person_id: i64) -> Result<Option<(String, Vec<u8>)>> {
    let Some(r) = tx.query_opt(
        "SELECT content_type, bytes FROM person_photos WHERE person_id = $1",
        params![person_id],
    )?
    else {
        return Ok(None);
    };
    let bytes = match r.0.get(1) {
        Some(Value::Bytes(b)) => b.clone(),
        Some(Value::Text(s)) => s.as_bytes().to_vec(),
        other => {
            return Err(StoreError::Data(format!(
                "photo bytes: unexpected value {other:?}"
            )));
        }
    };
    Ok(Some((r.text(0)?, bytes)))
}

// ---------------------------------------------------------------------------------------------
// Agencies

/// An agency's id, region and kind by its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyRef {
    pub id: i64,
    pub code: String,
    pub region_code: String,
    pub kind: String,
    pub name: String,
    pub address: String,
}

fn agency_ref(r: &Row) -> Result<AgencyRef> {
    Ok(AgencyRef {
        id: r.i64(0)?,
        code: r.text(1)?,
        region_code: r.text(2)?,
        kind: r.text(3)?,
        name: r.text(4)?,
        address: r.text(5)?,
    })
}

/// An agency by code.
pub fn agency_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<AgencyRef>> {
    tx.query_opt(
        "SELECT id, code, region_code, kind, name, address FROM agencies WHERE code = $1",
        params![code],
    )?
    .map(|r| agency_ref(&r))
    .transpose()
}

/// The card centre of a pooling region (the agency of kind `card_centre` in that region).
pub fn card_centre_of(tx: &mut dyn Tx, region_code: &str) -> Result<Option<AgencyRef>> {
    tx.query_opt(
        "SELECT id, code, region_code, kind, name, address FROM agencies
         WHERE region_code = $1 AND kind = 'card_centre' ORDER BY id LIMIT 1",
        params![region_code],
    )?
    .map(|r| agency_ref(&r))
    .transpose()
}

// ---------------------------------------------------------------------------------------------
// Cards in production

fn card(r: &Row) -> Result<CardRow> {
    // Same column order as `cards::CARD_COLUMNS`; reuse its parser through a by-id read would
    // cost a query per row, so parse here with the same layout.
    super::cards::parse_card_row(r)
}

/// Regular cards of a region in status `applied`, oldest first.
pub fn applied_cards_of_region(tx: &mut dyn Tx, region_code: &str) -> Result<Vec<CardRow>> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE region_code = $1 AND kind = 'regular'
         AND status = 'applied' ORDER BY id"
    );
    tx.query(&sql, params![region_code])?
        .iter()
        .map(card)
        .collect()
}

/// Reads several cards by id for a change (locked on PostgreSQL); unknown ids are left out.
pub fn cards_for_update(tx: &mut dyn Tx, ids: &[i64]) -> Result<Vec<CardRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = card_for_update(tx, *id)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// The agency a card was applied at.
pub fn set_card_agency(tx: &mut dyn Tx, card_id: i64, agency_id: Option<i64>) -> Result<()> {
    tx.execute(
        "UPDATE cards SET agency_id = $1 WHERE id = $2",
        params![agency_id, card_id],
    )?;
    Ok(())
}

/// Puts a card into a production batch.
pub fn set_card_batch(tx: &mut dyn Tx, card_id: i64, batch_id: i64) -> Result<()> {
    tx.execute(
        "UPDATE cards SET batch_id = $1 WHERE id = $2",
        params![batch_id, card_id],
    )?;
    Ok(())
}

/// The highest card number serial (7 digits after the letter) in use for a region letter, for
/// numbering new cards: the calling transaction holds the numbering of that letter until it
/// ends, so two transactions never hand out the same next number (on PostgreSQL a transaction
/// advisory lock; SQLite has one writer anyway).
pub fn max_card_serial(tx: &mut dyn Tx, letter: char) -> Result<u64> {
    if tx.backend() == crate::Backend::Postgres {
        // One lock key per letter, in a range of its own ("SSC" + the letter).
        let key = 0x5353_4300_i64 + i64::from(u32::from(letter));
        tx.execute("SELECT pg_advisory_xact_lock($1)", params![key])?;
    }
    let row = tx.query_opt(
        "SELECT card_no FROM cards WHERE card_no LIKE $1 ORDER BY card_no DESC LIMIT 1",
        params![format!("{letter}%")],
    )?;
    Ok(row
        .map(|r| r.text(0))
        .transpose()?
        .and_then(|no| no.get(1..8).and_then(|d| d.parse::<u64>().ok()))
        .unwrap_or(0))
}

/// Records the bank's return for a card: number, identifier, bank, account (bank side
/// `opened`) and the collection notice date.
#[allow(clippy::too_many_arguments)]
pub fn set_produced(
    tx: &mut dyn Tx,
    card_id: i64,
    card_no: &str,
    chip_id: &str,
    bank_id: Option<i64>,
    bank_account: &str,
    notice_date: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE cards SET card_no = $1, card_id = $2, bank_id = $3, bank_account = $4,
             bank_status = 'opened', notice_date = $5, at_card_centre = $6
         WHERE id = $7",
        params![
            card_no,
            chip_id,
            bank_id,
            bank_account,
            notice_date,
            false,
            card_id
        ],
    )?;
    Ok(())
}

/// Records when a card was handed over.
pub fn set_collected_at(tx: &mut dyn Tx, card_id: i64, at: &str) -> Result<()> {
    tx.execute(
        "UPDATE cards SET collected_at = $1 WHERE id = $2",
        params![at, card_id],
    )?;
    Ok(())
}

/// Records when the social-security function was activated.
pub fn set_activated_at(tx: &mut dyn Tx, card_id: i64, at: &str) -> Result<()> {
    tx.execute(
        "UPDATE cards SET activated_at = $1 WHERE id = $2",
        params![at, card_id],
    )?;
    Ok(())
}

/// Marks an uncollected card as moved to (or back from) the city card centre.
pub fn set_at_card_centre(tx: &mut dyn Tx, card_id: i64, at_centre: bool) -> Result<()> {
    tx.execute(
        "UPDATE cards SET at_card_centre = $1 WHERE id = $2",
        params![at_centre, card_id],
    )?;
    Ok(())
}

/// A card with its holder's identity, as listed in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCard {
    pub card: CardRow,
    pub holder: PersonRow,
}

/// The cards of a batch with their holders, in batch order (card id).
pub fn cards_of_batch(tx: &mut dyn Tx, batch_id: i64) -> Result<Vec<BatchCard>> {
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE batch_id = $1 ORDER BY id");
    let cards: Vec<CardRow> = tx
        .query(&sql, params![batch_id])?
        .iter()
        .map(card)
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(cards.len());
    for c in cards {
        let holder = person_by_id(tx, c.person_id)?
            .ok_or_else(|| StoreError::Data(format!("card {} has no holder", c.id)))?;
        out.push(BatchCard { card: c, holder });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Batches

/// A production batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub id: i64,
    pub batch_no: String,
    pub region_code: String,
    pub bank_id: Option<i64>,
    pub bank_code: Option<String>,
    pub status: String,
    pub created_at: String,
    pub created_by: String,
}

const BATCH_SELECT: &str = "SELECT b.id, b.batch_no, b.region_code, b.bank_id, k.code, b.status,
    b.created_at, b.created_by FROM production_batches b LEFT JOIN banks k ON k.id = b.bank_id";

fn batch(r: &Row) -> Result<BatchRow> {
    Ok(BatchRow {
        id: r.i64(0)?,
        batch_no: r.text(1)?,
        region_code: r.text(2)?,
        bank_id: r.opt_i64(3)?,
        bank_code: r.opt_text(4)?,
        status: r.text(5)?,
        created_at: r.text(6)?,
        created_by: r.text(7)?,
    })
}

/// The number of batches whose number starts with `prefix` (for numbering the next one).
pub fn count_batches_with_prefix(tx: &mut dyn Tx, prefix: &str) -> Result<i64> {
    tx.query_i64(
        "SELECT count(*) FROM production_batches WHERE batch_no LIKE $1",
        params![format!("{prefix}%")],
    )
}

/// Creates a batch.
pub fn insert_batch(
    tx: &mut dyn Tx,
    batch_no: &str,
    region_code: &str,
    bank_id: Option<i64>,
    created_at: &str,
    created_by: &str,
) -> Result<i64> {
    tx.query_one(
        "INSERT INTO production_batches (batch_no, region_code, bank_id, status, created_at, created_by)
         VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
        params![batch_no, region_code, bank_id, created_at, created_by],
        "batch",
    )?
    .i64(0)
}

/// A batch by number.
pub fn batch_by_no(tx: &mut dyn Tx, batch_no: &str) -> Result<Option<BatchRow>> {
    let sql = format!("{BATCH_SELECT} WHERE b.batch_no = $1");
    tx.query_opt(&sql, params![batch_no])?
        .map(|r| batch(&r))
        .transpose()
}

/// A batch by number, for a change (locked on PostgreSQL).
pub fn batch_for_update(tx: &mut dyn Tx, batch_no: &str) -> Result<Option<BatchRow>> {
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE OF b"
    } else {
        ""
    };
    let sql = format!("{BATCH_SELECT} WHERE b.batch_no = $1{lock}");
    tx.query_opt(&sql, params![batch_no])?
        .map(|r| batch(&r))
        .transpose()
}

/// Batches, newest first, at most `limit`.
pub fn list_batches(
    tx: &mut dyn Tx,
    region_code: Option<&str>,
    limit: i64,
) -> Result<Vec<BatchRow>> {
    let sql =
        format!("{BATCH_SELECT} WHERE ($1 = '' OR b.region_code = $1) ORDER BY b.id DESC LIMIT $2");
    tx.query(&sql, params![region_code.unwrap_or(""), limit])?
        .iter()
        .map(batch)
        .collect()
}

/// Sets a batch's status (`open`, `sent_to_bank`, `returned`, `produced`).
pub fn set_batch_status(tx: &mut dyn Tx, batch_id: i64, status: &str) -> Result<()> {
    tx.execute(
        "UPDATE production_batches SET status = $1 WHERE id = $2",
        params![status, batch_id],
    )?;
    Ok(())
}

/// A bank's id by code.
pub fn bank_id_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<i64>> {
    tx.query_opt("SELECT id FROM banks WHERE code = $1", params![code])?
        .map(|r| r.i64(0))
        .transpose()
}

/// The first cooperating bank by code (the default bank of a batch).
pub fn default_bank(tx: &mut dyn Tx) -> Result<Option<(i64, String)>> {
    tx.query_opt("SELECT id, code FROM banks ORDER BY code LIMIT 1", &[])?
        .map(|r| Ok((r.i64(0)?, r.text(1)?)))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Loss reports

/// A loss report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossReportRow {
    pub id: i64,
    pub card_id: i64,
    pub side: String,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub reported_at: String,
    pub expires_at: Option<String>,
    pub closed_at: Option<String>,
}

const LOSS_COLUMNS: &str =
    "id, card_id, side, kind, channel, status, reported_at, expires_at, closed_at";

fn loss(r: &Row) -> Result<LossReportRow> {
    Ok(LossReportRow {
        id: r.i64(0)?,
        card_id: r.i64(1)?,
        side: r.text(2)?,
        kind: r.text(3)?,
        channel: r.text(4)?,
        status: r.text(5)?,
        reported_at: r.text(6)?,
        expires_at: r.opt_text(7)?,
        closed_at: r.opt_text(8)?,
    })
}

/// Files a loss report (`side` social/bank, `kind` temporary/written), status `active`.
pub fn insert_loss_report(
    tx: &mut dyn Tx,
    card_id: i64,
    side: &str,
    kind: &str,
    channel: &str,
    reported_at: &str,
    expires_at: Option<&str>,
) -> Result<i64> {
    tx.query_one(
        "INSERT INTO loss_reports (card_id, side, kind, channel, status, reported_at, expires_at)
         VALUES ($1, $2, $3, $4, 'active', $5, $6) RETURNING id",
        params![card_id, side, kind, channel, reported_at, expires_at],
        "loss report",
    )?
    .i64(0)
}

/// The active loss reports of one side of a card.
pub fn active_loss_reports(
    tx: &mut dyn Tx,
    card_id: i64,
    side: &str,
) -> Result<Vec<LossReportRow>> {
    let sql = format!(
        "SELECT {LOSS_COLUMNS} FROM loss_reports WHERE card_id = $1 AND side = $2
         AND status = 'active' ORDER BY id"
    );
    tx.query(&sql, params![card_id, side])?
        .iter()
        .map(loss)
        .collect()
}

/// Every loss report of a card, oldest first.
pub fn loss_reports_of(tx: &mut dyn Tx, card_id: i64) -> Result<Vec<LossReportRow>> {
    let sql = format!("SELECT {LOSS_COLUMNS} FROM loss_reports WHERE card_id = $1 ORDER BY id");
    tx.query(&sql, params![card_id])?.iter().map(loss).collect()
}

/// Closes a loss report (`lifted`, `lapsed`, `converted`).
pub fn close_loss_report(tx: &mut dyn Tx, id: i64, status: &str, closed_at: &str) -> Result<()> {
    tx.execute(
        "UPDATE loss_reports SET status = $1, closed_at = $2 WHERE id = $3",
        params![status, closed_at, id],
    )?;
    Ok(())
}

/// Active social-side temporary loss reports whose validity ended at or before `now`.
pub fn lapsed_temporary_losses(tx: &mut dyn Tx, now: &str) -> Result<Vec<LossReportRow>> {
    let sql = format!(
        "SELECT {LOSS_COLUMNS} FROM loss_reports WHERE side = 'social' AND kind = 'temporary'
         AND status = 'active' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY id"
    );
    tx.query(&sql, params![now])?.iter().map(loss).collect()
}

// ---------------------------------------------------------------------------------------------
// The daily job

/// Cards awaiting collection still at their agency, with a notice date.
pub fn awaiting_collection_not_at_centre(tx: &mut dyn Tx) -> Result<Vec<CardRow>> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE status = 'awaiting_collection'
         AND at_card_centre = $1 AND notice_date IS NOT NULL ORDER BY id"
    );
    tx.query(&sql, params![false])?.iter().map(card).collect()
}

/// Temporary cards still usable whose validity ended before `today` (`YYYY-MM-DD`).
pub fn temporary_cards_past(tx: &mut dyn Tx, today: &str) -> Result<Vec<CardRow>> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE kind = 'temporary'
         AND status IN ('active', 'temporary_loss', 'written_loss')
         AND expires_on IS NOT NULL AND expires_on < $1 ORDER BY id"
    );
    tx.query(&sql, params![today])?.iter().map(card).collect()
}

/// Live cards of persons recorded deceased or emigrated at or before `since_before`, with the
/// holder's life status and its date.
pub fn live_cards_of_departed(
    tx: &mut dyn Tx,
    since_before: &str,
) -> Result<Vec<(CardRow, String, String)>> {
    let cols: String = CARD_COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols}, p.life_status, p.life_status_since FROM cards c
         JOIN persons p ON p.id = c.person_id
         WHERE p.life_status IN ('deceased', 'emigrated') AND p.life_status_since IS NOT NULL
         AND p.life_status_since <= $1
         AND c.status NOT IN ('reissuing', 'replacing', 'cancelled', 'expired')
         ORDER BY c.id"
    );
    tx.query(&sql, params![since_before])?
        .iter()
        .map(|r| {
            let n = r.len();
            Ok((card(r)?, r.text(n - 2)?, r.text(n - 1)?))
        })
        .collect()
}

/// Whether a notice of `kind` was already queued for a card.
pub fn notice_exists(tx: &mut dyn Tx, card_id: i64, kind: &str) -> Result<bool> {
    Ok(tx.query_i64(
        "SELECT count(*) FROM notices WHERE card_id = $1 AND kind = $2",
        params![card_id, kind],
    )? > 0)
}

// ---------------------------------------------------------------------------------------------
// Fees

/// Number of regular cards a person ever had.
pub fn count_regular_cards(tx: &mut dyn Tx, person_id: i64) -> Result<i64> {
    tx.query_i64(
        "SELECT count(*) FROM cards WHERE person_id = $1 AND kind = 'regular'",
        params![person_id],
    )
}

// ---------------------------------------------------------------------------------------------
// Search

/// The holder of a card number.
pub fn person_by_card_no(tx: &mut dyn Tx, card_no: &str) -> Result<Option<PersonRow>> {
    let Some(r) = tx.query_opt(
        "SELECT person_id FROM cards WHERE card_no = $1",
        params![card_no],
    )?
    else {
        return Ok(None);
    };
    person_by_id(tx, r.i64(0)?)
}

/// Persons with this document number, whatever the document type.
pub fn persons_by_doc_number(tx: &mut dyn Tx, number: &str) -> Result<Vec<PersonRow>> {
    let ids: Vec<i64> = tx
        .query(
            "SELECT id FROM persons WHERE doc_number = $1 ORDER BY id",
            params![number],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(p) = person_by_id(tx, id)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Sets a person's phone number (from an application form).
pub fn set_person_phone(tx: &mut dyn Tx, person_id: i64, phone: &str) -> Result<()> {
    tx.execute(
        "UPDATE persons SET phone = $1 WHERE id = $2",
        params![phone, person_id],
    )?;
    Ok(())
}
