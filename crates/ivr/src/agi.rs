//! The FastAGI server (`sscard ivr agi --listen ADDR`): Asterisk connects once per call
//! (`AGI(agi://host:port)` in the dialplan, see docs/asterisk/extensions.conf), sends its
//! `agi_*` environment block and then obeys one command at a time:
//!
//! - prompts: `STREAM FILE <prefix>/<lang>/<file> "<escape digits>"` for the catalogue's sound
//!   files, `SAY NUMBER` and `SAY DIGITS` for amounts, counts and phone numbers; a key pressed
//!   during a prompt interrupts it (barge-in) and starts the entry;
//! - entries: `GET DATA silence/1 <timeout ms> <max digits>` (menus one key, numbers up to
//!   `#`);
//! - `SET VARIABLE SSCARD_CALL_ID <id>` at the start (the call log row, for the CDR);
//! - the end: `HANGUP`, or `SET VARIABLE SSCARD_RESULT transfer` and returning to the dialplan,
//!   which queues the caller for an agent.
//!
//! Replies are `200 result=<value> [(data)] [endpos=…]`; `result=-1`, a `511` reply, an
//! asynchronous `HANGUP` line or a closed socket mean the caller hung up. A reply that does not
//! come within the idle timeout ends the call as `timeout`. One tokio task per call; the menu
//! engine (which queries the database synchronously) runs on the blocking pool.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use crate::engine::{Action, Call, Collect, Event, Services};
use crate::prompts::{Lang, Prompt, Segment, segments};

/// Every DTMF key: a prompt followed by an entry may be interrupted by any of them.
const ALL_KEYS: &str = "0123456789*#";

/// Settings of the FastAGI server.
#[derive(Debug, Clone)]
pub struct AgiConfig {
    /// Directory of the sound files under Asterisk's sounds directory: files are played as
    /// `<prefix>/<lang>/<file>` (e.g. `sscard/zh/main-menu`).
    pub sounds_prefix: String,
    /// The file `GET DATA` plays before collecting (a short silence of Asterisk's core sounds).
    pub collect_file: String,
    /// How long to wait for any reply of Asterisk before the call is considered gone.
    pub idle_timeout: Duration,
}

impl Default for AgiConfig {
    fn default() -> Self {
        AgiConfig {
            sounds_prefix: "sscard".into(),
            collect_file: "silence/1".into(),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// A parsed reply line `200 result=… (data)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub result: String,
    /// The parenthesised data, e.g. `timeout`.
    pub data: Option<String>,
}

/// Parses one AGI reply line.
pub fn parse_reply(line: &str) -> Option<Reply> {
    let line = line.trim_end();
    let (code, rest) = line.split_once(' ').unwrap_or((line, ""));
    let code: u16 = code.parse().ok()?;
    let mut result = String::new();
    let mut data = None;
    if let Some(r) = rest.strip_prefix("result=") {
        let (value, tail) = r.split_once(' ').unwrap_or((r, ""));
        result = value.to_string();
        if let Some(open) = tail.find('(')
            && let Some(close) = tail[open..].find(')')
        {
            data = Some(tail[open + 1..open + close].to_string());
        }
    }
    Some(Reply { code, result, data })
}

/// Why a call left the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The caller hung up (or Asterisk closed the connection).
    Hangup,
    /// Asterisk did not answer within the idle timeout.
    Timeout,
}

struct Agi {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    idle: Duration,
}

impl Agi {
    async fn read_line(&mut self) -> Result<String, End> {
        let mut line = String::new();
        match tokio::time::timeout(self.idle, self.reader.read_line(&mut line)).await {
            Err(_) => Err(End::Timeout),
            Ok(Err(_)) | Ok(Ok(0)) => Err(End::Hangup),
            Ok(Ok(_)) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    }

    /// Reads the `agi_*` block up to its blank line.
    async fn environment(&mut self) -> Result<HashMap<String, String>, End> {
        let mut env = HashMap::new();
        loop {
            let line = self.read_line().await?;
            if line.is_empty() {
                return Ok(env);
            }
            if let Some((k, v)) = line.split_once(':') {
                env.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }

    /// Sends a command and reads its reply. A hang-up notice before the reply is noted; any
    /// sign of a dead channel ends the call.
    async fn command(&mut self, cmd: &str) -> Result<Reply, End> {
        let mut bytes = cmd.as_bytes().to_vec();
        bytes.push(b'\n');
        if self.writer.write_all(&bytes).await.is_err() {
            return Err(End::Hangup);
        }
        let mut hung_up = false;
        loop {
            let line = self.read_line().await?;
            if line.trim() == "HANGUP" {
                hung_up = true;
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let Some(reply) = parse_reply(&line) else {
                continue;
            };
            if reply.code == 520 && !line.contains("End of proper usage") {
                // Multi-line usage text: read to its end.
                loop {
                    let l = self.read_line().await?;
                    if l.starts_with("520") {
                        break;
                    }
                }
            }
            if reply.code == 511 || reply.result == "-1" {
                return Err(End::Hangup);
            }
            if hung_up && reply.code != 200 {
                return Err(End::Hangup);
            }
            return Ok(reply);
        }
    }

    /// Plays prompts; returns the key that interrupted them, if `barge_in`.
    async fn play(
        &mut self,
        prompts: &[Prompt],
        lang: Lang,
        prefix: &str,
        barge_in: bool,
    ) -> Result<Option<char>, End> {
        let escape = if barge_in { ALL_KEYS } else { "" };
        for p in prompts {
            for seg in segments(p) {
                let cmd = match seg {
                    Segment::File(f) => {
                        format!("STREAM FILE {prefix}/{}/{f} \"{escape}\"", lang.as_str())
                    }
                    Segment::Number(n) => format!("SAY NUMBER {n} \"{escape}\""),
                    Segment::Digits(d) if d.is_empty() => continue,
                    Segment::Digits(d) => format!("SAY DIGITS {d} \"{escape}\""),
                };
                let reply = self.command(&cmd).await?;
                if let Ok(code) = reply.result.parse::<u32>()
                    && code > 0
                    && let Some(k) = char::from_u32(code)
                    && ALL_KEYS.contains(k)
                {
                    return Ok(Some(k));
                }
            }
        }
        Ok(None)
    }

    /// Collects one entry, starting with a key pressed during the prompt if any.
    async fn collect(&mut self, c: Collect, first: Option<char>, file: &str) -> Result<Event, End> {
        let max = if c.terminated {
            c.max_digits + 1
        } else {
            c.max_digits
        };
        let prefix = match first {
            Some(k) if !c.terminated => return Ok(Event::Entry(k.to_string())),
            Some('#') => return Ok(Event::Entry(String::new())),
            Some(k) => k.to_string(),
            None => String::new(),
        };
        let want = max - prefix.len();
        if want == 0 {
            return Ok(Event::Entry(prefix));
        }
        let reply = self
            .command(&format!("GET DATA {file} {} {want}", c.timeout_ms))
            .await?;
        let digits = format!("{prefix}{}", reply.result);
        let timed_out = reply.data.as_deref() == Some("timeout");
        if digits.is_empty() && timed_out {
            Ok(Event::Timeout)
        } else {
            Ok(Event::Entry(digits))
        }
    }
}

/// Runs one engine step on the blocking pool.
async fn step(svc: &Services, mut call: Call, event: Event) -> (Call, Vec<Action>) {
    let svc = svc.clone();
    match tokio::task::spawn_blocking(move || {
        let actions = call.handle(&svc, event);
        (call, actions)
    })
    .await
    {
        Ok(r) => r,
        Err(e) => panic!("ivr engine step panicked: {e}"),
    }
}

/// Handles one FastAGI connection (one call) to its end.
pub async fn handle_connection(stream: TcpStream, svc: Services, cfg: AgiConfig) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut agi = Agi {
        reader: BufReader::new(r),
        writer: w,
        idle: cfg.idle_timeout,
    };
    let Ok(env) = agi.environment().await else {
        return;
    };
    let caller = env
        .get("agi_callerid")
        .filter(|c| !c.eq_ignore_ascii_case("unknown"))
        .cloned()
        .unwrap_or_default();
    let lang = env
        .get("agi_arg_1")
        .and_then(|a| Lang::parse(a))
        .or_else(|| env.get("agi_language").and_then(|l| Lang::parse(l)))
        .unwrap_or_default();
    let start = {
        let svc = svc.clone();
        tokio::task::spawn_blocking(move || Call::start(&svc, &caller, lang)).await
    };
    let (mut call, mut actions) = match start {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::error!(code = e.code, "ivr: cannot answer the call");
            let _ = agi.command("HANGUP").await;
            return;
        }
        Err(_) => return,
    };
    // The call log id, for the dialplan (CDR userfield, agent screen).
    if agi
        .command(&format!("SET VARIABLE SSCARD_CALL_ID {}", call.id()))
        .await
        .is_err()
    {
        let _ = step(&svc, call, Event::Hangup).await;
        return;
    }
    loop {
        let mut pending: Option<char> = None;
        let mut event = None;
        let n = actions.len();
        for (i, a) in actions.iter().enumerate() {
            let r = match a {
                Action::Play(p) => {
                    let barge =
                        matches!(actions.get(i + 1), Some(Action::Collect(_))) && i + 2 == n;
                    match agi.play(p, lang, &cfg.sounds_prefix, barge).await {
                        Ok(k) => {
                            pending = k;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                Action::Collect(c) => {
                    match agi.collect(*c, pending.take(), &cfg.collect_file).await {
                        Ok(ev) => {
                            event = Some(ev);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                Action::Transfer => {
                    let _ = agi.command("SET VARIABLE SSCARD_RESULT transfer").await;
                    return;
                }
                Action::Hangup => {
                    let _ = agi.command("HANGUP").await;
                    return;
                }
            };
            if let Err(end) = r {
                let ev = match end {
                    End::Hangup => Event::Hangup,
                    End::Timeout => {
                        let svc2 = svc.clone();
                        let _ = tokio::task::spawn_blocking(move || {
                            call.expire(&svc2);
                        })
                        .await;
                        return;
                    }
                };
                let _ = step(&svc, call, ev).await;
                return;
            }
        }
        let Some(ev) = event else {
            // A step always ends in Collect, Transfer or Hangup; nothing to wait for.
            return;
        };
        let (c, a) = step(&svc, call, ev).await;
        call = c;
        actions = a;
        if call.is_over() && actions.is_empty() {
            return;
        }
    }
}

/// Serves FastAGI on `listener` until `shutdown` completes; calls in progress run to their end.
pub async fn serve(
    listener: TcpListener,
    svc: Services,
    cfg: AgiConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(handle_connection(stream, svc.clone(), cfg.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "ivr: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse() {
        assert_eq!(
            parse_reply("200 result=123456 (timeout)"),
            Some(Reply {
                code: 200,
                result: "123456".into(),
                data: Some("timeout".into())
            })
        );
        assert_eq!(
            parse_reply("200 result= (timeout)")
                .unwrap()
                .data
                .as_deref(),
            Some("timeout")
        );
        assert_eq!(parse_reply("200 result=0 endpos=8000").unwrap().result, "0");
        assert_eq!(parse_reply("200 result=-1").unwrap().result, "-1");
        assert_eq!(parse_reply("511 Command Not Permitted").unwrap().code, 511);
        assert_eq!(parse_reply("HANGUP"), None);
    }
}
