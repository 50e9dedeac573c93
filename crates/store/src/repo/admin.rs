//! The administrator's tables: staff accounts, agencies, designated institutions and banks
//! (with API key rotation), region policy history, the working-day calendar, and a content
//! digest of the whole database (backup checks).

use sha2::{Digest, Sha256};

use super::org::NewAgency;
use crate::{Backend, Result, Row, StoreError, Tx, Value, params};

/// A staff account as the administrator lists it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffListRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub agency_code: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub created_at: String,
}

/// Every staff account, by username.
pub fn list_staff(tx: &mut dyn Tx) -> Result<Vec<StaffListRow>> {
    tx.query(
        "SELECT s.id, s.username, s.display_name, s.role, a.code, s.disabled,
                s.must_change_password, s.failed_logins, s.locked_until, s.created_at
         FROM staff s LEFT JOIN agencies a ON a.id = s.agency_id ORDER BY s.username",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(StaffListRow {
            id: r.i64(0)?,
            username: r.text(1)?,
            display_name: r.text(2)?,
            role: r.text(3)?,
            agency_code: r.opt_text(4)?,
            disabled: r.bool(5)?,
            must_change_password: r.bool(6)?,
            failed_logins: r.i64(7)?,
            locked_until: r.opt_text(8)?,
            created_at: r.text(9)?,
        })
    })
    .collect()
}

/// Changes a staff member's name, role and agency.
pub fn update_staff(
    tx: &mut dyn Tx,
    id: i64,
    display_name: &str,
    role: &str,
    agency_id: Option<i64>,
) -> Result<()> {
    tx.execute(
        "UPDATE staff SET display_name = $1, role = $2, agency_id = $3 WHERE id = $4",
        params![display_name, role, agency_id, id],
    )?;
    Ok(())
}

/// Disables or re-enables a staff account.
pub fn set_staff_disabled(tx: &mut dyn Tx, id: i64, disabled: bool) -> Result<()> {
    tx.execute(
        "UPDATE staff SET disabled = $1 WHERE id = $2",
        params![disabled, id],
    )?;
    Ok(())
}

/// Sets whether the member must change the password at the next login.
pub fn set_must_change_password(tx: &mut dyn Tx, id: i64, must: bool) -> Result<()> {
    tx.execute(
        "UPDATE staff SET must_change_password = $1 WHERE id = $2",
        params![must, id],
    )?;
    Ok(())
}

/// Counts the active administrators other than `except_id`.
pub fn other_active_admins(tx: &mut dyn Tx, except_id: i64) -> Result<i64> {
    tx.query_i64(
        "SELECT count(*) FROM staff WHERE role = 'admin' AND disabled = $1 AND id <> $2",
        params![false, except_id],
    )
}

/// An agency with everything the administrator edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyAdminRow {
    pub id: i64,
    pub code: String,
    pub region_code: String,
    pub name: String,
    pub kind: String,
    pub phone: String,
    pub address: String,
    pub active: bool,
    /// Staff accounts attached to it.
    pub staff: i64,
}

const AGENCY_COLS: &str =
    "a.id, a.code, a.region_code, a.name, a.kind, a.phone, a.address, a.active,
    (SELECT count(*) FROM staff s WHERE s.agency_id = a.id)";

fn agency_row(r: &Row) -> Result<AgencyAdminRow> {
    Ok(AgencyAdminRow {
        id: r.i64(0)?,
        code: r.text(1)?,
        region_code: r.text(2)?,
        name: r.text(3)?,
        kind: r.text(4)?,
        phone: r.text(5)?,
        address: r.text(6)?,
        active: r.bool(7)?,
        staff: r.i64(8)?,
    })
}

/// Every agency, open or closed, by region and code.
pub fn list_agencies_all(tx: &mut dyn Tx) -> Result<Vec<AgencyAdminRow>> {
    tx.query(
        &format!("SELECT {AGENCY_COLS} FROM agencies a ORDER BY a.region_code, a.code"),
        &[],
    )?
    .iter()
    .map(agency_row)
    .collect()
}

/// One agency by code.
pub fn agency_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<AgencyAdminRow>> {
    tx.query_opt(
        &format!("SELECT {AGENCY_COLS} FROM agencies a WHERE a.code = $1"),
        params![code],
    )?
    .map(|r| agency_row(&r))
    .transpose()
}

/// Inserts a new agency (a taken code is a constraint error).
pub fn insert_agency(tx: &mut dyn Tx, a: &NewAgency<'_>) -> Result<i64> {
    tx.query_one(
        "INSERT INTO agencies (code, region_code, name, kind, phone, address)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![a.code, a.region_code, a.name, a.kind, a.phone, a.address],
        "agency",
    )?
    .i64(0)
}

/// Updates an agency's data (the code never changes).
pub fn update_agency(tx: &mut dyn Tx, id: i64, a: &NewAgency<'_>) -> Result<()> {
    tx.execute(
        "UPDATE agencies SET region_code = $1, name = $2, kind = $3, phone = $4, address = $5
         WHERE id = $6",
        params![a.region_code, a.name, a.kind, a.phone, a.address, id],
    )?;
    Ok(())
}

/// Opens or closes an agency.
pub fn set_agency_active(tx: &mut dyn Tx, id: i64, active: bool) -> Result<()> {
    tx.execute(
        "UPDATE agencies SET active = $1 WHERE id = $2",
        params![active, id],
    )?;
    Ok(())
}

/// The tables holding API callers with rotating keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHolder {
    Institution,
    Bank,
}

impl KeyHolder {
    fn table(self) -> &'static str {
        match self {
            KeyHolder::Institution => "institutions",
            KeyHolder::Bank => "banks",
        }
    }
}

/// Replaces an API secret: the current one becomes the previous one, valid until
/// `prev_valid_until` (RFC 3339 UTC), and `new_secret` becomes current.
pub fn rotate_key(
    tx: &mut dyn Tx,
    holder: KeyHolder,
    id: i64,
    new_secret: &str,
    prev_valid_until: &str,
) -> Result<()> {
    let n = tx.execute(
        &format!(
            "UPDATE {} SET prev_api_secret = api_secret, prev_valid_until = $1, api_secret = $2
             WHERE id = $3",
            holder.table()
        ),
        params![prev_valid_until, new_secret, id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("{} #{id}", holder.table())));
    }
    Ok(())
}

/// The previous API secret of a key id (bank or institution) while its grace period runs
/// (`prev_valid_until` after `now`, both RFC 3339 UTC).
pub fn previous_secret(tx: &mut dyn Tx, key_id: &str, now: &str) -> Result<Option<String>> {
    tx.query_opt(
        "SELECT prev_api_secret FROM banks
         WHERE key_id = $1 AND prev_api_secret IS NOT NULL AND prev_valid_until > $2
         UNION ALL
         SELECT prev_api_secret FROM institutions
         WHERE key_id = $1 AND prev_api_secret IS NOT NULL AND prev_valid_until > $2",
        params![key_id, now],
    )?
    .map(|r| r.text(0))
    .transpose()
}

/// A designated institution with everything the administrator edits (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionAdminRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: i64,
    pub region_code: String,
    pub address: String,
    pub phone: String,
    pub key_id: String,
    pub active: bool,
    pub prev_valid_until: Option<String>,
}

const INSTITUTION_COLS: &str =
    "id, code, name, kind, level, region_code, address, phone, key_id, active, prev_valid_until";

fn institution_row(r: &Row) -> Result<InstitutionAdminRow> {
    Ok(InstitutionAdminRow {
        id: r.i64(0)?,
        code: r.text(1)?,
        name: r.text(2)?,
        kind: r.text(3)?,
        level: r.i64(4)?,
        region_code: r.text(5)?,
        address: r.text(6)?,
        phone: r.text(7)?,
        key_id: r.text(8)?,
        active: r.bool(9)?,
        prev_valid_until: r.opt_text(10)?,
    })
}

/// Every designated institution, by code.
pub fn list_institutions_all(tx: &mut dyn Tx) -> Result<Vec<InstitutionAdminRow>> {
    tx.query(
        &format!("SELECT {INSTITUTION_COLS} FROM institutions ORDER BY code"),
        &[],
    )?
    .iter()
    .map(institution_row)
    .collect()
}

/// One institution by code.
pub fn institution_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<InstitutionAdminRow>> {
    tx.query_opt(
        &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE code = $1"),
        params![code],
    )?
    .map(|r| institution_row(&r))
    .transpose()
}

/// Updates an institution's data (code, key id and region never change).
pub fn update_institution(
    tx: &mut dyn Tx,
    id: i64,
    name: &str,
    level: i64,
    address: &str,
    phone: &str,
    active: bool,
) -> Result<()> {
    tx.execute(
        "UPDATE institutions SET name = $1, level = $2, address = $3, phone = $4, active = $5
         WHERE id = $6",
        params![name, level, address, phone, active, id],
    )?;
    Ok(())
}

/// A cooperating bank as the administrator sees it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAdminRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub hotline: String,
    pub key_id: String,
    pub prev_valid_until: Option<String>,
}

fn bank_row(r: &Row) -> Result<BankAdminRow> {
    Ok(BankAdminRow {
        id: r.i64(0)?,
        code: r.text(1)?,
        name: r.text(2)?,
        hotline: r.text(3)?,
        key_id: r.text(4)?,
        prev_valid_until: r.opt_text(5)?,
    })
}

/// Every bank, by code.
pub fn list_banks_all(tx: &mut dyn Tx) -> Result<Vec<BankAdminRow>> {
    tx.query(
        "SELECT id, code, name, hotline, key_id, prev_valid_until FROM banks ORDER BY code",
        &[],
    )?
    .iter()
    .map(bank_row)
    .collect()
}

/// One bank by code.
pub fn bank_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<BankAdminRow>> {
    tx.query_opt(
        "SELECT id, code, name, hotline, key_id, prev_valid_until FROM banks WHERE code = $1",
        params![code],
    )?
    .map(|r| bank_row(&r))
    .transpose()
}

/// Updates a bank's name and hotline.
pub fn update_bank(tx: &mut dyn Tx, id: i64, name: &str, hotline: &str) -> Result<()> {
    tx.execute(
        "UPDATE banks SET name = $1, hotline = $2 WHERE id = $3",
        params![name, hotline, id],
    )?;
    Ok(())
}

/// One stored version of a region's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRow {
    pub region_code: String,
    pub effective_from: String,
    pub policy_json: String,
    pub created_at: String,
    pub created_by: String,
}

/// Every policy version of a region, newest effective date first.
pub fn policy_history(tx: &mut dyn Tx, region: &str) -> Result<Vec<PolicyVersionRow>> {
    tx.query(
        "SELECT region_code, effective_from, policy_json, created_at, created_by
         FROM region_policies WHERE region_code = $1 ORDER BY effective_from DESC",
        params![region],
    )?
    .iter()
    .map(|r| {
        Ok(PolicyVersionRow {
            region_code: r.text(0)?,
            effective_from: r.text(1)?,
            policy_json: r.text(2)?,
            created_at: r.text(3)?,
            created_by: r.text(4)?,
        })
    })
    .collect()
}

/// A day of the working-day calendar: `holiday` or `workday` (a weekend day worked, 调休).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDayRow {
    pub day: String,
    pub kind: String,
    pub name: String,
}

/// The calendar's entries between two days inclusive (`YYYY-MM-DD`).
pub fn calendar_days(tx: &mut dyn Tx, from: &str, to: &str) -> Result<Vec<CalendarDayRow>> {
    tx.query(
        "SELECT day, kind, name FROM calendar_days WHERE day >= $1 AND day <= $2 ORDER BY day",
        params![from, to],
    )?
    .iter()
    .map(|r| {
        Ok(CalendarDayRow {
            day: r.text(0)?,
            kind: r.text(1)?,
            name: r.text(2)?,
        })
    })
    .collect()
}

/// Removes a day's entry (it becomes an ordinary day again); the number of rows removed.
pub fn delete_calendar_day(tx: &mut dyn Tx, day: &str) -> Result<u64> {
    tx.execute("DELETE FROM calendar_days WHERE day = $1", params![day])
}

/// How many persons the database holds; 0 when it has no schema yet.
pub fn persons_if_any(tx: &mut dyn Tx) -> Result<i64> {
    let sql = match tx.backend() {
        Backend::Sqlite => {
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'persons'"
        }
        Backend::Postgres => {
            "SELECT count(*) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name = 'persons'"
        }
    };
    if tx.query_i64(sql, &[])? == 0 {
        return Ok(0);
    }
    tx.query_i64("SELECT count(*) FROM persons", &[])
}

/// One table's row count and content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub table: String,
    pub rows: i64,
    /// Hex SHA-256 over every row (sorted by all columns), values typed and length-prefixed.
    pub sha256: String,
}

/// Row count and content hash of every table, by name: two databases with equal digests hold
/// the same data. Reads every row: meant for backups and tests, not for big live databases.
pub fn table_digests(tx: &mut dyn Tx) -> Result<Vec<TableDigest>> {
    let names_sql = match tx.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
             ORDER BY table_name"
        }
    };
    let names: Vec<String> = tx
        .query(names_sql, &[])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let ncols = tx.query(&format!("SELECT * FROM \"{name}\" LIMIT 1"), &[])?;
        let rows = if let Some(first) = ncols.first() {
            let order: Vec<String> = (1..=first.len()).map(|i| i.to_string()).collect();
            tx.query(
                &format!("SELECT * FROM \"{name}\" ORDER BY {}", order.join(", ")),
                &[],
            )?
        } else {
            Vec::new()
        };
        let mut h = Sha256::new();
        for row in &rows {
            for v in &row.0 {
                match v {
                    Value::Null => h.update(b"N"),
                    Value::Int(i) => {
                        h.update(b"I");
                        h.update(i.to_be_bytes());
                    }
                    Value::Bool(b) => h.update(if *b { b"T" } else { b"F" }),
                    Value::Text(s) => {
                        h.update(b"S");
                        h.update((s.len() as u64).to_be_bytes());
                        h.update(s.as_bytes());
                    }
                    Value::Bytes(b) => {
                        h.update(b"B");
                        h.update((b.len() as u64).to_be_bytes());
                        h.update(b);
                    }
                }
            }
            h.update(b"\n");
        }
        let sha256 = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        out.push(TableDigest {
            table: name,
            rows: rows.len() as i64,
            sha256,
        });
    }
    Ok(out)
}
