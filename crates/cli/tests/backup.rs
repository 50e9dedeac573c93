//! `sscard backup` / `sscard restore` through the real binary: a demo database is backed up
//! while `sscard serve` runs on it, restored into a new file, and every table of the restored
//! database equals the source's (row counts and content hashes).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const ENV_VARS: [&str; 8] = [
    "SSCARD_CONFIG",
    "SSCARD_DB",
    "SSCARD_LISTEN",
    "SSCARD_PIN_KEY_FILE",
    "SSCARD_PIN_KEY",
    "SSCARD_LOG_FORMAT",
    "SSCARD_LOG",
    "SSCARD_POOL_SIZE",
];

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

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut c = std::net::TcpStream::connect(addr).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    c.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn backup_while_serving_then_restore_gives_an_equal_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(
        d,
        &["demo", "--db", "live.db", "--persons", "300", "--seed", "4"],
    ));

    // The server runs on the database during the backup.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = sscard(d)
        .args(["serve", "--db", "live.db", "--listen", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while http_status(&addr, "/readyz") != Some(200) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = ok(&run(d, &["backup", "--db", "live.db", "--out", "b.db"]));
    assert!(out.contains("written to b.db"), "{out}");
    assert_eq!(http_status(&addr, "/readyz"), Some(200), "still serving");
    // A backup never overwrites a file.
    let e = one_line_error(&run(d, &["backup", "--db", "live.db", "--out", "b.db"]));
    assert!(e.contains("BACKUP_EXISTS"), "{e}");
    let _ = server.kill();
    let _ = server.wait();

    let out = ok(&run(
        d,
        &["restore", "--db", "restored.db", "--from", "b.db"],
    ));
    assert!(out.contains("restored b.db"), "{out}");
    // The source's content at the end equals the restored content (the server only touches
    // the notices outbox on its own, which the comparison leaves out).
    let a = sscard_service::admin::table_digests(&d.join("live.db").display().to_string()).unwrap();
    let b =
        sscard_service::admin::table_digests(&d.join("restored.db").display().to_string()).unwrap();
    assert_eq!(a.len(), b.len());
    assert!(a.iter().any(|t| t.table == "persons" && t.rows == 300));
    for (x, y) in a.iter().zip(&b) {
        if x.table != "notices" {
            assert_eq!(x, y, "table {} differs after the round trip", x.table);
        }
    }
    let audit = ok(&run(d, &["audit", "verify", "--db", "restored.db"]));
    assert!(audit.contains("audit chain OK"), "{audit}");

    // A database holding data is only replaced with --force.
    let e = one_line_error(&run(
        d,
        &["restore", "--db", "restored.db", "--from", "b.db"],
    ));
    assert!(e.contains("RESTORE_TARGET_NOT_EMPTY"), "{e}");
    ok(&run(
        d,
        &[
            "restore",
            "--db",
            "restored.db",
            "--from",
            "b.db",
            "--force",
        ],
    ));
    // Not a backup.
    std::fs::write(d.join("junk.db"), "not a database").unwrap();
    let e = one_line_error(&run(d, &["restore", "--db", "new.db", "--from", "junk.db"]));
    assert!(e.contains("RESTORE_FAILED"), "{e}");
    // PostgreSQL: pg_dump.
    let e = one_line_error(&run(
        d,
        &[
            "backup",
            "--db",
            "postgres://u@127.0.0.1:1/x",
            "--out",
            "p.dump",
        ],
    ));
    assert!(e.contains("pg_dump"), "{e}");
}
