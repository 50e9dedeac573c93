//! Health, readiness, metrics, panics, the access log and the pages.

mod common;

use axum::http::StatusCode;
use common::{app, get};

#[tokio::test]
async fn health_and_readiness() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let h = get(&r, "/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.body, "ok");
    let ready = get(&r, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
}

fn sample_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l[series.len()..].trim().parse().ok())
}

#[tokio::test]
async fn metrics_use_route_templates_and_expose_the_counts() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    get(&r, "/healthz").await;
    get(&r, "/healthz").await;
    get(&r, "/api/v1/regions/511000").await;
    get(&r, "/api/v1/regions/511011").await;
    get(&r, "/api/v1/no-such-route/510102199001011234").await;

    let m = get(&r, "/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.content_type().starts_with("text/plain; version=0.0.4"),
        "{}",
        m.content_type()
    );
    let t = &m.body;
    for family in [
        "# TYPE http_requests_total counter",
        "# TYPE http_request_duration_seconds histogram",
        "# TYPE process_start_time_seconds gauge",
        "# TYPE sscard_up gauge",
        "# TYPE sscard_persons gauge",
        "# TYPE sscard_cards gauge",
        "# TYPE sscard_audit_rows gauge",
        // The SQLite store's write path (this app is on SQLite).
        "# TYPE sscard_sqlite_group_commits_total counter",
        "# TYPE sscard_sqlite_group_commits_seconds_total counter",
        "# TYPE sscard_sqlite_wal_syncs_total counter",
        "# TYPE sscard_sqlite_wal_restarts_seconds_total counter",
    ] {
        assert!(t.contains(family), "missing {family} in\n{t}");
    }
    assert_eq!(
        sample_value(
            t,
            r#"http_requests_total{method="GET",route="/healthz",status="200"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample_value(
            t,
            r#"http_requests_total{method="GET",route="/api/v1/regions/{code}",status="200"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample_value(
            t,
            r#"http_requests_total{method="GET",route="/api/v1/regions/{code}",status="404"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample_value(
            t,
            r#"http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    // Raw paths never become labels.
    assert!(!t.contains("511011"), "{t}");
    assert!(!t.contains("510102199001011234"), "{t}");
    assert_eq!(
        sample_value(
            t,
            r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample_value(
            t,
            r#"http_request_duration_seconds_count{method="GET",route="/healthz"}"#
        ),
        Some(2.0)
    );
    assert!(
        sample_value(
            t,
            r#"http_request_duration_seconds_sum{method="GET",route="/healthz"}"#
        )
        .is_some()
    );
    assert_eq!(sample_value(t, "sscard_up"), Some(1.0));
    assert_eq!(sample_value(t, "sscard_persons"), Some(0.0));
    assert!(
        sample_value(t, "sscard_audit_rows").unwrap() >= 1.0,
        "reference data load is audited"
    );
    assert!(sample_value(t, "process_start_time_seconds").unwrap() > 1.6e9);
    // Every sample line is `name{labels} value` or `name value`.
    for line in t.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line}");
    }
}

async fn boom() -> &'static str {
    panic!("secret detail 510102199001011234")
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_error_json() {
    let (_dir, app) = app();
    let extra = axum::Router::new().route("/api/v1/test-panic", axum::routing::get(boom));
    let r = sscard_http::router_with_extra_routes(app, extra);
    let reply = get(&r, "/api/v1/test-panic").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.error_code(), "INTERNAL");
    assert!(!reply.body.contains("secret detail"), "{}", reply.body);
    assert!(!reply.body.contains("panicked"), "{}", reply.body);
    assert!(reply.headers.get("x-request-id").is_some());
    // The server goes on.
    assert_eq!(get(&r, "/healthz").await.status, StatusCode::OK);
    let m = get(&r, "/metrics").await.body;
    assert!(
        m.contains(
            r#"http_requests_total{method="GET",route="/api/v1/test-panic",status="500"} 1"#
        ),
        "{m}"
    );
}

#[tokio::test]
async fn landing_page_in_chinese_and_english() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let zh = get(&r, "/").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.content_type().starts_with("text/html"));
    for needle in [
        "lang=\"zh-CN\"",
        "社会保障卡服务平台",
        "href=\"/console/\"",
        "href=\"/portal/\"",
        "href=\"/kiosk/\"",
        "href=\"/api/v1/openapi.json\"",
        "12333",
        "href=\"/?lang=en\"",
    ] {
        assert!(zh.body.contains(needle), "missing {needle}");
    }
    assert!(!zh.body.contains("<script"), "no scripts");
    assert!(
        !zh.body.contains("http://") && !zh.body.contains("https://"),
        "no external assets"
    );

    let en = get(&r, "/?lang=en").await;
    assert!(en.body.contains("lang=\"en\""));
    assert!(en.body.contains("Social Security Card Service"));
    assert!(en.body.contains("href=\"/console/\""));
    assert!(en.body.contains("12333"));

    // The console, the portal and the kiosk are real applications now (tests/console.rs,
    // tests/portal.rs, the kiosk's tests): their entry pages answer in Chinese by default.
    for path in ["/portal/", "/kiosk/"] {
        let p = get(&r, path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(p.body.contains("lang=\"zh-CN\""), "{path}: {}", p.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tcp_and_shuts_down_gracefully() {
    let (_dir, app) = app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_http::serve(app, listener, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let resp = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(resp.text().await.unwrap(), "ok");
    let regions: serde_json::Value = client
        .get(format!("http://{addr}/api/v1/regions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(regions.as_array().unwrap().len(), 4);
    drop(client);

    tx.send(()).unwrap();
    let done = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight() {
    let (_dir, app) = app();
    let extra = axum::Router::new().route(
        "/test/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            "done"
        }),
    );
    let router = sscard_http::router_with_extra_routes(app, extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_http::serve_router(router, listener, async {
        let _ = rx.await;
    }));
    let slow = tokio::spawn(async move { reqwest::get(format!("http://{addr}/test/slow")).await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tx.send(()).unwrap();
    let resp = slow.await.unwrap().expect("in-flight request answered");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "done");
    let done = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
}

#[tokio::test]
async fn the_vendored_cjk_font_is_served_for_the_pages() {
    use tower::ServiceExt;
    let (_dir, app) = app();
    let router = sscard_http::router(app);
    let req = axum::http::Request::builder()
        .uri("/assets/fonts/NotoSansSC-Regular.otf")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "font/otf");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(body.len() > 1_000_000, "the whole font");
    assert_eq!(&body[..4], b"OTTO", "an OpenType (CFF) font");
}
