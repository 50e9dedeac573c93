//! The kiosk in a real browser: headless Chromium (Debian's `chromium` + `chromedriver`)
//! driven over WebDriver, in a 1080×1920 portrait window like the hall touchscreens, against
//! the real server (127.0.0.1, a temporary SQLite database with a small demo population).
//!
//! A holder types the card number on the on-screen keypad (using 【删除】 and 【重置】), enters
//! the PIN on the PIN pad (again with 【删除】 and 【重置】), opens each of the seven categories
//! and checks real data in it, changes the PIN on the keypad, then leaves the kiosk alone until
//! the idle timer (the region's policy set to 10 s by an administrator for this test) returns
//! home and the server has forgotten the session; finally the ID-card reader and the new PIN
//! get back in.
//!
//! Without chromium or chromedriver the test prints a loud notice and passes, unless
//! `SSCARD_REQUIRE_BROWSER=1` (CI sets it), when it fails. `SSCARD_CHROMIUM` /
//! `SSCARD_CHROMEDRIVER` point at other binaries. With `SSCARD_UPDATE_SCREENSHOTS=1` the
//! screenshots are written to `docs/screenshots/kiosk-{home,pin,medical}.png` (otherwise to a
//! temporary directory).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sscard_domain::Money;
use sscard_domain::ids::RegionCode;
use sscard_service::admin::policies;
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::persons;
use sscard_service::reference;
use sscard_service::selfservice::records;
use sscard_service::{App, AppConfig};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The idle timeout set for the test (the smallest a region policy accepts).
const IDLE_SECS: u32 = 10;

fn chromium() -> String {
    std::env::var("SSCARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn chromedriver() -> String {
    std::env::var("SSCARD_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// The chromedriver this test started: killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ends the WebDriver session when dropped (also on a panic) so the browser quits first.
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

    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    async fn script(&self, js: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": js, "args": args }))
            .await
    }

    /// The value of an input.
    async fn value(&self, css: &str) -> String {
        self.script(
            "return document.querySelector(arguments[0]).value;",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Taps the keys of `text` on the keypad of `form`.
    async fn tap(&self, form: &str, text: &str) {
        for ch in text.chars() {
            self.click(&format!("{form} button[data-key=\"{ch}\"]"))
                .await;
        }
    }

    async fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let src = self.source().await;
            if src.contains(needle) {
                return src;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {needle} at {}:\n{src}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sizes the window so that the page's viewport is `width` × `height`.
    async fn viewport(&self, width: i64, height: i64) {
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

    async fn screenshot(&self, path: &Path) {
        let b64 = self.get("/screenshot").await;
        let bytes = base64_decode(b64.as_str().unwrap());
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, bytes).unwrap();
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

/// PNG width and height from the IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn browser_available() -> bool {
    let missing: Vec<String> = [chromium(), chromedriver()]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "the kiosk browser test needs {} (Debian packages chromium and chromium-driver: \
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
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=zh-CN",
        "--window-size=1080,1920",
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
async fn a_holder_uses_the_kiosk_in_chromium() {
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
            seed: 17,
            as_of: app.today(),
        },
        &|_, _| {},
    )
    .unwrap();
    let holder = samples
        .cardholders
        .iter()
        .find(|c| {
            c.usable
                && c.card_status == "active"
                && c.card_kind == "regular"
                && c.pin_changed
                && c.medical_balance_fen > 0
        })
        .unwrap()
        .clone();
    let card_no = holder.card_no.clone().unwrap();
    // An administrator shortens the kiosk idle timeout of the holder's region from today.
    let admin = Actor {
        username: "admin1".into(),
        role: "admin".into(),
        agency: String::new(),
        channel: Channel::Counter,
    };
    let region = RegionCode::parse(&holder.region_code).unwrap();
    let mut policy = reference::policy(&app, &region, app.today()).unwrap();
    policy.kiosk_idle_timeout_secs = IDLE_SECS;
    policies::set(&app, &admin, &holder.region_code, app.today(), &policy).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app_for_checks = app.clone();
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

    // Home: configure the terminal, then insert the card by typing its number on the keypad.
    s.goto(&format!("{site}/kiosk/?terminal=HALL-E2E")).await;
    s.viewport(1080, 1920).await;
    s.wait_for("插入社保卡").await;
    s.wait_for("HALL-E2E").await;
    s.screenshot(&shots.join("kiosk-home.png")).await;
    assert_eq!(png_size(&shots.join("kiosk-home.png")), (1080, 1920));
    let form = "#insert-form";
    s.tap(form, &card_no[..4]).await;
    s.tap(form, "7").await;
    s.click("#key-delete").await; // 【删除】 the mistyped 7
    assert_eq!(s.value("#number").await, card_no[..4]);
    s.click("#key-reset").await; // 【重置】 start again
    assert_eq!(s.value("#number").await, "");
    s.tap(form, &card_no).await;
    assert_eq!(s.value("#number").await, card_no);
    s.click("#key-confirm").await;

    // The PIN pad.
    s.wait_for("id=\"pin-pad\"").await;
    assert!(s.url().await.ends_with("/kiosk/pin"));
    let form = "#pin-form";
    s.tap(form, "12").await;
    s.click("#key-delete").await;
    assert_eq!(s.value("#pin").await, "1");
    s.click("#key-reset").await;
    assert_eq!(s.value("#pin").await, "");
    s.tap(form, &holder.pin[..3]).await;
    s.screenshot(&shots.join("kiosk-pin.png")).await;
    s.tap(form, &holder.pin[3..]).await;
    assert_eq!(s.value("#pin").await, holder.pin);
    s.click("#key-confirm").await;
    s.wait_for("id=\"menu\"").await;
    assert!(s.source().await.contains(&holder.name));

    // The seven categories, each with the holder's real data (as the records service has it).
    let clerk = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: String::new(),
        channel: Channel::Counter,
    };
    let found = persons::search(&app_for_checks, &clerk, &holder.id_number).unwrap();
    let person = found[0].person_ref;
    let rec = records::person_records(&app_for_checks, &clerk, person).unwrap();
    let employment_needle = rec
        .employment
        .first()
        .map(|e| e.employer_name.clone())
        .unwrap_or_else(|| {
            format!(
                "<dd>{} 个月</dd>",
                rec.unemployment.continuous_contribution_months
            )
        });
    let enrolment = rec.enrolments.first().expect("an enrolment");
    let assistance_needle = rec
        .assistance
        .minimum_living
        .iter()
        .chain(&rec.assistance.special_care)
        .next()
        .map(|b| Money::from_fen(b.monthly_fen).format_yuan())
        .unwrap_or_else(|| "id=\"minimum-living\"".into());
    let health_needle = rec
        .health
        .first()
        .map(|x| x.item.clone())
        .unwrap_or_else(|| "id=\"health\"".into());
    let checks: [(&str, String); 7] = [
        ("card", card_no.clone()),
        ("public", sscard_domain::mask::mask_id(&holder.id_number)),
        ("employment", employment_needle),
        (
            "insurance",
            format!(
                "<td>{}</td><td>{}</td>",
                enrolment.insurance_label, enrolment.scheme_label
            ),
        ),
        (
            "medical",
            Money::from_fen(holder.medical_balance_fen).format_yuan(),
        ),
        ("assistance", assistance_needle),
        ("health", health_needle),
    ];
    for (slug, needle) in &checks {
        s.click(&format!("#cat-{slug}")).await;
        s.wait_for(&format!("data-category=\"{slug}\"")).await;
        let src = s.wait_for(needle).await;
        assert!(src.contains(&holder.name) || *slug != "public");
        if *slug == "medical" {
            s.screenshot(&shots.join("kiosk-medical.png")).await;
            assert_eq!(png_size(&shots.join("kiosk-medical.png")), (1080, 1920));
        }
        s.click("#to-menu").await;
        s.wait_for("id=\"menu\"").await;
    }

    // 卡密码修改 on the keypad: the fields advance by themselves after six digits.
    let new_pin = if holder.pin == "135792" {
        "246813"
    } else {
        "135792"
    };
    s.click("#svc-pin-change").await;
    s.wait_for("id=\"pin-change-form\"").await;
    let form = "#pin-change-form";
    s.tap(form, &holder.pin).await;
    s.tap(form, new_pin).await;
    s.tap(form, new_pin).await;
    assert_eq!(s.value("#old_pin").await, holder.pin);
    assert_eq!(s.value("#confirm_pin").await, new_pin);
    s.click("#key-confirm").await;
    s.wait_for("data-done=\"pin_changed\"").await;

    // Leave the kiosk alone: the idle timer returns home and the session is gone.
    let idle_start = Instant::now();
    s.wait_for("data-notice=\"home.timeout\"").await;
    let waited = idle_start.elapsed();
    assert!(
        waited >= Duration::from_secs(u64::from(IDLE_SECS) - 2),
        "returned home after {waited:?}"
    );
    assert!(s.url().await.ends_with("/kiosk/?timeout=1"));
    s.goto(&format!("{site}/kiosk/menu")).await;
    s.wait_for("id=\"insert-form\"").await;
    assert!(
        s.url().await.ends_with("/kiosk/"),
        "the forgotten session leads home"
    );

    // The ID card reader and the new PIN.
    s.click("#reader-id").await;
    s.tap("#insert-form", &holder.id_number).await;
    assert_eq!(s.value("#number").await, holder.id_number);
    s.click("#key-confirm").await;
    s.wait_for("id=\"pin-pad\"").await;
    s.tap("#pin-form", new_pin).await;
    s.click("#key-confirm").await;
    s.wait_for("id=\"menu\"").await;

    // A phone screen: the menu and the medical page fit without sideways scrolling.
    s.viewport(390, 844).await;
    for page in ["#to-menu", "#cat-medical"] {
        if page == "#cat-medical" {
            s.click(page).await;
            s.wait_for("data-category=\"medical\"").await;
        }
        let overflow = s
            .script(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                json!([]),
            )
            .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "sideways scrolling on a phone ({page}): {overflow}"
        );
    }
    s.click("#to-menu").await;
    s.wait_for("id=\"menu\"").await;

    // English, then 退卡.
    s.click("a.lang").await;
    s.wait_for("Choose a service").await;
    s.click("#take-card").await;
    s.wait_for("data-notice=\"home.bye\"").await;

    let _ = stop_tx.send(());
    let _ = server.await;
}
