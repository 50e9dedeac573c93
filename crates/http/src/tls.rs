//! Native TLS: the same application as [`crate::serve`], served over HTTPS.
//!
//! The certificate chain and its private key are PEM files read once at start
//! ([`load_server_config`]); a renewed certificate takes effect at the next restart. Only TLS
//! 1.2 and 1.3 are offered (rustls with the *ring* provider); ALPN offers HTTP/2 and
//! HTTP/1.1. The accept loop ([`serve_tls`]) uses hyper-util's server and shuts down like the
//! plain server: when the shutdown future completes it stops accepting, lets the requests in
//! flight finish, and returns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sscard_service::App;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the certificate and key files cannot be used. Every message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// A file cannot be read.
    #[error("cannot read the TLS {what} file {}: {error}", path.display())]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error (in the message, not a `source`: one line, said once).
        error: std::io::Error,
    },
    /// A file is not valid PEM.
    #[error("the TLS {what} file {} is not valid PEM: {reason}", path.display())]
    Pem {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The certificate file holds no `CERTIFICATE` section.
    #[error("the TLS certificate file {} holds no PEM certificate", .0.display())]
    NoCertificate(PathBuf),
    /// The key file holds no private key section.
    #[error(
        "the TLS key file {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
        .0.display()
    )]
    NoKey(PathBuf),
    /// The certificate cannot be parsed.
    #[error("the TLS certificate file {} holds an invalid certificate: {reason}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The private key cannot be used.
    #[error("the TLS key file {} holds an unusable private key: {reason}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The private key is not the certificate's.
    #[error(
        "the TLS key file {} does not match the certificate in {}",
        key.display(),
        cert.display()
    )]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|error| TlsConfigError::Read {
        what,
        path: path.to_path_buf(),
        error,
    })
}

fn pem_error(what: &'static str, path: &Path, e: rustls::pki_types::pem::Error) -> TlsConfigError {
    TlsConfigError::Pem {
        what,
        path: path.to_path_buf(),
        reason: e.to_string().replace('\n', " "),
    }
}

/// Reads a PEM certificate chain (end-entity certificate first, then intermediates) and its
/// PEM private key (PKCS#8, PKCS#1 or SEC1), checks that they belong together, and builds the
/// server configuration: TLS 1.2 and 1.3 only, ALPN `h2` and `http/1.1`.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let cert_pem = read("certificate", cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error("certificate", cert, e))?;
    if chain.is_empty() {
        return Err(TlsConfigError::NoCertificate(cert.to_path_buf()));
    }
    let key_pem = read("key", key)?;
    let private_key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            return Err(TlsConfigError::NoKey(key.to_path_buf()));
        }
        Err(e) => return Err(pem_error("key", key, e)),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsConfigError::BadKey {
            path: key.to_path_buf(),
            reason: e.to_string(),
        })?
        .with_no_client_auth();
    let mut config = builder
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsConfigError::Mismatch {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                }
            }
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                TlsConfigError::BadCertificate {
                    path: cert.to_path_buf(),
                    reason: e.to_string(),
                }
            }
            other => TlsConfigError::BadKey {
                path: key.to_path_buf(),
                reason: other.to_string(),
            },
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// [`crate::serve`] over TLS: serves the whole application on `listener` with `config` until
/// `shutdown` completes, then stops accepting, finishes the requests in flight and returns.
pub async fn serve_tls(
    app: App,
    listener: TcpListener,
    config: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router_tls(crate::router(app), listener, config, shutdown).await
}

/// [`serve_tls`] for a router already built.
#[doc(hidden)]
pub async fn serve_router_tls(
    router: Router,
    listener: TcpListener,
    config: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        // Registered before the handshake: shutdown waits for this connection too.
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new());
            builder.http2().timer(TokioTimer::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::debug!(
        connections = graceful.count(),
        "waiting for connections to finish"
    );
    graceful.shutdown().await;
    Ok(())
}

/// Like axum's server: connection-level errors are the client's business; anything else
/// (e.g. out of file descriptors) is logged and the loop pauses a second.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
