//! The harness of the browser tests: headless Chromium (Debian's `chromium` +
//! `chromium-driver`) driven over WebDriver (plain HTTP + JSON) against the real server on
//! 127.0.0.1.
//!
//! Without chromium or chromedriver a browser test prints a loud notice and passes, unless
//! `SSCARD_REQUIRE_BROWSER=1` (CI sets it), when it fails ([`browser_available`]).
//! `SSCARD_CHROMIUM` / `SSCARD_CHROMEDRIVER` point at other binaries than Debian's. With
//! `SSCARD_UPDATE_SCREENSHOTS=1` screenshots go to `docs/screenshots/` ([`screenshot_dir`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use sscard_service::App;

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long [`Session::wait_for`] waits for a page.
const PATIENCE: Duration = Duration::from_secs(30);

/// Debian's chromium; `SSCARD_CHROMIUM` overrides it.
pub fn chromium() -> String {
    std::env::var("SSCARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Debian's chromedriver; `SSCARD_CHROMEDRIVER` overrides it.
pub fn chromedriver() -> String {
    std::env::var("SSCARD_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// Whether the browser is installed; a loud skip (or a failure under
/// `SSCARD_REQUIRE_BROWSER=1`) when not. `test` names the test in the notice.
pub fn browser_available(test: &str) -> bool {
    let missing: Vec<String> = [chromium(), chromedriver()]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "the {test} browser test needs {} (Debian packages chromium and chromium-driver: \
         apt-get install -y chromium chromium-driver)",
        missing.join(" and ")
    );
    if std::env::var("SSCARD_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("SSCARD_REQUIRE_BROWSER=1 but {msg}");
    }
    eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPED: {msg}");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
    false
}

/// Where screenshots go: `docs/screenshots/` with `SSCARD_UPDATE_SCREENSHOTS=1`, else `tmp`.
pub fn screenshot_dir(tmp: &Path) -> PathBuf {
    if std::env::var("SSCARD_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&d).unwrap();
        d
    } else {
        tmp.to_path_buf()
    }
}

/// The real server on a free port of 127.0.0.1, until [`Server::stop`].
pub struct Server {
    /// `http://127.0.0.1:port`.
    pub site: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Starts serving `app`.
    pub async fn start(app: App) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let site = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(sscard_http::serve(app, listener, async {
            let _ = stop_rx.await;
        }));
        Server { site, stop, task }
    }

    /// Shuts the server down gracefully and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The chromedriver a test started: killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver on a free port and waits until it is ready: the driver and its base URL.
async fn start_driver(http: &reqwest::Client) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/status")).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == json!(true)
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, base)
}

/// A WebDriver session of its own chromedriver and a fresh browser profile. Dropping it (also
/// when the test panics) ends the session, so that chromedriver closes the browser, then kills
/// chromedriver.
pub struct Session {
    http: reqwest::Client,
    base: String,
    id: String,
    // Dropped after `Session::drop` has ended the session.
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Drop for Session {
    /// A plain blocking `DELETE /session/{id}`: its answer comes once the browser has quit.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        if let Ok(mut c) = std::net::TcpStream::connect(addr) {
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.id
            );
            if c.write_all(req.as_bytes()).is_ok() {
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf);
            }
        }
    }
}

impl Session {
    /// Starts chromedriver and a headless Chromium with a `width` × `height` window (in
    /// Chinese), plus the `extra` command-line switches.
    pub async fn start(width: u32, height: u32, extra: &[&str]) -> Session {
        let http = reqwest::Client::new();
        let (driver, base) = start_driver(&http).await;
        let profile = tempfile::tempdir().unwrap();
        let args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--lang=zh-CN",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .chain([
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ])
        .collect();
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": chromium(), "args": args }
                }
            }
        });
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        let s = Session {
            http,
            base,
            id,
            _driver: driver,
            _profile: profile,
        };
        s.post(
            "/timeouts",
            json!({ "implicit": 5000, "pageLoad": 30000, "script": 15000 }),
        )
        .await;
        s
    }

    /// A WebDriver command of this session: its `value`; a failure panics.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.id);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "WebDriver {path}: {status} {v}");
        v["value"].clone()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Finds an element (the implicit wait gives pages time to load): its reference.
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// Clears the input and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/clear"), json!({})).await;
        self.post(&format!("/element/{e}/value"), json!({ "text": text }))
            .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    /// The value of an input.
    pub async fn value(&self, css: &str) -> String {
        self.script(
            "return document.querySelector(arguments[0]).value;",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn script(&self, js: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": js, "args": args }))
            .await
    }

    /// A script that calls its last argument with the result.
    pub async fn script_async(&self, js: &str, args: Value) -> Value {
        self.post("/execute/async", json!({ "script": js, "args": args }))
            .await
    }

    /// Waits until the page source contains `needle`: the source.
    pub async fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let src = self.source().await;
            if src.contains(needle) {
                return src;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "timed out waiting for {needle} at {}:\n{src}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sets the window's size.
    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    /// Sizes the window so that the page's viewport is `width` × `height`.
    pub async fn viewport(&self, width: i64, height: i64) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
        let inner = self
            .script("return [window.innerWidth, window.innerHeight];", json!([]))
            .await;
        let (iw, ih) = (inner[0].as_i64().unwrap(), inner[1].as_i64().unwrap());
        self.post(
            "/window/rect",
            json!({ "width": 2 * width - iw, "height": 2 * height - ih }),
        )
        .await;
    }

    /// Whether the page is no wider than the window (no sideways scrolling on a phone).
    pub async fn fits_width(&self) -> bool {
        self.script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            json!([]),
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Saves a PNG screenshot of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let b64 = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .expect("base64 screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, bytes).unwrap();
    }
}
