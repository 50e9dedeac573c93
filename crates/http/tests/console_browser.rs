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

mod common;

use common::browser::{Server, Session, browser_available, screenshot_dir};
use common::{Demo, password};
use serde_json::json;
use sscard_domain::ids::IdNumber;
use sscard_service::cards::photo::sample_png;

/// Opens the `<details>` around the form of `action` and submits it after filling `fields`.
async fn submit(s: &Session, action: &str, fields: &[(&str, &str)]) {
    s.script(
        "document.querySelector(arguments[0]).closest('details').open = true;",
        json!([format!("form[data-action=\"{action}\"]")]),
    )
    .await;
    for (name, value) in fields {
        s.type_into(
            &format!("form[data-action=\"{action}\"] [name=\"{name}\"]"),
            value,
        )
        .await;
    }
    s.click(&format!(
        "form[data-action=\"{action}\"] button[type=\"submit\"]"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_walks_a_card_through_its_life_in_chromium() {
    if !browser_available("console") {
        return;
    }
    // The server: a small demo population on a temporary SQLite file.
    let (dir, app, samples) = Demo {
        persons: 300,
        seed: 11,
        pin_key: None,
        as_of: None,
    }
    .open();
    let clerk_pw = password(&samples, "clerk1");
    let holder = samples
        .cardholders
        .iter()
        .find(|c| c.card_status == "active" && c.life_status == "normal")
        .unwrap()
        .clone();
    let server = Server::start(app).await;
    let site = server.site.clone();
    let shots = screenshot_dir(dir.path());
    let s = Session::start(1280, 900, &[]).await;

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
    submit(&s, "collect", &[("presented_doc_number", &id)]).await;
    s.wait_for("data-status=\"active\"").await;
    submit(&s, "loss_written", &[("presented_doc_number", &id)]).await;
    s.wait_for("data-status=\"written_loss\"").await;
    submit(&s, "reissue", &[("presented_doc_number", &id)]).await;
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
    server.stop().await;
}
