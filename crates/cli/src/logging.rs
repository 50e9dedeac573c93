//! Log output (text or JSON lines on stderr) and the panic hook.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

static LOGGING: AtomicBool = AtomicBool::new(false);

/// Starts logging to stderr per the configuration.
pub fn init(settings: &Settings) -> Result<()> {
    let filter = EnvFilter::try_new(&settings.log)
        .map_err(|e| anyhow!("invalid log filter `{}`: {e}", settings.log))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match settings.log_format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    result.map_err(|e| anyhow!("cannot start logging: {e}"))?;
    LOGGING.store(true, Ordering::SeqCst);
    Ok(())
}

/// Panics are reported as one line (ID numbers masked), never with a backtrace: through the
/// log once logging runs (a panicking request handler is answered with a 500 and the server
/// goes on), otherwise as `error: internal error: …` on stderr.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let payload = sscard_domain::mask::mask_ids_in_text(&payload).replace('\n', " ");
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if LOGGING.load(Ordering::SeqCst) {
            tracing::error!(panic = %payload, location = %location.trim(), "internal error (panic)");
        } else {
            eprintln!("error: internal error: {payload}{location}");
        }
    }));
}
