//! Signed API requests (cooperating banks now, designated hospitals later).
//!
//! Every request carries four headers:
//!
//! | header | content |
//! |---|---|
//! | `X-Key-Id` | the caller's key id (`BANK-ICBC`) |
//! | `X-Timestamp` | Unix seconds; refused when more than [`MAX_SKEW_SECS`] away from now |
//! | `X-Nonce` | 8–64 characters `[A-Za-z0-9_-]`, never reused by the same key |
//! | `X-Signature` | lower-case hex HMAC-SHA256, keyed by the caller's API secret (its text as UTF-8 bytes), of [`string_to_sign`] |
//!
//! The string to sign is `METHOD\nPATH\nTIMESTAMP\nNONCE\nSHA256(body) hex`, with the method in
//! upper case and the path without query string (e.g. `/api/v1/bank/cards/N00000123/activate`).
//! The signature is compared in constant time; a request is accepted only if the key is known,
//! the signature matches, the timestamp is fresh and the nonce is new (nonces are kept for twice
//! the allowed skew, longer than any timestamp stays fresh).

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sscard_store::repo::ts;
use sscard_store::{StoreError, Tx};

use crate::App;
use crate::error::{ErrorKind, ServiceError};

type HmacSha256 = Hmac<Sha256>;

/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// The signature headers and what they sign, as the channel received them.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub key_id: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    /// Hex HMAC-SHA256.
    pub signature: &'a str,
    /// HTTP method, any case.
    pub method: &'a str,
    /// The request path without the query string.
    pub path: &'a str,
    /// The raw body bytes.
    pub body: &'a [u8],
}

/// The text that is signed.
pub fn string_to_sign(
    method: &str,
    path: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        timestamp,
        nonce,
        hex::encode(Sha256::digest(body))
    )
}

fn mac(secret: &str) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length")
}

/// The signature a client sends (hex HMAC-SHA256 of [`string_to_sign`] under `secret`).
pub fn sign(
    secret: &str,
    method: &str,
    path: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let mut m = mac(secret);
    m.update(string_to_sign(method, path, timestamp, nonce, body).as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// `SIGNATURE_INVALID`.
pub fn signature_invalid() -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthorized,
        "SIGNATURE_INVALID",
        "请求签名无效(密钥编号、签名或签名头缺失/错误)",
        "Invalid request signature (unknown key id, wrong or missing signature headers)",
    )
}

/// Checks the form of the signature headers: a key id and a signature are present, the nonce
/// is 8–64 of `[A-Za-z0-9_-]`. Errors: `SIGNATURE_INVALID`.
pub fn check_form(req: &SignedRequest<'_>) -> Result<(), ServiceError> {
    let nonce_ok = (8..=64).contains(&req.nonce.len())
        && req
            .nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if req.key_id.is_empty() || req.signature.is_empty() || !nonce_ok {
        return Err(signature_invalid());
    }
    Ok(())
}

/// Whether the request is signed with `secret`, or with `previous` (a rotated key still in its
/// grace period). Compared in constant time.
pub fn signed_by(req: &SignedRequest<'_>, secret: &str, previous: Option<&str>) -> bool {
    let Ok(given) = hex::decode(req.signature.trim()) else {
        return false;
    };
    let signed = string_to_sign(req.method, req.path, req.timestamp, req.nonce, req.body);
    let signed_with = |secret: &str| {
        let mut m = mac(secret);
        m.update(signed.as_bytes());
        m.verify_slice(&given).is_ok()
    };
    signed_with(secret) || previous.is_some_and(signed_with)
}

/// Refuses a timestamp more than [`MAX_SKEW_SECS`] from `now`. Errors: `TIMESTAMP_STALE`.
pub fn check_fresh(req: &SignedRequest<'_>, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let fresh = req
        .timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (now.timestamp() - t).abs() <= MAX_SKEW_SECS);
    if fresh {
        return Ok(());
    }
    Err(ServiceError::new(
        ErrorKind::Unauthorized,
        "TIMESTAMP_STALE",
        format!("请求时间戳与服务器时间相差超过 {MAX_SKEW_SECS} 秒"),
        format!(
            "The request timestamp is more than {MAX_SKEW_SECS} seconds from the server's clock"
        ),
    ))
}

/// `NONCE_REUSED`: the key already used this nonce.
pub fn nonce_reused() -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthorized,
        "NONCE_REUSED",
        "请求随机数已使用过(疑似重放)",
        "The nonce was already used (replayed request?)",
    )
}

/// Verifies a signed request. `lookup` finds the caller and its secret by key id. The nonce is
/// recorded in its own committed transaction, so a replay is refused even when the operation
/// itself fails afterwards.
///
/// Errors: `SIGNATURE_INVALID` (missing headers, unknown key, wrong signature),
/// `TIMESTAMP_STALE`, `NONCE_REUSED`.
pub fn verify<T>(
    app: &App,
    req: &SignedRequest<'_>,
    lookup: impl FnOnce(&mut dyn Tx, &str) -> Result<Option<(String, T)>, StoreError>,
) -> Result<T, ServiceError> {
    check_form(req)?;
    let now = app.now();
    let found = app.store().read(|tx| {
        let found = lookup(tx, req.key_id)?;
        // While a rotated key's grace period runs, its previous secret is accepted too.
        let previous = match found {
            Some(_) => sscard_store::repo::admin::previous_secret(tx, req.key_id, &ts(now))?,
            None => None,
        };
        Ok::<_, StoreError>(found.map(|f| (f, previous)))
    })?;
    let Some(((secret, caller), previous)) = found else {
        return Err(signature_invalid());
    };
    if !signed_by(req, &secret, previous.as_deref()) {
        return Err(signature_invalid());
    }
    check_fresh(req, now)?;
    app.store()
        .write(|tx| claim_nonce(app, tx, req.key_id, req.nonce, now))?;
    Ok(caller)
}

/// Every how many nonce claims the nonces too old to matter are forgotten.
const FORGET_EVERY: u64 = 256;

/// Every [`FORGET_EVERY`]th claim (counted over every key and channel), forgets the nonces too
/// old to matter: seen more than twice [`MAX_SKEW_SECS`] ago, so that their timestamps can no
/// longer be fresh, whichever key used them. One rule for banks, hospitals and the IVR.
pub(crate) fn forget_old_nonces_now_and_then(
    app: &App,
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if app.next_nonce_call().is_multiple_of(FORGET_EVERY) {
        tx.forget_nonces(&ts(now - Duration::seconds(2 * MAX_SKEW_SECS)))?;
    }
    Ok(())
}

/// Records that `key_id` used `nonce`, inside `tx` (so it counts only if `tx` commits), and
/// now and then forgets old nonces ([`forget_old_nonces_now_and_then`]).
/// Errors: `NONCE_REUSED`.
pub(crate) fn claim_nonce(
    app: &App,
    tx: &mut dyn Tx,
    key_id: &str,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    forget_old_nonces_now_and_then(app, tx, now)?;
    if tx.claim_nonce(key_id, nonce, &ts(now))? {
        Ok(())
    } else {
        Err(nonce_reused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_to_sign_and_signature_are_stable() {
        let s = string_to_sign("post", "/api/v1/bank/x", "1700000000", "abcdefgh", b"{}");
        assert_eq!(
            s,
            "POST\n/api/v1/bank/x\n1700000000\nabcdefgh\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let a = sign("k", "POST", "/p", "1", "n", b"");
        assert_eq!(a.len(), 64);
        assert_ne!(a, sign("k2", "POST", "/p", "1", "n", b""));
        assert_ne!(a, sign("k", "POST", "/p", "1", "n", b" "));
    }

    #[test]
    fn old_nonces_are_forgotten_every_256th_claim_of_any_key() {
        use chrono::TimeZone;
        let (_dir, url) = sscard_testkit::sqlite_url();
        let app = crate::App::open(&crate::AppConfig {
            db_url: url,
            pin_key: Some(crate::secrets::PinKey::new(vec![3; 32]).unwrap()),
            ..Default::default()
        })
        .unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 5, 2, 0, 0).unwrap();
        let claim = |key: &str, nonce: &str, at| {
            app.store()
                .write(|tx| claim_nonce(&app, tx, key, nonce, at))
                .map_err(|e| e.code)
        };
        // Claim 0 forgets (nothing yet), then records; claim 1 is refused.
        claim("BANK-A", "nonce-old", t0).unwrap();
        assert_eq!(
            claim("BANK-A", "nonce-old", t0).unwrap_err(),
            "NONCE_REUSED"
        );
        // Ten minutes and a second later that nonce is too old to matter, but it is forgotten
        // only by claim 256, counted over every key, refused claims included.
        let old = |app: &crate::App| {
            app.store()
                .read(|tx| {
                    tx.query(
                        "SELECT count(*) FROM api_nonces WHERE seen_at < $1",
                        sscard_store::params![ts(t0 + Duration::seconds(1))],
                    )
                })
                .unwrap()[0]
                .i64(0)
                .unwrap()
        };
        let later = t0 + Duration::seconds(2 * MAX_SKEW_SECS + 1);
        for i in 2..FORGET_EVERY {
            claim("HOSP-B", &format!("nonce-{i:05}"), later).unwrap();
        }
        assert_eq!(old(&app), 1, "claims 1 to 255 do not forget");
        claim("HOSP-B", "nonce-256", later).unwrap();
        assert_eq!(old(&app), 0, "claim 256 forgets");
        // Recent nonces are kept.
        assert_eq!(
            claim("HOSP-B", "nonce-00002", later).unwrap_err(),
            "NONCE_REUSED"
        );
    }
}
