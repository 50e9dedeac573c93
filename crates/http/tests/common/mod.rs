//! Shared helpers of the HTTP tests: a fresh SQLite-backed app and one-shot requests.
#![allow(dead_code)]

pub mod browser;
pub mod forms;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::NaiveDate;
use serde_json::{Value, json};
use sscard_service::demo::{self, DemoOptions, DemoSamples};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};
use tower::ServiceExt;

/// A fresh application on a temporary SQLite database (keep the guard alive).
pub fn app() -> (tempfile::TempDir, App) {
    let (dir, url) = sscard_testkit::sqlite_url();
    (dir, app_on(&url, None))
}

/// The application on the database `url`, with a PIN key of 32 `pin_key` bytes if given.
pub fn app_on(url: &str, pin_key: Option<u8>) -> App {
    App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: pin_key.map(|b| PinKey::new(vec![b; 32]).unwrap()),
        ..Default::default()
    })
    .expect("open app")
}

/// A demo population to test with.
#[derive(Debug, Clone, Copy)]
pub struct Demo {
    pub persons: u64,
    pub seed: u64,
    /// The PIN key's byte (32 of them), or none.
    pub pin_key: Option<u8>,
    /// The population's day; `None` is the app's today.
    pub as_of: Option<NaiveDate>,
}

impl Demo {
    /// A fresh application on a temporary SQLite database with this population.
    pub fn open(&self) -> (tempfile::TempDir, App, DemoSamples) {
        self.open_with(|app| app)
    }

    /// [`Demo::open`], with `adapt` applied to the application (a clock…) before the
    /// population is generated.
    pub fn open_with(
        &self,
        adapt: impl FnOnce(App) -> App,
    ) -> (tempfile::TempDir, App, DemoSamples) {
        let (dir, url) = sscard_testkit::sqlite_url();
        let app = adapt(app_on(&url, self.pin_key));
        let samples = self.generate(&app);
        (dir, app, samples)
    }

    /// Generates this population in `app`.
    pub fn generate(&self, app: &App) -> DemoSamples {
        demo::generate(
            app,
            &DemoOptions {
                persons: self.persons,
                seed: self.seed,
                as_of: self.as_of.unwrap_or_else(|| app.today()),
            },
            &|_, _| {},
        )
        .expect("demo population")
    }
}

/// The demo password of the staff member `user`.
pub fn password(s: &DemoSamples, user: &str) -> String {
    s.staff
        .iter()
        .find(|x| x.username == user)
        .unwrap_or_else(|| panic!("no demo staff member {user}"))
        .password
        .clone()
}

/// An API request with an optional bearer token and JSON body.
pub fn api_req(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// A `GET` of the API with a bearer token.
pub async fn api_get(r: &Router, path: &str, token: &str) -> Reply {
    send(r, api_req("GET", path, Some(token), None)).await
}

/// A JSON `POST` to the API with a bearer token.
pub async fn api_post(r: &Router, path: &str, token: &str, body: Value) -> Reply {
    send(r, api_req("POST", path, Some(token), Some(body))).await
}

/// Logs the demo staff member `user` in through the API: the bearer token.
pub async fn api_login(r: &Router, s: &DemoSamples, user: &str) -> String {
    let reply = send(
        r,
        api_req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": user, "password": password(s, user)})),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["token"].as_str().unwrap().to_string()
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

/// Asserts the reply's status and error code.
pub fn expect(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_code(), code);
}

/// A request to one of the signed APIs (banks, institutions, 12333 platforms), signed with
/// `secret` as `sscard_service::signing` expects.
pub struct SignedCall<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    /// Unix seconds.
    pub timestamp: i64,
    pub nonce: &'a str,
    pub body: &'a str,
    /// Sign another body than the one sent (a tampered request).
    pub tamper: bool,
}

impl SignedCall<'_> {
    pub fn request(&self) -> Request<Body> {
        let ts = self.timestamp.to_string();
        let signed_body = if self.tamper {
            format!("{} ", self.body)
        } else {
            self.body.to_string()
        };
        let sig = sscard_service::signing::sign(
            self.secret,
            self.method,
            self.path,
            &ts,
            self.nonce,
            signed_body.as_bytes(),
        );
        Request::builder()
            .method(self.method)
            .uri(self.path)
            .header("content-type", "application/json")
            .header("x-key-id", self.key_id)
            .header("x-timestamp", ts)
            .header("x-nonce", self.nonce)
            .header("x-signature", sig)
            .body(Body::from(self.body.to_string()))
            .unwrap()
    }
}
