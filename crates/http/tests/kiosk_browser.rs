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

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Demo;
use common::browser::{Server, Session, browser_available, screenshot_dir};
use serde_json::json;
use sscard_domain::Money;
use sscard_domain::ids::RegionCode;
use sscard_service::admin::policies;
use sscard_service::audit::{Actor, Channel};
use sscard_service::persons;
use sscard_service::reference;
use sscard_service::selfservice::records;

/// The idle timeout set for the test (the smallest a region policy accepts).
const IDLE_SECS: u32 = 10;

/// Taps the keys of `text` on the keypad of `form`.
async fn tap(s: &Session, form: &str, text: &str) {
    for ch in text.chars() {
        s.click(&format!("{form} button[data-key=\"{ch}\"]")).await;
    }
}

/// PNG width and height from the IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_uses_the_kiosk_in_chromium() {
    if !browser_available("kiosk") {
        return;
    }
    let (dir, app, samples) = Demo {
        persons: 300,
        seed: 17,
        pin_key: None,
        as_of: None,
    }
    .open();
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

    let app_for_checks = app.clone();
    let server = Server::start(app).await;
    let site = server.site.clone();
    let shots = screenshot_dir(dir.path());
    let s = Session::start(
        1080,
        1920,
        &["--hide-scrollbars", "--force-device-scale-factor=1"],
    )
    .await;

    // Home: configure the terminal, then insert the card by typing its number on the keypad.
    s.goto(&format!("{site}/kiosk/?terminal=HALL-E2E")).await;
    s.viewport(1080, 1920).await;
    s.wait_for("插入社保卡").await;
    s.wait_for("HALL-E2E").await;
    s.screenshot(&shots.join("kiosk-home.png")).await;
    assert_eq!(png_size(&shots.join("kiosk-home.png")), (1080, 1920));
    let form = "#insert-form";
    tap(&s, form, &card_no[..4]).await;
    tap(&s, form, "7").await;
    s.click("#key-delete").await; // 【删除】 the mistyped 7
    assert_eq!(s.value("#number").await, card_no[..4]);
    s.click("#key-reset").await; // 【重置】 start again
    assert_eq!(s.value("#number").await, "");
    tap(&s, form, &card_no).await;
    assert_eq!(s.value("#number").await, card_no);
    s.click("#key-confirm").await;

    // The PIN pad.
    s.wait_for("id=\"pin-pad\"").await;
    assert!(s.url().await.ends_with("/kiosk/pin"));
    let form = "#pin-form";
    tap(&s, form, "12").await;
    s.click("#key-delete").await;
    assert_eq!(s.value("#pin").await, "1");
    s.click("#key-reset").await;
    assert_eq!(s.value("#pin").await, "");
    tap(&s, form, &holder.pin[..3]).await;
    s.screenshot(&shots.join("kiosk-pin.png")).await;
    tap(&s, form, &holder.pin[3..]).await;
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
    tap(&s, form, &holder.pin).await;
    tap(&s, form, new_pin).await;
    tap(&s, form, new_pin).await;
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
    tap(&s, "#insert-form", &holder.id_number).await;
    assert_eq!(s.value("#number").await, holder.id_number);
    s.click("#key-confirm").await;
    s.wait_for("id=\"pin-pad\"").await;
    tap(&s, "#pin-form", new_pin).await;
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

    server.stop().await;
}
