//! `sscard`: the social security card service, one binary.
//!
//! Every failure prints one line `error: …` to stderr and exits non-zero.

mod bench;
mod commands;
mod config;
mod ivr;
mod logging;
mod ops;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigArgs, TlsArgs};

/// mimalloc: the bulk loader allocates on one thread and frees on another, where it is much
/// faster than glibc's allocator (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 社会保障卡服务平台 / Social Security Card Service.
///
/// Configuration comes from flags, then SSCARD_* environment variables, then the TOML file of
/// --config / SSCARD_CONFIG, then defaults.
#[derive(Debug, Parser)]
#[command(name = "sscard", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (API, pages, /healthz, /readyz, /metrics).
    Serve(ServeArgs),
    /// Fill an empty database with a deterministic synthetic population.
    Demo(DemoArgs),
    /// Audit log commands.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Database schema migrations.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Scheduled jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Notices to cardholders (SMS outbox).
    #[command(subcommand)]
    Notices(NoticesCommand),
    /// The medical personal-account ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Write an online backup of an SQLite database while servers keep serving (PostgreSQL:
    /// use pg_dump).
    Backup(ops::BackupArgs),
    /// Replace an SQLite database with a backup file (stop the server first).
    Restore(ops::RestoreArgs),
    /// Load generators against a running server.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The 12333 phone line: console, FastAGI server, prompt sounds, load simulator.
    #[command(subcommand)]
    Ivr(ivr::IvrCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Concurrent signed clients post medical settlements (2207) for random demo cardholders;
    /// prints `settle_tps=<N> p50_ms=<x> p99_ms=<y> errors=<n>`.
    Settle(bench::SettleArgs),
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Credit every insured person's medical personal account for a month from the
    /// contribution records (idempotent per person and month); prints the report as JSON.
    PostContributions(PostContributionsArgs),
    /// Check the ledger invariants; exits 1 and lists the violations when any is broken.
    Check(DbArgs),
    /// Void the two-phase reservations past their expiry.
    ExpirePending(DbArgs),
    /// Check that every acknowledged settlement (one msgid per line, as written by
    /// `sscard bench settle --ack-log`) is stored exactly once, that none is half-applied and
    /// that the ledger invariants hold; exits 1 otherwise.
    VerifyAcks(VerifyAcksArgs),
}

#[derive(Debug, Args)]
struct VerifyAcksArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The acknowledged message ids, one per line.
    #[arg(long, value_name = "FILE")]
    acks: PathBuf,
}

#[derive(Debug, Args)]
struct PostContributionsArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM")]
    month: String,
}

#[derive(Debug, Subcommand)]
enum NoticesCommand {
    /// Send the notices that are due once (failures stay pending and are retried later);
    /// prints the report as JSON.
    Send(NoticesSendArgs),
}

#[derive(Debug, Args)]
struct NoticesSendArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The SMS gateway's log file [default: sscard-sms.log beside the SQLite database]
    #[arg(long, value_name = "FILE")]
    sms_log: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Run the daily job once: lapse temporary losses, move uncollected cards to the card
    /// centre (and remind their holders), expire temporary cards, cancel the cards of holders
    /// deceased or emigrated long enough ago. Idempotent; prints the report as JSON.
    RunDaily(DbArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on [env: SSCARD_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    #[command(flatten)]
    tls: TlsArgs,
    /// Fill the database with demo data first when it has no persons.
    #[arg(long)]
    demo: bool,
    /// Persons to generate with --demo.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    persons: u64,
    /// Random seed of the demo data (same seed, same data).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Persons to generate.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    persons: u64,
    /// Random seed (same seed, same data).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Also write the "try it" list as JSON to this file.
    #[arg(long, value_name = "FILE")]
    samples: Option<PathBuf>,
    /// The day the population is "as of" (YYYY-MM-DD) [default: today in Asia/Shanghai]
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<NaiveDate>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash-chained audit log and report the first broken row (exit 1 if any).
    Verify(DbArgs),
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Show which migrations are applied (not available yet).
    Status(DbArgs),
    /// Apply pending migrations.
    Up(DbArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration as TOML, secrets redacted.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct DbArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on [env: SSCARD_LISTEN]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    #[command(flatten)]
    tls: TlsArgs,
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(a) => commands::serve(
            &a.config,
            a.listen.as_deref(),
            &a.tls,
            a.demo,
            a.persons,
            a.seed,
        ),
        Command::Demo(a) => {
            commands::demo(&a.config, a.persons, a.seed, a.samples.as_deref(), a.as_of)
        }
        Command::Audit(AuditCommand::Verify(a)) => commands::audit_verify(&a.config),
        Command::Migrate(MigrateCommand::Status(a)) => commands::migrate_status(&a.config),
        Command::Migrate(MigrateCommand::Up(a)) => commands::migrate_up(&a.config),
        Command::Config(ConfigCommand::Show(a)) => {
            commands::config_show(&a.config, a.listen.as_deref(), &a.tls)
        }
        Command::Jobs(JobsCommand::RunDaily(a)) => commands::jobs_run_daily(&a.config),
        Command::Notices(NoticesCommand::Send(a)) => {
            commands::notices_send(&a.config, a.sms_log.as_deref())
        }
        Command::Ledger(LedgerCommand::PostContributions(a)) => {
            commands::ledger_post_contributions(&a.config, &a.month)
        }
        Command::Ledger(LedgerCommand::Check(a)) => commands::ledger_check(&a.config),
        Command::Ledger(LedgerCommand::ExpirePending(a)) => commands::ledger_expire(&a.config),
        Command::Ledger(LedgerCommand::VerifyAcks(a)) => {
            commands::ledger_verify_acks(&a.config, &a.acks)
        }
        Command::Backup(a) => ops::backup(&a),
        Command::Restore(a) => ops::restore(&a),
        Command::Bench(BenchCommand::Settle(a)) => bench::settle(&a).map(|()| ExitCode::SUCCESS),
        Command::Ivr(c) => ivr::run(c),
    }
}

/// The error as one line: the whole cause chain, newlines folded.
fn one_line(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn main() -> ExitCode {
    logging::install_panic_hook();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_print_on_one_line() {
        let e = anyhow::anyhow!("inner\nsecond line").context("outer");
        assert_eq!(one_line(&e), "outer: inner second line");
    }
}
