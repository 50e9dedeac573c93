//! Configuration: flags > `SSCARD_*` environment variables > TOML file > defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    fn parse(s: &str) -> Option<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

pub const DEFAULT_DB: &str = "sscard.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// The TOML configuration file. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub db: Option<String>,
    pub listen: Option<String>,
    pub pin_key_file: Option<PathBuf>,
    pub pin_key: Option<String>,
    pub ecard_key_file: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub log: Option<String>,
    pub pool_size: Option<u32>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// Options every command that opens the database takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration file (keys: db, listen, pin_key_file, pin_key, ecard_key_file,
    /// log_format, log, pool_size, tls_cert, tls_key) [env: SSCARD_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: an SQLite file path or a postgres://user:pass@host/db URL
    /// [env: SSCARD_DB] [default: sscard.db]
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// File holding the PIN MAC key (hex) [env: SSCARD_PIN_KEY_FILE]; the key itself may be
    /// given as hex in SSCARD_PIN_KEY (never as a flag)
    #[arg(long, value_name = "FILE")]
    pub pin_key_file: Option<PathBuf>,
    /// File holding the Ed25519 key (hex seed) that signs electronic-card QR codes; every
    /// server of a deployment needs the same one [env: SSCARD_ECARD_KEY_FILE]
    /// [default: sscard-ecard.key beside the SQLite file, created on first start]
    #[arg(long, value_name = "FILE")]
    pub ecard_key_file: Option<PathBuf>,
    /// Log format [env: SSCARD_LOG_FORMAT] [default: text]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `sscard_http=debug,info` [env: SSCARD_LOG] [default: info]
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,
    /// Database connection pool size [env: SSCARD_POOL_SIZE] [default: 8]
    #[arg(long, value_name = "N")]
    pub pool_size: Option<u32>,
}

/// The native TLS options of `serve` (and `config show`). Both or neither: without them
/// `serve` speaks plain HTTP.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Serve HTTPS with this PEM certificate chain (server certificate first, then the
    /// intermediates); needs --tls-key [env: SSCARD_TLS_CERT]
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert [env: SSCARD_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    pub db: String,
    pub listen: String,
    pub pin_key_file: Option<PathBuf>,
    /// Hex; a secret.
    pub pin_key: Option<String>,
    pub ecard_key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log: String,
    pub pool_size: u32,
    /// PEM certificate chain for native TLS (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for native TLS (with `tls_cert`).
    pub tls_key: Option<PathBuf>,
}

/// The effective configuration as printed by `config show` (secrets redacted).
#[derive(Debug, Serialize)]
struct Shown<'a> {
    db: String,
    listen: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pin_key_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pin_key: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ecard_key_file: Option<String>,
    log_format: LogFormat,
    log: &'a str,
    pool_size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<String>,
}

impl Settings {
    /// TOML of the effective configuration with secrets redacted.
    pub fn to_redacted_toml(&self) -> Result<String> {
        let shown = Shown {
            db: redact_db_url(&self.db),
            listen: &self.listen,
            pin_key_file: self.pin_key_file.as_ref().map(|p| p.display().to_string()),
            pin_key: self.pin_key.as_ref().map(|_| "***"),
            ecard_key_file: self
                .ecard_key_file
                .as_ref()
                .map(|p| p.display().to_string()),
            log_format: self.log_format,
            log: &self.log,
            pool_size: self.pool_size,
            tls_cert: self.tls_cert.as_ref().map(|p| p.display().to_string()),
            tls_key: self.tls_key.as_ref().map(|p| p.display().to_string()),
        };
        let body = toml::to_string(&shown).context("cannot print the configuration")?;
        let source = match &self.config_file {
            Some(p) => format!("# config file: {}\n", p.display()),
            None => "# config file: none\n".to_string(),
        };
        Ok(format!(
            "# effective configuration (flags > SSCARD_* environment > config file > defaults)\n{source}{body}"
        ))
    }

    /// The native TLS certificate and key files, when both are set; `None` for plain HTTP.
    /// Only one of the two is an error.
    pub fn tls_files(&self) -> Result<Option<(&Path, &Path)>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(cert), None) => bail!(
                "TLS certificate {} given without its key: give --tls-key (SSCARD_TLS_KEY, \
                 tls_key) too, or neither for plain HTTP",
                cert.display()
            ),
            (None, Some(key)) => bail!(
                "TLS key {} given without its certificate: give --tls-cert (SSCARD_TLS_CERT, \
                 tls_cert) too, or neither for plain HTTP",
                key.display()
            ),
        }
    }
}

/// Hides a database URL's password (`postgres://user:***@host/db`), including a
/// `password=` query parameter.
pub fn redact_db_url(url: &str) -> String {
    let mut out = sscard_store::redact_url(url);
    if let Some((base, query)) = out.split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{base}?{}", query.join("&"));
    }
    out
}

/// Reads and parses a configuration file; errors are one line naming the file (and the line
/// and key for a bad key).
pub fn load_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str::<FileConfig>(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().replace('\n', " ");
        match line {
            Some(l) => anyhow!("config file {} line {l}: {}", path.display(), msg.trim()),
            None => anyhow!("config file {}: {}", path.display(), msg.trim()),
        }
    })
}

/// Resolves the effective configuration. `env` looks up an environment variable (empty
/// values count as unset).
pub fn resolve(
    args: &ConfigArgs,
    listen: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings> {
    resolve_with_tls(args, listen, &TlsArgs::default(), env)
}

/// [`resolve`] with the TLS flags of `serve` / `config show`.
pub fn resolve_with_tls(
    args: &ConfigArgs,
    listen: Option<&str>,
    tls: &TlsArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let config_file = args
        .config
        .clone()
        .or_else(|| env("SSCARD_CONFIG").map(PathBuf::from));
    let file = match &config_file {
        Some(p) => load_file(p)?,
        None => FileConfig::default(),
    };
    let log_format = match args.log_format {
        Some(f) => Some(f),
        None => match env("SSCARD_LOG_FORMAT") {
            Some(v) => Some(LogFormat::parse(&v).ok_or_else(|| {
                anyhow!(
                    "SSCARD_LOG_FORMAT must be `text` or `json`, not `{}`",
                    v.trim()
                )
            })?),
            None => None,
        },
    };
    let pool_size = match args.pool_size {
        Some(n) => Some(n),
        None => match env("SSCARD_POOL_SIZE") {
            Some(v) => Some(v.trim().parse::<u32>().map_err(|_| {
                anyhow!(
                    "SSCARD_POOL_SIZE must be a positive number, not `{}`",
                    v.trim()
                )
            })?),
            None => None,
        },
    };
    let pool_size = pool_size.or(file.pool_size).unwrap_or(DEFAULT_POOL_SIZE);
    if pool_size == 0 {
        bail!("pool_size must be at least 1");
    }
    Ok(Settings {
        db: args
            .db
            .clone()
            .or_else(|| env("SSCARD_DB"))
            .or(file.db)
            .unwrap_or_else(|| DEFAULT_DB.into()),
        listen: listen
            .map(str::to_string)
            .or_else(|| env("SSCARD_LISTEN"))
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into()),
        pin_key_file: args
            .pin_key_file
            .clone()
            .or_else(|| env("SSCARD_PIN_KEY_FILE").map(PathBuf::from))
            .or(file.pin_key_file),
        pin_key: env("SSCARD_PIN_KEY").or(file.pin_key),
        ecard_key_file: args
            .ecard_key_file
            .clone()
            .or_else(|| env("SSCARD_ECARD_KEY_FILE").map(PathBuf::from))
            .or(file.ecard_key_file),
        log_format: log_format.or(file.log_format).unwrap_or_default(),
        log: args
            .log
            .clone()
            .or_else(|| env("SSCARD_LOG"))
            .or(file.log)
            .unwrap_or_else(|| DEFAULT_LOG.into()),
        pool_size,
        tls_cert: tls
            .tls_cert
            .clone()
            .or_else(|| env("SSCARD_TLS_CERT").map(PathBuf::from))
            .or(file.tls_cert),
        tls_key: tls
            .tls_key
            .clone()
            .or_else(|| env("SSCARD_TLS_KEY").map(PathBuf::from))
            .or(file.tls_key),
        config_file,
    })
}

/// Resolves with the process environment.
pub fn resolve_from_env(args: &ConfigArgs, listen: Option<&str>) -> Result<Settings> {
    resolve(args, listen, &|k| std::env::var(k).ok())
}

/// [`resolve_with_tls`] with the process environment.
pub fn resolve_with_tls_from_env(
    args: &ConfigArgs,
    listen: Option<&str>,
    tls: &TlsArgs,
) -> Result<Settings> {
    resolve_with_tls(args, listen, tls, &|k| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_apply_without_anything() {
        let s = resolve(&ConfigArgs::default(), None, &env_of(&[])).unwrap();
        assert_eq!(s.db, "sscard.db");
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.log, "info");
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.pool_size, 8);
        assert_eq!(s.pin_key, None);
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "db = \"file.db\"\nlisten = \"0.0.0.0:1\"\nlog = \"debug\"\npool_size = 3\nlog_format = \"json\"\n")
            .unwrap();
        let args = ConfigArgs {
            config: Some(file.clone()),
            db: Some("flag.db".into()),
            ..Default::default()
        };
        let env = env_of(&[
            ("SSCARD_DB", "env.db"),
            ("SSCARD_LISTEN", "127.0.0.1:9"),
            ("SSCARD_POOL_SIZE", ""),
        ]);
        let s = resolve(&args, None, &env).unwrap();
        assert_eq!(s.db, "flag.db");
        assert_eq!(s.listen, "127.0.0.1:9");
        assert_eq!(s.log, "debug");
        assert_eq!(s.pool_size, 3);
        assert_eq!(s.log_format, LogFormat::Json);
        let s = resolve(&args, Some("127.0.0.1:7"), &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:7");
        // SSCARD_CONFIG names the file when --config is absent.
        let env = env_of(&[("SSCARD_CONFIG", file.to_str().unwrap())]);
        assert_eq!(
            resolve(&ConfigArgs::default(), None, &env).unwrap().db,
            "file.db"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_the_key_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "db = \"x\"\nlisen = \"y\"\n").unwrap();
        let err = load_file(&file).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn bad_env_values_are_refused() {
        let e = resolve(
            &ConfigArgs::default(),
            None,
            &env_of(&[("SSCARD_LOG_FORMAT", "xml")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("SSCARD_LOG_FORMAT"));
        let e = resolve(
            &ConfigArgs::default(),
            None,
            &env_of(&[("SSCARD_POOL_SIZE", "many")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("SSCARD_POOL_SIZE"));
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Settings {
            config_file: None,
            db: "postgres://app:hunter2@db.example/sscard?password=hunter2&sslmode=disable".into(),
            listen: DEFAULT_LISTEN.into(),
            pin_key_file: None,
            pin_key: Some("00112233445566778899aabbccddeeff".into()),
            ecard_key_file: None,
            log_format: LogFormat::Text,
            log: "info".into(),
            pool_size: 8,
            tls_cert: None,
            tls_key: None,
        };
        let text = s.to_redacted_toml().unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("00112233"), "{text}");
        assert!(text.contains("pin_key = \"***\""), "{text}");
        assert!(
            text.contains("postgres://app:***@db.example/sscard?password=***&sslmode=disable"),
            "{text}"
        );
    }

    #[test]
    fn tls_files_follow_flags_env_file_and_default_to_plain_http() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "tls_cert = \"/file/cert.pem\"\ntls_key = \"/file/key.pem\"\n",
        )
        .unwrap();
        // Nothing set: plain HTTP.
        let s = resolve(&ConfigArgs::default(), None, &env_of(&[])).unwrap();
        assert_eq!(s.tls_files().unwrap(), None);
        assert!(!s.to_redacted_toml().unwrap().contains("tls_"));

        let args = ConfigArgs {
            config: Some(file),
            ..Default::default()
        };
        let s = resolve(&args, None, &env_of(&[])).unwrap();
        assert_eq!(
            s.tls_files().unwrap(),
            Some((Path::new("/file/cert.pem"), Path::new("/file/key.pem")))
        );
        let env = env_of(&[("SSCARD_TLS_CERT", "/env/cert.pem"), ("SSCARD_TLS_KEY", "")]);
        let s = resolve_with_tls(&args, None, &TlsArgs::default(), &env).unwrap();
        assert_eq!(s.tls_cert.as_deref(), Some(Path::new("/env/cert.pem")));
        assert_eq!(s.tls_key.as_deref(), Some(Path::new("/file/key.pem")));
        let flags = TlsArgs {
            tls_cert: None,
            tls_key: Some("/flag/key.pem".into()),
        };
        let s = resolve_with_tls(&args, None, &flags, &env).unwrap();
        assert_eq!(s.tls_cert.as_deref(), Some(Path::new("/env/cert.pem")));
        assert_eq!(s.tls_key.as_deref(), Some(Path::new("/flag/key.pem")));
        let text = s.to_redacted_toml().unwrap();
        assert!(text.contains("tls_cert = \"/env/cert.pem\""), "{text}");
        assert!(text.contains("tls_key = \"/flag/key.pem\""), "{text}");
        // `resolve` (the commands without TLS) ignores the flags but not the environment.
        let s = resolve(&args, None, &env).unwrap();
        assert_eq!(s.tls_key.as_deref(), Some(Path::new("/file/key.pem")));
    }

    #[test]
    fn tls_needs_both_files() {
        let only_cert = TlsArgs {
            tls_cert: Some("/x/cert.pem".into()),
            tls_key: None,
        };
        let s = resolve_with_tls(&ConfigArgs::default(), None, &only_cert, &env_of(&[])).unwrap();
        let e = s.tls_files().unwrap_err().to_string();
        assert!(e.contains("/x/cert.pem") && e.contains("--tls-key"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let s = resolve(
            &ConfigArgs::default(),
            None,
            &env_of(&[("SSCARD_TLS_KEY", "/x/key.pem")]),
        )
        .unwrap();
        let e = s.tls_files().unwrap_err().to_string();
        assert!(e.contains("/x/key.pem") && e.contains("--tls-cert"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
