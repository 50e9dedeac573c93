//! `sscard ivr …`: the 12333 phone line (see docs/ivr.md).
//!
//! - `console`: one call from standard input (keys, one or more per line; an empty line is no
//!   input; the end of input hangs up), prompts printed as text;
//! - `agi`: the FastAGI server for Asterisk;
//! - `prompts`: every prompt as an 8 kHz mono WAV (espeak-ng + sox);
//! - `load`: N simultaneous balance-query calls against a FastAGI server;
//! - `platform-add`: registers an IVR platform for the HTTP session API, printing its key.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use sscard_ivr::console::{self, ConsoleOptions};
use sscard_ivr::{Lang, Services, agi, render, sim};
use sscard_service::audit::{Actor, Channel};
use sscard_service::phone;

use crate::config::{ConfigArgs, Settings};

/// The phone line's commands.
#[derive(Debug, Subcommand)]
pub enum IvrCommand {
    /// One call on the terminal: keys from standard input (one or more per line, an empty line
    /// is no input, end of input hangs up), prompts printed as text lines.
    Console(ConsoleArgs),
    /// Serve FastAGI for Asterisk (dialplan: AGI(agi://HOST:PORT)); one task per call.
    Agi(AgiArgs),
    /// Render every prompt to DIR/<lang>/<file>.wav (8 kHz mono) with espeak-ng and sox.
    Prompts(PromptsArgs),
    /// Play Asterisk's side of N simultaneous calls, each a balance query, against a FastAGI
    /// server; prints one summary line and exits 1 if any call was dropped.
    Load(LoadArgs),
    /// Register an IVR platform allowed to use /api/v1/ivr/; prints its key id and secret.
    PlatformAdd(PlatformAddArgs),
}

/// `sscard ivr console`.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The caller's number (rate limit and call log hash); empty for a withheld number.
    #[arg(long, value_name = "NUMBER", default_value = "")]
    caller: String,
    /// Prompt language: zh or en.
    #[arg(long, value_name = "LANG", default_value = "zh")]
    lang: String,
    /// Prefix each prompt with its catalogue id, e.g. `[main-menu] …`.
    #[arg(long)]
    show_ids: bool,
}

/// `sscard ivr agi`.
#[derive(Debug, Args)]
pub struct AgiArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on for Asterisk's FastAGI connections.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4573")]
    listen: String,
    /// Directory of the rendered prompts under Asterisk's sounds directory.
    #[arg(long, value_name = "DIR", default_value = "sscard")]
    sounds_prefix: String,
    /// Seconds to wait for any reply of Asterisk before the call is given up.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    idle_timeout: u64,
}

/// `sscard ivr prompts`.
#[derive(Debug, Args)]
pub struct PromptsArgs {
    /// Output directory (created): DIR/zh/*.wav, DIR/en/*.wav.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// zh, en or all.
    #[arg(long, value_name = "LANG", default_value = "all")]
    lang: String,
}

/// `sscard ivr load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The FastAGI server, e.g. 127.0.0.1:4573.
    #[arg(long, value_name = "ADDR")]
    addr: String,
    /// Simultaneous calls.
    #[arg(long, value_name = "N", default_value_t = 500)]
    calls: usize,
    /// The demo samples JSON (`sscard demo --samples FILE`): the cardholders to call as.
    #[arg(long, value_name = "FILE")]
    samples: PathBuf,
}

/// `sscard ivr platform-add`.
#[derive(Debug, Args)]
pub struct PlatformAddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Platform code (2-32 letters, digits, - or _); the key id is IVR-<CODE>.
    #[arg(long, value_name = "CODE")]
    code: String,
    /// Display name.
    #[arg(long, value_name = "NAME")]
    name: String,
}

use crate::commands::{open, svc};

fn settings(args: &ConfigArgs) -> Result<Settings> {
    crate::commands::settings(args, None)
}

fn lang(s: &str) -> Result<Lang> {
    Lang::parse(s).ok_or_else(|| anyhow!("unknown language {s:?}: use zh or en"))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sscard-ivr")
        .build()
        .context("cannot start the async runtime")
}

/// Runs an `ivr` subcommand.
pub fn run(cmd: IvrCommand) -> Result<ExitCode> {
    match cmd {
        IvrCommand::Console(a) => {
            let s = settings(&a.config)?;
            let app = open(&s)?;
            let services = Services::new(app);
            let stdin = std::io::stdin();
            let mut stdout = std::io::stdout();
            let report = console::run(
                &services,
                stdin.lock(),
                &mut stdout,
                &ConsoleOptions {
                    caller: a.caller,
                    lang: lang(&a.lang)?,
                    show_ids: a.show_ids,
                },
            )
            .map_err(|e| anyhow!("{e}"))?;
            tracing::debug!(call_id = report.call_id, outcome = %report.outcome, "console call ended");
            Ok(ExitCode::SUCCESS)
        }
        IvrCommand::Agi(a) => {
            let s = settings(&a.config)?;
            let app = open(&s)?;
            let cfg = agi::AgiConfig {
                sounds_prefix: a.sounds_prefix,
                idle_timeout: Duration::from_secs(a.idle_timeout.max(1)),
                ..Default::default()
            };
            let rt = runtime()?;
            // Dropped after the runtime stops (see `commands::serve`).
            let keep = app.clone();
            rt.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
                let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
                let listener = tokio::net::TcpListener::bind(&a.listen)
                    .await
                    .map_err(|e| anyhow!("cannot listen on {}: {e}", a.listen))?;
                let addr = listener.local_addr().context("cannot read the address")?;
                tracing::info!(db = %app.db_url_redacted(), "FastAGI listening on agi://{addr}");
                let shutdown = async move {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                    tracing::info!(
                        "FastAGI: stopping (calls in progress are dropped with the process)"
                    );
                };
                agi::serve(listener, Services::new(app), cfg, shutdown)
                    .await
                    .map_err(|e| anyhow!("FastAGI server failed: {e}"))
            })?;
            rt.shutdown_timeout(Duration::from_secs(5));
            drop(keep);
            Ok(ExitCode::SUCCESS)
        }
        IvrCommand::Prompts(a) => {
            let langs = match a.lang.as_str() {
                "all" => vec![Lang::Zh, Lang::En],
                other => vec![lang(other)?],
            };
            let files = render::render_all(&a.out, &langs).map_err(|e| anyhow!("{e}"))?;
            println!(
                "{} prompt files written under {} (8 kHz mono WAV)",
                files.len(),
                a.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        IvrCommand::Load(a) => {
            let addr: std::net::SocketAddr = a.addr.parse().map_err(|_| {
                anyhow!("--addr must be HOST:PORT with an IP address, e.g. 127.0.0.1:4573")
            })?;
            let text = std::fs::read_to_string(&a.samples)
                .with_context(|| format!("cannot read {}", a.samples.display()))?;
            let holders = sim::usable_holders(&text)
                .with_context(|| format!("{} is not a demo samples file", a.samples.display()))?;
            if holders.is_empty() {
                bail!("{} lists no usable cardholder", a.samples.display());
            }
            let report = runtime()?.block_on(sim::load(addr, a.calls, &holders));
            println!("{report}");
            Ok(if report.dropped == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        IvrCommand::PlatformAdd(a) => {
            let s = settings(&a.config)?;
            let app = open(&s)?;
            let actor = Actor::system(Channel::Cli);
            let creds = phone::register_platform(&app, &actor, &a.code, &a.name).map_err(svc)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&creds).context("cannot print the credentials")?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
