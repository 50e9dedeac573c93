//! The statistics dashboard in headless Chromium (Debian's `chromium` + `chromium-driver`,
//! driven over WebDriver) on the real server with demo data plus a month of settlements and
//! 12333 calls: an administrator logs in, opens the dashboard, the four SVG charts render with
//! a size, and the page is screenshotted (`docs/screenshots/console-dashboard.png` with
//! `SSCARD_UPDATE_SCREENSHOTS=1`, a temporary directory otherwise).
//!
//! Without the browser the test prints a loud notice and passes, unless
//! `SSCARD_REQUIRE_BROWSER=1` (CI), when it fails.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sscard_domain::clock::FixedClock;
use sscard_service::demo::{self, DemoOptions};
use sscard_service::{App, AppConfig};
use sscard_store::repo::{medical, ts};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromium() -> String {
    std::env::var("SSCARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn chromedriver() -> String {
    std::env::var("SSCARD_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
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
        "the dashboard browser test needs {} (apt-get install -y chromium chromium-driver)",
        missing.join(" and ")
    );
    assert!(
        std::env::var("SSCARD_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "SSCARD_REQUIRE_BROWSER=1 but {msg}"
    );
    eprintln!("\n!!! SKIPPED: {msg} !!!\n");
    false
}

/// chromedriver, killed when dropped (after the session was closed).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Wd {
    http: reqwest::Client,
    base: String,
    id: String,
}

impl Wd {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/session/{}{path}", self.base, self.id));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(ok, "WebDriver {path}: {v}");
        v["value"].clone()
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }
    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/value"), json!({"text": text}))
            .await;
    }
    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }
    async fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let src = self.get("/source").await.as_str().unwrap().to_string();
            if src.contains(needle) {
                return src;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "no {needle}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    async fn close(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.id))
            .send()
            .await;
    }
}

fn b64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => u32::from(c - b'A'),
        b'a'..=b'z' => u32::from(c - b'a') + 26,
        b'0'..=b'9' => u32::from(c - b'0') + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        .collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | (val(*c) << (18 - 6 * i)));
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

/// A month of activity for the charts: settlements at the demo institutions and 12333 calls.
fn activity(app: &App, url: &str, samples: &demo::DemoSamples) {
    let store = sscard_store::Store::open(url).unwrap();
    let insts: Vec<(i64, String)> = samples
        .institutions
        .iter()
        .filter_map(|i| {
            store
                .read(|tx| medical::institution_by_key(tx, &i.key_id))
                .unwrap()
                .map(|a| (a.id, a.region_code))
        })
        .collect();
    let today = app.today();
    let mut seq = 0u32;
    for back in 0..30i64 {
        let day = today - chrono::Duration::days(back);
        let weekday = chrono::Datelike::weekday(&day).num_days_from_monday();
        let n = if weekday >= 5 {
            6
        } else {
            14 + (back % 7) as u32 * 3
        };
        for k in 0..n {
            seq += 1;
            let (inst, region) = &insts[(seq as usize) % insts.len()];
            let total = 3_000 + i64::from((seq * 7919) % 40_000);
            let msg = format!("T{:011}{}{:04}", inst, day.format("%Y%m%d100000"), k);
            let at = ts(Utc.from_utc_datetime(&day.and_hms_opt(2, 0, 0).unwrap()));
            store
                .write(|tx| {
                    medical::insert_settlement(
                        tx,
                        &medical::NewSettlement {
                            msg_id: &msg,
                            institution_id: *inst,
                            person_id: None,
                            card_id: None,
                            region_code: region,
                            sign_no: "",
                            operator: "",
                            request_hash: "demo",
                            via: "card",
                            total_fen: total,
                            self_pay_fen: 0,
                            deductible_fen: 0,
                            pooling_fen: total * 6 / 10,
                            personal_fen: total * 3 / 10,
                            cash_fen: total - total * 6 / 10 - total * 3 / 10,
                            items_json: "[]",
                            status: "settled",
                            settle_day: &day.to_string(),
                            at: &at,
                        },
                    )
                })
                .unwrap();
        }
        let on_day = app.with_clock(Arc::new(FixedClock(
            Utc.from_utc_datetime(&day.and_hms_opt(3, 0, 0).unwrap()),
        )));
        let menus = [
            ("3-1-1", "completed"),
            ("3-1-1", "completed"),
            ("3-1-3", "completed"),
            ("5-1", "completed"),
            ("5-2", "completed"),
            ("0", "transfer"),
            ("3-2", "hangup"),
        ];
        for (i, (menu, outcome)) in menus.iter().enumerate() {
            if (i as i64 + back).rem_euclid(3) == 0 && i > 1 {
                continue;
            }
            let id = sscard_service::phone::start_call(&on_day, "demo").unwrap();
            sscard_service::phone::end_call(&on_day, id, menu, outcome).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_in_chromium() {
    if !browser_available() {
        return;
    }
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = App::open(&AppConfig {
        db_url: url.clone(),
        ..Default::default()
    })
    .unwrap();
    let samples = demo::generate(
        &app,
        &DemoOptions {
            persons: 2_000,
            seed: 1,
            as_of: app.today(),
        },
        &|_, _| {},
    )
    .unwrap();
    activity(&app, &url, &samples);
    let admin_pw = samples
        .staff
        .iter()
        .find(|s| s.username == "admin")
        .unwrap()
        .password
        .clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_http::serve(app, listener, async {
        let _ = stop_rx.await;
    }));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _driver = Driver(
        Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while http.get(format!("{base}/status")).send().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
        "goog:chromeOptions": {"binary": chromium(), "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--lang=zh-CN", "--window-size=1280,900",
            format!("--user-data-dir={}", profile.path().display())]}}}});
    let v: Value = http
        .post(format!("{base}/session"))
        .json(&caps)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wd = Wd {
        http: http.clone(),
        base: base.clone(),
        id: v["value"]["sessionId"].as_str().unwrap().to_string(),
    };
    wd.post("/timeouts", json!({"implicit": 5000, "pageLoad": 30000}))
        .await;

    wd.post("/url", json!({"url": format!("{site}/console/login")}))
        .await;
    wd.type_into("#username", "admin").await;
    wd.type_into("#password", &admin_pw).await;
    wd.click("#login-submit").await;
    wd.wait_for("id=\"nav-stats\"").await;
    wd.click("#nav-stats").await;
    let src = wd.wait_for("id=\"chart-ivr\"").await;
    assert!(src.contains("医疗结算金额"));
    // Every chart is drawn: an SVG with a real size and marks in it.
    let sizes = wd
        .post(
            "/execute/sync",
            json!({"script": "return Array.from(document.querySelectorAll('figure.chart svg')).map(s => [s.getBoundingClientRect().width, s.querySelectorAll('rect, polyline, path').length]);", "args": []}),
        )
        .await;
    let sizes = sizes.as_array().unwrap();
    assert_eq!(sizes.len(), 4, "{sizes:?}");
    for s in sizes {
        assert!(s[0].as_f64().unwrap() > 300.0, "{sizes:?}");
        assert!(s[1].as_u64().unwrap() > 3, "{sizes:?}");
    }
    wd.post("/window/rect", json!({"width": 1280, "height": 1500}))
        .await;
    let png = b64(wd.get("/screenshot").await.as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"));
    let out = if std::env::var("SSCARD_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&d).unwrap();
        d.join("console-dashboard.png")
    } else {
        dir.path().join("console-dashboard.png")
    };
    std::fs::write(&out, png).unwrap();
    wd.close().await;
    let _ = stop_tx.send(());
    let _ = server.await;
}
