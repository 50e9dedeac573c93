//! The statistics dashboard in headless Chromium (Debian's `chromium` + `chromium-driver`,
//! driven over WebDriver) on the real server with demo data plus a month of settlements and
//! 12333 calls: an administrator logs in, opens the dashboard, the four SVG charts render with
//! a size, and the page is screenshotted (`docs/screenshots/console-dashboard.png` with
//! `SSCARD_UPDATE_SCREENSHOTS=1`, a temporary directory otherwise).
//!
//! Without the browser the test prints a loud notice and passes, unless
//! `SSCARD_REQUIRE_BROWSER=1` (CI), when it fails.

mod common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use common::browser::{Server, Session, browser_available, screenshot_dir};
use common::{Demo, app_on, password};
use serde_json::json;
use sscard_domain::clock::FixedClock;
use sscard_service::App;
use sscard_service::demo;
use sscard_store::repo::{medical, ts};

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
    if !browser_available("dashboard") {
        return;
    }
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = app_on(&url, None);
    let samples = Demo {
        persons: 2_000,
        seed: 1,
        pin_key: None,
        as_of: None,
    }
    .generate(&app);
    activity(&app, &url, &samples);
    let admin_pw = password(&samples, "admin");
    let server = Server::start(app).await;
    let site = server.site.clone();
    let wd = Session::start(1280, 900, &[]).await;

    wd.goto(&format!("{site}/console/login")).await;
    wd.type_into("#username", "admin").await;
    wd.type_into("#password", &admin_pw).await;
    wd.click("#login-submit").await;
    wd.wait_for("id=\"nav-stats\"").await;
    wd.click("#nav-stats").await;
    let src = wd.wait_for("id=\"chart-ivr\"").await;
    assert!(src.contains("医疗结算金额"));
    // Every chart is drawn: an SVG with a real size and marks in it.
    let sizes = wd
        .script(
            "return Array.from(document.querySelectorAll('figure.chart svg')).map(s => [s.getBoundingClientRect().width, s.querySelectorAll('rect, polyline, path').length]);",
            json!([]),
        )
        .await;
    let sizes = sizes.as_array().unwrap();
    assert_eq!(sizes.len(), 4, "{sizes:?}");
    for s in sizes {
        assert!(s[0].as_f64().unwrap() > 300.0, "{sizes:?}");
        assert!(s[1].as_u64().unwrap() > 3, "{sizes:?}");
    }
    wd.resize(1280, 1500).await;
    wd.screenshot(&screenshot_dir(dir.path()).join("console-dashboard.png"))
        .await;
    server.stop().await;
}
