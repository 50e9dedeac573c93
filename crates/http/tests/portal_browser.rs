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

mod common;

use common::Demo;
use common::browser::{Server, Session, browser_available, screenshot_dir};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cardholder_uses_the_portal_in_chromium() {
    if !browser_available("portal") {
        return;
    }
    let (dir, app, samples) = Demo {
        persons: 300,
        seed: 11,
        pin_key: None,
        as_of: None,
    }
    .open();
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
    let server = Server::start(app).await;
    let site = server.site.clone();
    let shots = screenshot_dir(dir.path());
    let w = Session::start(1280, 1000, &[]).await;

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
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !year.is_empty() {
        w.script(
            "document.querySelector('#year').value = arguments[0];",
            json!([year]),
        )
        .await;
        w.click("#year-submit").await;
        w.wait_for(&format!("<option value=\"{year}\" selected"))
            .await;
        let months = w
            .script(
                "return Array.from(document.querySelectorAll('#table-contributions tbody tr td:first-child')).map(td => td.textContent);",
                json!([]),
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
        .script(
            "return document.querySelector('#cert-code').textContent.trim();",
            json!([]),
        )
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

    server.stop().await;
}
