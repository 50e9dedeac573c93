//! Test helpers shared by every crate's integration tests.
//!
//! [`postgres_url`] gives each caller a fresh, empty PostgreSQL database:
//! - when `SSCARD_TEST_PG_URL` is set, databases are created on that server;
//! - otherwise one throw-away server per test process is started from the installed binaries
//!   (`initdb` + `pg_ctl` in a temporary directory, random port on 127.0.0.1). PostgreSQL
//!   refuses to run as root, so as root the server runs as the unprivileged user `sscardpg`,
//!   created if needed. A watchdog stops the server and removes its directory when the test
//!   process exits;
//! - when no PostgreSQL binaries exist, it prints a loud notice and returns `None` (the caller
//!   skips), unless `SSCARD_REQUIRE_PG=1`, when it panics (CI sets this).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// A fresh SQLite database file in a temporary directory (kept alive by the returned guard).
pub fn sqlite_url() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("test.db").display().to_string();
    (dir, url)
}

struct Server {
    /// URL of the maintenance database, used to create per-test databases.
    admin_url: String,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);
static CREATE_LOCK: Mutex<()> = Mutex::new(());

fn find_bin(name: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for dir in path.split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name)))
        .filter(|p| p.is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

const PG_USER: &str = "sscardpg";

fn ensure_user() {
    let exists = Command::new("id")
        .arg(PG_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !exists {
        let ok = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_USER,
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "cannot create the unprivileged user {PG_USER} for PostgreSQL"
        );
    }
}

/// Runs a PostgreSQL binary, as `sscardpg` when we are root.
fn pg_command(bin: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", PG_USER, "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn start_server() -> Option<Server> {
    if let Ok(url) = std::env::var("SSCARD_TEST_PG_URL")
        && !url.is_empty()
    {
        return Some(Server { admin_url: url });
    }
    let (Some(initdb), Some(pg_ctl)) = (find_bin("initdb"), find_bin("pg_ctl")) else {
        let msg = "\n\n!!! PostgreSQL binaries (initdb, pg_ctl) not found: \
                   the PostgreSQL store tests are SKIPPED. Install Debian's `postgresql` \
                   or set SSCARD_TEST_PG_URL. !!!\n";
        if std::env::var("SSCARD_REQUIRE_PG").as_deref() == Ok("1") {
            panic!("{msg}");
        }
        eprintln!("{msg}");
        return None;
    };
    let root = is_root();
    if root {
        ensure_user();
    }
    let dir = tempfile::Builder::new()
        .prefix("sscard-pg-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let data = dir.join("data");
    if root {
        let ok = Command::new("chown")
            .args(["-R", &format!("{PG_USER}:")])
            .arg(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "chown of {} failed", dir.display());
    }
    let out = pg_command(&initdb, root)
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut last_err = String::new();
    for _ in 0..5 {
        let port = free_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            dir.display()
        );
        let out = pg_command(&pg_ctl, root)
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-w", "-t", "30", "-l"])
            .arg(dir.join("server.log"))
            .arg("start")
            .output()
            .expect("run pg_ctl");
        if out.status.success() {
            spawn_watchdog(&pg_ctl, &data, &dir, root);
            return Some(Server {
                admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            });
        }
        last_err = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
    }
    panic!("could not start PostgreSQL: {last_err}");
}

/// Stops the server and removes its directory once this test process has exited.
fn spawn_watchdog(pg_ctl: &Path, data: &Path, dir: &Path, root: bool) {
    let pid = std::process::id();
    let stop = if root {
        format!(
            "runuser -u {PG_USER} -- {} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {}",
        dir.display()
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// A fresh empty PostgreSQL database's URL, or `None` (with a loud notice) when PostgreSQL is
/// not available here.
pub fn postgres_url() -> Option<String> {
    let server = SERVER.get_or_init(start_server).as_ref()?;
    let _guard = CREATE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!(
        "sscard_t{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let mut client = postgres::Client::connect(&server.admin_url, postgres::NoTls)
        .expect("connect to the test PostgreSQL server");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let base = server
        .admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or_else(|| server.admin_url.clone());
    Some(format!("{base}/{name}"))
}
