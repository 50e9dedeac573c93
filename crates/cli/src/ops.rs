//! Operations: `sscard backup` (an online SQLite backup while servers keep serving) and
//! `sscard restore` (server stopped). PostgreSQL databases are backed up with `pg_dump`
//! (see docs/deployment.md); both commands say so for a `postgres://` URL.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Args;
use sscard_service::ServiceError;

use crate::config::{self, ConfigArgs};
use crate::logging;

/// `sscard backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The backup file to write (must not exist); a self-contained SQLite file
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `sscard restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The backup file written by `sscard backup`
    #[arg(long = "from", value_name = "FILE")]
    pub from: PathBuf,
    /// Replace a database that already holds data
    #[arg(long)]
    pub force: bool,
}

fn svc(e: ServiceError) -> anyhow::Error {
    anyhow!("{}: {} ({})", e.code, e.message_en, e.message)
}

/// `sscard backup --db URL --out FILE`: a consistent snapshot of the live database.
pub fn backup(a: &BackupArgs) -> Result<ExitCode> {
    let s = config::resolve_from_env(&a.config, None)?;
    logging::init(&s)?;
    let started = std::time::Instant::now();
    let bytes = sscard_service::admin::backup(&s.db, &a.out).map_err(svc)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        bytes,
        "backup written"
    );
    println!(
        "backup of {} written to {} ({bytes} bytes)",
        config::redact_db_url(&s.db),
        a.out.display()
    );
    println!(
        "keep the PIN key file ({}) with it, stored apart",
        s.pin_key_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "sscard-pin.key beside the database".into())
    );
    Ok(ExitCode::SUCCESS)
}

/// `sscard restore --db URL --from FILE [--force]`: replaces the database with the backup.
pub fn restore(a: &RestoreArgs) -> Result<ExitCode> {
    let s = config::resolve_from_env(&a.config, None)?;
    logging::init(&s)?;
    let tables = sscard_service::admin::restore(&s.db, &a.from, a.force).map_err(svc)?;
    let rows: i64 = tables.iter().map(|t| t.rows).sum();
    println!(
        "restored {} into {}: {} tables, {rows} rows",
        a.from.display(),
        config::redact_db_url(&s.db),
        tables.len()
    );
    for t in &tables {
        println!("  {:<28} {:>10}  {}", t.table, t.rows, &t.sha256[..16]);
    }
    Ok(ExitCode::SUCCESS)
}
