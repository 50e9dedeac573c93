//! Asterisk's side of FastAGI, simulated: connects to the AGI server like Asterisk does for a
//! call, sends the `agi_*` environment, answers every command the way Asterisk answers it and
//! plays the caller from a script of keys, silences and a hang-up. Used by the tests and by the
//! load simulator (`sscard ivr load`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One thing the simulated caller does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Presses these keys (`0-9`, `*`, `#`).
    Keys(String),
    /// Presses nothing until the entry times out.
    Silence,
    /// Hangs up.
    Hangup,
}

impl Step {
    /// Keys.
    pub fn keys(k: impl Into<String>) -> Step {
        Step::Keys(k.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Dtmf(char),
    Silence,
    Hangup,
}

/// How the simulated channel presents itself.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// `agi_callerid`; empty for a withheld number (`unknown`).
    pub caller: String,
    /// `agi_arg_1`: the call's language (`zh`, `en`); empty for Asterisk's channel language.
    pub lang: String,
    /// Press the next key during a prompt (interrupting it) instead of waiting for the entry.
    pub barge_in: bool,
}

/// What the simulated caller heard and how the call ended.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// Every command received, in order.
    pub commands: Vec<String>,
    /// The sound files played (as given to `STREAM FILE`).
    pub files: Vec<String>,
    /// Numbers and digits said (`SAY NUMBER` / `SAY DIGITS` arguments).
    pub said: Vec<String>,
    /// Variables set.
    pub variables: Vec<(String, String)>,
    /// `hangup` (the server hung up), `transfer` (the server returned to the dialplan for an
    /// agent), `caller` (the script hung up) or `closed` (the server closed without either).
    pub ended_by: String,
}

impl Transcript {
    /// The prompt ids heard, in order: sound file names without directories, pieces of one
    /// prompt (`medical-balance.1`, `.2`) counted once, unit files left out.
    pub fn prompt_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.files {
            let name = f.rsplit('/').next().unwrap_or(f);
            if name.starts_with("unit-") {
                continue;
            }
            match name.split_once('.') {
                Some((id, "1")) => out.push(id.to_string()),
                Some(_) => {}
                None => out.push(name.to_string()),
            }
        }
        out
    }
}

fn queue(steps: &[Step]) -> VecDeque<Key> {
    let mut q = VecDeque::new();
    for s in steps {
        match s {
            Step::Keys(k) => q.extend(
                k.chars()
                    .filter(|c| matches!(c, '0'..='9' | '*' | '#'))
                    .map(Key::Dtmf),
            ),
            Step::Silence => q.push_back(Key::Silence),
            Step::Hangup => q.push_back(Key::Hangup),
        }
    }
    q
}

/// The quoted escape digits of a `STREAM FILE`/`SAY` command.
fn escape_digits(cmd: &str) -> String {
    match (cmd.find('"'), cmd.rfind('"')) {
        (Some(a), Some(b)) if b > a => cmd[a + 1..b].to_string(),
        _ => String::new(),
    }
}

/// Plays one call against the AGI server at `addr`.
pub async fn call(
    addr: SocketAddr,
    steps: &[Step],
    opts: &SimOptions,
) -> std::io::Result<Transcript> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r);
    let caller = if opts.caller.is_empty() {
        "unknown"
    } else {
        &opts.caller
    };
    let mut env = format!(
        "agi_network: yes\nagi_network_script: sscard\nagi_request: agi://{addr}/sscard\n\
         agi_channel: SIP/trunk-{n:08x}\nagi_language: zh\nagi_type: SIP\n\
         agi_uniqueid: 1700000000.{n}\nagi_version: 20.0.0\nagi_callerid: {caller}\n\
         agi_calleridname: unknown\nagi_callingpres: 0\nagi_dnid: 12333\nagi_rdnis: unknown\n\
         agi_context: from-trunk\nagi_extension: 12333\nagi_priority: 2\nagi_enhanced: 0.0\n\
         agi_accountcode: \nagi_threadid: 140000000000000\n",
        n = rand::random::<u32>()
    );
    if !opts.lang.is_empty() {
        env.push_str(&format!("agi_arg_1: {}\n", opts.lang));
    }
    env.push('\n');
    w.write_all(env.as_bytes()).await?;
    let mut keys = queue(steps);
    let mut t = Transcript::default();
    let mut dead = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            if t.ended_by.is_empty() {
                t.ended_by = if dead {
                    "caller".into()
                } else if t
                    .variables
                    .iter()
                    .any(|(k, v)| k == "SSCARD_RESULT" && v == "transfer")
                {
                    "transfer".into()
                } else {
                    "closed".into()
                };
            }
            return Ok(t);
        }
        let cmd = line.trim_end().to_string();
        if cmd.is_empty() {
            continue;
        }
        t.commands.push(cmd.clone());
        let upper = cmd.to_ascii_uppercase();
        if dead {
            w.write_all(b"511 Command Not Permitted on a dead channel or intercepted\n")
                .await?;
            continue;
        }
        let reply = if upper.starts_with("STREAM FILE")
            || upper.starts_with("SAY NUMBER")
            || upper.starts_with("SAY DIGITS")
        {
            let parts: Vec<&str> = cmd.split_whitespace().collect();
            let arg = parts.get(2).copied().unwrap_or_default().to_string();
            if upper.starts_with("STREAM FILE") {
                t.files.push(arg);
            } else {
                t.said.push(arg);
            }
            let escape = escape_digits(&cmd);
            // The caller hangs up when asked for keys, never in the middle of a prompt.
            match keys.front().copied() {
                Some(Key::Dtmf(k)) if opts.barge_in && escape.contains(k) => {
                    keys.pop_front();
                    format!("200 result={} endpos=1200", k as u32)
                }
                _ => "200 result=0 endpos=8000".to_string(),
            }
        } else if upper.starts_with("GET DATA") {
            let parts: Vec<&str> = cmd.split_whitespace().collect();
            let max: usize = parts.get(4).and_then(|m| m.parse().ok()).unwrap_or(1024);
            match keys.front().copied() {
                None | Some(Key::Hangup) => {
                    keys.pop_front();
                    dead = true;
                    w.write_all(b"HANGUP\n200 result=-1\n").await?;
                    continue;
                }
                Some(Key::Silence) => {
                    keys.pop_front();
                    "200 result= (timeout)".to_string()
                }
                Some(Key::Dtmf(_)) => {
                    let mut digits = String::new();
                    let mut terminated = false;
                    while let Some(Key::Dtmf(k)) = keys.front().copied() {
                        keys.pop_front();
                        if k == '#' {
                            terminated = true;
                            break;
                        }
                        digits.push(k);
                        if digits.len() >= max {
                            terminated = true;
                            break;
                        }
                    }
                    if terminated {
                        format!("200 result={digits}")
                    } else {
                        format!("200 result={digits} (timeout)")
                    }
                }
            }
        } else if upper.starts_with("SET VARIABLE") {
            let parts: Vec<&str> = cmd.splitn(4, ' ').collect();
            if let (Some(k), Some(v)) = (parts.get(2), parts.get(3)) {
                t.variables
                    .push((k.to_string(), v.trim_matches('"').to_string()));
            }
            "200 result=1".to_string()
        } else if upper == "HANGUP" || upper.starts_with("HANGUP ") {
            t.ended_by = "hangup".into();
            "200 result=1".to_string()
        } else if upper.starts_with("VERBOSE") || upper.starts_with("ANSWER") {
            "200 result=0".to_string()
        } else {
            "510 Invalid or unknown command".to_string()
        };
        w.write_all(format!("{reply}\n").as_bytes()).await?;
    }
}

/// A cardholder to call as, from the demo samples file (`sscard demo --samples FILE`).
#[derive(Debug, Clone, Deserialize)]
pub struct SampleHolder {
    pub id_number: String,
    pub pin: String,
    #[serde(default)]
    pub usable: bool,
    #[serde(default)]
    pub card_status: String,
}

#[derive(Debug, Deserialize)]
struct SamplesFile {
    cardholders: Vec<SampleHolder>,
}

/// The usable cardholders of a demo samples JSON file.
pub fn usable_holders(samples_json: &str) -> Result<Vec<SampleHolder>, serde_json::Error> {
    let f: SamplesFile = serde_json::from_str(samples_json)?;
    Ok(f.cardholders
        .into_iter()
        .filter(|c| c.usable && c.card_status == "active")
        .collect())
}

/// The result of a load run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub calls: usize,
    /// Calls that heard their balance (or that they have no medical account) and ended
    /// normally.
    pub completed: usize,
    /// Calls that failed (connection error, no balance heard, unexpected end).
    pub dropped: usize,
    pub p50_ms: u128,
    pub p99_ms: u128,
    pub max_ms: u128,
    pub elapsed_ms: u128,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "calls={} completed={} dropped={} p50_ms={} p99_ms={} max_ms={} elapsed_ms={}",
            self.calls,
            self.completed,
            self.dropped,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.elapsed_ms
        )
    }
}

/// The script of a balance query: main 3, 1, ID number #, PIN #, 1, then hang up.
pub fn balance_script(id_number: &str, pin: &str) -> Vec<Step> {
    vec![
        Step::keys("3"),
        Step::keys("1"),
        Step::keys(format!("{}#", id_number.replace('X', "*"))),
        Step::keys(format!("{pin}#")),
        Step::keys("1"),
        Step::Hangup,
    ]
}

/// Places `calls` simultaneous calls, each a balance query as one of `holders` (round robin)
/// from its own caller number, and reports how many completed and how long they took.
pub async fn load(addr: SocketAddr, calls: usize, holders: &[SampleHolder]) -> LoadReport {
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(calls);
    for i in 0..calls {
        let h = if holders.is_empty() {
            None
        } else {
            Some(holders[i % holders.len()].clone())
        };
        tasks.push(tokio::spawn(async move {
            let h = h?;
            let opts = SimOptions {
                caller: format!("1390{:07}", i),
                lang: String::new(),
                barge_in: false,
            };
            let t0 = Instant::now();
            let script = balance_script(&h.id_number, &h.pin);
            let t = tokio::time::timeout(Duration::from_secs(300), call(addr, &script, &opts))
                .await
                .ok()?
                .ok()?;
            let ok = t
                .prompt_ids()
                .iter()
                .any(|p| p == "medical-balance" || p == "no-medical-account")
                && t.ended_by == "caller";
            ok.then(|| t0.elapsed().as_millis())
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        if let Ok(Some(ms)) = task.await {
            times.push(ms);
        }
    }
    times.sort_unstable();
    let pct = |p: usize| -> u128 {
        if times.is_empty() {
            0
        } else {
            times[((times.len() * p).div_ceil(100)).clamp(1, times.len()) - 1]
        }
    };
    LoadReport {
        calls,
        completed: times.len(),
        dropped: calls - times.len(),
        p50_ms: pct(50),
        p99_ms: pct(99),
        max_ms: times.last().copied().unwrap_or(0),
        elapsed_ms: start.elapsed().as_millis(),
    }
}
