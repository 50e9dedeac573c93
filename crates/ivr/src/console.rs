//! The console adapter (`sscard ivr console`): keys from a reader, one or more per line, the
//! prompts written as text lines. An empty line is a timeout (no input); the end of the input
//! is the caller hanging up. Scriptable:
//!
//! ```text
//! printf '3\n1\n<ID number>#\n<PIN>#\n1\n' | sscard ivr console --db sscard.db
//! ```

use std::io::{BufRead, Write};

use crate::engine::{Action, Call, Services};
use crate::prompts::Lang;

/// How the console call presents itself.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// The caller's number (for the rate limit and the call log's hash); empty: withheld.
    pub caller: String,
    pub lang: Lang,
    /// Prefix each prompt line with its catalogue id: `[main-menu] …`.
    pub show_ids: bool,
}

/// How a console call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleReport {
    /// The call log id.
    pub call_id: i64,
    /// `hangup`, `transfer`, `invalid`, `no_input`, `rate_limited`, `error`.
    pub outcome: String,
    /// The deepest menu reached.
    pub menu: String,
}

fn write_actions(
    out: &mut dyn Write,
    actions: &[Action],
    lang: Lang,
    ids: bool,
) -> std::io::Result<()> {
    for a in actions {
        match a {
            Action::Play(prompts) => {
                for p in prompts {
                    if ids {
                        writeln!(out, "[{}] {}", p.id, p.text(lang))?;
                    } else {
                        writeln!(out, "{}", p.text(lang))?;
                    }
                }
            }
            Action::Collect(_) => {}
            Action::Transfer => writeln!(out, "-- transfer to an agent / 转人工 --")?,
            Action::Hangup => writeln!(out, "-- hang up / 挂机 --")?,
        }
    }
    out.flush()
}

/// Runs one call from `input` to `out`.
pub fn run(
    svc: &Services,
    input: impl BufRead,
    out: &mut dyn Write,
    opts: &ConsoleOptions,
) -> Result<ConsoleReport, Box<dyn std::error::Error + Send + Sync>> {
    let (mut call, actions) = Call::start(svc, &opts.caller, opts.lang)?;
    write_actions(out, &actions, opts.lang, opts.show_ids)?;
    for line in input.lines() {
        let line = line?;
        if call.is_over() {
            break;
        }
        if line.trim().is_empty() {
            let actions = call.timeout(svc);
            write_actions(out, &actions, opts.lang, opts.show_ids)?;
            continue;
        }
        for k in line.chars() {
            let actions = call.key(svc, k);
            write_actions(out, &actions, opts.lang, opts.show_ids)?;
            if call.is_over() {
                break;
            }
        }
    }
    if !call.is_over() {
        call.handle(svc, crate::engine::Event::Hangup);
    }
    Ok(ConsoleReport {
        call_id: call.id(),
        outcome: call.outcome().unwrap_or("hangup").to_string(),
        menu: call.menu().to_string(),
    })
}
