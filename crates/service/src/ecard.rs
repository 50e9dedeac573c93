//! The electronic social security card (电子社保卡): a dynamic QR code for paying at
//! designated hospitals and pharmacies.
//!
//! A logged-in cardholder asks for a code ([`issue_qr`]); it holds a signed token naming their
//! card, valid for [`TOKEN_TTL_SECS`] seconds and good for one settlement. The token is
//!
//! ```text
//! SSC1.<base64url(payload JSON)>.<base64url(Ed25519 signature of the payload bytes)>
//! ```
//!
//! with payload `{"v":1,"card":<card db id>,"no":"<card number>","iat":<unix>,"exp":<unix>,
//! "jti":"<random id>"}`, signed with the server's key (`sscard-ecard.key`, see
//! [`crate::AppConfig::ecard_key_file`]). A hospital presents the token to the person query
//! (1101) and to settlement (2207) as `mdtrt_cert_type = "01"`; 1101 only reads it, 2207
//! consumes it. It stops working at expiry, after its one settlement, and the moment the card
//! is no longer usable (reported lost, cancelled…): [`check_token`] reads the card's status on
//! every use.
//!
//! Errors: `ECARD_INVALID` (malformed or wrong signature), `ECARD_EXPIRED`, `ECARD_USED`, and
//! the card's own refusals (`CARD_LOST`, `CARD_CANCELLED`…) from the medical API.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signature, Signer, Verifier};
use serde::{Deserialize, Serialize};
use sscard_domain::card::CardStatus;
use sscard_store::Tx;
use sscard_store::repo::{cards as card_repo, medical as repo, ts};

use crate::App;
use crate::audit::Actor;
use crate::error::{ErrorKind, ServiceError};
use crate::selfservice::actor_person_id;

/// How long a QR code is valid.
pub const TOKEN_TTL_SECS: i64 = 60;

const PREFIX: &str = "SSC1.";

/// A QR code for the cardholder to show.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EcardQr {
    /// The token the QR code holds.
    pub token: String,
    /// The QR code as an SVG document.
    pub svg: String,
    /// When it stops working (RFC 3339, UTC).
    pub expires_at: String,
    pub ttl_secs: i64,
    /// The card it names, masked.
    pub card_no_masked: String,
}

/// What a valid token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub v: u32,
    /// The card's database id.
    pub card: i64,
    /// The card number.
    pub no: String,
    pub iat: i64,
    pub exp: i64,
    /// The token's own id (single use).
    pub jti: String,
}

fn invalid() -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "ECARD_INVALID",
        "电子社保卡二维码无效",
        "The electronic card QR code is invalid",
    )
}

fn expired() -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "ECARD_EXPIRED",
        "电子社保卡二维码已过期,请刷新后重新出示",
        "The electronic card QR code has expired; refresh it and show it again",
    )
}

fn used() -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "ECARD_USED",
        "该电子社保卡二维码已使用,请刷新后重新出示",
        "This electronic card QR code was already used; refresh it and show it again",
    )
}

fn unusable(status: CardStatus) -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "ECARD_CARD_UNUSABLE",
        format!("社保卡当前状态为“{}”,不能使用电子社保卡", status.label_zh()),
        format!(
            "The card is {}; the electronic card cannot be used",
            status.label_en()
        ),
    )
}

/// Signs claims into a token.
fn sign(app: &App, claims: &Claims) -> String {
    let payload = serde_json::to_vec(claims).expect("claims serialise");
    let sig = app.ecard_key().sign(&payload);
    format!(
        "{PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    )
}

/// Checks a token's form, signature and expiry (not the card, not single use).
pub fn parse_token(app: &App, token: &str, now: DateTime<Utc>) -> Result<Claims, ServiceError> {
    let rest = token.trim().strip_prefix(PREFIX).ok_or_else(invalid)?;
    let (payload_b64, sig_b64) = rest.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| invalid())?;
    let sig_bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .map_err(|_| invalid())?
        .try_into()
        .map_err(|_| invalid())?;
    app.ecard_key()
        .verifying_key()
        .verify(&payload, &Signature::from_bytes(&sig_bytes))
        .map_err(|_| invalid())?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if claims.v != 1 {
        return Err(invalid());
    }
    if now.timestamp() >= claims.exp {
        return Err(expired());
    }
    Ok(claims)
}

/// Checks a token inside a transaction: valid, unexpired, naming a card that exists; when
/// `consume`, marks it used (refusing a second use). Returns the claims and the card, whose
/// status the caller checks like a physical card's.
pub(crate) fn check_token(
    app: &App,
    tx: &mut dyn Tx,
    token: &str,
    now: DateTime<Utc>,
    consume: bool,
) -> Result<(Claims, card_repo::CardRow), ServiceError> {
    let claims = parse_token(app, token, now)?;
    let card = card_repo::card_for_update(tx, claims.card)?.ok_or_else(invalid)?;
    if card.card_no.as_deref() != Some(claims.no.as_str()) {
        return Err(invalid());
    }
    if consume {
        let exp = DateTime::<Utc>::from_timestamp(claims.exp, 0).unwrap_or(now);
        if !repo::use_ecard_token(tx, &claims.jti, card.id, &ts(now), &ts(exp))? {
            return Err(used());
        }
    }
    Ok((claims, card))
}

/// Issues a QR code for the cardholder's usable card. Only the cardholder themself (a
/// `person:<id>` cardholder actor, see [`crate::selfservice`]) may ask.
///
/// Errors: `FORBIDDEN`, `RECORD_NOT_YOURS`, `NO_USABLE_CARD`, `ECARD_CARD_UNUSABLE`.
pub fn issue_qr(app: &App, actor: &Actor, person_id: i64) -> Result<EcardQr, ServiceError> {
    match actor_person_id(actor) {
        Some(p) if p == person_id => {}
        Some(_) => return Err(crate::selfservice::not_yours()),
        None => {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                "FORBIDDEN",
                "只有持卡人本人可以出示电子社保卡",
                "Only the cardholder may show the electronic card",
            ));
        }
    }
    let now = app.now();
    let card = app
        .store()
        .read(|tx| card_repo::live_card_of(tx, person_id))?
        .ok_or_else(|| {
            ServiceError::new(
                ErrorKind::NotFound,
                "NO_USABLE_CARD",
                "您没有可用的社保卡,无法使用电子社保卡",
                "You have no usable card, so the electronic card is not available",
            )
        })?;
    if card.status != CardStatus::Active {
        return Err(unusable(card.status));
    }
    let card_no = card.card_no.clone().unwrap_or_default();
    let mut jti = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut jti);
    let claims = Claims {
        v: 1,
        card: card.id,
        no: card_no.clone(),
        iat: now.timestamp(),
        exp: now.timestamp() + TOKEN_TTL_SECS,
        jti: hex::encode(jti),
    };
    let token = sign(app, &claims);
    let svg = qrcode::QrCode::with_error_correction_level(token.as_bytes(), qrcode::EcLevel::M)
        .map_err(ServiceError::internal)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(EcardQr {
        token,
        svg,
        expires_at: ts(now + Duration::seconds(TOKEN_TTL_SECS)),
        ttl_secs: TOKEN_TTL_SECS,
        card_no_masked: sscard_domain::mask::mask_id(&card_no),
    })
}

/// Forgets used-token records that can no longer matter (their tokens have expired).
pub fn purge_used(app: &App) -> Result<u64, ServiceError> {
    let now = app.now();
    Ok(app
        .store()
        .write(|tx| repo::purge_ecard_tokens(tx, &ts(now - Duration::seconds(60))))?)
}
