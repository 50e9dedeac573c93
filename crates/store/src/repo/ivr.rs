//! The 12333 phone channel: the call log (`ivr_calls`), the IVR platforms allowed to use the
//! HTTP session API (`ivr_platforms`), and the read-only look-ups the phone menu needs that no
//! other channel has (cards by the last characters of their number, unemployment contribution
//! months, work-injury records, an employer's medical contributions).

use crate::repo::cards::{CARD_COLUMNS, CardRow, parse_card_row};
use crate::{Result, Tx, Value, params};

/// Opens a call record; returns its id.
pub fn insert_call(tx: &mut dyn Tx, started_at: &str, caller_hash: &str) -> Result<i64> {
    tx.query_one(
        "INSERT INTO ivr_calls (started_at, caller_hash) VALUES ($1, $2) RETURNING id",
        params![started_at, caller_hash],
        "ivr call",
    )?
    .i64(0)
}

/// Closes a call record with the deepest menu reached and the outcome. A call already closed
/// keeps its first ending (a late hang-up after a timeout does not overwrite it).
pub fn finish_call(
    tx: &mut dyn Tx,
    id: i64,
    ended_at: &str,
    menu: &str,
    outcome: &str,
) -> Result<bool> {
    let n = tx.execute(
        "UPDATE ivr_calls SET ended_at = $1, menu = $2, outcome = $3
         WHERE id = $4 AND ended_at IS NULL",
        params![ended_at, menu, outcome, id],
    )?;
    Ok(n == 1)
}

/// One call record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    pub id: i64,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub caller_hash: String,
    pub menu: String,
    pub outcome: String,
}

/// A call record by id.
pub fn call_by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<CallRow>> {
    tx.query_opt(
        "SELECT id, started_at, ended_at, caller_hash, menu, outcome FROM ivr_calls WHERE id = $1",
        params![id],
    )?
    .map(|r| {
        Ok(CallRow {
            id: r.i64(0)?,
            started_at: r.text(1)?,
            ended_at: r.opt_text(2)?,
            caller_hash: r.text(3)?,
            menu: r.text(4)?,
            outcome: r.text(5)?,
        })
    })
    .transpose()
}

/// Calls per outcome since an instant (monitoring).
pub fn count_calls_by_outcome(tx: &mut dyn Tx, since: &str) -> Result<Vec<(String, i64)>> {
    tx.query(
        "SELECT outcome, count(*) FROM ivr_calls WHERE started_at >= $1 GROUP BY outcome
         ORDER BY outcome",
        params![since],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.i64(1)?)))
    .collect()
}

/// The cards whose number is one of `numbers` (each an exact, index-served match).
pub fn cards_by_numbers(tx: &mut dyn Tx, numbers: &[String]) -> Result<Vec<CardRow>> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=numbers.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE card_no IN ({}) ORDER BY id",
        marks.join(", ")
    );
    let values: Vec<Value> = numbers.iter().map(|n| Value::Text(n.clone())).collect();
    tx.query(&sql, &values)?
        .iter()
        .map(parse_card_row)
        .collect()
}

/// The months (`YYYY-MM`, newest first) in which unemployment insurance was paid for a person.
pub fn unemployment_paid_months(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<String>> {
    tx.query(
        "SELECT month FROM contributions
         WHERE person_id = $1 AND paid = $2
           AND unemployment_employer_fen + unemployment_personal_fen > 0
         ORDER BY month DESC",
        params![person_id, true],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// A work-injury or work-death case (工伤认定) of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjuryRow {
    /// `injury` or `death`.
    pub kind: String,
    pub occurred_on: String,
    pub recognised_on: Option<String>,
    pub disability_grade: Option<i64>,
}

/// A person's work-injury and work-death cases, oldest first.
pub fn injury_cases(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<InjuryRow>> {
    tx.query(
        "SELECT kind, occurred_on, recognised_on, disability_grade FROM injury_cases
         WHERE person_id = $1 ORDER BY occurred_on, id",
        params![person_id],
    )?
    .iter()
    .map(|r| {
        Ok(InjuryRow {
            kind: r.text(0)?,
            occurred_on: r.text(1)?,
            recognised_on: r.opt_text(2)?,
            disability_grade: r.opt_i64(3)?,
        })
    })
    .collect()
}

/// An employer's medical insurance contributions of one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployerMedicalRow {
    pub month: String,
    /// Insured persons the employer contributed for.
    pub persons: i64,
    pub employer_fen: i64,
    pub personal_fen: i64,
}

/// The employer's medical contributions of its latest contribution month, if it has any.
pub fn employer_medical_latest(
    tx: &mut dyn Tx,
    employer_id: i64,
) -> Result<Option<EmployerMedicalRow>> {
    tx.query_opt(
        "SELECT month, count(*), CAST(sum(medical_employer_fen) AS BIGINT),
                CAST(sum(medical_personal_fen) AS BIGINT)
         FROM contributions
         WHERE employer_id = $1
           AND month = (SELECT max(month) FROM contributions WHERE employer_id = $1)
         GROUP BY month",
        params![employer_id],
    )?
    .map(|r| {
        Ok(EmployerMedicalRow {
            month: r.text(0)?,
            persons: r.i64(1)?,
            employer_fen: r.i64(2)?,
            personal_fen: r.i64(3)?,
        })
    })
    .transpose()
}

/// An IVR platform's API credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub key_id: String,
    pub api_secret: String,
    pub active: bool,
}

/// Registers an IVR platform; returns its id. A duplicate code or key id is a constraint error.
pub fn insert_platform(
    tx: &mut dyn Tx,
    code: &str,
    name: &str,
    key_id: &str,
    api_secret: &str,
    created_at: &str,
) -> Result<i64> {
    tx.query_one(
        "INSERT INTO ivr_platforms (code, name, key_id, api_secret, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params![code, name, key_id, api_secret, created_at],
        "ivr platform",
    )?
    .i64(0)
}

/// An IVR platform by its key id.
pub fn platform_by_key_id(tx: &mut dyn Tx, key_id: &str) -> Result<Option<PlatformRow>> {
    tx.query_opt(
        "SELECT id, code, name, key_id, api_secret, active FROM ivr_platforms WHERE key_id = $1",
        params![key_id],
    )?
    .map(|r| {
        Ok(PlatformRow {
            id: r.i64(0)?,
            code: r.text(1)?,
            name: r.text(2)?,
            key_id: r.text(3)?,
            api_secret: r.text(4)?,
            active: r.bool(5)?,
        })
    })
    .transpose()
}
