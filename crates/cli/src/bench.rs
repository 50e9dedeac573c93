//! `sscard bench settle`: a pgbench-like load generator for the institution API.
//!
//! N concurrent clients, each a designated institution's terminal with its own keep-alive
//! HTTP/1.1 connection, sign in (9001) and then post settlements (2207) of a 3-item bill for
//! random cardholders of the demo's samples file, signed like any institution's request. At the
//! end it prints one line:
//!
//! ```text
//! settle_tps=<N> p50_ms=<x> p99_ms=<y> errors=<n>
//! ```
//!
//! A settlement counts when the server answered 200 (it is then durable). Anything else — a
//! refusal, a broken connection, a server that is down — is an error; the client reconnects
//! and goes on. `--ack-log FILE` writes the message id of every acknowledged settlement, one
//! per line, so a crash or failover test can check that each is stored exactly once.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Args)]
pub struct SettleArgs {
    /// The server's base URL, e.g. http://127.0.0.1:8080 (plain HTTP).
    #[arg(long)]
    url: String,
    /// The samples file written by `sscard demo --samples` (institutions and cardholders).
    #[arg(long)]
    samples: PathBuf,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Write the msgid of every acknowledged settlement to this file, one per line.
    #[arg(long)]
    ack_log: Option<PathBuf>,
    /// A prefix for message ids, so that several runs never collide (default: the start time).
    #[arg(long)]
    run_id: Option<String>,
    /// Write one line `<ms since start>,<latency µs>` per acknowledged settlement, in the order
    /// they were answered: shows when the slow ones happened (a stall hits every client at once).
    #[arg(long)]
    latency_log: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
struct Institution {
    key_id: String,
    secret: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Holder {
    card_no: String,
    card_sn: String,
    pin: String,
}

#[derive(Debug, Deserialize)]
struct Samples {
    institutions: Vec<Institution>,
    settle_cardholders: Vec<Holder>,
}

struct Target {
    host: String,
    addr: String,
}

fn target(url: &str) -> Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--url must start with http:// (got {url})"))?;
    let host = rest.trim_end_matches('/').to_string();
    if host.is_empty() || host.contains('/') {
        bail!("--url must be http://HOST:PORT (got {url})");
    }
    Ok(Target {
        addr: host.clone(),
        host,
    })
}

type Conn = SendRequest<Full<Bytes>>;

async fn connect(t: &Target) -> Result<Conn> {
    let stream = tokio::net::TcpStream::connect(&t.addr).await?;
    stream.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

fn sign(secret: &str, path: &str, ts: &str, nonce: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let text = format!(
        "POST\n{path}\n{ts}\n{nonce}\n{}",
        hex::encode(Sha256::digest(body))
    );
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key");
    m.update(text.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Posts one signed call; returns the status and body.
async fn call(
    conn: &mut Conn,
    t: &Target,
    inst: &Institution,
    path: &str,
    nonce: &str,
    body: String,
) -> Result<(u16, Bytes)> {
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = sign(&inst.secret, path, &ts, nonce, body.as_bytes());
    let req = hyper::Request::post(path)
        .header("host", &t.host)
        .header("content-type", "application/json")
        .header("x-key-id", &inst.key_id)
        .header("x-timestamp", ts)
        .header("x-nonce", nonce)
        .header("x-signature", sig)
        .body(Full::new(Bytes::from(body)))?;
    conn.ready().await?;
    let resp = conn.send_request(req).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

struct ClientResult {
    latencies_us: Vec<u32>,
    /// When each acknowledged settlement was answered, µs since the run started.
    answered_us: Vec<u64>,
    errors: u64,
    acked: Vec<String>,
    first_error: Option<String>,
}

/// xorshift: cheap, good enough to pick cardholders and amounts.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[allow(clippy::too_many_arguments)]
async fn client(
    id: usize,
    t: std::sync::Arc<Target>,
    inst: Institution,
    holders: std::sync::Arc<Vec<Holder>>,
    run_id: String,
    started: Instant,
    deadline: Instant,
) -> ClientResult {
    let mut out = ClientResult {
        latencies_us: Vec::with_capacity(1 << 14),
        answered_us: Vec::with_capacity(1 << 14),
        errors: 0,
        acked: Vec::new(),
        first_error: None,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) * 0x1000_0001));
    let mut conn: Option<Conn> = None;
    let mut sign_no: Option<String> = None;
    let mut seq: u64 = 0;
    let opter = format!("bench{id:03}");
    while Instant::now() < deadline {
        seq += 1;
        let nonce = format!("{run_id}-{id:03}-{seq:06}");
        if conn.is_none() {
            match connect(&t).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    out.errors += 1;
                    out.first_error
                        .get_or_insert_with(|| format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        if sign_no.is_none() {
            let body =
                format!(r#"{{"infno":"9001","msgid":"{nonce}","opter":"{opter}","input":{{}}}}"#);
            match call(c, &t, &inst, "/api/v1/medical/9001", &nonce, body).await {
                Ok((200, b)) => {
                    let v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
                    sign_no = v["output"]["sign_no"].as_str().map(str::to_string);
                }
                Ok((s, b)) => {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| {
                        format!("9001: HTTP {s} {}", String::from_utf8_lossy(&b))
                    });
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| format!("9001: {e}"));
                    conn = None;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            continue;
        }
        let h = &holders[rng.below(holders.len() as u64) as usize];
        let (a, b, cc) = (
            1_000 + rng.below(9_000),
            500 + rng.below(4_500),
            100 + rng.below(900),
        );
        let msgid = nonce.clone();
        let body = format!(
            r#"{{"infno":"2207","msgid":"{msgid}","opter":"{opter}","sign_no":"{sn}","input":{{"mdtrt_cert_type":"03","mdtrt_cert_no":"{no}","card_sn":"{csn}","pin":"{pin}","acct_used_flag":true,"items":[{{"code":"001","name":"诊查费","class":"a","amount_fen":{a}}},{{"code":"002","name":"药品","class":"b","amount_fen":{b}}},{{"code":"003","name":"自费材料","class":"c","amount_fen":{cc}}}]}}}}"#,
            sn = sign_no.as_deref().unwrap_or(""),
            no = h.card_no,
            csn = h.card_sn,
            pin = h.pin,
        );
        let start = Instant::now();
        match call(c, &t, &inst, "/api/v1/medical/2207", &nonce, body).await {
            Ok((200, _)) => {
                let us = start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                out.latencies_us.push(us);
                out.answered_us
                    .push(started.elapsed().as_micros().min(u128::from(u64::MAX)) as u64);
                out.acked.push(msgid);
            }
            Ok((s, b)) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| {
                    format!("2207: HTTP {s} {}", String::from_utf8_lossy(&b))
                });
                if s == 401 && String::from_utf8_lossy(&b).contains("SIGN_NO_INVALID") {
                    sign_no = None;
                }
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("2207: {e}"));
                conn = None;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    out
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted_us[i]) / 1000.0
}

/// Runs the load and prints the summary line.
pub fn settle(a: &SettleArgs) -> Result<()> {
    if a.clients == 0 || a.duration == 0 {
        bail!("--clients and --duration must be positive");
    }
    let text = std::fs::read_to_string(&a.samples)
        .with_context(|| format!("reading {}", a.samples.display()))?;
    let samples: Samples = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a demo samples file", a.samples.display()))?;
    if samples.institutions.is_empty() || samples.settle_cardholders.is_empty() {
        bail!("the samples file has no institutions or no settle_cardholders");
    }
    let t = std::sync::Arc::new(target(&a.url)?);
    let holders = std::sync::Arc::new(samples.settle_cardholders);
    let run_id = a
        .run_id
        .clone()
        .unwrap_or_else(|| format!("b{}", chrono::Utc::now().timestamp_millis()));
    // A message id doubles as the request's nonce: 8 to 64 letters, digits, '-' or '_'
    // ("{run_id}-{client:03}-{seq:06}" is at least 12 long; the run id must keep it legal).
    if run_id.len() > 40
        || !run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("--run-id: at most 40 letters, digits, '-' or '_'");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.duration);
    let results: Vec<ClientResult> = rt.block_on(async {
        let tasks: Vec<_> = (0..a.clients)
            .map(|i| {
                let inst = samples.institutions[i % samples.institutions.len()].clone();
                tokio::spawn(client(
                    i,
                    t.clone(),
                    inst,
                    holders.clone(),
                    run_id.clone(),
                    started,
                    deadline,
                ))
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.expect("client task"));
        }
        out
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat: Vec<u32> = results
        .iter()
        .flat_map(|r| r.latencies_us.iter().copied())
        .collect();
    lat.sort_unstable();
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    if let Some(path) = &a.ack_log {
        let mut text = String::new();
        for r in &results {
            for m in &r.acked {
                text.push_str(m);
                text.push('\n');
            }
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.latency_log {
        let mut rows: Vec<(u64, u32)> = results
            .iter()
            .flat_map(|r| {
                r.answered_us
                    .iter()
                    .copied()
                    .zip(r.latencies_us.iter().copied())
            })
            .collect();
        rows.sort_unstable();
        let mut text = String::with_capacity(rows.len() * 16);
        for (at, us) in rows {
            text.push_str(&format!("{:.3},{us}\n", at as f64 / 1000.0));
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(e) = results.iter().find_map(|r| r.first_error.as_deref()) {
        eprintln!("first error: {e}");
    }
    println!(
        "settle_tps={:.0} p50_ms={:.2} p99_ms={:.2} errors={}",
        lat.len() as f64 / elapsed,
        percentile_ms(&lat, 0.50),
        percentile_ms(&lat, 0.99),
        errors
    );
    Ok(())
}
