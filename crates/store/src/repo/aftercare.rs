//! After-issue card business: fees and receipts, pickup certificates (领卡凭证), temporary card
//! numbering, corrections of person data, death records and heirs' claims, the bank side of a
//! card (bank status, bank loss reports), bank API credentials and signed-request nonces.

use crate::{Result, Row, Tx, params};

// ---------------------------------------------------------------------------------------------
// Fees

/// A fee charged at the counter, with its receipt number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRow {
    pub id: i64,
    pub receipt_no: String,
    pub person_id: i64,
    pub card_id: Option<i64>,
    /// The card number of `card_id`, when it has one.
    pub card_no: Option<String>,
    pub kind: String,
    pub amount_fen: i64,
    pub at: String,
    pub staff: String,
}

/// Inserts a fee row. The receipt number is `prefix` followed by the row id (zero-padded to
/// eight digits), so it is unique without any shared counter. Returns `(id, receipt_no)`.
#[allow(clippy::too_many_arguments)]
pub fn insert_fee(
    tx: &mut dyn Tx,
    prefix: &str,
    person_id: i64,
    card_id: Option<i64>,
    kind: &str,
    amount_fen: i64,
    at: &str,
    staff: &str,
) -> Result<(i64, String)> {
    // A unique placeholder first (the id is only known after the insert).
    let placeholder = format!("PENDING-{prefix}-{person_id}-{at}-{kind}");
    let id = tx
        .query_one(
            "INSERT INTO fees (receipt_no, person_id, card_id, kind, amount_fen, at, staff)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            params![placeholder, person_id, card_id, kind, amount_fen, at, staff],
            "fee",
        )?
        .i64(0)?;
    let receipt_no = format!("{prefix}{id:08}");
    tx.execute(
        "UPDATE fees SET receipt_no = $1 WHERE id = $2",
        params![receipt_no.as_str(), id],
    )?;
    Ok((id, receipt_no))
}

fn fee(r: &Row) -> Result<FeeRow> {
    Ok(FeeRow {
        id: r.i64(0)?,
        receipt_no: r.text(1)?,
        person_id: r.i64(2)?,
        card_id: r.opt_i64(3)?,
        card_no: r.opt_text(4)?,
        kind: r.text(5)?,
        amount_fen: r.i64(6)?,
        at: r.text(7)?,
        staff: r.text(8)?,
    })
}

/// Every fee charged to a person, newest first.
pub fn fees_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<FeeRow>> {
    tx.query(
        "SELECT f.id, f.receipt_no, f.person_id, f.card_id, c.card_no, f.kind, f.amount_fen,
                f.at, f.staff
         FROM fees f LEFT JOIN cards c ON c.id = f.card_id
         WHERE f.person_id = $1 ORDER BY f.id DESC",
        params![person_id],
    )?
    .iter()
    .map(fee)
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Pickup certificates

/// A pickup certificate (领卡凭证) issued with a reissue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    pub id: i64,
    pub cert_no: String,
    pub person_id: i64,
    pub old_card_id: i64,
    pub new_card_id: i64,
    pub ready_date: String,
    pub fee_receipt_no: Option<String>,
    pub issued_at: String,
    pub collected_at: Option<String>,
}

const CERT_COLUMNS: &str = "id, cert_no, person_id, old_card_id, new_card_id, ready_date, \
    fee_receipt_no, issued_at, collected_at";

fn certificate(r: &Row) -> Result<CertificateRow> {
    Ok(CertificateRow {
        id: r.i64(0)?,
        cert_no: r.text(1)?,
        person_id: r.i64(2)?,
        old_card_id: r.i64(3)?,
        new_card_id: r.i64(4)?,
        ready_date: r.text(5)?,
        fee_receipt_no: r.opt_text(6)?,
        issued_at: r.text(7)?,
        collected_at: r.opt_text(8)?,
    })
}

/// Fields of a new pickup certificate (its number is made from its id, see
/// [`insert_certificate`]).
pub struct NewCertificate<'a> {
    pub person_id: i64,
    pub old_card_id: i64,
    pub new_card_id: i64,
    pub ready_date: &'a str,
    pub fee_receipt_no: Option<&'a str>,
    pub issued_at: &'a str,
}

/// Inserts a certificate; `number(id)` makes its number from the new row's id. Returns the row.
pub fn insert_certificate(
    tx: &mut dyn Tx,
    c: &NewCertificate<'_>,
    number: &dyn Fn(i64) -> String,
) -> Result<CertificateRow> {
    let placeholder = format!("PENDING-{}-{}", c.new_card_id, c.issued_at);
    let id = tx
        .query_one(
            "INSERT INTO pickup_certificates (cert_no, person_id, old_card_id, new_card_id,
                 ready_date, fee_receipt_no, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            params![
                placeholder,
                c.person_id,
                c.old_card_id,
                c.new_card_id,
                c.ready_date,
                c.fee_receipt_no,
                c.issued_at
            ],
            "pickup certificate",
        )?
        .i64(0)?;
    let cert_no = number(id);
    tx.execute(
        "UPDATE pickup_certificates SET cert_no = $1 WHERE id = $2",
        params![cert_no.as_str(), id],
    )?;
    Ok(CertificateRow {
        id,
        cert_no,
        person_id: c.person_id,
        old_card_id: c.old_card_id,
        new_card_id: c.new_card_id,
        ready_date: c.ready_date.to_string(),
        fee_receipt_no: c.fee_receipt_no.map(str::to_string),
        issued_at: c.issued_at.to_string(),
        collected_at: None,
    })
}

pub fn certificate_by_no(tx: &mut dyn Tx, cert_no: &str) -> Result<Option<CertificateRow>> {
    let sql = format!("SELECT {CERT_COLUMNS} FROM pickup_certificates WHERE cert_no = $1");
    tx.query_opt(&sql, params![cert_no])?
        .map(|r| certificate(&r))
        .transpose()
}

/// Certificates of a person, newest first.
pub fn certificates_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<CertificateRow>> {
    let sql = format!(
        "SELECT {CERT_COLUMNS} FROM pickup_certificates WHERE person_id = $1 ORDER BY id DESC"
    );
    tx.query(&sql, params![person_id])?
        .iter()
        .map(certificate)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Cards: numbers, bank side, expiry

/// Gives a card its number and identifier (a temporary card is numbered at issue).
pub fn set_card_numbers(tx: &mut dyn Tx, id: i64, card_no: &str, card_ident: &str) -> Result<()> {
    tx.execute(
        "UPDATE cards SET card_no = $1, card_id = $2 WHERE id = $3",
        params![card_no, card_ident, id],
    )?;
    Ok(())
}

/// Marks a card collected and activated at `at` (a temporary card is handed over at issue).
pub fn set_collected_activated(tx: &mut dyn Tx, id: i64, at: &str) -> Result<()> {
    tx.execute(
        "UPDATE cards SET collected_at = $1, activated_at = $1 WHERE id = $2",
        params![at, id],
    )?;
    Ok(())
}

/// Sets the bank side's status of a card (`none`, `opened`, `active`, `lost`, `cancelled`).
pub fn set_bank_status(tx: &mut dyn Tx, id: i64, bank_status: &str) -> Result<()> {
    tx.execute(
        "UPDATE cards SET bank_status = $1 WHERE id = $2",
        params![bank_status, id],
    )?;
    Ok(())
}

/// Records a loss report on one side (`social` or `bank`).
pub fn insert_loss_report(
    tx: &mut dyn Tx,
    card_id: i64,
    side: &str,
    kind: &str,
    channel: &str,
    at: &str,
) -> Result<i64> {
    tx.query_one(
        "INSERT INTO loss_reports (card_id, side, kind, channel, status, reported_at)
         VALUES ($1, $2, $3, $4, 'active', $5) RETURNING id",
        params![card_id, side, kind, channel, at],
        "loss report",
    )?
    .i64(0)
}

/// Closes the active loss reports of one side of a card with `status` (`lifted`, …); returns
/// how many were closed.
pub fn close_loss_reports(
    tx: &mut dyn Tx,
    card_id: i64,
    side: &str,
    status: &str,
    at: &str,
) -> Result<u64> {
    tx.execute(
        "UPDATE loss_reports SET status = $1, closed_at = $2
         WHERE card_id = $3 AND side = $4 AND status = 'active'",
        params![status, at, card_id, side],
    )
}

/// Number of active loss reports of one side of a card.
pub fn active_loss_reports(tx: &mut dyn Tx, card_id: i64, side: &str) -> Result<i64> {
    tx.query_i64(
        "SELECT count(*) FROM loss_reports WHERE card_id = $1 AND side = $2 AND status = 'active'",
        params![card_id, side],
    )
}

/// The id of an agency by its code.
pub fn agency_id_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<i64>> {
    tx.query_opt("SELECT id FROM agencies WHERE code = $1", params![code])?
        .map(|r| r.i64(0))
        .transpose()
}

/// The name of an agency by its code.
pub fn agency_name_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<String>> {
    tx.query_opt("SELECT name FROM agencies WHERE code = $1", params![code])?
        .map(|r| r.text(0))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Persons: lookup by number, corrections, death

/// The person holding a document number (any document type; citizen IDs first).
pub fn person_id_by_doc_number(tx: &mut dyn Tx, number: &str) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT id FROM persons WHERE doc_number = $1
         ORDER BY CASE WHEN doc_type = 'citizen_id' THEN 0 ELSE 1 END, id LIMIT 1",
        params![number],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// Corrects the card-relevant data of a person.
pub fn correct_person(
    tx: &mut dyn Tx,
    id: i64,
    name: &str,
    gender: &str,
    birth_date: &str,
    ethnicity: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE persons SET name = $1, gender = $2, birth_date = $3, ethnicity = $4 WHERE id = $5",
        params![name, gender, birth_date, ethnicity, id],
    )?;
    Ok(())
}

/// Sets a person's life status (`normal`, `deceased`, …) and since when.
pub fn set_life_status(tx: &mut dyn Tx, id: i64, status: &str, since: Option<&str>) -> Result<()> {
    tx.execute(
        "UPDATE persons SET life_status = $1, life_status_since = $2 WHERE id = $3",
        params![status, since, id],
    )?;
    Ok(())
}

/// The sum of the personal part of pension contributions (the pension personal accumulation).
pub fn pension_accumulation(tx: &mut dyn Tx, person_id: i64) -> Result<i64> {
    tx.query_i64(
        "SELECT CAST(COALESCE(sum(pension_personal_fen), 0) AS BIGINT) FROM contributions
         WHERE person_id = $1 AND paid = $2",
        params![person_id, true],
    )
}

/// What is still unsettled on a person's account of `kind`: the amount reserved by
/// pre-settlements and the number of pending transfers touching it.
pub fn unsettled(tx: &mut dyn Tx, person_id: i64, kind: &str) -> Result<(i64, i64)> {
    let acc = tx.query_opt(
        "SELECT id, reserved_fen FROM accounts WHERE person_id = $1 AND kind = $2",
        params![person_id, kind],
    )?;
    let Some(acc) = acc else {
        return Ok((0, 0));
    };
    let (id, reserved) = (acc.i64(0)?, acc.i64(1)?);
    let pending = tx.query_i64(
        "SELECT count(*) FROM transfers
         WHERE status = 'pending' AND (debit_account = $1 OR credit_account = $1)",
        params![id],
    )?;
    Ok((reserved, pending))
}

/// Locks a person's account of `kind` for a change (PostgreSQL) and returns its id and balance.
pub fn account_for_update(
    tx: &mut dyn Tx,
    person_id: i64,
    kind: &str,
) -> Result<Option<(i64, i64)>> {
    let lock = if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql =
        format!("SELECT id, balance_fen FROM accounts WHERE person_id = $1 AND kind = $2{lock}");
    tx.query_opt(&sql, params![person_id, kind])?
        .map(|r| Ok((r.i64(0)?, r.i64(1)?)))
        .transpose()
}

/// The id of a posted transfer by its client id.
pub fn transfer_by_client_id(tx: &mut dyn Tx, client_id: &str) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT id FROM transfers WHERE client_id = $1",
        params![client_id],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

// ---------------------------------------------------------------------------------------------
// Heirs' claims

/// A heir's claim on a deceased person's medical personal account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeirClaimRow {
    pub id: i64,
    pub person_id: i64,
    pub heir_name: String,
    pub heir_doc_type: String,
    pub heir_doc_number: String,
    pub relationship: String,
    pub death_certificate_no: String,
    pub amount_fen: i64,
    pub transfer_id: Option<i64>,
    pub status: String,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub created_at: String,
    pub decided_at: Option<String>,
}

const CLAIM_COLUMNS: &str = "id, person_id, heir_name, heir_doc_type, heir_doc_number, \
    relationship, death_certificate_no, amount_fen, transfer_id, status, requested_by, \
    approved_by, created_at, decided_at";

fn claim(r: &Row) -> Result<HeirClaimRow> {
    Ok(HeirClaimRow {
        id: r.i64(0)?,
        person_id: r.i64(1)?,
        heir_name: r.text(2)?,
        heir_doc_type: r.text(3)?,
        heir_doc_number: r.text(4)?,
        relationship: r.text(5)?,
        death_certificate_no: r.text(6)?,
        amount_fen: r.i64(7)?,
        transfer_id: r.opt_i64(8)?,
        status: r.text(9)?,
        requested_by: r.text(10)?,
        approved_by: r.opt_text(11)?,
        created_at: r.text(12)?,
        decided_at: r.opt_text(13)?,
    })
}

/// Fields of a new claim (status `pending`).
pub struct NewHeirClaim<'a> {
    pub person_id: i64,
    pub heir_name: &'a str,
    pub heir_doc_type: &'a str,
    pub heir_doc_number: &'a str,
    pub relationship: &'a str,
    pub death_certificate_no: &'a str,
    pub amount_fen: i64,
    pub requested_by: &'a str,
    pub created_at: &'a str,
}

pub fn insert_heir_claim(tx: &mut dyn Tx, c: &NewHeirClaim<'_>) -> Result<i64> {
    tx.query_one(
        "INSERT INTO heir_claims (person_id, heir_name, heir_doc_type, heir_doc_number,
             relationship, death_certificate_no, amount_fen, status, requested_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) RETURNING id",
        params![
            c.person_id,
            c.heir_name,
            c.heir_doc_type,
            c.heir_doc_number,
            c.relationship,
            c.death_certificate_no,
            c.amount_fen,
            c.requested_by,
            c.created_at
        ],
        "heir claim",
    )?
    .i64(0)
}

/// A claim.
pub fn heir_claim(tx: &mut dyn Tx, id: i64) -> Result<Option<HeirClaimRow>> {
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM heir_claims WHERE id = $1");
    tx.query_opt(&sql, params![id])?
        .map(|r| claim(&r))
        .transpose()
}

/// A claim, locked for a change on PostgreSQL.
pub fn heir_claim_for_update(tx: &mut dyn Tx, id: i64) -> Result<Option<HeirClaimRow>> {
    let lock = if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM heir_claims WHERE id = $1{lock}");
    tx.query_opt(&sql, params![id])?
        .map(|r| claim(&r))
        .transpose()
}

/// Claims on a person's account, oldest first.
pub fn heir_claims_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<HeirClaimRow>> {
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM heir_claims WHERE person_id = $1 ORDER BY id");
    tx.query(&sql, params![person_id])?
        .iter()
        .map(claim)
        .collect()
}

/// Decides a claim: `status` (`approved`, `paid`, `rejected`), the approver, the amount paid
/// and its transfer.
pub fn decide_heir_claim(
    tx: &mut dyn Tx,
    id: i64,
    status: &str,
    approved_by: &str,
    amount_fen: i64,
    transfer_id: Option<i64>,
    at: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE heir_claims SET status = $1, approved_by = $2, amount_fen = $3, transfer_id = $4,
             decided_at = $5 WHERE id = $6",
        params![status, approved_by, amount_fen, transfer_id, at, id],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Bank API credentials and nonces

/// A bank's API credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankKeyRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub key_id: String,
    pub api_secret: String,
}

/// The bank owning an API key id.
pub fn bank_by_key_id(tx: &mut dyn Tx, key_id: &str) -> Result<Option<BankKeyRow>> {
    tx.query_opt(
        "SELECT id, code, name, key_id, api_secret FROM banks WHERE key_id = $1",
        params![key_id],
    )?
    .map(|r| {
        Ok(BankKeyRow {
            id: r.i64(0)?,
            code: r.text(1)?,
            name: r.text(2)?,
            key_id: r.text(3)?,
            api_secret: r.text(4)?,
        })
    })
    .transpose()
}

/// Every bank's API credentials (tests and the demo samples).
pub fn bank_keys(tx: &mut dyn Tx) -> Result<Vec<BankKeyRow>> {
    tx.query(
        "SELECT id, code, name, key_id, api_secret FROM banks ORDER BY code",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(BankKeyRow {
            id: r.i64(0)?,
            code: r.text(1)?,
            name: r.text(2)?,
            key_id: r.text(3)?,
            api_secret: r.text(4)?,
        })
    })
    .collect()
}
