//! Drives the real `sscard` binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ENV_VARS: [&str; 9] = [
    "SSCARD_CONFIG",
    "SSCARD_DB",
    "SSCARD_LISTEN",
    "SSCARD_PIN_KEY_FILE",
    "SSCARD_PIN_KEY",
    "SSCARD_LOG_FORMAT",
    "SSCARD_LOG",
    "SSCARD_POOL_SIZE",
    "RUST_BACKTRACE",
];

/// The binary, run in `dir` with no SSCARD_* variables from the caller's environment.
fn sscard(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sscard"));
    cmd.current_dir(dir).stdin(Stdio::null());
    for v in ENV_VARS {
        cmd.env_remove(v);
    }
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    sscard(dir).args(args).output().expect("run sscard")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts a failure reported as exactly one `error: …` line on stderr; returns that line.
fn one_line_error(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

/// A running `sscard serve`: its stderr lines arrive on a channel.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    addr: String,
    log: Vec<String>,
}

impl Server {
    fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = sscard(dir)
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sscard serve");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Drain stdout so a long try-it list never blocks the server.
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        let mut server = Server {
            child,
            lines: rx,
            addr: String::new(),
            log: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match server.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        server.addr = rest.split_whitespace().next().unwrap().to_string();
                        server.log.push(line);
                        return server;
                    }
                    server.log.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!("server exited with {status}: {:?}", server.log);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("server stopped: {:?}", server.log)
                }
            }
        }
        let _ = server.child.kill();
        panic!("server did not start listening: {:?}", server.log);
    }

    fn port(&self) -> &str {
        self.addr.rsplit(':').next().unwrap()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("server did not stop after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET; returns the status code and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--db", "t.db", "--listen", "127.0.0.1:0"]);
    let start = Instant::now();
    let mut status = 0;
    while start.elapsed() < Duration::from_secs(5) {
        status = http_get(&server.addr, "/healthz").0;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status, 200);
    let (status, body) = http_get(&server.addr, "/api/v1/regions/511000");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("四川省内江市"), "{body}");
    let (status, _) = http_get(&server.addr, "/readyz");
    assert_eq!(status, 200);
    let exit = server.terminate();
    assert!(exit.success(), "exit status {exit}");
    // The access log went to stderr with the request, the shutdown was logged.
    let rest: Vec<String> = server.lines.try_iter().collect();
    let all = rest.join("\n");
    assert!(all.contains("/api/v1/regions/511000"), "{all}");
    assert!(all.contains("shutting down"), "{all}");
}

/// On PostgreSQL the pool's clients close by blocking on their own runtime: the server used to
/// panic (and abort) when the last reference to the store went away on an async worker.
#[test]
fn serve_on_postgres_stops_cleanly_on_sigterm() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--db", &url, "--listen", "127.0.0.1:0"]);
    let (status, body) = http_get(&server.addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(&server.addr, "/api/v1/regions/511000");
    assert_eq!(status, 200, "{body}");
    let exit = server.terminate();
    let rest: Vec<String> = server.lines.try_iter().collect();
    let all = rest.join("\n");
    assert!(exit.success(), "exit status {exit}: {all}");
    assert!(!all.contains("panic"), "{all}");
    assert!(all.contains("stopped"), "{all}");
}

#[test]
fn a_second_server_on_the_same_port_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--db", "t.db", "--listen", "127.0.0.1:0"]);
    let listen = format!("127.0.0.1:{}", server.port());
    let out = run(dir.path(), &["serve", "--db", "t.db", "--listen", &listen]);
    let line = one_line_error(&out);
    assert!(line.contains(&listen), "{line}");
    assert_eq!(
        http_get(&server.addr, "/healthz").0,
        200,
        "the first server is unharmed"
    );
}

#[test]
fn an_unreachable_database_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "serve",
            "--db",
            "postgres://nobody@127.0.0.1:1/x",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let line = one_line_error(&out);
    assert!(line.contains("DB_OPEN"), "{line}");
    assert!(line.contains("无法打开数据库"), "{line}");
}

#[test]
fn config_files_with_unknown_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "db = \"x.db\"\nlisten_addr = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    for args in [
        &["config", "show", "--config", "bad.toml"][..],
        &["serve", "--config", "bad.toml"][..],
    ] {
        let line = one_line_error(&run(dir.path(), args));
        assert!(line.contains("listen_addr"), "{line}");
        assert!(line.contains("bad.toml"), "{line}");
    }
    // Through SSCARD_CONFIG too.
    let out = sscard(dir.path())
        .args(["config", "show"])
        .env("SSCARD_CONFIG", "bad.toml")
        .output()
        .unwrap();
    assert!(one_line_error(&out).contains("listen_addr"));
    // Invalid TOML.
    std::fs::write(dir.path().join("broken.toml"), "db = \n").unwrap();
    assert!(
        one_line_error(&run(
            dir.path(),
            &["config", "show", "--config", "broken.toml"]
        ))
        .contains("broken.toml")
    );
}

#[test]
fn unreadable_config_files_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let line = one_line_error(&run(dir.path(), &["serve", "--config", "missing.toml"]));
    assert!(line.contains("missing.toml"), "{line}");
    std::fs::create_dir(dir.path().join("adir.toml")).unwrap();
    let line = one_line_error(&run(
        dir.path(),
        &["config", "show", "--config", "adir.toml"],
    ));
    assert!(line.contains("adir.toml"), "{line}");
}

#[test]
fn config_show_redacts_secrets_and_applies_precedence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "db = \"postgres://app:filepass@db.internal/sscard\"\nlisten = \"0.0.0.0:9000\"\nlog = \"debug\"\n\
         pin_key = \"ffeeddccbbaa99887766554433221100\"\npool_size = 4\n",
    )
    .unwrap();
    let out = sscard(dir.path())
        .args(["config", "show", "--config", "c.toml", "--log", "warn"])
        .env("SSCARD_LISTEN", "127.0.0.1:9100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(!shown.contains("filepass"), "{shown}");
    assert!(!shown.contains("ffeeddcc"), "{shown}");
    assert!(
        shown.contains("db = \"postgres://app:***@db.internal/sscard\""),
        "{shown}"
    );
    assert!(shown.contains("pin_key = \"***\""), "{shown}");
    assert!(
        shown.contains("listen = \"127.0.0.1:9100\""),
        "env beats file: {shown}"
    );
    assert!(shown.contains("log = \"warn\""), "flag beats file: {shown}");
    assert!(
        shown.contains("pool_size = 4"),
        "file beats default: {shown}"
    );
    assert!(shown.contains("log_format = \"text\""), "default: {shown}");
    // The output is valid TOML.
    let _: toml::Table = shown.parse().expect("valid TOML");

    let out = sscard(dir.path())
        .args(["config", "show", "--db", "postgres://u:flagpass@h/db"])
        .env("SSCARD_PIN_KEY", "00112233445566778899aabbccddeeff")
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(
        !shown.contains("flagpass") && !shown.contains("00112233"),
        "{shown}"
    );
    assert!(shown.contains("pin_key = \"***\""), "{shown}");
}

#[test]
fn help_works_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 10] = [
        &[],
        &["serve"],
        &["demo"],
        &["audit"],
        &["audit", "verify"],
        &["migrate"],
        &["migrate", "status"],
        &["migrate", "up"],
        &["config"],
        &["config", "show"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = run(dir.path(), &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let help = text(&out.stdout);
        assert!(help.contains("Usage: sscard"), "{args:?}: {help}");
    }
    let serve_help = text(&run(dir.path(), &["serve", "--help"]).stdout);
    for flag in [
        "--db",
        "--listen",
        "--config",
        "--demo",
        "--persons",
        "--seed",
        "--pin-key-file",
        "--log-format",
    ] {
        assert!(serve_help.contains(flag), "serve --help lacks {flag}");
    }
    let demo_help = text(&run(dir.path(), &["demo", "--help"]).stdout);
    for flag in ["--samples", "--as-of", "--persons", "--seed"] {
        assert!(demo_help.contains(flag), "demo --help lacks {flag}");
    }
    let version = run(dir.path(), &["--version"]);
    assert!(version.status.success());
    assert_eq!(
        text(&version.stdout).trim(),
        format!("sscard {}", env!("CARGO_PKG_VERSION"))
    );
    // A usage error is not a panic.
    let bad = run(dir.path(), &["serve", "--no-such-flag"]);
    assert!(!bad.status.success());
    assert!(!text(&bad.stderr).contains("panicked"));
}

#[test]
fn demo_fills_an_empty_database_once_and_the_audit_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "demo",
            "--db",
            "demo.db",
            "--persons",
            "40",
            "--seed",
            "7",
            "--samples",
            "samples.json",
            "--as-of",
            "2025-06-30",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Cardholders"), "{stdout}");
    assert!(stdout.contains("Staff logins"), "{stdout}");
    let samples: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("samples.json")).unwrap())
            .unwrap();
    let first = &samples["cardholders"][0];
    assert!(
        first["id_number"].is_string() && first["pin"].is_string(),
        "{samples}"
    );
    assert!(
        stdout.contains(first["id_number"].as_str().unwrap()),
        "try-it list names the sample cardholders"
    );

    let again = run(dir.path(), &["demo", "--db", "demo.db", "--persons", "5"]);
    assert!(one_line_error(&again).contains("already has persons"));

    let verify = run(dir.path(), &["audit", "verify", "--db", "demo.db"]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    let line = text(&verify.stdout);
    assert!(
        line.starts_with("audit chain OK: ") && line.trim().ends_with(" rows"),
        "{line}"
    );
}

#[test]
fn serve_demo_fills_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        dir.path(),
        &[
            "--db",
            "d.db",
            "--listen",
            "127.0.0.1:0",
            "--demo",
            "--persons",
            "25",
            "--seed",
            "3",
        ],
    );
    let (status, body) = http_get(&server.addr, "/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("sscard_persons 25"), "{body}");
    assert!(server.terminate().success());
}

#[test]
fn an_invalid_pin_key_is_one_line_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = sscard(dir.path())
        .args(["audit", "verify", "--db", "t.db"])
        .env("SSCARD_PIN_KEY", "not-hex-secretvalue")
        .output()
        .unwrap();
    let line = one_line_error(&out);
    assert!(!line.contains("secretvalue"), "{line}");
    assert!(line.contains("PIN key"), "{line}");
}

/// `sscard bench settle` against a real server: signed clients settle, the summary line keeps
/// its contract, and a short run id still makes legal nonces (it used to make the first nine
/// of each client too short: refused as SIGNATURE_INVALID).
#[test]
fn bench_settle_reports_one_line_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "demo",
            "--db",
            "b.db",
            "--persons",
            "300",
            "--seed",
            "5",
            "--samples",
            "s.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut server = Server::start(dir.path(), &["--db", "b.db", "--listen", "127.0.0.1:0"]);
    let url = format!("http://{}", server.addr);
    let out = run(
        dir.path(),
        &[
            "bench",
            "settle",
            "--url",
            &url,
            "--samples",
            "s.json",
            "--clients",
            "4",
            "--duration",
            "1",
            "--run-id",
            "r1",
            "--latency-log",
            "lat.csv",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", text(&out.stderr));
    let line = stdout.lines().last().unwrap_or_default();
    assert!(line.starts_with("settle_tps="), "{line}");
    assert!(
        line.contains(" p50_ms=") && line.contains(" p99_ms="),
        "{line}"
    );
    assert!(line.ends_with(" errors=0"), "{line}\n{}", text(&out.stderr));
    let tps: f64 = line["settle_tps=".len()..]
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0);
    assert!(tps > 0.0, "{line}");
    // The latency log: one `<ms since start>,<µs>` row per acknowledged settlement, in the
    // order they were answered.
    let log = std::fs::read_to_string(dir.path().join("lat.csv")).unwrap();
    let rows: Vec<(f64, u64)> = log
        .lines()
        .map(|l| {
            let (at, us) = l.split_once(',').expect(l);
            (at.parse().expect(l), us.parse().expect(l))
        })
        .collect();
    assert!(!rows.is_empty());
    assert!(
        rows.windows(2).all(|w| w[0].0 <= w[1].0),
        "not in answer order"
    );
    assert!(rows.iter().all(|r| r.0 > 0.0 && r.1 > 0));
    let bad = run(
        dir.path(),
        &[
            "bench",
            "settle",
            "--url",
            &url,
            "--samples",
            "s.json",
            "--duration",
            "1",
            "--run-id",
            "not a run id",
        ],
    );
    assert!(one_line_error(&bad).contains("--run-id"));
    assert!(server.terminate().success());
}
