//! Staff endpoints of the card's first half of life: applications, employer rosters,
//! production batches and the bank's files, collection, loss and lifting it, the PIN at the
//! counter, and the person search. Every endpoint needs a staff session
//! (`Authorization: Bearer …` from `POST /api/v1/auth/login`); the service checks the role.
//! A `phone_agent` acts on the phone channel (12333), every other role at the counter.
//!
//! Files travel inside JSON: photos and XLSX rosters as base64 (`*_base64` fields), CSV text
//! as a string. The bank's account-opening file is served as `text/csv`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::NaiveDate;
use serde::Deserialize;
use sscard_domain::ids::{DocumentError, DocumentType};
use sscard_domain::person::Gender;
use sscard_service::ServiceError;
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::apply::{self, Application};
use sscard_service::cards::batches::{self, NewBatch};
use sscard_service::cards::collect::{self, Collection, Proxy};
use sscard_service::cards::loss::{self, LiftRequest, LossKind, LossRequest};
use sscard_service::cards::pin::{self, PinChange};
use sscard_service::cards::roster::{self, RosterFormat, RosterImport};
use sscard_service::persons;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::blocking;
use crate::auth::StaffCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// The service actor of a staff caller: the phone agent works on the phone channel.
fn actor(caller: &StaffCaller) -> Actor {
    let channel = if caller.session.role == "phone_agent" {
        Channel::Ivr
    } else {
        Channel::Counter
    };
    caller.session.actor(channel)
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| ApiError::bad_request(format!("{field}: not base64 ({e})")))
}

fn doc_type(raw: Option<&str>) -> Result<Option<DocumentType>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => DocumentType::parse(t).map(Some).ok_or_else(|| {
            ApiError(ServiceError::invalid(&DocumentError::UnknownType {
                found: t.to_string(),
            }))
        }),
    }
}

/// An individual application.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ApplicationRequest {
    /// Document type (default `citizen_id`).
    #[schema(example = "citizen_id")]
    pub doc_type: Option<String>,
    #[schema(example = "11010519491231002X")]
    pub doc_number: String,
    /// Required for a person not yet registered; must match otherwise.
    #[serde(default)]
    pub name: String,
    /// `male` / `female`, only for documents without it (passports).
    pub gender: Option<String>,
    /// Only for documents without it (passports).
    pub birth_date: Option<NaiveDate>,
    /// Mobile number for notices.
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
    /// Pooling region of a new person (default: the clerk's agency's region).
    pub region_code: Option<String>,
    /// The photo (JPEG or PNG, 358×441), base64; optional when one is on file.
    pub photo_base64: Option<String>,
}

/// Applies for a card (clerk, supervisor). Refusals: document codes, `PHOTO_*`,
/// `CARD_LIVE_EXISTS`, `PERSON_*`, `NAME_*`, `REGION_*`, `FORBIDDEN`.
#[utoipa::path(post, path = "/api/v1/cards/applications", tag = "cards",
    request_body = ApplicationRequest,
    responses(
        (status = 201, description = "The application (ApplicationResult)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_application(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiJson(req): ApiJson<ApplicationRequest>,
) -> Result<Response, ApiError> {
    let gender = match req.gender.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(g) => {
            Some(Gender::parse(g).ok_or_else(|| ApiError::bad_request(format!("gender: {g}")))?)
        }
    };
    let photo = req
        .photo_base64
        .as_deref()
        .map(|p| b64("photo_base64", p))
        .transpose()?;
    let a = Application {
        doc_type: doc_type(req.doc_type.as_deref())?,
        doc_number: req.doc_number,
        name: req.name,
        gender,
        birth_date: req.birth_date,
        phone: req.phone,
        address: req.address,
        region_code: req.region_code,
        photo,
    };
    let who = actor(&caller);
    let r = blocking(&s.app, move |app| apply::apply(app, &who, &a)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// A roster import.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RosterRequest {
    /// `csv` or `xlsx`.
    #[schema(example = "csv")]
    pub format: String,
    /// The file, base64 (CSV may instead be given as `file_text`).
    pub file_base64: Option<String>,
    /// A CSV file as text.
    pub file_text: Option<String>,
    /// Photos by file name (the roster's `照片文件名` column), base64.
    #[serde(default)]
    pub photos: HashMap<String, String>,
    pub region_code: Option<String>,
    /// Employer number or credit code of the employer sending the roster.
    pub employer: Option<String>,
    /// Import the valid rows even when some rows have errors.
    #[serde(default)]
    pub import_valid_rows: bool,
}

/// Imports an employer roster (clerk, supervisor). The answer is the row-level report;
/// `imported` says whether anything was written.
#[utoipa::path(post, path = "/api/v1/rosters", tag = "cards", request_body = RosterRequest,
    responses(
        (status = 200, description = "The row-level report (RosterReport)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn import_roster(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiJson(req): ApiJson<RosterRequest>,
) -> Result<Json<roster::RosterReport>, ApiError> {
    let format = match req.format.trim() {
        "csv" => RosterFormat::Csv,
        "xlsx" => RosterFormat::Xlsx,
        other => {
            return Err(ApiError::bad_request(format!(
                "format: {other} (csv or xlsx)"
            )));
        }
    };
    let file = match (&req.file_base64, &req.file_text) {
        (Some(b), _) => b64("file_base64", b)?,
        (None, Some(t)) => t.clone().into_bytes(),
        (None, None) => {
            return Err(ApiError::bad_request(
                "file_base64 or file_text is required",
            ));
        }
    };
    let mut photos = HashMap::new();
    for (name, data) in &req.photos {
        photos.insert(name.clone(), b64("photos", data)?);
    }
    let r = RosterImport {
        format,
        file,
        photos,
        region_code: req.region_code,
        employer: req.employer,
        import_valid_rows: req.import_valid_rows,
    };
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| roster::import(app, &who, &r)).await?,
    ))
}

/// A new production batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BatchRequest {
    #[schema(example = "511000")]
    pub region_code: String,
    /// Chosen cards (`card_ref`s); all applied cards of the region when absent.
    pub card_refs: Option<Vec<i64>>,
    /// Bank code (default: the first bank).
    pub bank_code: Option<String>,
}

/// Creates a production batch (clerk, supervisor): the cards go `in_production`.
#[utoipa::path(post, path = "/api/v1/batches", tag = "production", request_body = BatchRequest,
    responses(
        (status = 201, description = "The batch (BatchView)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_batch(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiJson(req): ApiJson<BatchRequest>,
) -> Result<Response, ApiError> {
    let b = NewBatch {
        region_code: req.region_code,
        card_refs: req.card_refs,
        bank_code: req.bank_code,
    };
    let who = actor(&caller);
    let v = blocking(&s.app, move |app| batches::create(app, &who, &b)).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// A production batch (any staff role).
#[utoipa::path(get, path = "/api/v1/batches/{batch_no}", tag = "production",
    params(("batch_no" = String, Path, description = "Batch number")),
    responses(
        (status = 200, description = "The batch (BatchView)", body = Object),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_batch(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(batch_no): ApiPath<String>,
) -> Result<Json<batches::BatchView>, ApiError> {
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| batches::get(app, &who, &batch_no)).await?,
    ))
}

/// The bank's account-opening file of a batch, CSV (clerk, supervisor). It holds the full
/// document numbers: it is for the bank only.
#[utoipa::path(get, path = "/api/v1/batches/{batch_no}/bank-file", tag = "production",
    params(("batch_no" = String, Path, description = "Batch number")),
    responses(
        (status = 200, description = "CSV: batch_no,seq,name,doc_type,doc_number,gender,birth_date,phone",
         content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn bank_file(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(batch_no): ApiPath<String>,
) -> Result<Response, ApiError> {
    let who = actor(&caller);
    let f = blocking(&s.app, move |app| batches::bank_file(app, &who, &batch_no)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", f.file_name),
            ),
        ],
        f.content,
    )
        .into_response())
}

/// The bank's return file.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BankReturnRequest {
    /// CSV text with the header `doc_number,bank_account`.
    pub content: String,
}

/// Imports the bank's return file of a batch (clerk, supervisor): card numbers and identifiers
/// are assigned and the cards await collection. Row errors are in the report.
#[utoipa::path(post, path = "/api/v1/batches/{batch_no}/bank-return", tag = "production",
    params(("batch_no" = String, Path, description = "Batch number")),
    request_body = BankReturnRequest,
    responses(
        (status = 200, description = "The report (ReturnReport)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn bank_return(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(batch_no): ApiPath<String>,
    ApiJson(req): ApiJson<BankReturnRequest>,
) -> Result<Json<batches::ReturnReport>, ApiError> {
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| {
            batches::bank_return(app, &who, &batch_no, req.content.as_bytes())
        })
        .await?,
    ))
}

/// A proxy collecting a card.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ProxyDto {
    pub name: String,
    /// Default `citizen_id`.
    pub doc_type: Option<String>,
    pub doc_number: String,
    /// Reference of the written authorisation.
    pub authorisation_ref: String,
}

/// A collection at the counter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CollectRequest {
    /// The holder's document number as presented.
    pub presented_doc_number: String,
    pub proxy: Option<ProxyDto>,
}

/// Hands a card over and activates its social-security function (clerk, supervisor).
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/collect", tag = "cards",
    params(("card_no" = String, Path, description = "Card number")),
    request_body = CollectRequest,
    responses(
        (status = 200, description = "The card, now active (CardView)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn collect_card(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<CollectRequest>,
) -> Result<Json<sscard_service::cards::CardView>, ApiError> {
    let proxy = match req.proxy {
        None => None,
        Some(p) => Some(Proxy {
            name: p.name,
            doc_type: doc_type(p.doc_type.as_deref())?,
            doc_number: p.doc_number,
            authorisation_ref: p.authorisation_ref,
        }),
    };
    let c = Collection {
        presented_doc_number: req.presented_doc_number,
        proxy,
    };
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| collect::collect(app, &who, &card_no, &c)).await?,
    ))
}

/// A loss report by staff.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LossRequestDto {
    /// `temporary` or `written` (written: counter only).
    #[schema(example = "temporary")]
    pub kind: String,
    /// The holder's document number (ID check).
    pub presented_doc_number: Option<String>,
}

/// Reports a card lost (clerk, supervisor; the phone agent: temporary only).
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/loss", tag = "cards",
    params(("card_no" = String, Path, description = "Card number")),
    request_body = LossRequestDto,
    responses(
        (status = 200, description = "The report (LossResult)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn report_loss(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<LossRequestDto>,
) -> Result<Json<loss::LossResult>, ApiError> {
    let kind = match req.kind.trim() {
        "temporary" => LossKind::Temporary,
        "written" => LossKind::Written,
        other => {
            return Err(ApiError::bad_request(format!(
                "kind: {other} (temporary or written)"
            )));
        }
    };
    let r = LossRequest {
        kind,
        pin: None,
        presented_doc_number: req.presented_doc_number,
    };
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| loss::report(app, &who, &card_no, &r)).await?,
    ))
}

/// Lifting a loss report.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LiftRequestDto {
    pub presented_doc_number: String,
    /// The number read from the card the holder brings.
    pub presented_card_no: String,
}

/// Lifts a loss report (clerk, supervisor; ID and card).
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/loss/lift", tag = "cards",
    params(("card_no" = String, Path, description = "Card number")),
    request_body = LiftRequestDto,
    responses(
        (status = 200, description = "The card (CardView)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn lift_loss(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<LiftRequestDto>,
) -> Result<Json<sscard_service::cards::CardView>, ApiError> {
    let r = LiftRequest {
        presented_doc_number: req.presented_doc_number,
        presented_card_no: req.presented_card_no,
    };
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| loss::lift(app, &who, &card_no, &r)).await?,
    ))
}

/// A PIN typed on the counter's PIN pad.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PinVerifyRequest {
    pub pin: String,
}

/// Checks the card's PIN (counts wrong tries on the shared counter).
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/pin/verify", tag = "pin",
    params(("card_no" = String, Path, description = "Card number")),
    request_body = PinVerifyRequest,
    responses(
        (status = 200, description = "Correct (PinOk)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 423, body = ErrorBody)))]
pub async fn pin_verify(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<PinVerifyRequest>,
) -> Result<Json<pin::PinOk>, ApiError> {
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| {
            pin::verify(app, &who, &card_no, &req.pin)
        })
        .await?,
    ))
}

/// A PIN change.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PinChangeRequest {
    pub old_pin: String,
    pub new_pin: String,
    /// The holder's document number (phone channel, initial PIN).
    pub holder_doc_number: Option<String>,
}

/// Changes the card's PIN; changing away from the initial PIN enables it.
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/pin/change", tag = "pin",
    params(("card_no" = String, Path, description = "Card number")),
    request_body = PinChangeRequest,
    responses(
        (status = 200, description = "Changed (PinOk)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 423, body = ErrorBody)))]
pub async fn pin_change(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<PinChangeRequest>,
) -> Result<Json<pin::PinOk>, ApiError> {
    let c = PinChange {
        old_pin: req.old_pin,
        new_pin: req.new_pin,
        holder_doc_number: req.holder_doc_number,
    };
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| pin::change(app, &who, &card_no, &c)).await?,
    ))
}

/// A PIN reset at the counter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PinResetRequest {
    pub presented_doc_number: String,
    /// The holder's new PIN; the region's initial PIN when absent.
    pub new_pin: Option<String>,
}

/// Resets the PIN after the ID check (clerk, supervisor).
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/pin/reset", tag = "pin",
    params(("card_no" = String, Path, description = "Card number")),
    request_body = PinResetRequest,
    responses(
        (status = 200, description = "Reset (PinOk)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pin_reset(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<PinResetRequest>,
) -> Result<Json<pin::PinOk>, ApiError> {
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| {
            pin::reset(
                app,
                &who,
                &card_no,
                &req.presented_doc_number,
                req.new_pin.as_deref(),
            )
        })
        .await?,
    ))
}

/// An unlock at the counter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PinUnlockRequest {
    pub presented_doc_number: String,
}

/// Unlocks a locked PIN after the ID check (clerk, supervisor).
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/pin/unlock", tag = "pin",
    params(("card_no" = String, Path, description = "Card number")),
    request_body = PinUnlockRequest,
    responses(
        (status = 204, description = "Unlocked"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pin_unlock(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<PinUnlockRequest>,
) -> Result<StatusCode, ApiError> {
    let who = actor(&caller);
    blocking(&s.app, move |app| {
        pin::unlock(app, &who, &card_no, &req.presented_doc_number)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Search terms.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonQuery {
    /// A full document number, a card number or the beginning of a name.
    pub q: String,
}

/// Searches persons (any staff role). Document numbers in the results are masked.
#[utoipa::path(get, path = "/api/v1/persons", tag = "persons", params(PersonQuery),
    responses(
        (status = 200, description = "Matches (PersonSummary list)", body = [Object]),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn search_persons(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiQuery(q): ApiQuery<PersonQuery>,
) -> Result<Json<Vec<persons::PersonSummary>>, ApiError> {
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| persons::search(app, &who, &q.q)).await?,
    ))
}

/// A person with every card and its timeline (any staff role).
#[utoipa::path(get, path = "/api/v1/persons/{doc_type}/{number}", tag = "persons",
    params(
        ("doc_type" = String, Path, description = "Document type", example = "citizen_id"),
        ("number" = String, Path, description = "Document number")),
    responses(
        (status = 200, description = "The person (PersonDetail)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn person_detail(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath((dt, number)): ApiPath<(String, String)>,
) -> Result<Json<persons::PersonDetail>, ApiError> {
    let t = doc_type(Some(&dt))?.unwrap_or(DocumentType::CitizenId);
    let who = actor(&caller);
    Ok(Json(
        blocking(&s.app, move |app| persons::detail(app, &who, t, &number)).await?,
    ))
}
