//! The application handle every channel holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rand::RngCore;
use sscard_domain::clock::Clock;
use sscard_store::repo::{audit as audit_repo, cards, persons};
use sscard_store::{OpenOptions, Store};

use crate::error::{ErrorKind, ServiceError};
use crate::secrets::PinKey;

/// The real clock (the only place the service reads the system time).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How to open the application.
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    /// `postgres://…` or an SQLite file path.
    pub db_url: String,
    /// The PIN MAC key, if given directly (from `SSCARD_PIN_KEY`, hex).
    pub pin_key: Option<PinKey>,
    /// A file holding the PIN MAC key. When neither is given, `sscard-pin.key` beside the
    /// SQLite file (or in the working directory) is used, created on first start.
    pub pin_key_file: Option<PathBuf>,
    /// Database pool size.
    pub pool_size: u32,
    /// The Ed25519 key (32-byte seed, hex) that signs electronic-card QR tokens. When not
    /// given, `sscard-ecard.key` beside the SQLite file (or in the working directory) is used,
    /// created on first start. Every server of a deployment must share it.
    pub ecard_key_file: Option<PathBuf>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    pin_key: PinKey,
    ecard_key: ed25519_dalek::SigningKey,
    medical_cache: Arc<crate::medical::cache::Cache>,
    /// Nonces claimed so far (all signed channels): old ones are forgotten every so often.
    nonce_calls: Arc<std::sync::atomic::AtomicU64>,
}

/// Cheap-to-clone handle on the store, the clock and the secrets.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.inner.store)
            .finish()
    }
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub persons: i64,
    pub cards_by_status: Vec<(String, i64)>,
    pub audit_rows: i64,
    /// Where the embedded database's grouped writes spent their time (SQLite only).
    pub write_path: Option<sscard_store::WritePathStats>,
}

fn default_key_path(db_url: &str, file: &str) -> PathBuf {
    if db_url.starts_with("postgres://") || db_url.starts_with("postgresql://") {
        return PathBuf::from(file);
    }
    let path = db_url
        .strip_prefix("sqlite://")
        .or_else(|| db_url.strip_prefix("sqlite:"))
        .unwrap_or(db_url);
    Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.join(file))
        .unwrap_or_else(|| PathBuf::from(file))
}

/// Creates a file holding 32 random bytes in hex, readable by the owner only.
fn create_key_file(path: &Path) -> Result<(), ServiceError> {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path)?;
        f.write_all(hex::encode(key).as_bytes())?;
        f.write_all(b"\n")
    };
    write().map_err(|e| {
        ServiceError::new(
            ErrorKind::BadRequest,
            "KEY_FILE_UNWRITABLE",
            format!("无法创建密钥文件 {}:{e}", path.display()),
            format!("Cannot create the key file {}: {e}", path.display()),
        )
    })?;
    tracing::warn!(path = %path.display(), "created a new key file; back it up with the database");
    Ok(())
}

fn load_or_create_key(path: &Path) -> Result<PinKey, ServiceError> {
    if !path.exists() {
        create_key_file(path)?;
    }
    PinKey::from_file(path)
}

/// Reads the e-card signing key (32-byte seed in hex), creating the file when asked to.
fn load_ecard_key(path: &Path, create: bool) -> Result<ed25519_dalek::SigningKey, ServiceError> {
    if create && !path.exists() {
        create_key_file(path)?;
    }
    let bad = |why: String| {
        ServiceError::new(
            ErrorKind::BadRequest,
            "ECARD_KEY_INVALID",
            format!("电子社保卡签名密钥文件 {} 无效:{why}", path.display()),
            format!(
                "The e-card signing key file {} is invalid: {why}",
                path.display()
            ),
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let bytes = hex::decode(text.trim()).map_err(|e| bad(e.to_string()))?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| bad("expected 32 bytes in hex".into()))?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

impl App {
    /// Opens the store (applying migrations) and makes sure the reference data exists.
    pub fn open(cfg: &AppConfig) -> Result<App, ServiceError> {
        let opts = OpenOptions {
            pool_size: if cfg.pool_size == 0 { 8 } else { cfg.pool_size },
            migrate: true,
        };
        let store = Store::open_with(&cfg.db_url, &opts).map_err(|e| {
            ServiceError::new(
                ErrorKind::Unavailable,
                "DB_OPEN",
                format!("无法打开数据库:{e}"),
                format!("Cannot open the database: {e}"),
            )
        })?;
        let pin_key = match (&cfg.pin_key, &cfg.pin_key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(p)) => PinKey::from_file(p)?,
            (None, None) => load_or_create_key(&default_key_path(&cfg.db_url, "sscard-pin.key"))?,
        };
        let ecard_key = match &cfg.ecard_key_file {
            Some(p) => load_ecard_key(p, false)?,
            None => load_ecard_key(&default_key_path(&cfg.db_url, "sscard-ecard.key"), true)?,
        };
        let app = App {
            inner: Arc::new(Inner {
                store,
                clock: Arc::new(SystemClock),
                pin_key,
                ecard_key,
                medical_cache: Arc::default(),
                nonce_calls: Arc::default(),
            }),
        };
        crate::reference::ensure(&app)?;
        Ok(app)
    }

    /// The same application seen through another clock (tests, simulations).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> App {
        App {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                clock,
                pin_key: self.inner.pin_key.clone(),
                ecard_key: self.inner.ecard_key.clone(),
                medical_cache: self.inner.medical_cache.clone(),
                nonce_calls: self.inner.nonce_calls.clone(),
            }),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn medical_cache(&self) -> &crate::medical::cache::Cache {
        &self.inner.medical_cache
    }

    /// Counts a nonce claim; the count before this one.
    pub(crate) fn next_nonce_call(&self) -> u64 {
        self.inner
            .nonce_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn ecard_key(&self) -> &ed25519_dalek::SigningKey {
        &self.inner.ecard_key
    }

    pub(crate) fn pin_key(&self) -> &PinKey {
        &self.inner.pin_key
    }

    /// Backend name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.inner.store.backend().as_str()
    }

    /// The database URL with any password hidden.
    pub fn db_url_redacted(&self) -> &str {
        self.inner.store.url_redacted()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Today in Asia/Shanghai.
    pub fn today(&self) -> NaiveDate {
        self.inner.clock.today()
    }

    /// Whether the database answers (`/readyz`).
    pub fn ready(&self) -> Result<(), ServiceError> {
        self.inner.store.ping().map_err(ServiceError::from)
    }

    /// Whether no person exists yet (`serve --demo` fills such a database).
    pub fn is_empty(&self) -> Result<bool, ServiceError> {
        Ok(self.inner.store.read(|tx| persons::count_persons(tx))? == 0)
    }

    /// Counts for monitoring.
    pub fn stats(&self) -> Result<Stats, ServiceError> {
        Ok(self.inner.store.read(|tx| {
            Ok::<_, sscard_store::StoreError>(Stats {
                persons: persons::count_persons(tx)?,
                cards_by_status: cards::count_by_status(tx)?,
                audit_rows: audit_repo::head(tx)?.0,
                write_path: self.inner.store.write_path_stats(),
            })
        })?)
    }
}
