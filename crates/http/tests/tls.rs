//! Native TLS: the application over HTTPS with a self-signed certificate made for the test,
//! graceful shutdown, and the refusals of unusable certificate and key files.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::app;
use sscard_http::tls::{TlsConfigError, load_server_config};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
struct TestCert {
    cert_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

fn make_cert(dir: &Path, name: &str) -> TestCert {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    TestCert {
        cert_pem: cert.pem(),
        cert: cert_path,
        key: key_path,
    }
}

/// A client that trusts only `cert`.
fn client_trusting(cert: &TestCert) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
}

/// Starts the TLS server on 127.0.0.1:0; the returned sender stops it.
async fn start(
    router: axum::Router,
    cert: &TestCert,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let config = load_server_config(&cert.cert, &cert.key).expect("usable certificate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_http::tls::serve_router_tls(
        router,
        listener,
        config,
        async {
            let _ = rx.await;
        },
    ));
    (addr, tx, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_https_and_shuts_down_gracefully() {
    let (_dir, app) = app();
    let certs = tempfile::tempdir().unwrap();
    let cert = make_cert(certs.path(), "server");
    let config = load_server_config(&cert.cert, &cert.key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sscard_http::tls::serve_tls(app, listener, config, async {
        let _ = rx.await;
    }));

    // HTTP/1.1, by IP address (the certificate names 127.0.0.1).
    let h1 = client_trusting(&cert).http1_only().build().unwrap();
    let resp = h1
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(resp.text().await.unwrap(), "ok");
    let regions: serde_json::Value = h1
        .get(format!("https://{addr}/api/v1/regions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(regions.as_array().unwrap().len(), 4);
    // Unknown API routes answer the same error JSON as over plain HTTP.
    let missing = h1
        .get(format!("https://{addr}/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");

    // HTTP/2 through ALPN, by host name.
    let h2 = client_trusting(&cert)
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let resp = h2
        .get(format!("https://localhost:{}/healthz", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.text().await.unwrap(), "ok");

    // TLS 1.2 is still offered.
    let tls12 = client_trusting(&cert)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    let resp = tls12
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A client that does not trust the certificate is refused by its own verification, and
    // plain HTTP gets no answer on the TLS port.
    let stranger = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(
        stranger
            .get(format!("https://{addr}/healthz"))
            .send()
            .await
            .is_err()
    );
    assert!(
        h1.get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_err(),
        "plain HTTP answered on the TLS port"
    );
    drop((h1, tls12));

    // Idle keep-alive connections (the HTTP/2 client keeps its own open) do not hold up the
    // shutdown.

    tx.send(()).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
    drop(h2);
    let after = client_trusting(&cert).build().unwrap();
    assert!(
        after
            .get(format!("https://{addr}/healthz"))
            .send()
            .await
            .is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_over_tls() {
    let (_dir, app) = app();
    let certs = tempfile::tempdir().unwrap();
    let cert = make_cert(certs.path(), "server");
    let extra = axum::Router::new().route(
        "/test/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "done"
        }),
    );
    let router = sscard_http::router_with_extra_routes(app, extra);
    let (addr, tx, server) = start(router, &cert).await;
    let client = client_trusting(&cert).build().unwrap();
    let slow =
        tokio::spawn(async move { client.get(format!("https://{addr}/test/slow")).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(()).unwrap();
    let resp = slow.await.unwrap().expect("in-flight request answered");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "done");
    let done = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
}

/// The error's message: one line naming every given file.
fn one_line_naming(e: &TlsConfigError, files: &[&Path]) -> String {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    for f in files {
        assert!(
            msg.contains(&f.display().to_string()),
            "{msg} does not name {}",
            f.display()
        );
    }
    msg
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_cert(dir.path(), "a");
    let b = make_cert(dir.path(), "b");
    let e = load_server_config(&a.cert, &b.key).unwrap_err();
    assert!(matches!(e, TlsConfigError::Mismatch { .. }), "{e:?}");
    let msg = one_line_naming(&e, &[&a.cert, &b.key]);
    assert!(msg.contains("does not match"), "{msg}");
    // Each pair on its own is fine.
    assert!(load_server_config(&a.cert, &a.key).is_ok());
    assert!(load_server_config(&b.cert, &b.key).is_ok());
}

#[test]
fn unreadable_and_invalid_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = make_cert(dir.path(), "good");
    let missing = dir.path().join("missing.pem");

    let e = load_server_config(&missing, &good.key).unwrap_err();
    assert!(
        matches!(
            e,
            TlsConfigError::Read {
                what: "certificate",
                ..
            }
        ),
        "{e:?}"
    );
    one_line_naming(&e, &[&missing]);
    let e = load_server_config(&good.cert, &missing).unwrap_err();
    assert!(
        matches!(e, TlsConfigError::Read { what: "key", .. }),
        "{e:?}"
    );
    one_line_naming(&e, &[&missing]);

    // The files swapped: no certificate in the certificate file.
    let e = load_server_config(&good.key, &good.cert).unwrap_err();
    assert!(matches!(e, TlsConfigError::NoCertificate(_)), "{e:?}");
    one_line_naming(&e, &[&good.key]);

    // No private key in the key file.
    let e = load_server_config(&good.cert, &good.cert).unwrap_err();
    assert!(matches!(e, TlsConfigError::NoKey(_)), "{e:?}");
    one_line_naming(&e, &[&good.cert]);

    // Not PEM at all.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    let e = load_server_config(&junk, &good.key).unwrap_err();
    assert!(matches!(e, TlsConfigError::NoCertificate(_)), "{e:?}");
    one_line_naming(&e, &[&junk]);

    // A PEM section that never ends.
    let cut = dir.path().join("cut.pem");
    let pem = std::fs::read_to_string(&good.cert).unwrap();
    std::fs::write(&cut, &pem[..pem.len() / 2]).unwrap();
    let e = load_server_config(&cut, &good.key).unwrap_err();
    assert!(
        matches!(
            e,
            TlsConfigError::Pem {
                what: "certificate",
                ..
            }
        ),
        "{e:?}"
    );
    one_line_naming(&e, &[&cut]);

    // Well-formed PEM around bytes that are no certificate.
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(
        &bogus,
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = load_server_config(&bogus, &good.key).unwrap_err();
    assert!(matches!(e, TlsConfigError::BadCertificate { .. }), "{e:?}");
    one_line_naming(&e, &[&bogus]);

    // Well-formed PEM around bytes that are no key.
    let bogus_key = dir.path().join("bogus.key");
    std::fs::write(
        &bogus_key,
        "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let e = load_server_config(&good.cert, &bogus_key).unwrap_err();
    assert!(matches!(e, TlsConfigError::BadKey { .. }), "{e:?}");
    one_line_naming(&e, &[&bogus_key]);
}
