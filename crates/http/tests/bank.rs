//! The banks' signed API through the real router: the signature headers, stale timestamps,
//! replayed nonces, another bank's card, and the bank-side lifecycle.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use common::{Reply, SignedCall, send};
use sscard_service::demo::{self, DemoOptions, DemoSamples, SampleBank};
use sscard_service::{App, AppConfig};

fn demo_app() -> (tempfile::TempDir, App, DemoSamples) {
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = App::open(&AppConfig {
        db_url: url,
        pin_key: Some(sscard_service::secrets::PinKey::new(vec![8; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 200,
            seed: 9,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (dir, app, s)
}

struct Call<'a> {
    bank: &'a SampleBank,
    path: String,
    body: String,
    ts: i64,
    nonce: String,
    /// Sign another body than the one sent.
    tamper: bool,
}

impl<'a> Call<'a> {
    fn new(bank: &'a SampleBank, path: &str, body: &str, nonce: &str) -> Call<'a> {
        Call {
            bank,
            path: path.into(),
            body: body.into(),
            ts: chrono::Utc::now().timestamp(),
            nonce: nonce.into(),
            tamper: false,
        }
    }

    async fn send(&self, r: &Router) -> Reply {
        let call = SignedCall {
            key_id: &self.bank.key_id,
            secret: &self.bank.secret,
            method: "POST",
            path: &self.path,
            timestamp: self.ts,
            nonce: &self.nonce,
            body: &self.body,
            tamper: self.tamper,
        };
        send(r, call.request()).await
    }
}

fn expect(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_code(), code);
}

#[tokio::test]
async fn signed_bank_operations() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    // An active card; its bank is found by trying the five banks' keys (another bank's card
    // looks unknown).
    let h = s
        .cardholders
        .iter()
        .find(|c| c.usable && c.card_kind == "regular" && c.card_status == "active")
        .unwrap();
    let card = h.card_no.clone().unwrap();
    let loss = format!("/api/v1/bank/cards/{card}/loss");
    let unfreeze = format!("/api/v1/bank/cards/{card}/unfreeze");
    let activate = format!("/api/v1/bank/cards/{card}/activate");

    // Headers missing.
    let bare = send(
        &r,
        Request::builder()
            .method("POST")
            .uri(&loss)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    expect(&bare, StatusCode::UNAUTHORIZED, "SIGNATURE_INVALID");

    let mut mine = None;
    for (k, b) in s.banks.iter().enumerate() {
        let reply = Call::new(
            b,
            &loss,
            r#"{"written": false}"#,
            &format!("probe-nonce-{k}"),
        )
        .send(&r)
        .await;
        if reply.status == StatusCode::OK {
            assert_eq!(reply.json()["bank_status"], "lost");
            // The social-security side is untouched.
            assert_eq!(reply.json()["status"], "active");
            mine = Some(b);
        } else if reply.status == StatusCode::NOT_FOUND {
            assert_eq!(reply.error_code(), "CARD_NOT_FOUND");
        } else {
            panic!("unexpected answer {}: {}", reply.status, reply.body);
        }
    }
    let bank = mine.expect("one bank owns the card");

    // Signature, timestamp, nonce.
    let mut bad = Call::new(bank, &unfreeze, "{}", "nonce-bad-1");
    bad.tamper = true;
    expect(
        &bad.send(&r).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    let mut stale = Call::new(bank, &unfreeze, "{}", "nonce-stale-1");
    stale.ts -= 3600;
    expect(
        &stale.send(&r).await,
        StatusCode::UNAUTHORIZED,
        "TIMESTAMP_STALE",
    );
    let once = Call::new(bank, &unfreeze, "{}", "nonce-once-1");
    let ok = once.send(&r).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.json()["bank_status"], "active");
    expect(
        &once.send(&r).await,
        StatusCode::UNAUTHORIZED,
        "NONCE_REUSED",
    );

    // State rules.
    expect(
        &Call::new(bank, &unfreeze, "", "nonce-state-1")
            .send(&r)
            .await,
        StatusCode::CONFLICT,
        "BANK_STATUS",
    );
    expect(
        &Call::new(bank, &activate, "", "nonce-state-2")
            .send(&r)
            .await,
        StatusCode::CONFLICT,
        "BANK_STATUS",
    );
    expect(
        &Call::new(bank, &loss, "not json", "nonce-body-1")
            .send(&r)
            .await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    );
    expect(
        &Call::new(
            bank,
            "/api/v1/bank/cards/Z99999999/activate",
            "",
            "nonce-unknown-1",
        )
        .send(&r)
        .await,
        StatusCode::NOT_FOUND,
        "CARD_NOT_FOUND",
    );
}

#[tokio::test]
async fn the_bank_returns_its_account_opening_file() {
    use sscard_service::audit::{Actor, Channel};
    use sscard_service::cards::batches::{self, NewBatch};
    let (_d, app, s) = demo_app();
    let clerk = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: "NJ-CARD".into(),
        channel: Channel::Counter,
    };
    let mine = &s.banks[1];
    let other = &s.banks[2];
    // The counter sends a batch to the bank.
    let b = batches::create(
        &app,
        &clerk,
        &NewBatch {
            region_code: "500000".into(),
            card_refs: None,
            bank_code: Some(mine.code.clone()),
        },
    )
    .unwrap();
    let file = batches::bank_file(&app, &clerk, &b.batch_no).unwrap();
    let mut csv = String::from("doc_number,bank_account\n");
    let mut lines = file.content.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "doc_number").unwrap();
    for (k, line) in lines.enumerate() {
        csv.push_str(&format!(
            "{},621700000{:010}\n",
            line.split(',').nth(col).unwrap(),
            k + 1
        ));
    }
    let r = sscard_http::router(app);
    let path = format!("/api/v1/bank/batches/{}/return", b.batch_no);
    let body = serde_json::json!({ "content": csv }).to_string();
    // Another bank cannot see the batch.
    let refused = Call::new(other, &path, &body, "return-nonce-other")
        .send(&r)
        .await;
    expect(&refused, StatusCode::NOT_FOUND, "BATCH_NOT_FOUND");
    // The batch's bank returns the file: every card produced.
    let ok = Call::new(mine, &path, &body, "return-nonce-mine")
        .send(&r)
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let report = ok.json();
    assert_eq!(report["produced"].as_u64().unwrap() as usize, b.cards);
    assert_eq!(report["error_rows"], 0);
    assert_eq!(report["batch_status"], "produced");
    // The same nonce again is a replay.
    let replay = Call::new(mine, &path, &body, "return-nonce-mine")
        .send(&r)
        .await;
    expect(&replay, StatusCode::UNAUTHORIZED, "NONCE_REUSED");
}
