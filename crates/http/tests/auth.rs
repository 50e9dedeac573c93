//! Staff login through the API: sessions, lockout, forced password change, logout.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use common::send;
use sscard_service::demo::{self, DemoOptions};
use sscard_service::{App, AppConfig};

fn demo_app() -> (tempfile::TempDir, App, sscard_service::demo::DemoSamples) {
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = App::open(&AppConfig {
        db_url: url,
        pin_key: Some(sscard_service::secrets::PinKey::new(vec![3; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 50,
            seed: 1,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (dir, app, s)
}

fn post(path: &str, token: Option<&str>, body: serde_json::Value) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

fn get_with(path: &str, token: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn login_session_and_logout() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let clerk = s.staff.iter().find(|x| x.username == "clerk1").unwrap();
    let reply = send(
        &r,
        post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"username": "clerk1", "password": clerk.password}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["role"], "clerk");
    assert_eq!(body["agency"], "NJ-CARD");
    let token = body["token"].as_str().unwrap().to_string();
    let me = send(&r, get_with("/api/v1/auth/me", &token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "clerk1");
    // No token, a bad token.
    let anon = send(
        &r,
        Request::builder()
            .uri("/api/v1/auth/me")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.error_code(), "LOGIN_REQUIRED");
    assert_eq!(
        send(&r, get_with("/api/v1/auth/me", "nope"))
            .await
            .error_code(),
        "SESSION_EXPIRED"
    );
    // Logout ends the session.
    assert_eq!(
        send(
            &r,
            post("/api/v1/auth/logout", Some(&token), serde_json::json!({}))
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&r, get_with("/api/v1/auth/me", &token))
            .await
            .error_code(),
        "SESSION_EXPIRED"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let good = &s
        .staff
        .iter()
        .find(|x| x.username == "super1")
        .unwrap()
        .password;
    for k in 1..5 {
        let reply = send(
            &r,
            post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"username": "super1", "password": "wrong-password-1"}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error_code(), "LOGIN_FAILED");
        assert!(
            reply.json()["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{}", 5 - k))
        );
    }
    let fifth = send(
        &r,
        post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"username": "super1", "password": "wrong-password-1"}),
        ),
    )
    .await;
    assert_eq!(fifth.status, StatusCode::LOCKED);
    assert_eq!(fifth.error_code(), "STAFF_LOCKED");
    // Locked: even the right password is refused.
    let right = send(
        &r,
        post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"username": "super1", "password": good}),
        ),
    )
    .await;
    assert_eq!(right.error_code(), "STAFF_LOCKED");
    // Unknown users fail like wrong passwords.
    let unknown = send(
        &r,
        post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"username": "ghost", "password": "x"}),
        ),
    )
    .await;
    assert_eq!(unknown.error_code(), "LOGIN_FAILED");
}

#[tokio::test]
async fn the_first_login_forces_a_password_change() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let new = s.staff.iter().find(|x| x.must_change_password).unwrap();
    let body = send(
        &r,
        post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"username": new.username, "password": new.password}),
        ),
    )
    .await
    .json();
    assert_eq!(body["must_change_password"], true);
    let token = body["token"].as_str().unwrap().to_string();
    // Weak and reused passwords are refused.
    let weak = send(
        &r,
        post(
            "/api/v1/auth/password",
            Some(&token),
            serde_json::json!({"current_password": new.password, "new_password": "short1"}),
        ),
    )
    .await;
    assert_eq!(weak.error_code(), "PASSWORD_WEAK");
    let same = send(
        &r,
        post(
            "/api/v1/auth/password",
            Some(&token),
            serde_json::json!({"current_password": new.password, "new_password": new.password}),
        ),
    )
    .await;
    assert_eq!(same.error_code(), "PASSWORD_REUSED");
    let ok = send(
        &r,
        post(
            "/api/v1/auth/password",
            Some(&token),
            serde_json::json!({"current_password": new.password, "new_password": "Brand-new-2026"}),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&r, get_with("/api/v1/auth/me", &token)).await.json()["must_change_password"],
        false
    );
    let again = send(
        &r,
        post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"username": new.username, "password": "Brand-new-2026"}),
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
}
