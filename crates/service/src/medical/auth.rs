//! Who is calling: the signed request of a designated institution.
//!
//! The scheme is the one of [`crate::signing`] (headers `X-Key-Id`, `X-Timestamp`, `X-Nonce`,
//! `X-Signature`; HMAC-SHA256 over `METHOD\nPATH\nTIMESTAMP\nNONCE\nSHA256(body)`), with two
//! differences: while a key is being rotated the previous secret is accepted until its
//! `prev_valid_until`, and the nonce is consumed by the call's own durable commit
//! ([`consume_nonce`]) rather than by a separate one.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sscard_store::Tx;
use sscard_store::repo::medical::{self as repo, InstitutionAuth};
use sscard_store::repo::ts;

use crate::App;
use crate::audit::{Actor, Channel};
use crate::error::{ErrorKind, ServiceError};
use crate::signing::{MAX_SKEW_SECS, SignedRequest, signature_invalid, string_to_sign};

/// An authenticated institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: i64,
    pub region_code: String,
    /// The key id the call was signed with, and its nonce (consumed with the call).
    pub key_id: String,
    pub nonce: String,
}

impl Institution {
    /// The actor of this institution's operator, for records of card changes (a PIN lock).
    pub fn actor(&self, operator: &str) -> Actor {
        Actor {
            username: format!("{}/{}", self.code, operator),
            role: crate::access::INSTITUTION.into(),
            agency: self.code.clone(),
            channel: Channel::Hospital,
        }
    }
}

fn matches(secret: &str, text: &[u8], given: &[u8]) -> bool {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    m.update(text);
    m.verify_slice(given).is_ok()
}

fn secret_ok(inst: &InstitutionAuth, text: &[u8], given: &[u8], now: DateTime<Utc>) -> bool {
    if matches(&inst.secret, text, given) {
        return true;
    }
    match (&inst.prev_secret, &inst.prev_valid_until) {
        (Some(prev), Some(until)) if ts(now).as_str() < until.as_str() => {
            matches(prev, text, given)
        }
        _ => false,
    }
}

/// Checks a request's signature and timestamp. The nonce is checked and consumed later, in
/// the call's own transaction ([`consume_nonce`]).
///
/// Errors: `SIGNATURE_INVALID`, `TIMESTAMP_STALE`, `INSTITUTION_INACTIVE`.
pub fn authenticate(app: &App, req: &SignedRequest<'_>) -> Result<Institution, ServiceError> {
    let nonce_ok = (8..=64).contains(&req.nonce.len())
        && req
            .nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if req.key_id.is_empty() || req.signature.is_empty() || !nonce_ok {
        return Err(signature_invalid());
    }
    let Ok(given) = hex::decode(req.signature.trim()) else {
        return Err(signature_invalid());
    };
    let now = app.now();
    let text = string_to_sign(req.method, req.path, req.timestamp, req.nonce, req.body);
    let cache = app.medical_cache();
    let inst = match cache.institution(req.key_id) {
        Some(i) if secret_ok(&i, text.as_bytes(), &given, now) => i,
        _ => {
            // Not cached, or the cached keys do not match: the key may have just been
            // rotated. Read it again.
            cache.forget_institution(req.key_id);
            let Some(i) = app
                .store()
                .read(|tx| repo::institution_by_key(tx, req.key_id))?
            else {
                return Err(signature_invalid());
            };
            cache.put_institution(req.key_id, &i);
            if !secret_ok(&i, text.as_bytes(), &given, now) {
                return Err(signature_invalid());
            }
            i
        }
    };
    let fresh = req
        .timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (now.timestamp() - t).abs() <= MAX_SKEW_SECS);
    if !fresh {
        return Err(ServiceError::new(
            ErrorKind::Unauthorized,
            "TIMESTAMP_STALE",
            format!("请求时间戳与服务器时间相差超过 {MAX_SKEW_SECS} 秒"),
            format!(
                "The request timestamp is more than {MAX_SKEW_SECS} seconds from the server's clock"
            ),
        ));
    }
    if !inst.active {
        return Err(ServiceError::new(
            ErrorKind::Forbidden,
            "INSTITUTION_INACTIVE",
            "该定点医药机构已暂停服务",
            "This designated institution is suspended",
        ));
    }
    Ok(Institution {
        id: inst.id,
        code: inst.code,
        name: inst.name,
        kind: inst.kind,
        level: inst.level,
        region_code: inst.region_code,
        key_id: req.key_id.to_string(),
        nonce: req.nonce.to_string(),
    })
}

/// Records the call's nonce inside its transaction (and, every so often, forgets the key's
/// nonces too old to matter). Errors: `NONCE_REUSED`.
pub(crate) fn consume_nonce(
    app: &App,
    tx: &mut dyn Tx,
    inst: &Institution,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let calls = app
        .medical_cache()
        .calls
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if calls.is_multiple_of(256) {
        let forget_before = ts(now - Duration::seconds(2 * MAX_SKEW_SECS));
        repo::forget_nonces(tx, &inst.key_id, &forget_before)?;
    }
    if repo::insert_nonce(tx, &inst.key_id, &inst.nonce, &ts(now))? {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorKind::Unauthorized,
            "NONCE_REUSED",
            "请求随机数已使用过(疑似重放)",
            "The nonce was already used (replayed request?)",
        ))
    }
}
