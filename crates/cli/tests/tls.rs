//! `sscard serve --tls-cert FILE --tls-key FILE`: the real binary over HTTPS, and its
//! refusals of incomplete or unusable TLS settings.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ENV_VARS: [&str; 11] = [
    "SSCARD_CONFIG",
    "SSCARD_DB",
    "SSCARD_LISTEN",
    "SSCARD_PIN_KEY_FILE",
    "SSCARD_PIN_KEY",
    "SSCARD_LOG_FORMAT",
    "SSCARD_LOG",
    "SSCARD_POOL_SIZE",
    "SSCARD_TLS_CERT",
    "SSCARD_TLS_KEY",
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

/// A self-signed certificate for 127.0.0.1 as PEM files in `dir`; returns (cert, key, PEM).
fn make_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    (cert_path, key_path, cert.pem())
}

/// Asserts a failure reported as exactly one `error: …` line on stderr; returns that line.
fn one_line_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

/// A running `sscard serve` that announced an HTTPS address.
struct Server {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(cmd: &mut Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sscard serve");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        // Owned by a `Server` from here on: its `Drop` kills and reaps the child.
        let mut server = Server {
            child,
            addr: String::new(),
            lines,
        };
        let mut log = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match server.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    assert!(!line.contains("listening on http://"), "plain HTTP: {line}");
                    if let Some(rest) = line.split("listening on https://").nth(1) {
                        server.addr = rest.split_whitespace().next().unwrap().to_string();
                        return server;
                    }
                    log.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!("server exited with {status}: {log:?}");
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("server stopped: {log:?}"),
            }
        }
        panic!("server did not start listening: {log:?}");
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

/// GET over HTTPS trusting only `cert_pem`; the status and body.
fn https_get(addr: &str, path: &str, cert_pem: &str) -> reqwest::Result<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let resp = client.get(format!("https://{addr}{path}")).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    })
}

#[test]
fn serve_with_tls_flags_answers_over_https_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = make_cert(dir.path(), "server");
    let mut server = Server::start(sscard(dir.path()).args([
        "serve",
        "--db",
        "t.db",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]));
    assert_eq!(
        https_get(&server.addr, "/healthz", &pem).unwrap(),
        (200, "ok".to_string())
    );
    let (status, body) = https_get(&server.addr, "/api/v1/regions/511000", &pem).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("四川省内江市"), "{body}");
    assert_eq!(https_get(&server.addr, "/readyz", &pem).unwrap().0, 200);
    let exit = server.terminate();
    assert!(exit.success(), "exit status {exit}");
    let all: Vec<String> = server.lines.try_iter().collect();
    assert!(all.join("\n").contains("shutting down"), "{all:?}");
}

#[test]
fn serve_takes_the_tls_files_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = make_cert(dir.path(), "server");
    let server = Server::start(
        sscard(dir.path())
            .args(["serve", "--db", "t.db", "--listen", "127.0.0.1:0"])
            .env("SSCARD_TLS_CERT", &cert)
            .env("SSCARD_TLS_KEY", &key),
    );
    assert_eq!(
        https_get(&server.addr, "/healthz", &pem).unwrap(),
        (200, "ok".to_string())
    );
}

#[test]
fn one_tls_file_without_the_other_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = make_cert(dir.path(), "server");
    let serve = ["serve", "--db", "t.db", "--listen", "127.0.0.1:0"];

    let out = sscard(dir.path())
        .args(serve)
        .args(["--tls-cert", cert.to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_error(&out);
    assert!(line.contains("--tls-key"), "{line}");
    assert!(line.contains(cert.to_str().unwrap()), "{line}");

    let out = sscard(dir.path())
        .args(serve)
        .args(["--tls-key", key.to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_error(&out);
    assert!(line.contains("--tls-cert"), "{line}");
    assert!(line.contains(key.to_str().unwrap()), "{line}");

    // Same through the environment.
    let out = sscard(dir.path())
        .args(serve)
        .env("SSCARD_TLS_CERT", &cert)
        .output()
        .unwrap();
    assert!(one_line_error(&out).contains("--tls-key"));
    // Refused before the database is touched.
    assert!(!dir.path().join("t.db").exists());
}

#[test]
fn unusable_tls_files_are_a_one_line_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a, _) = make_cert(dir.path(), "a");
    let (_, key_b, _) = make_cert(dir.path(), "b");
    let missing = dir.path().join("missing.crt");
    let serve = |cert: &Path, key: &Path| {
        sscard(dir.path())
            .args(["serve", "--db", "t.db", "--listen", "127.0.0.1:0"])
            .args(["--tls-cert", cert.to_str().unwrap()])
            .args(["--tls-key", key.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let line = one_line_error(&serve(&missing, &key_a));
    assert!(line.contains("cannot read"), "{line}");
    assert!(line.contains(missing.to_str().unwrap()), "{line}");

    let line = one_line_error(&serve(&cert_a, &key_b));
    assert!(line.contains("does not match"), "{line}");
    assert!(line.contains(key_b.to_str().unwrap()), "{line}");

    let line = one_line_error(&serve(&cert_a, &cert_a));
    assert!(line.contains("no PEM private key"), "{line}");
    assert!(!dir.path().join("t.db").exists());
}

#[test]
fn config_show_prints_the_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("c.toml");
    std::fs::write(
        &toml,
        "tls_cert = \"/etc/ssl/file.crt\"\ntls_key = \"/etc/ssl/file.key\"\n",
    )
    .unwrap();
    let show = |extra: &[&str], env: &[(&str, &str)]| {
        let mut cmd = sscard(dir.path());
        cmd.args(["config", "show", "--config", toml.to_str().unwrap()])
            .args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = show(&[], &[]);
    assert!(text.contains("tls_cert = \"/etc/ssl/file.crt\""), "{text}");
    assert!(text.contains("tls_key = \"/etc/ssl/file.key\""), "{text}");
    let text = show(
        &["--tls-cert", "/flag.crt"],
        &[
            ("SSCARD_TLS_CERT", "/env.crt"),
            ("SSCARD_TLS_KEY", "/env.key"),
        ],
    );
    assert!(text.contains("tls_cert = \"/flag.crt\""), "{text}");
    assert!(text.contains("tls_key = \"/env.key\""), "{text}");
}
