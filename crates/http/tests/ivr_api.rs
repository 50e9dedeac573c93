//! The 12333 session API for IVR platforms through the real router: signed requests only, a
//! balance query key by key, timeouts, another platform's call, replays, malformed keys and
//! hang-up.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::http::StatusCode;
use chrono::NaiveDate;
use common::{Reply, SignedCall, send};
use sscard_domain::Money;
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions, SampleCardholder};
use sscard_service::phone::{self, PlatformCredentials};
use sscard_service::{App, AppConfig};

fn demo_app() -> (tempfile::TempDir, App, Vec<SampleCardholder>) {
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = App::open(&AppConfig {
        db_url: url,
        pin_key: Some(sscard_service::secrets::PinKey::new(vec![5; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 200,
            seed: 4,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (dir, app, s.cardholders)
}

static NONCE: AtomicU32 = AtomicU32::new(0);

fn nonce() -> String {
    format!("ivr-test-{:08}", NONCE.fetch_add(1, Ordering::Relaxed))
}

async fn signed(
    r: &Router,
    p: &PlatformCredentials,
    method: &str,
    path: &str,
    body: &str,
    nonce: &str,
) -> Reply {
    let call = SignedCall {
        key_id: &p.key_id,
        secret: &p.secret,
        method,
        path,
        timestamp: chrono::Utc::now().timestamp(),
        nonce,
        body,
        tamper: false,
    };
    send(r, call.request()).await
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

async fn keys(r: &Router, p: &PlatformCredentials, call: &str, k: &str) -> serde_json::Value {
    let reply = signed(
        r,
        p,
        "POST",
        &format!("/api/v1/ivr/calls/{call}/keys"),
        &serde_json::json!({ "keys": k }).to_string(),
        &nonce(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn a_platform_drives_a_balance_query() {
    let (_dir, app, holders) = demo_app();
    let admin = Actor::system(Channel::Cli);
    let p = phone::register_platform(&app, &admin, "vendor-a", "Vendor A IVR").unwrap();
    assert_eq!(p.key_id, "IVR-VENDOR-A");
    let other = phone::register_platform(&app, &admin, "vendor-b", "Vendor B IVR").unwrap();
    assert_eq!(
        phone::register_platform(&app, &admin, "VENDOR-A", "again")
            .unwrap_err()
            .code,
        "IVR_PLATFORM_EXISTS"
    );
    let clerk = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: String::new(),
        channel: Channel::Counter,
    };
    assert_eq!(
        phone::register_platform(&app, &clerk, "x1", "x")
            .unwrap_err()
            .code,
        "FORBIDDEN"
    );
    let h = holders
        .iter()
        .find(|h| {
            h.usable
                && h.card_status == "active"
                && h.card_kind == "regular"
                && h.medical_balance_fen > 0
        })
        .unwrap();
    let r = sscard_http::router(app.clone());

    // Unsigned: refused.
    let reply = common::post_json(&r, "/api/v1/ivr/calls", "{}").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "SIGNATURE_INVALID");

    // Answer.
    let body = r#"{"caller":"13812345678","lang":"zh"}"#;
    let n = nonce();
    let reply = signed(&r, &p, "POST", "/api/v1/ivr/calls", body, &n).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let v = reply.json();
    assert_eq!(ids(&v), ["welcome", "main-menu"]);
    assert_eq!(v["action"], "collect");
    assert_eq!(v["collect"]["max_digits"], 1);
    assert!(!reply.body.contains("13812345678"));
    let call = v["call_id"].as_str().unwrap().to_string();
    // The same request again is a replay.
    let replay = signed(&r, &p, "POST", "/api/v1/ivr/calls", body, &n).await;
    assert_eq!(replay.error_code(), "NONCE_REUSED");

    // A timeout repeats the prompt.
    let reply = signed(
        &r,
        &p,
        "POST",
        &format!("/api/v1/ivr/calls/{call}/keys"),
        r#"{"timeout":true}"#,
        &nonce(),
    )
    .await;
    assert_eq!(ids(&reply.json()), ["main-menu"]);

    assert_eq!(ids(&keys(&r, &p, &call, "3").await), ["info-menu"]);
    let v = keys(&r, &p, &call, "1").await;
    assert_eq!(ids(&v), ["enter-id"]);
    assert_eq!(v["collect"]["terminated"], true);
    // Part of an entry: nothing to play yet.
    let id_keys = h.id_number.replace('X', "*");
    let v = keys(&r, &p, &call, &id_keys[..10]).await;
    assert_eq!(v["action"], "none");
    assert!(ids(&v).is_empty());
    let v = keys(&r, &p, &call, &format!("{}#", &id_keys[10..])).await;
    assert_eq!(ids(&v), ["enter-pin"]);
    // Another platform cannot see the call.
    let reply = signed(
        &r,
        &other,
        "POST",
        &format!("/api/v1/ivr/calls/{call}/keys"),
        r#"{"keys":"1"}"#,
        &nonce(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "IVR_CALL_NOT_FOUND");
    // PIN and menu choice in one request.
    let v = keys(&r, &p, &call, &format!("{}#1", h.pin)).await;
    assert_eq!(ids(&v), ["account-menu", "medical-balance", "account-menu"]);
    let spoken = Money::from_fen(h.medical_balance_fen).to_spoken_zh();
    assert!(
        v["prompts"][1]["text"].as_str().unwrap().contains(&spoken),
        "{v}"
    );
    assert!(v["prompts"][1]["segments"].as_array().unwrap().len() >= 3);

    // Malformed keys.
    let reply = signed(
        &r,
        &p,
        "POST",
        &format!("/api/v1/ivr/calls/{call}/keys"),
        r#"{"keys":"12a"}"#,
        &nonce(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "IVR_KEYS_FORMAT");

    // Hang up; the call is gone.
    let path = format!("/api/v1/ivr/calls/{call}");
    let reply = signed(&r, &p, "DELETE", &path, "", &nonce()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["ended"], true);
    let reply = signed(&r, &p, "DELETE", &path, "", &nonce()).await;
    assert_eq!(reply.error_code(), "IVR_CALL_NOT_FOUND");
}

#[tokio::test]
async fn transfer_and_unknown_calls() {
    let (_dir, app, _) = demo_app();
    let p = phone::register_platform(&app, &Actor::system(Channel::Cli), "vendor-c", "C").unwrap();
    let r = sscard_http::router(app);
    let reply = signed(
        &r,
        &p,
        "POST",
        "/api/v1/ivr/calls",
        r#"{"lang":"en"}"#,
        &nonce(),
    )
    .await;
    let v = reply.json();
    assert!(
        v["prompts"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Welcome")
    );
    let call = v["call_id"].as_str().unwrap().to_string();
    let v = keys(&r, &p, &call, "0").await;
    assert_eq!(v["action"], "transfer");
    assert_eq!(v["ended"], true);
    assert_eq!(ids(&v), ["transfer"]);
    let reply = signed(
        &r,
        &p,
        "POST",
        &format!("/api/v1/ivr/calls/{call}/keys"),
        r#"{"keys":"3"}"#,
        &nonce(),
    )
    .await;
    assert_eq!(reply.error_code(), "IVR_CALL_NOT_FOUND");
    let reply = signed(
        &r,
        &p,
        "POST",
        "/api/v1/ivr/calls",
        r#"{"lang":"fr"}"#,
        &nonce(),
    )
    .await;
    assert_eq!(reply.error_code(), "IVR_LANG");
}
