//! The access log masks ID numbers and never logs bodies. Alone in its test binary: a
//! thread-local subscriber would race with other tests over tracing's callsite cache.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{app, get};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_access_log_masks_id_numbers_and_never_logs_bodies() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let buf = Captured::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    get(&r, "/api/v1/agencies?region=511000&who=11010519491231002X").await;
    common::post_json(
        &r,
        "/api/v1/documents/validate",
        r#"{"doc_type":"citizen_id","number":"510102199001011234"}"#,
    )
    .await;
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("1101**********002X"), "{log}");
    assert!(!log.contains("11010519491231002X"), "{log}");
    assert!(!log.contains("510102199001011234"), "body logged: {log}");
    assert!(
        log.contains("method=\"GET\"") || log.contains("method=GET"),
        "{log}"
    );
    assert!(log.contains("status=200"), "{log}");
    assert!(log.contains("latency_ms="), "{log}");
    assert!(
        log.contains("route=\"/api/v1/agencies\"") || log.contains("route=/api/v1/agencies"),
        "{log}"
    );
}
