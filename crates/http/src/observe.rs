//! Request observation: the `x-request-id` header, the access log (ID numbers masked, bodies
//! never logged) and the HTTP metrics.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use sscard_domain::mask::mask_ids_in_text;
use tracing::Instrument;

use crate::metrics::Metrics;

/// The request id header, read from the request when present and always set on the response.
pub const REQUEST_ID: &str = "x-request-id";

/// The `route` label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new request id: 16 hex digits of per-process randomness and a sequence number.
pub fn new_request_id() -> String {
    static SALT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let salt = *SALT.get_or_init(|| {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    format!("{salt:016x}-{n:08x}-{:04x}", h.finish() & 0xffff)
}

/// Accepts a client's request id when it is short printable ASCII; otherwise `None`.
fn usable_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        });
    ok.then(|| s.to_string())
}

/// Middleware: request id, access log and metrics for every request.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let target = mask_ids_in_text(
        req.uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/"),
    );
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(usable_request_id)
        .unwrap_or_else(new_request_id);
    let header =
        HeaderValue::from_str(&request_id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(REQUEST_ID, header.clone());

    let span = tracing::info_span!("request", id = %request_id);
    let mut resp = next.run(req).instrument(span.clone()).await;
    resp.headers_mut().insert(REQUEST_ID, header);

    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    let route = route.as_deref().unwrap_or(UNMATCHED);
    metrics.observe(&method, route, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(target: "sscard_http::access", method, path = %target, route, status, latency_ms, "request");
        } else {
            tracing::info!(target: "sscard_http::access", method, path = %target, route, status, latency_ms, "request");
        }
    });
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_client_ids_are_checked() {
        assert_ne!(new_request_id(), new_request_id());
        assert_eq!(
            usable_request_id(&HeaderValue::from_static("abc-123")),
            Some("abc-123".into())
        );
        assert_eq!(usable_request_id(&HeaderValue::from_static("a b")), None);
        assert_eq!(usable_request_id(&HeaderValue::from_static("")), None);
    }
}
