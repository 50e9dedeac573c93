//! The subcommands.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sscard_service::demo::{DemoOptions, DemoSamples};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig, ServiceError};

use crate::config::{self, ConfigArgs, Settings, TlsArgs};
use crate::logging;

/// How long in-flight requests may take to finish after SIGTERM / SIGINT.
const GRACE: Duration = Duration::from_secs(30);

/// A service error as one line: code, English and Chinese message.
pub(crate) fn svc(e: ServiceError) -> anyhow::Error {
    anyhow!("{}: {} ({})", e.code, e.message_en, e.message)
}

pub(crate) fn settings(args: &ConfigArgs, listen: Option<&str>) -> Result<Settings> {
    let s = config::resolve_from_env(args, listen)?;
    logging::init(&s)?;
    Ok(s)
}

/// Opens the application with the effective settings (database, PIN and e-card keys).
pub(crate) fn open(s: &Settings) -> Result<App> {
    let pin_key = match &s.pin_key {
        Some(hex_key) => {
            let bytes = hex::decode(hex_key.trim())
                .map_err(|_| anyhow!("the PIN key (SSCARD_PIN_KEY / pin_key) is not valid hex"))?;
            Some(PinKey::new(bytes).map_err(svc)?)
        }
        None => None,
    };
    let cfg = AppConfig {
        db_url: s.db.clone(),
        pin_key,
        pin_key_file: s.pin_key_file.clone(),
        pool_size: s.pool_size,
        ecard_key_file: s.ecard_key_file.clone(),
    };
    App::open(&cfg).map_err(svc)
}

fn generate(app: &App, persons: u64, seed: u64, as_of: NaiveDate) -> Result<DemoSamples> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(persons), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("generating persons");
        bar
    } else {
        ProgressBar::hidden()
    };
    let opts = DemoOptions {
        persons,
        seed,
        as_of,
    };
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = sscard_service::demo::generate(app, &opts, &progress);
    bar.finish_and_clear();
    let samples = result.map_err(svc)?;
    tracing::info!(persons, seed, %as_of, "demo data generated");
    Ok(samples)
}

fn print_samples(s: &DemoSamples) {
    println!("Try it / 试用账号");
    println!();
    println!("Cardholders (ID number, card number, PIN, web query password):");
    for c in s.cardholders.iter().take(10) {
        println!(
            "  {}  {}  card {} ({})  PIN {}{}  query password {}{}  region {}",
            c.name,
            c.id_number,
            c.card_no.as_deref().unwrap_or("-"),
            c.card_status,
            c.pin,
            if c.pin_changed { " (changed)" } else { "" },
            c.query_password,
            if c.query_password_changed {
                " (changed)"
            } else {
                ""
            },
            c.region_code,
        );
    }
    println!();
    println!("Staff logins (/console/):");
    for st in s.staff.iter().take(10) {
        println!(
            "  {} / {}  role {}{}",
            st.username,
            st.password,
            st.role,
            if st.must_change_password {
                " (must change password)"
            } else {
                ""
            }
        );
    }
    println!();
    println!("Institutions (API keys):");
    for i in s.institutions.iter().take(10) {
        println!(
            "  {} {} ({})  key {}  secret {}",
            i.code, i.name, i.kind, i.key_id, i.secret
        );
    }
    if !s.counts.is_empty() {
        println!();
        let counts: Vec<String> = s.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!("Generated: {}", counts.join(", "));
    }
}

/// `sscard serve`: plain HTTP, or HTTPS when a TLS certificate and key are configured.
pub fn serve(
    args: &ConfigArgs,
    listen: Option<&str>,
    tls: &TlsArgs,
    demo: bool,
    persons: u64,
    seed: u64,
) -> Result<ExitCode> {
    let s = config::resolve_with_tls_from_env(args, listen, tls)?;
    logging::init(&s)?;
    // The certificate files are checked before anything else starts.
    let tls_config = match s.tls_files()? {
        Some((cert, key)) => Some(sscard_http::tls::load_server_config(cert, key)?),
        None => None,
    };
    let app = open(&s)?;
    if demo {
        if app.is_empty().map_err(svc)? {
            let samples = generate(&app, persons, seed, app.today())?;
            print_samples(&samples);
        } else {
            tracing::info!("the database already has persons: --demo leaves it as it is");
        }
    }
    let listener = std::net::TcpListener::bind(&s.listen)
        .map_err(|e| anyhow!("cannot listen on {}: {e}", s.listen))?;
    listener
        .set_nonblocking(true)
        .context("cannot configure the listening socket")?;
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;

    let (db, backend) = (app.db_url_redacted().to_string(), app.backend());
    let sms_gateway: Arc<dyn sscard_service::notices::SmsGateway> = Arc::new(
        sscard_service::notices::LogFileGateway::new(default_sms_log(&s.db)),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sscard-worker")
        .build()
        .context("cannot start the async runtime")?;
    // The last reference to the store must go after the runtime has stopped: PostgreSQL's
    // pooled clients block on their own runtime when they close, which panics on a worker.
    let keep = app.clone();
    rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let listener = tokio::net::TcpListener::from_std(listener).context("cannot use the listening socket")?;
        let stopping = Arc::new(tokio::sync::Notify::new());
        let notify = stopping.clone();
        let shutdown = async move {
            let which = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = which, "shutting down: finishing requests in flight");
            notify.notify_one();
        };
        tokio::spawn(deliver_notices_forever(app.clone(), sms_gateway));
        let server: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> =
            match tls_config {
                Some(config) => {
                    tracing::info!(db = %db, backend, "listening on https://{addr}");
                    Box::pin(sscard_http::tls::serve_tls(app, listener, config, shutdown))
                }
                None => {
                    tracing::info!(db = %db, backend, "listening on http://{addr}");
                    Box::pin(sscard_http::serve(app, listener, shutdown))
                }
            };
        tokio::select! {
            r = server => r.map_err(|e| anyhow!("server failed: {e}")),
            _ = async { stopping.notified().await; tokio::time::sleep(GRACE).await } => {
                tracing::warn!(grace_secs = GRACE.as_secs(), "requests still in flight after the grace period; stopping anyway");
                Ok(())
            }
        }
    })?;
    rt.shutdown_timeout(Duration::from_secs(5));
    drop(keep);
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// `sscard demo`.
pub fn demo(
    args: &ConfigArgs,
    persons: u64,
    seed: u64,
    samples_file: Option<&Path>,
    as_of: Option<NaiveDate>,
) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    if !app.is_empty().map_err(svc)? {
        bail!(
            "the database {} already has persons; `sscard demo` only fills an empty database",
            app.db_url_redacted()
        );
    }
    let samples = generate(&app, persons, seed, as_of.unwrap_or_else(|| app.today()))?;
    print_samples(&samples);
    if let Some(path) = samples_file {
        let json =
            serde_json::to_string_pretty(&samples).context("cannot serialise the samples")?;
        std::fs::write(path, json + "\n")
            .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
        println!();
        println!("Samples written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `sscard audit verify`.
pub fn audit_verify(args: &ConfigArgs) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    let report = sscard_service::audit::verify(&app).map_err(svc)?;
    match report.first_broken {
        None => {
            println!("audit chain OK: {} rows", report.rows);
            Ok(ExitCode::SUCCESS)
        }
        Some((seq, reason)) => {
            println!("audit chain BROKEN at row {seq}: {reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `sscard migrate status`: lists every migration and whether it is applied (applies nothing).
pub fn migrate_status(args: &ConfigArgs) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let list = sscard_service::admin::migration_status(&s.db).map_err(svc)?;
    let mut pending = 0;
    for m in &list {
        match &m.applied_at {
            Some(at) => println!("{:04} {:<20} applied {at}", m.version, m.name),
            None => {
                pending += 1;
                println!("{:04} {:<20} pending", m.version, m.name);
            }
        }
    }
    println!("{pending} pending");
    Ok(ExitCode::SUCCESS)
}

/// `sscard migrate up`.
pub fn migrate_up(args: &ConfigArgs) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    println!(
        "database {} is up to date (migrations applied)",
        app.db_url_redacted()
    );
    Ok(ExitCode::SUCCESS)
}

/// `sscard config show`.
pub fn config_show(args: &ConfigArgs, listen: Option<&str>, tls: &TlsArgs) -> Result<ExitCode> {
    let s = config::resolve_with_tls_from_env(args, listen, tls)?;
    print!("{}", s.to_redacted_toml()?);
    Ok(ExitCode::SUCCESS)
}

/// `sscard jobs run-daily`: runs the daily job once and prints its report as JSON.
pub fn jobs_run_daily(args: &ConfigArgs) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    let report = sscard_service::cards::jobs::run_daily(&app).map_err(svc)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// The SMS gateway's log file: `sscard-sms.log` beside the SQLite database (in the working
/// directory for PostgreSQL).
pub fn default_sms_log(db: &str) -> std::path::PathBuf {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return std::path::PathBuf::from("sscard-sms.log");
    }
    let path = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))
        .unwrap_or(db);
    Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.join("sscard-sms.log"))
        .unwrap_or_else(|| std::path::PathBuf::from("sscard-sms.log"))
}

/// `sscard notices send`.
pub fn notices_send(args: &ConfigArgs, sms_log: Option<&Path>) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    let path = sms_log.map_or_else(|| default_sms_log(&s.db), Path::to_path_buf);
    let gateway = sscard_service::notices::LogFileGateway::new(path);
    let report = sscard_service::notices::deliver_due(&app, &gateway, 10_000).map_err(svc)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// How often `serve` delivers due notices.
const NOTICE_ROUND: Duration = Duration::from_secs(30);

/// Delivers due notices every [`NOTICE_ROUND`] on a blocking thread, for as long as the runtime
/// runs. A failing gateway only delays the notices (they stay pending).
async fn deliver_notices_forever(app: App, gateway: Arc<dyn sscard_service::notices::SmsGateway>) {
    let mut tick = tokio::time::interval(NOTICE_ROUND);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (a, g) = (app.clone(), gateway.clone());
        let round = tokio::task::spawn_blocking(move || {
            sscard_service::notices::deliver_due(&a, g.as_ref(), 500)
        })
        .await;
        match round {
            Ok(Ok(r)) if r.sent + r.retried_later > 0 => {
                tracing::info!(
                    sent = r.sent,
                    retried_later = r.retried_later,
                    "notices delivered"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(code = e.code, "notice delivery failed; next round retries")
            }
            Err(e) => tracing::error!(error = %e, "notice delivery task failed"),
        }
    }
}

/// `sscard ledger post-contributions --month YYYY-MM`.
pub fn ledger_post_contributions(args: &ConfigArgs, month: &str) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    let actor = sscard_service::audit::Actor::system(sscard_service::audit::Channel::Cli);
    let started = std::time::Instant::now();
    let report = sscard_service::ledger::post_contributions(&app, &actor, month).map_err(svc)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "contributions posted"
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// `sscard ledger check`.
pub fn ledger_check(args: &ConfigArgs) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    let violations = sscard_service::ledger::check_invariants(&app).map_err(svc)?;
    if violations.is_empty() {
        println!("ledger OK");
        Ok(ExitCode::SUCCESS)
    } else {
        for v in &violations {
            println!("ledger BROKEN: {v:?}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// `sscard ledger expire-pending`.
pub fn ledger_expire(args: &ConfigArgs) -> Result<ExitCode> {
    let s = settings(args, None)?;
    let app = open(&s)?;
    let n = sscard_service::ledger::expire_pending(&app).map_err(svc)?;
    println!("{n} reservations voided");
    Ok(ExitCode::SUCCESS)
}

/// `sscard ledger verify-acks`: after a crash test, every acknowledged settlement is stored
/// exactly once, none is half-applied and the ledger invariants hold.
pub fn ledger_verify_acks(args: &ConfigArgs, acks: &std::path::Path) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(acks).with_context(|| format!("reading {}", acks.display()))?;
    let ids: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let s = settings(args, None)?;
    let app = open(&s)?;
    let r = sscard_service::medical::verify::verify_acknowledged(&app, &ids).map_err(svc)?;
    println!(
        "acknowledged={} present={} missing={} duplicated={} half_applied={} ledger_violations={}",
        r.acknowledged, r.present, r.missing, r.duplicated, r.half_applied, r.ledger_violations
    );
    Ok(if r.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
