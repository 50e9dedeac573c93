//! Operations on the database itself (migrations).

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
