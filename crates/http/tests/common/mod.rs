//! Shared helpers of the HTTP tests: a fresh SQLite-backed app and one-shot requests.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use sscard_service::{App, AppConfig};
use tower::ServiceExt;

/// A fresh application on a temporary SQLite database (keep the guard alive).
pub fn app() -> (tempfile::TempDir, App) {
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = App::open(&AppConfig {
        db_url: url,
        ..Default::default()
    })
    .expect("open app");
    (dir, app)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the error JSON shape and returns the code.
    pub fn error_code(&self) -> String {
        assert!(
            self.content_type().starts_with("application/json"),
            "{:?}: {}",
            self.content_type(),
            self.body
        );
        let v = self.json();
        let obj = v.as_object().expect("error is an object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["code", "message", "message_en"], "{}", self.body);
        assert!(!v["message"].as_str().unwrap().is_empty());
        assert!(!v["message_en"].as_str().unwrap().is_empty());
        v["code"].as_str().unwrap().to_string()
    }
}

pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
    }
}

pub async fn get(router: &Router, uri: &str) -> Reply {
    send(
        router,
        Request::builder().uri(uri).body(Body::empty()).unwrap(),
    )
    .await
}

pub async fn post_json(router: &Router, uri: &str, body: &str) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(router, req).await
}
