//! The browser test: headless Chromium (Debian's `chromium` + `chromium-driver`) driven over
//! WebDriver walks a clerk through the console on the real server (127.0.0.1, a temporary
//! SQLite database with a small demo population): log in, find a person, apply for a card
//! (registering a new applicant with a photo), produce it (batch, bank file, bank return file),
//! collect it, report it lost in writing and reissue it (pickup certificate PDF).
//!
//! Without chromium or chromedriver the test prints a loud notice and passes, unless
//! `SSCARD_REQUIRE_BROWSER=1` (CI sets it), when it fails. With
//! `SSCARD_CHROMIUM` / `SSCARD_CHROMEDRIVER` point at other binaries than Debian's. With
//! `SSCARD_UPDATE_SCREENSHOTS=1` the screenshots of the login and person pages are written to
//! `docs/screenshots/console-*.png` (otherwise to a temporary directory).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sscard_domain::ids::IdNumber;
use sscard_service::cards::photo::sample_png;
use sscard_service::demo::{self, DemoOptions};
use sscard_service::{App, AppConfig};

/// Debian's paths; `SSCARD_CHROMIUM` / `SSCARD_CHROMEDRIVER` override them.
fn chromium() -> String {
    std::env::var("SSCARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn chromedriver() -> String {
    std::env::var("SSCARD_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The chromedriver this test started: killed when dropped.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ends the WebDriver session when dropped (also when the test panics), so that chromedriver
/// closes the browser before it is itself killed: a plain blocking `DELETE /session/{id}`.
struct SessionGuard {
    addr: String,
    id: String,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if let Ok(mut c) = std::net::TcpStream::connect(&self.addr) {
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.id, self.addr
            );
            if c.write_all(req.as_bytes()).is_ok() {
                // The answer comes once the browser has quit.
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf);
            }
        }
    }
}

/// A WebDriver session over plain HTTP.
struct Session {
    http: reqwest::Client,
    base: String,
    id: String,
}

impl Session {
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
        self.get("/url").await.as_str().unwrap().to_string()
    }

    async fn source(&self) -> String {
        self.get("/source").await.as_str().unwrap().to_string()
    }

    /// Finds an element (the implicit wait gives pages time to load).
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

    async fn script(&self, js: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": js, "args": args }))
            .await
    }

    async fn script_async(&self, js: &str, args: Value) -> Value {
        self.post("/execute/async", json!({ "script": js, "args": args }))
            .await
    }

    /// Waits until the page source contains `needle`.
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

    /// Opens the `<details>` around the form of `action` and submits it after filling `fields`.
    async fn submit(&self, action: &str, fields: &[(&str, &str)]) {
        self.script(
            "document.querySelector(arguments[0]).closest('details').open = true;",
            json!([format!("form[data-action=\"{action}\"]")]),
        )
        .await;
        for (name, value) in fields {
            self.type_into(
                &format!("form[data-action=\"{action}\"] [name=\"{name}\"]"),
                value,
            )
            .await;
        }
        self.click(&format!(
            "form[data-action=\"{action}\"] button[type=\"submit\"]"
        ))
        .await;
    }

    async fn screenshot(&self, path: &Path) {
        let b64 = self.get("/screenshot").await;
        let bytes = base64_decode(b64.as_str().unwrap());
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, bytes).unwrap();
    }

    async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the browser is installed; a loud skip (or a failure in CI) when not.
fn browser_available() -> bool {
    let missing: Vec<String> = [chromium(), chromedriver()]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "the console browser test needs {} (Debian packages chromium and chromium-driver: \
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

async fn start_driver(http: &reqwest::Client) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child };
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

async fn new_session(http: &reqwest::Client, base: &str, profile: &Path) -> Session {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--lang=zh-CN",
        "--window-size=1280,900",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let caps = json!({
        "capabilities": {
            "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium(), "args": args }
            }
        }
    });
    let resp = http
        .post(format!("{base}/session"))
        .json(&caps)
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    let id = v["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
        .to_string();
    let s = Session {
        http: http.clone(),
        base: base.to_string(),
        id,
    };
    s.post(
        "/timeouts",
        json!({ "implicit": 5000, "pageLoad": 30000, "script": 15000 }),
    )
    .await;
    s
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
async fn a_clerk_walks_a_card_through_its_life_in_chromium() {
    if !browser_available() {
        return;
    }
    // The server: a small demo population on a temporary SQLite file.
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
    let clerk_pw = samples
        .staff
        .iter()
        .find(|s| s.username == "clerk1")
        .unwrap()
        .password
        .clone();
    let holder = samples
        .cardholders
        .iter()
        .find(|c| c.card_status == "active" && c.life_status == "normal")
        .unwrap()
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
    let s = new_session(&http, &base, profile.path()).await;
    let _ended = SessionGuard {
        addr: base.trim_start_matches("http://").to_string(),
        id: s.id.clone(),
    };

    // Log in.
    s.goto(&format!("{site}/console/")).await;
    assert!(
        s.url().await.ends_with("/console/login"),
        "redirected to login"
    );
    s.wait_for("经办人员登录").await;
    s.screenshot(&shots.join("console-login.png")).await;
    s.type_into("#username", "clerk1").await;
    s.type_into("#password", &clerk_pw).await;
    s.click("#login-submit").await;
    s.wait_for("窗口经办员一").await;

    // Find a person by ID number and open their page.
    s.type_into("#q", &holder.id_number).await;
    s.click("#search-submit").await;
    s.wait_for("id=\"results\"").await;
    s.click("a.person-link").await;
    s.wait_for("卡片履历").await;
    assert!(s.source().await.contains(&holder.name));

    // A newcomer: not found, registered with a photo, card applied for.
    let id = IdNumber::from_parts(
        "511002",
        chrono::NaiveDate::from_ymd_opt(1992, 8, 8).unwrap(),
        135,
    )
    .as_str()
    .to_string();
    s.goto(&format!("{site}/console/search")).await;
    s.type_into("#q", &id).await;
    s.click("#search-submit").await;
    s.wait_for("id=\"no-results\"").await;
    s.click("#apply-new").await;
    s.wait_for("data-action=\"apply-new\"").await;
    s.type_into("#name", "柯浏览").await;
    s.type_into("#phone", "13900139000").await;
    s.script(
        "document.getElementById('region_code').value = '511000';",
        json!([]),
    )
    .await;
    let photo = dir.path().join("photo.png");
    std::fs::write(&photo, sample_png(358, 441)).unwrap();
    let input = s.find("#photo").await;
    s.post(
        &format!("/element/{input}/value"),
        json!({ "text": photo.display().to_string() }),
    )
    .await;
    s.click("#apply-new-submit").await;
    s.wait_for("data-status=\"applied\"").await;
    let person_url = s.url().await.split('?').next().unwrap().to_string();
    assert!(person_url.contains("/console/persons/"), "{person_url}");

    // Produce it: a batch of Neijiang's applied cards, the bank's file, the bank's return.
    s.goto(&format!("{site}/console/batches")).await;
    s.script(
        "document.getElementById('region_code').value = '511000';",
        json!([]),
    )
    .await;
    s.click("#create-batch").await;
    s.wait_for("id=\"batch-no\"").await;
    let bank_file = s
        .script_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.getElementById('bank-file').href, {credentials: 'same-origin'})
               .then(r => r.text()).then(done, e => done('ERR ' + e));",
            json!([]),
        )
        .await;
    let bank_file = bank_file.as_str().unwrap().to_string();
    assert!(
        bank_file.starts_with("batch_no,seq,name,doc_type,doc_number"),
        "{bank_file}"
    );
    assert!(bank_file.contains(&id), "our applicant is in the batch");
    let ret = dir.path().join("return.csv");
    std::fs::write(
        &ret,
        format!("doc_number,bank_account\r\n{id},6222020200998877665\r\n"),
    )
    .unwrap();
    let input = s.find("#return-file").await;
    s.post(
        &format!("/element/{input}/value"),
        json!({ "text": ret.display().to_string() }),
    )
    .await;
    s.click("#bank-return-submit").await;
    let src = s.wait_for("id=\"return-report\"").await;
    assert!(src.contains("id=\"produced-count\">1<"), "{src}");

    // Collect, report lost in writing, reissue.
    s.goto(&person_url).await;
    s.wait_for("data-status=\"awaiting_collection\"").await;
    s.submit("collect", &[("presented_doc_number", &id)]).await;
    s.wait_for("data-status=\"active\"").await;
    s.submit("loss_written", &[("presented_doc_number", &id)])
        .await;
    s.wait_for("data-status=\"written_loss\"").await;
    s.submit("reissue", &[("presented_doc_number", &id)]).await;
    let src = s.wait_for("id=\"cert-link\"").await;
    assert!(
        src.contains("data-status=\"reissuing\""),
        "the old card is dead"
    );
    assert!(
        src.contains("data-status=\"applied\""),
        "a new card is applied for"
    );
    let pdf = s
        .script_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.getElementById('cert-link').href, {credentials: 'same-origin'})
               .then(r => done(r.status + ' ' + r.headers.get('content-type')), e => done('ERR ' + e));",
            json!([]),
        )
        .await;
    assert_eq!(pdf, json!("200 application/pdf"));
    s.resize(1280, 1700).await;
    s.screenshot(&shots.join("console-person.png")).await;

    // The English switch.
    s.click("a.lang").await;
    s.wait_for("Timeline").await;
    assert!(s.source().await.contains("Reissued (old card dead)"));
    let _ = stop_tx.send(());
    let _ = server.await;
}
