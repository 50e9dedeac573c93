//! The portal in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`)
//! driven over WebDriver against the real server (127.0.0.1, a temporary SQLite database with a
//! small demo population). A cardholder logs in with the initial query password and is made to
//! change it, looks at every area of their records (the contribution year filter included),
//! reports the card lost with the PIN, downloads a certificate of insurance, logs out and
//! checks the certificate's code on the public page; the pages also fit a phone's width.
//!
//! Without chromium or chromedriver the test prints a loud notice and passes, unless
//! `SSCARD_REQUIRE_BROWSER=1` (CI sets it), when it fails. `SSCARD_CHROMIUM` /
//! `SSCARD_CHROMEDRIVER` point at other binaries. With `SSCARD_UPDATE_SCREENSHOTS=1` the
//! screenshots (`portal-medical.png`, `portal-medical-phone.png`) are written to
//! `docs/screenshots/` (otherwise to a temporary directory).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::{App, AppConfig};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromium() -> String {
    std::env::var("SSCARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn chromedriver() -> String {
    std::env::var("SSCARD_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// Whether the browser is installed; a loud skip (or a failure under
/// `SSCARD_REQUIRE_BROWSER=1`) when not.
fn browser_available() -> bool {
    let missing: Vec<String> = [chromium(), chromedriver()]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "the portal browser test needs {} (Debian packages chromium and chromium-driver)",
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

/// The chromedriver this test started, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ends the WebDriver session when dropped (also on a panic), so the browser quits first.
struct EndSession {
    addr: String,
    id: String,
}

impl Drop for EndSession {
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if let Ok(mut c) = std::net::TcpStream::connect(&self.addr) {
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.id, self.addr
            );
            if c.write_all(req.as_bytes()).is_ok() {
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
            }
        }
    }
}

struct Web {
    http: reqwest::Client,
    base: String,
    id: String,
}

impl Web {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/clear"), json!({})).await;
        self.post(&format!("/element/{e}/value"), json!({ "text": text }))
            .await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    async fn script(&self, js: &str) -> Value {
        self.post("/execute/sync", json!({ "script": js, "args": [] }))
            .await
    }

    async fn script_async(&self, js: &str, args: Value) -> Value {
        self.post("/execute/async", json!({ "script": js, "args": args }))
            .await
    }

    async fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let src = self.source().await;
            if src.contains(needle) {
                return src;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {needle} at {}:\n{src}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    async fn screenshot(&self, path: &Path) {
        let b64 = self.get("/screenshot").await;
        let bytes = base64_decode(b64.as_str().unwrap());
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, bytes).unwrap();
    }

    /// Whether the page is no wider than the window (no sideways scrolling on a phone).
    async fn fits_width(&self) -> bool {
        self.script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
            .await
            .as_bool()
            .unwrap_or(false)
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

async fn start_driver(http: &reqwest::Client) -> (Driver, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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

async fn new_session(http: &reqwest::Client, base: &str, profile: &Path) -> Web {
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
        "--window-size=1280,1000",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
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
    let w = Web {
        http: http.clone(),
        base: base.to_string(),
        id,
    };
    w.post(
        "/timeouts",
        json!({ "implicit": 5000, "pageLoad": 30000, "script": 15000 }),
    )
    .await;
    w
}

fn screenshot_dir(tmp: &Path) -> PathBuf {
    if std::env::var("SSCARD_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&d).unwrap();
        d
    } else {
        tmp.to_path_buf()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cardholder_uses_the_portal_in_chromium() {
    if !browser_available() {
        return;
    }
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = App::open(&AppConfig {
        db_url: url,
        ..Default::default()
    })
    .unwrap();
    let samples = demo::generate(
        &app,
        &DemoOptions {
            persons: 300,
            seed: 11,
            as_of: app.today(),
        },
        &|_, _| {},
    )
    .unwrap();
    let h = samples
        .cardholders
        .iter()
        .find(|c| {
            c.card_status == "active"
                && c.pin_changed
                && !c.query_password_changed
                && c.card_kind == "regular"
                && c.medical_balance_fen > 0
        })
        .or_else(|| {
            samples.cardholders.iter().find(|c| {
                c.card_status == "active"
                    && c.pin_changed
                    && !c.query_password_changed
                    && c.card_kind == "regular"
            })
        })
        .expect("a holder to try")
        .clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_http::serve(app, listener, async {
        let _ = stop_rx.await;
    }));

    let http = reqwest::Client::new();
    let (_driver, base) = start_driver(&http).await;
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshot_dir(dir.path());
    let w = new_session(&http, &base, profile.path()).await;
    let _end = EndSession {
        addr: base.trim_start_matches("http://").to_string(),
        id: w.id.clone(),
    };

    // First login: the initial password must be changed before anything else.
    w.goto(&format!("{site}/portal/")).await;
    w.wait_for("个人登录").await;
    w.type_into("#id_number", &h.id_number).await;
    w.type_into("#password", &h.query_password).await;
    w.click("#login-submit").await;
    w.wait_for("id=\"forced\"").await;
    assert!(w.url().await.ends_with("/portal/password"));
    w.goto(&format!("{site}/portal/medical")).await;
    assert!(
        w.url().await.ends_with("/portal/password"),
        "no records before the change"
    );
    w.type_into("#current_password", &h.query_password).await;
    w.type_into("#new_password", "Portal2026x").await;
    w.type_into("#confirm_password", "Portal2026x").await;
    w.click("#password-submit").await;
    w.wait_for("id=\"done\"").await;

    // A query of each area.
    for (path, needle) in [
        ("/portal/me", h.name.as_str()),
        ("/portal/pension", "id=\"fact-months\""),
        ("/portal/unemployment", "id=\"fact-continuous\""),
        ("/portal/injury", "id=\"table-cases\""),
        ("/portal/maternity", "id=\"table-maternity-benefits\""),
        ("/portal/assistance", "id=\"table-special-care\""),
        ("/portal/health", "血型"),
        ("/portal/card", "id=\"table-timeline\""),
    ] {
        w.goto(&format!("{site}{path}")).await;
        w.wait_for(needle).await;
    }
    // Contributions with the year filter, chosen in the form.
    w.goto(&format!("{site}/portal/contributions")).await;
    w.wait_for("id=\"year-form\"").await;
    let year = w
        .script(
            "const o = document.querySelectorAll('#year option'); \
             return o.length > 1 ? o[1].value : '';",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !year.is_empty() {
        w.script(&format!(
            "document.querySelector('#year').value = '{year}';"
        ))
        .await;
        w.click("#year-submit").await;
        w.wait_for(&format!("<option value=\"{year}\" selected"))
            .await;
        let months = w
            .script(
                "return Array.from(document.querySelectorAll('#table-contributions tbody tr td:first-child')).map(td => td.textContent);",
            )
            .await;
        let months = months.as_array().unwrap();
        assert!(!months.is_empty());
        assert!(
            months
                .iter()
                .all(|m| m.as_str().unwrap().starts_with(&year)),
            "{months:?}"
        );
    }
    // The medical page: balance and recent transactions; on a desktop and on a phone.
    w.goto(&format!("{site}/portal/medical")).await;
    let src = w.wait_for("id=\"fact-balance\"").await;
    let balance = sscard_domain::money::Money::from_fen(h.medical_balance_fen).format_yuan();
    assert!(src.contains(&balance), "balance {balance}");
    w.resize(1280, 1000).await;
    w.screenshot(&shots.join("portal-medical.png")).await;
    w.resize(390, 844).await;
    w.goto(&format!("{site}/portal/medical")).await;
    w.wait_for("id=\"fact-balance\"").await;
    assert!(w.fits_width().await, "the medical page fits a phone screen");
    w.screenshot(&shots.join("portal-medical-phone.png")).await;
    w.resize(1280, 1000).await;

    // The English switch.
    w.click("#lang-switch").await;
    w.wait_for("Personal account balance").await;
    w.click("#lang-switch").await;
    w.wait_for("个人账户余额").await;

    // A temporary loss report with the card PIN.
    w.goto(&format!("{site}/portal/card")).await;
    w.wait_for("id=\"loss-form\"").await;
    w.type_into("#pin", &h.pin).await;
    w.click("#confirm").await;
    w.click("#loss-submit").await;
    let src = w.wait_for("id=\"loss-done\"").await;
    assert!(src.contains("临时挂失"));

    // A certificate of insurance: issued, downloaded as a PDF.
    w.goto(&format!("{site}/portal/certificate")).await;
    w.click("#cert-issue").await;
    w.wait_for("id=\"cert-code\"").await;
    let code = w
        .script("return document.querySelector('#cert-code').textContent.trim();")
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(code.len(), 14, "{code}");
    let head = w
        .script_async(
            "const done = arguments[arguments.length - 1]; \
             fetch(document.querySelector('#cert-download').href) \
               .then(r => r.arrayBuffer().then(b => { \
                 const u = new Uint8Array(b); \
                 done(r.headers.get('content-type') + '|' + String.fromCharCode(...u.slice(0, 5)) + '|' + u.length); \
               })) \
               .catch(e => done('error ' + e));",
            json!([]),
        )
        .await;
    let head = head.as_str().unwrap().to_string();
    let parts: Vec<&str> = head.split('|').collect();
    assert_eq!(parts[0], "application/pdf", "{head}");
    assert_eq!(parts[1], "%PDF-", "{head}");
    assert!(parts[2].parse::<usize>().unwrap() > 2000, "{head}");

    // Logout, then anyone checks the code on the public page.
    w.click("#logout").await;
    w.wait_for("id=\"bye\"").await;
    w.goto(&format!("{site}/portal/verify")).await;
    w.type_into("#code", &code.to_lowercase()).await;
    w.click("#verify-submit").await;
    let src = w.wait_for("id=\"verify-ok\"").await;
    assert!(src.contains(&code));
    w.goto(&format!("{site}/portal/me")).await;
    w.wait_for("个人登录").await;

    let _ = stop_tx.send(());
    let _ = server.await;
}
