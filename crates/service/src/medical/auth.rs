//! Who is calling: the signed request of a designated institution.
//!
//! The scheme is the one of [`crate::signing`] (headers `X-Key-Id`, `X-Timestamp`, `X-Nonce`,
//! `X-Signature`; HMAC-SHA256 over `METHOD\nPATH\nTIMESTAMP\nNONCE\nSHA256(body)`), with two
//! differences: while a key is being rotated the previous secret is accepted until its
//! `prev_valid_until`, and the nonce is consumed by the call's own durable commit
//! ([`consume_nonce`]) rather than by a separate one.

use chrono::{DateTime, Utc};
use sscard_store::Tx;
use sscard_store::repo::medical::{self as repo, InstitutionAuth};
use sscard_store::repo::ts;

use crate::App;
use crate::audit::{Actor, Channel};
use crate::error::{ErrorKind, ServiceError};
use crate::signing::{SignedRequest, check_form, check_fresh, signature_invalid, signed_by};

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

/// The previous secret while its grace period runs.
fn previous(inst: &InstitutionAuth, now: DateTime<Utc>) -> Option<&str> {
    match (&inst.prev_secret, &inst.prev_valid_until) {
        (Some(prev), Some(until)) if ts(now).as_str() < until.as_str() => Some(prev),
        _ => None,
    }
}

fn secret_ok(inst: &InstitutionAuth, req: &SignedRequest<'_>, now: DateTime<Utc>) -> bool {
    signed_by(req, &inst.secret, previous(inst, now))
}

/// Checks a request's signature and timestamp. The nonce is checked and consumed later, in
/// the call's own transaction ([`consume_nonce`]).
///
/// Errors: `SIGNATURE_INVALID`, `TIMESTAMP_STALE`, `INSTITUTION_INACTIVE`.
pub fn authenticate(app: &App, req: &SignedRequest<'_>) -> Result<Institution, ServiceError> {
    if let Some(answer) = authenticate_cached(app, req) {
        return answer;
    }
    let now = app.now();
    let cache = app.medical_cache();
    // Not cached, or the cached keys do not match: the key may have just been rotated. Read
    // it again.
    cache.forget_institution(req.key_id);
    let Some(inst) = app
        .store()
        .read(|tx| repo::institution_by_key(tx, req.key_id))?
    else {
        return Err(signature_invalid());
    };
    cache.put_institution(req.key_id, &inst);
    if !secret_ok(&inst, req, now) {
        return Err(signature_invalid());
    }
    admit(inst, req, now)
}

/// [`authenticate`] from the institution cache alone, without touching the database: `None`
/// when the key is not cached or its cached secrets do not match (the caller then runs
/// [`authenticate`], which reads the key again).
pub fn authenticate_cached(
    app: &App,
    req: &SignedRequest<'_>,
) -> Option<Result<Institution, ServiceError>> {
    if let Err(e) = check_form(req) {
        return Some(Err(e));
    }
    let now = app.now();
    let inst = app.medical_cache().institution(req.key_id)?;
    if !secret_ok(&inst, req, now) {
        return None;
    }
    Some(admit(inst, req, now))
}

/// The checks after the signature: a fresh timestamp and an active institution.
fn admit(
    inst: InstitutionAuth,
    req: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Institution, ServiceError> {
    check_fresh(req, now)?;
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
    crate::signing::claim_nonce(app, tx, &inst.key_id, &inst.nonce, now)
}
