//! Persons, employers, employment, enrolments, contributions and benefits.

use chrono::{DateTime, Utc};

use super::ts;
use crate::{Result, Row, Tx, params};

/// A person as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: i64,
    pub doc_type: String,
    pub doc_number: String,
    pub name: String,
    pub gender: String,
    pub birth_date: String,
    pub ethnicity: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub life_status: String,
    pub life_status_since: Option<String>,
    pub query_password_hash: String,
    pub query_password_changed: bool,
    pub query_failed: i64,
    pub query_locked_until: Option<String>,
    pub created_at: String,
}

/// Columns of `persons` in [`PersonRow`] order, for SELECTs.
pub const PERSON_COLUMNS: &str = "id, doc_type, doc_number, name, gender, birth_date, ethnicity, \
    phone, address, region_code, life_status, life_status_since, query_password_hash, \
    query_password_changed, query_failed, query_locked_until, created_at";

fn person(r: &Row) -> Result<PersonRow> {
    Ok(PersonRow {
        id: r.i64(0)?,
        doc_type: r.text(1)?,
        doc_number: r.text(2)?,
        name: r.text(3)?,
        gender: r.text(4)?,
        birth_date: r.text(5)?,
        ethnicity: r.text(6)?,
        phone: r.text(7)?,
        address: r.text(8)?,
        region_code: r.text(9)?,
        life_status: r.text(10)?,
        life_status_since: r.opt_text(11)?,
        query_password_hash: r.text(12)?,
        query_password_changed: r.bool(13)?,
        query_failed: r.i64(14)?,
        query_locked_until: r.opt_text(15)?,
        created_at: r.text(16)?,
    })
}

/// Fields of a new person.
pub struct NewPerson<'a> {
    pub doc_type: &'a str,
    pub doc_number: &'a str,
    pub name: &'a str,
    pub gender: &'a str,
    pub birth_date: &'a str,
    pub ethnicity: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
    pub region_code: &'a str,
    pub query_password_hash: &'a str,
}

pub fn insert_person(tx: &mut dyn Tx, p: &NewPerson<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx.query_one(
        "INSERT INTO persons (doc_type, doc_number, name, gender, birth_date, ethnicity, phone,
             address, region_code, query_password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        params![
            p.doc_type,
            p.doc_number,
            p.name,
            p.gender,
            p.birth_date,
            p.ethnicity,
            p.phone,
            p.address,
            p.region_code,
            p.query_password_hash,
            ts(now)
        ],
        "person",
    )?
    .i64(0)
}

pub fn person_by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE id = $1");
    tx.query_opt(&sql, params![id])?
        .map(|r| person(&r))
        .transpose()
}

pub fn person_by_document(
    tx: &mut dyn Tx,
    doc_type: &str,
    number: &str,
) -> Result<Option<PersonRow>> {
    let sql =
        format!("SELECT {PERSON_COLUMNS} FROM persons WHERE doc_type = $1 AND doc_number = $2");
    tx.query_opt(&sql, params![doc_type, number])?
        .map(|r| person(&r))
        .transpose()
}

/// Persons whose name starts with `prefix`, at most `limit`.
pub fn persons_by_name(tx: &mut dyn Tx, prefix: &str, limit: i64) -> Result<Vec<PersonRow>> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM persons WHERE name >= $1 AND name < $2 ORDER BY name, id LIMIT $3"
    );
    // Prefix range on the name index: [prefix, prefix + U+FFFF).
    let upper = format!("{prefix}\u{ffff}");
    tx.query(&sql, params![prefix, upper, limit])?
        .iter()
        .map(person)
        .collect()
}

pub fn count_persons(tx: &mut dyn Tx) -> Result<i64> {
    tx.query_i64("SELECT count(*) FROM persons", &[])
}

/// An employer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployerRow {
    pub id: i64,
    pub employer_no: String,
    pub credit_code: String,
    pub credit_code_override_by: Option<String>,
    pub name: String,
    pub region_code: String,
}

pub fn employer_by_no(tx: &mut dyn Tx, employer_no: &str) -> Result<Option<EmployerRow>> {
    tx.query_opt(
        "SELECT id, employer_no, credit_code, credit_code_override_by, name, region_code
         FROM employers WHERE employer_no = $1 OR credit_code = $1",
        params![employer_no],
    )?
    .map(|r| {
        Ok(EmployerRow {
            id: r.i64(0)?,
            employer_no: r.text(1)?,
            credit_code: r.text(2)?,
            credit_code_override_by: r.opt_text(3)?,
            name: r.text(4)?,
            region_code: r.text(5)?,
        })
    })
    .transpose()
}

/// One month's contribution row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionRow {
    pub month: String,
    pub employer_id: Option<i64>,
    pub base_fen: i64,
    pub pension_employer_fen: i64,
    pub pension_personal_fen: i64,
    pub medical_employer_fen: i64,
    pub medical_personal_fen: i64,
    pub unemployment_employer_fen: i64,
    pub unemployment_personal_fen: i64,
    pub injury_employer_fen: i64,
    pub maternity_employer_fen: i64,
}

pub fn contributions_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<ContributionRow>> {
    tx.query(
        "SELECT month, employer_id, base_fen, pension_employer_fen, pension_personal_fen,
                medical_employer_fen, medical_personal_fen, unemployment_employer_fen,
                unemployment_personal_fen, injury_employer_fen, maternity_employer_fen
         FROM contributions WHERE person_id = $1 ORDER BY month",
        params![person_id],
    )?
    .iter()
    .map(|r| {
        Ok(ContributionRow {
            month: r.text(0)?,
            employer_id: r.opt_i64(1)?,
            base_fen: r.i64(2)?,
            pension_employer_fen: r.i64(3)?,
            pension_personal_fen: r.i64(4)?,
            medical_employer_fen: r.i64(5)?,
            medical_personal_fen: r.i64(6)?,
            unemployment_employer_fen: r.i64(7)?,
            unemployment_personal_fen: r.i64(8)?,
            injury_employer_fen: r.i64(9)?,
            maternity_employer_fen: r.i64(10)?,
        })
    })
    .collect()
}

/// A benefit being paid or recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub start_month: String,
    pub end_month: Option<String>,
    pub monthly_fen: i64,
    pub lump_sum_fen: i64,
    pub detail_json: String,
}

pub fn benefits_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<BenefitRow>> {
    tx.query(
        "SELECT id, kind, status, start_month, end_month, monthly_fen, lump_sum_fen, detail_json
         FROM benefits WHERE person_id = $1 ORDER BY start_month, id",
        params![person_id],
    )?
    .iter()
    .map(|r| {
        Ok(BenefitRow {
            id: r.i64(0)?,
            kind: r.text(1)?,
            status: r.text(2)?,
            start_month: r.text(3)?,
            end_month: r.opt_text(4)?,
            monthly_fen: r.i64(5)?,
            lump_sum_fen: r.i64(6)?,
            detail_json: r.text(7)?,
        })
    })
    .collect()
}

/// Fields of a new employer.
pub struct NewEmployer<'a> {
    pub credit_code: &'a str,
    pub credit_code_override_by: Option<&'a str>,
    pub name: &'a str,
    pub region_code: &'a str,
    pub address: &'a str,
}

/// Inserts an employer, numbering it `<region><6-digit sequence>` within its region.
pub fn insert_employer(
    tx: &mut dyn Tx,
    e: &NewEmployer<'_>,
    now: DateTime<Utc>,
) -> Result<EmployerRow> {
    let last = tx.query_opt(
        "SELECT employer_no FROM employers WHERE employer_no LIKE $1 ORDER BY employer_no DESC LIMIT 1",
        params![format!("{}%", e.region_code)],
    )?;
    let next = match last {
        Some(r) => {
            r.text(0)?
                .get(6..)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
                + 1
        }
        None => 1,
    };
    let employer_no = format!("{}{:06}", e.region_code, next);
    let id = tx
        .query_one(
            "INSERT INTO employers (employer_no, credit_code, credit_code_override_by, name,
                 region_code, address, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            params![
                employer_no.as_str(),
                e.credit_code,
                e.credit_code_override_by,
                e.name,
                e.region_code,
                e.address,
                ts(now)
            ],
            "employer",
        )?
        .i64(0)?;
    Ok(EmployerRow {
        id,
        employer_no,
        credit_code: e.credit_code.to_string(),
        credit_code_override_by: e.credit_code_override_by.map(str::to_string),
        name: e.name.to_string(),
        region_code: e.region_code.to_string(),
    })
}
