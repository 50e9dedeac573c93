//! The administrator's use cases (admin role only, every change audited in its own
//! transaction): staff accounts ([`staff`]), agencies ([`agencies`]), designated institutions
//! and their API keys ([`institutions`]), cooperating banks ([`banks`]), region policies with
//! their history ([`policies`]), the working-day calendar ([`calendar`]); and operations on
//! the database itself (migrations, below).

pub mod agencies;
pub mod banks;
pub mod calendar;
pub mod institutions;
pub mod policies;
pub mod staff;

use serde::Serialize;
use sscard_store::{OpenOptions, Store};

use crate::error::{ErrorKind, ServiceError};

/// One schema migration and whether it is applied.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MigrationInfo {
    pub version: u32,
    pub name: String,
    /// When it was applied (UTC), or `None` when pending.
    pub applied_at: Option<String>,
}

/// Lists the migrations of the database at `db_url` without applying any.
pub fn migration_status(db_url: &str) -> Result<Vec<MigrationInfo>, ServiceError> {
    let store = Store::open_with(
        db_url,
        &OpenOptions {
            pool_size: 1,
            migrate: false,
        },
    )
    .map_err(|e| {
        ServiceError::new(
            ErrorKind::Unavailable,
            "DB_OPEN",
            format!("无法打开数据库:{e}"),
            format!("Cannot open the database: {e}"),
        )
    })?;
    Ok(store
        .migration_status()?
        .into_iter()
        .map(|m| MigrationInfo {
            version: m.version,
            name: m.name.to_string(),
            applied_at: m.applied_at,
        })
        .collect())
}

/// Refuses unless the actor is an administrator (`FORBIDDEN`).
pub(crate) fn require_admin(actor: &crate::audit::Actor) -> Result<(), ServiceError> {
    crate::access::require(actor, &[crate::access::ADMIN])
}

/// A `BadRequest` error with a code.
pub(crate) fn bad(
    code: &'static str,
    zh: impl Into<String>,
    en: impl Into<String>,
) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

/// Checks a required text field: trimmed, not empty, at most `max` characters.
pub(crate) fn required<'a>(
    code: &'static str,
    label_zh: &str,
    label_en: &str,
    value: &'a str,
    max: usize,
) -> Result<&'a str, ServiceError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(bad(
            code,
            format!("{label_zh}不能为空,且不超过 {max} 个字符"),
            format!("{label_en} is required (at most {max} characters)"),
        ));
    }
    Ok(v)
}

/// A new random API secret (256 bits, hex).
pub(crate) fn new_api_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// A freshly issued API key: the secret is shown once and never again.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IssuedKey {
    pub key_id: String,
    pub secret: String,
    /// Until when the previous secret is still accepted (RFC 3339 UTC), after a rotation.
    pub previous_valid_until: Option<String>,
}

/// Longest grace period for a rotated key's previous secret (30 days).
pub const MAX_KEY_GRACE_HOURS: i64 = 720;

/// Checks a grace period in hours (0 to [`MAX_KEY_GRACE_HOURS`]); `KEY_GRACE_INVALID`.
pub(crate) fn check_grace(hours: i64) -> Result<chrono::Duration, ServiceError> {
    if !(0..=MAX_KEY_GRACE_HOURS).contains(&hours) {
        return Err(bad(
            "KEY_GRACE_INVALID",
            format!("旧密钥宽限期须在 0 到 {MAX_KEY_GRACE_HOURS} 小时之间"),
            format!("The grace period of the old key must be 0 to {MAX_KEY_GRACE_HOURS} hours"),
        ));
    }
    Ok(chrono::Duration::hours(hours))
}

/// Rows of one table (backup and restore reports).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableRows {
    pub table: String,
    pub rows: i64,
    /// Hex SHA-256 of the table's content (equal content, equal hash).
    pub sha256: String,
}

fn open_plain(db_url: &str) -> Result<Store, ServiceError> {
    Store::open_with(
        db_url,
        &OpenOptions {
            pool_size: 1,
            migrate: false,
        },
    )
    .map_err(|e| {
        ServiceError::new(
            ErrorKind::Unavailable,
            "DB_OPEN",
            format!("无法打开数据库:{e}"),
            format!("Cannot open the database: {e}"),
        )
    })
}

fn is_postgres(db_url: &str) -> bool {
    db_url.starts_with("postgres://") || db_url.starts_with("postgresql://")
}

/// `BACKUP_POSTGRES`: PostgreSQL is backed up with its own tools.
fn postgres_tools(what: &str) -> ServiceError {
    bad(
        "BACKUP_POSTGRES",
        format!(
            "PostgreSQL 数据库请使用 PostgreSQL 自带工具{what}:pg_dump --format=custom --file=FILE URL / pg_restore --clean --dbname=URL FILE(见 docs/deployment.md)"
        ),
        format!(
            "PostgreSQL databases are {what} with PostgreSQL's own tools: pg_dump --format=custom --file=FILE URL, and pg_restore --clean --dbname=URL FILE (see docs/deployment.md)"
        ),
    )
}

/// Writes an online backup of the SQLite database at `db_url` to the new file `out` while
/// servers keep using the database (one consistent snapshot). Returns the file's size in
/// bytes. Errors: `BACKUP_POSTGRES`, `DB_OPEN`, `BACKUP_EXISTS`, `BACKUP_FAILED`.
pub fn backup(db_url: &str, out: &std::path::Path) -> Result<u64, ServiceError> {
    if is_postgres(db_url) {
        return Err(postgres_tools("backed up"));
    }
    if out.exists() {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            "BACKUP_EXISTS",
            format!("{} 已存在,备份不会覆盖已有文件", out.display()),
            format!("{} exists: a backup never overwrites a file", out.display()),
        ));
    }
    let store = open_plain(db_url)?;
    store.backup_to(out).map_err(|e| {
        ServiceError::new(
            ErrorKind::Internal,
            "BACKUP_FAILED",
            format!("备份失败:{e}"),
            format!("The backup failed: {e}"),
        )
    })?;
    Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
}

/// Row counts and content hashes of every table of a database (checks after a restore).
pub fn table_digests(db_url: &str) -> Result<Vec<TableRows>, ServiceError> {
    let store = open_plain(db_url)?;
    Ok(store
        .read(|tx| sscard_store::repo::admin::table_digests(tx))?
        .into_iter()
        .map(|d| TableRows {
            table: d.table,
            rows: d.rows,
            sha256: d.sha256,
        })
        .collect())
}

/// Replaces the SQLite database at `db_url` with the backup file `from` (run with the server
/// stopped). A database that already holds persons is only replaced with `force`. Returns
/// the restored tables' row counts and hashes. Errors: `BACKUP_POSTGRES`,
/// `RESTORE_TARGET_NOT_EMPTY`, `RESTORE_FAILED`, `DB_OPEN`.
pub fn restore(
    db_url: &str,
    from: &std::path::Path,
    force: bool,
) -> Result<Vec<TableRows>, ServiceError> {
    if is_postgres(db_url) {
        return Err(postgres_tools("restored"));
    }
    let path = db_url
        .strip_prefix("sqlite://")
        .or_else(|| db_url.strip_prefix("sqlite:"))
        .unwrap_or(db_url);
    if std::path::Path::new(path).exists() && !force {
        let store = open_plain(db_url)?;
        let persons = store
            .read(|tx| sscard_store::repo::admin::persons_if_any(tx))
            .unwrap_or(0);
        if persons > 0 {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "RESTORE_TARGET_NOT_EMPTY",
                format!("目标数据库已有 {persons} 名人员;确认覆盖请加 --force"),
                format!("The target database holds {persons} persons: add --force to replace it"),
            ));
        }
    }
    sscard_store::restore_sqlite(from, db_url).map_err(|e| {
        ServiceError::new(
            ErrorKind::BadRequest,
            "RESTORE_FAILED",
            format!("恢复失败:{e}"),
            format!("The restore failed: {e}"),
        )
    })?;
    table_digests(db_url)
}

/// Rotates the API key of a bank or an institution: a new secret (returned once), the previous
/// one valid for `grace_hours`, audited as `admin.<entity>_key_rotated`. `find` reads the holder
/// by its normalised code and returns its id and key id (or its not-found error).
pub(crate) fn rotate_key_of(
    app: &crate::App,
    actor: &crate::audit::Actor,
    holder: sscard_store::repo::admin::KeyHolder,
    entity: &'static str,
    code: &str,
    grace_hours: i64,
    find: impl FnOnce(&mut dyn sscard_store::Tx, &str) -> Result<(i64, String), ServiceError>,
) -> Result<IssuedKey, ServiceError> {
    require_admin(actor)?;
    let grace = check_grace(grace_hours)?;
    let code = code.trim().to_ascii_uppercase();
    let secret = new_api_secret();
    let now = app.now();
    let until = sscard_store::repo::ts(now + grace);
    let action = format!("admin.{entity}_key_rotated");
    let key_id = app.store().write(|tx| {
        let (id, key_id) = find(tx, &code)?;
        sscard_store::repo::admin::rotate_key(tx, holder, id, &secret, &until)?;
        crate::audit::record(
            tx,
            now,
            actor,
            crate::audit::Change {
                action: &action,
                entity,
                entity_id: &code,
                before: serde_json::json!({"key_id": key_id}),
                after: serde_json::json!({"key_id": key_id, "previous_valid_until": until}),
            },
        )?;
        Ok::<_, ServiceError>(key_id)
    })?;
    Ok(IssuedKey {
        key_id,
        secret,
        previous_valid_until: Some(until),
    })
}
