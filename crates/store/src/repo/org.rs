//! Agencies, banks, designated institutions and staff.

use chrono::{DateTime, Utc};

use super::ts;
use crate::{Result, Row, Tx, params};

/// A service agency (card centre, service centre, bureau).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgencyRow {
    pub id: i64,
    pub code: String,
    pub region_code: String,
    pub name: String,
    pub kind: String,
    pub phone: String,
    pub address: String,
}

pub struct NewAgency<'a> {
    pub code: &'a str,
    pub region_code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
}

pub fn upsert_agency(tx: &mut dyn Tx, a: &NewAgency<'_>) -> Result<i64> {
    let r = tx.query_one(
        "INSERT INTO agencies (code, region_code, name, kind, phone, address)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, phone = excluded.phone,
             address = excluded.address, kind = excluded.kind
         RETURNING id",
        params![a.code, a.region_code, a.name, a.kind, a.phone, a.address],
        "agency",
    )?;
    r.i64(0)
}

fn agency(r: &Row) -> Result<AgencyRow> {
    Ok(AgencyRow {
        id: r.i64(0)?,
        code: r.text(1)?,
        region_code: r.text(2)?,
        name: r.text(3)?,
        kind: r.text(4)?,
        phone: r.text(5)?,
        address: r.text(6)?,
    })
}

/// Open agencies (a closed one is no longer listed), optionally only those whose region code
/// starts with `region_prefix`
/// (`511000` → Neijiang's city-level rows; `5110` → the city and its districts).
pub fn list_agencies(tx: &mut dyn Tx, region_prefix: Option<&str>) -> Result<Vec<AgencyRow>> {
    let prefix = format!("{}%", region_prefix.unwrap_or(""));
    tx.query(
        "SELECT id, code, region_code, name, kind, phone, address FROM agencies
         WHERE region_code LIKE $1 AND active = TRUE ORDER BY region_code, code",
        params![prefix],
    )?
    .iter()
    .map(agency)
    .collect()
}

/// A cooperating bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub hotline: String,
    pub key_id: String,
}

pub fn insert_bank(
    tx: &mut dyn Tx,
    code: &str,
    name: &str,
    hotline: &str,
    key_id: &str,
    secret: &str,
) -> Result<i64> {
    tx.query_one(
        "INSERT INTO banks (code, name, hotline, key_id, api_secret) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
        params![code, name, hotline, key_id, secret],
        "bank",
    )?
    .i64(0)
}

pub fn list_banks(tx: &mut dyn Tx) -> Result<Vec<BankRow>> {
    tx.query(
        "SELECT id, code, name, hotline, key_id FROM banks ORDER BY code",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(BankRow {
            id: r.i64(0)?,
            code: r.text(1)?,
            name: r.text(2)?,
            hotline: r.text(3)?,
            key_id: r.text(4)?,
        })
    })
    .collect()
}

/// A designated hospital or pharmacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: i64,
    pub region_code: String,
    pub key_id: String,
    pub active: bool,
}

pub struct NewInstitution<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub level: i64,
    pub region_code: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
    pub key_id: &'a str,
    pub secret: &'a str,
}

pub fn insert_institution(tx: &mut dyn Tx, i: &NewInstitution<'_>) -> Result<i64> {
    tx.query_one(
        "INSERT INTO institutions (code, name, kind, level, region_code, address, phone, key_id, api_secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        params![i.code, i.name, i.kind, i.level, i.region_code, i.address, i.phone, i.key_id, i.secret],
        "institution",
    )?
    .i64(0)
}

pub fn list_institutions(tx: &mut dyn Tx, region: Option<&str>) -> Result<Vec<InstitutionRow>> {
    tx.query(
        "SELECT id, code, name, kind, level, region_code, key_id, active FROM institutions
         WHERE ($1 = '' OR region_code = $1) ORDER BY code",
        params![region.unwrap_or("")],
    )?
    .iter()
    .map(|r| {
        Ok(InstitutionRow {
            id: r.i64(0)?,
            code: r.text(1)?,
            name: r.text(2)?,
            kind: r.text(3)?,
            level: r.i64(4)?,
            region_code: r.text(5)?,
            key_id: r.text(6)?,
            active: r.bool(7)?,
        })
    })
    .collect()
}

/// A staff user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub agency_id: Option<i64>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
}

pub struct NewStaff<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub agency_id: Option<i64>,
    pub must_change_password: bool,
}

pub fn insert_staff(tx: &mut dyn Tx, s: &NewStaff<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx.query_one(
        "INSERT INTO staff (username, display_name, password_hash, role, agency_id,
             must_change_password, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![
            s.username,
            s.display_name,
            s.password_hash,
            s.role,
            s.agency_id,
            s.must_change_password,
            ts(now)
        ],
        "staff",
    )?
    .i64(0)
}

pub fn staff_by_username(tx: &mut dyn Tx, username: &str) -> Result<Option<StaffRow>> {
    tx.query_opt(
        "SELECT id, username, display_name, password_hash, role, agency_id, disabled,
                must_change_password, failed_logins, locked_until
         FROM staff WHERE username = $1",
        params![username],
    )?
    .map(|r| {
        Ok(StaffRow {
            id: r.i64(0)?,
            username: r.text(1)?,
            display_name: r.text(2)?,
            password_hash: r.text(3)?,
            role: r.text(4)?,
            agency_id: r.opt_i64(5)?,
            disabled: r.bool(6)?,
            must_change_password: r.bool(7)?,
            failed_logins: r.i64(8)?,
            locked_until: r.opt_text(9)?,
        })
    })
    .transpose()
}

/// Records a failed login; returns the new count of consecutive failures.
pub fn record_login_failure(
    tx: &mut dyn Tx,
    staff_id: i64,
    locked_until: Option<&str>,
) -> Result<i64> {
    tx.execute(
        "UPDATE staff SET failed_logins = failed_logins + 1, locked_until = COALESCE($1, locked_until)
         WHERE id = $2",
        params![locked_until, staff_id],
    )?;
    tx.query_i64(
        "SELECT failed_logins FROM staff WHERE id = $1",
        params![staff_id],
    )
}

/// Clears the failure counter and any lock after a successful login or an unlock.
pub fn reset_login_failures(tx: &mut dyn Tx, staff_id: i64) -> Result<()> {
    tx.execute(
        "UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = $1",
        params![staff_id],
    )?;
    Ok(())
}

/// Sets a staff password hash and whether it must be changed at next login.
pub fn set_staff_password(
    tx: &mut dyn Tx,
    staff_id: i64,
    hash: &str,
    must_change: bool,
) -> Result<()> {
    tx.execute(
        "UPDATE staff SET password_hash = $1, must_change_password = $2 WHERE id = $3",
        params![hash, must_change, staff_id],
    )?;
    Ok(())
}

/// The code of an agency by id.
pub fn agency_code(tx: &mut dyn Tx, id: i64) -> Result<Option<String>> {
    tx.query_opt("SELECT code FROM agencies WHERE id = $1", params![id])?
        .map(|r| r.text(0))
        .transpose()
}

/// A console/API session (only the hash of its token is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub staff_id: i64,
    pub csrf_token: String,
    pub expires_at: String,
    pub last_seen_at: String,
}

pub fn insert_session(
    tx: &mut dyn Tx,
    token_hash: &str,
    staff_id: i64,
    csrf: &str,
    now: &str,
    expires_at: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $4)",
        params![token_hash, staff_id, csrf, now, expires_at],
    )?;
    Ok(())
}

pub fn session_by_hash(tx: &mut dyn Tx, token_hash: &str) -> Result<Option<SessionRow>> {
    tx.query_opt(
        "SELECT staff_id, csrf_token, expires_at, last_seen_at FROM staff_sessions WHERE token_hash = $1",
        params![token_hash],
    )?
    .map(|r| {
        Ok(SessionRow {
            staff_id: r.i64(0)?,
            csrf_token: r.text(1)?,
            expires_at: r.text(2)?,
            last_seen_at: r.text(3)?,
        })
    })
    .transpose()
}

pub fn touch_session(tx: &mut dyn Tx, token_hash: &str, now: &str) -> Result<()> {
    tx.execute(
        "UPDATE staff_sessions SET last_seen_at = $1 WHERE token_hash = $2",
        params![now, token_hash],
    )?;
    Ok(())
}

pub fn delete_session(tx: &mut dyn Tx, token_hash: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM staff_sessions WHERE token_hash = $1",
        params![token_hash],
    )?;
    Ok(())
}

/// Ends every session of a staff user (password change, disabling).
pub fn delete_sessions_of(tx: &mut dyn Tx, staff_id: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM staff_sessions WHERE staff_id = $1",
        params![staff_id],
    )?;
    Ok(())
}

pub fn staff_by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<StaffRow>> {
    let username = tx.query_opt("SELECT username FROM staff WHERE id = $1", params![id])?;
    match username {
        Some(r) => staff_by_username(tx, &r.text(0)?),
        None => Ok(None),
    }
}
