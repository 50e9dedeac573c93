//! The signed JSON API of the cooperating banks under `/api/v1/bank/` (see docs/bank-api.md):
//! bank-side activation, bank loss and unfreeze. The HTTP layer only hands the signature
//! headers, the method, the path and the raw body to the service, which verifies them
//! (`sscard_service::signing`) before anything else.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use serde::Deserialize;
use sscard_service::bank::{self, BankCaller, BankCardView};
use sscard_service::{App, ServiceError};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::signed::Signed;

/// Authenticates a bank's signed request.
fn authenticate(signed: &Signed, app: &App) -> Result<BankCaller, ServiceError> {
    bank::authenticate(app, &signed.request())
}

/// The body of a bank loss report (optional: `{}` or empty means a provisional loss).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct BankLossDto {
    /// A formal (written) loss at the bank rather than a provisional one.
    #[serde(default)]
    pub written: bool,
}

fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e).0)
}

/// The bank activated the card's financial function (`opened` → `active`).
#[utoipa::path(post, path = "/api/v1/bank/cards/{card_no}/activate", tag = "bank",
    request_body(content = String, description = "Empty (or `{}`); it is signed all the same", content_type = "application/json"),
    params(
        ("card_no" = String, Path, description = "Card number"),
        ("X-Key-Id" = String, Header, description = "The bank's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request (8-64 of A-Z a-z 0-9 - _)"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256(body)"),
    ),
    responses(
        (status = 200, description = "BankCardView: card_no, status, bank_status", body = Object),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody),
        (status = 404, description = "CARD_NOT_FOUND (unknown or another bank's card)", body = ErrorBody),
        (status = 409, description = "BANK_STATUS", body = ErrorBody)))]
pub async fn activate(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(card_no): ApiPath<String>,
    body: Bytes,
) -> Result<Json<BankCardView>, ApiError> {
    let signed = Signed::new(&method, &uri, &headers, body);
    Ok(Json(
        blocking(&s.app, move |app| {
            let bank = authenticate(&signed, app)?;
            bank::activate(app, &bank, &card_no)
        })
        .await?,
    ))
}

/// The card was reported lost at the bank (`opened`/`active` → `lost`); the social-security
/// side is not touched.
#[utoipa::path(post, path = "/api/v1/bank/cards/{card_no}/loss", tag = "bank",
    params(
        ("card_no" = String, Path, description = "Card number"),
        ("X-Key-Id" = String, Header, description = "The bank's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    request_body = BankLossDto,
    responses(
        (status = 200, description = "BankCardView", body = Object),
        (status = 400, description = "BAD_REQUEST", body = ErrorBody),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody),
        (status = 404, description = "CARD_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "BANK_STATUS", body = ErrorBody)))]
pub async fn loss(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(card_no): ApiPath<String>,
    body: Bytes,
) -> Result<Json<BankCardView>, ApiError> {
    let signed = Signed::new(&method, &uri, &headers, body);
    Ok(Json(
        blocking(&s.app, move |app| {
            let bank = authenticate(&signed, app)?;
            let req: BankLossDto = parse_body(&signed.body)?;
            bank::report_loss(app, &bank, &card_no, req.written)
        })
        .await?,
    ))
}

/// The bank lifted its loss report (`lost` → `active`).
#[utoipa::path(post, path = "/api/v1/bank/cards/{card_no}/unfreeze", tag = "bank",
    request_body(content = String, description = "Empty (or `{}`); it is signed all the same", content_type = "application/json"),
    params(
        ("card_no" = String, Path, description = "Card number"),
        ("X-Key-Id" = String, Header, description = "The bank's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "BankCardView", body = Object),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody),
        (status = 404, description = "CARD_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "BANK_STATUS", body = ErrorBody)))]
pub async fn unfreeze(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(card_no): ApiPath<String>,
    body: Bytes,
) -> Result<Json<BankCardView>, ApiError> {
    let signed = Signed::new(&method, &uri, &headers, body);
    Ok(Json(
        blocking(&s.app, move |app| {
            let bank = authenticate(&signed, app)?;
            bank::unfreeze(app, &bank, &card_no)
        })
        .await?,
    ))
}

/// The bank's account-opening return file for a batch.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct BankReturnDto {
    /// CSV text with a header `doc_number,bank_account` (see the counter's bank-return import).
    #[serde(default)]
    pub content: String,
}

/// The bank returns the account-opening file of a production batch: accounts opened, card
/// numbers assigned, cards ready for collection. Only the bank's own batches.
#[utoipa::path(post, path = "/api/v1/bank/batches/{batch_no}/return", tag = "bank",
    params(
        ("batch_no" = String, Path, description = "Production batch number"),
        ("X-Key-Id" = String, Header, description = "The bank's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    request_body = BankReturnDto,
    responses(
        (status = 200, description = "ReturnReport: row-level report", body = Object),
        (status = 400, description = "BAD_REQUEST, RETURN_FILE_HEADER", body = ErrorBody),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody),
        (status = 404, description = "BATCH_NOT_FOUND (unknown or another bank's batch)", body = ErrorBody)))]
pub async fn batch_return(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(batch_no): ApiPath<String>,
    body: Bytes,
) -> Result<Json<sscard_service::cards::batches::ReturnReport>, ApiError> {
    let signed = Signed::new(&method, &uri, &headers, body);
    Ok(Json(
        blocking(&s.app, move |app| {
            let bank = authenticate(&signed, app)?;
            let dto: BankReturnDto = parse_body(&signed.body)?;
            sscard_service::cards::batches::bank_return(
                app,
                &bank.actor(),
                &batch_no,
                dto.content.as_bytes(),
            )
        })
        .await?,
    ))
}
