//! The JSON API under `/api/v1/`: public reference data and identifier validation.
//!
//! Every handler is annotated with `#[utoipa::path]` and registered through
//! [`crate::api_router`], so the OpenAPI document and the routes come from one place.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sscard_domain::Coded;
use sscard_domain::divisions;
use sscard_domain::ids::{CreditCode, Document, DocumentError, DocumentType, RegionCode};
use sscard_service::{App, ServiceError, reference};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// Runs a blocking service call on the blocking thread pool, never on an async worker.
pub async fn blocking<T, F>(app: &App, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&App) -> Result<T, ServiceError> + Send + 'static,
{
    let app = app.clone();
    match tokio::task::spawn_blocking(move || f(&app)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => {
            tracing::error!(error = %e, "blocking service call failed");
            Err(ApiError::internal())
        }
    }
}

/// The document's metadata (paths are added by the router).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "社会保障卡服务平台 API / Social Security Card Service API",
        description = "Public reference data and identifier validation. Errors are \
                       `{\"code\", \"message\" (zh-CN), \"message_en\"}` with the HTTP status \
                       of their kind.",
    ),
    tags(
        (name = "reference", description = "Pooling regions, agencies, administrative divisions"),
        (name = "validation", description = "Identity document and credit code checks"),
        (name = "meta", description = "This document"),
        (name = "auth", description = "Staff login, sessions and password changes"),
    )
)]
pub struct ApiDoc;

/// A pooling region with its policy in force today.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionDto {
    /// GB/T 2260 code, e.g. `511000`.
    #[schema(example = "511000")]
    pub code: String,
    /// Display name, e.g. `内江市`.
    pub name: String,
    /// Name from the province down, e.g. `四川省内江市`.
    pub full_name: String,
    /// The region's policy (PIN defaults, lock thresholds, fees, hotlines…).
    #[schema(value_type = Object)]
    pub policy: serde_json::Value,
}

impl RegionDto {
    fn from_view(v: reference::RegionView) -> RegionDto {
        RegionDto {
            code: v.code,
            name: v.name,
            full_name: v.full_name,
            policy: serde_json::to_value(&v.policy).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// An agency of the directory.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgencyDto {
    #[schema(example = "NJ-CARD")]
    pub code: String,
    /// Division code of the area it serves.
    pub region_code: String,
    /// Name of that division, when known.
    pub region_name: Option<String>,
    pub name: String,
    /// `card_centre`, `service_centre` or `bureau`.
    pub kind: String,
    pub phone: String,
    pub address: String,
}

/// Filter of the agency directory.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgencyQuery {
    /// A division code; a city code includes its districts. All agencies when absent.
    #[param(example = "511000")]
    pub region: Option<String>,
}

/// A child division.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DivisionChild {
    pub code: String,
    pub name: String,
}

/// A GB/T 2260 administrative division.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DivisionDto {
    #[schema(example = "511011")]
    pub code: String,
    /// Own name, e.g. `东兴区`.
    pub name: String,
    /// From the province down, e.g. `四川省内江市东兴区`.
    pub full_name: String,
    /// Direct children (prefectures of a province, counties of a prefecture).
    pub children: Vec<DivisionChild>,
}

/// A document number to check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateDocumentRequest {
    /// `citizen_id`, `hk_residence_permit`, `macau_residence_permit`,
    /// `taiwan_residence_permit`, `foreign_permanent_residence` or `passport`.
    #[schema(example = "citizen_id")]
    pub doc_type: String,
    /// The number (passports: `COUNTRY:NUMBER`, e.g. `CHN:E12345678`).
    #[schema(example = "11010519491231002X")]
    pub number: String,
}

/// A remark that does not make the number invalid.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WarningDto {
    #[schema(example = "ID_DIVISION_UNKNOWN")]
    pub code: String,
    pub message: String,
    pub message_en: String,
}

/// A valid document number.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentValidation {
    pub valid: bool,
    pub doc_type: String,
    /// Chinese name of the document type.
    pub doc_type_label: String,
    /// Normalised number (upper case; 15-digit citizen IDs upgraded to 18).
    pub number: String,
    /// When the number encodes it.
    pub birth_date: Option<NaiveDate>,
    /// `male` / `female`, when the number encodes it.
    pub gender: Option<String>,
    pub warnings: Vec<WarningDto>,
}

/// A unified social credit code to check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateCreditCodeRequest {
    #[schema(example = "91350100M000100Y43")]
    pub code: String,
}

/// A valid unified social credit code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditCodeValidation {
    pub valid: bool,
    /// Normalised (upper case).
    pub code: String,
    pub checksum_ok: bool,
    /// Position 1.
    pub registration_authority: String,
    /// Position 2.
    pub org_type: String,
    /// Positions 3-8.
    pub division_code: String,
    /// Name of that division, when known.
    pub division_name: Option<String>,
    /// Positions 9-17.
    pub org_code: String,
}

fn region_code(raw: &str) -> Result<RegionCode, ApiError> {
    RegionCode::parse(raw).map_err(|e| ApiError(ServiceError::invalid(&e)))
}

/// Pooling regions served, with the policy in force today.
#[utoipa::path(
    get,
    path = "/api/v1/regions",
    tag = "reference",
    responses(
        (status = 200, description = "The pooling regions", body = [RegionDto]),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn list_regions(State(s): State<AppState>) -> Result<Json<Vec<RegionDto>>, ApiError> {
    let views = blocking(&s.app, reference::list_regions).await?;
    Ok(Json(views.into_iter().map(RegionDto::from_view).collect()))
}

/// One pooling region with its policy in force today.
#[utoipa::path(
    get,
    path = "/api/v1/regions/{code}",
    tag = "reference",
    params(("code" = String, Path, description = "GB/T 2260 code of the pooling region", example = "511000")),
    responses(
        (status = 200, description = "The region", body = RegionDto),
        (status = 400, description = "Not a valid division code (REGION_CODE_*)", body = ErrorBody),
        (status = 404, description = "Not a region served here (REGION_NOT_SERVED)", body = ErrorBody),
    )
)]
pub async fn get_region(
    State(s): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<RegionDto>, ApiError> {
    let code = region_code(&code)?;
    let view = blocking(&s.app, move |app| {
        let policy = reference::policy(app, &code, app.today())?;
        let found = reference::list_regions(app)?
            .into_iter()
            .find(|r| r.code == code.as_str());
        Ok(found.unwrap_or_else(|| reference::RegionView {
            code: code.as_str().to_string(),
            name: code.name().to_string(),
            full_name: code.full_name(),
            policy,
        }))
    })
    .await?;
    Ok(Json(RegionDto::from_view(view)))
}

/// The agency directory (card centres, service centres, bureaus).
#[utoipa::path(
    get,
    path = "/api/v1/agencies",
    tag = "reference",
    params(AgencyQuery),
    responses(
        (status = 200, description = "Agencies", body = [AgencyDto]),
        (status = 400, description = "Bad region code", body = ErrorBody),
    )
)]
pub async fn list_agencies(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AgencyQuery>,
) -> Result<Json<Vec<AgencyDto>>, ApiError> {
    let region = match q.region.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(region_code(raw)?),
    };
    let rows = blocking(&s.app, move |app| reference::agencies(app, region.as_ref())).await?;
    Ok(Json(
        rows.into_iter()
            .map(|a| AgencyDto {
                region_name: divisions::name(&a.region_code).map(str::to_string),
                code: a.code,
                region_code: a.region_code,
                name: a.name,
                kind: a.kind,
                phone: a.phone,
                address: a.address,
            })
            .collect(),
    ))
}

/// Name and full name of a GB/T 2260 division code.
#[utoipa::path(
    get,
    path = "/api/v1/divisions/{code}",
    tag = "reference",
    params(("code" = String, Path, description = "6-digit division code", example = "511011")),
    responses(
        (status = 200, description = "The division", body = DivisionDto),
        (status = 400, description = "Not 6 digits (REGION_CODE_*)", body = ErrorBody),
        (status = 404, description = "Unknown code (REGION_CODE_UNKNOWN)", body = ErrorBody),
    )
)]
pub async fn get_division(ApiPath(code): ApiPath<String>) -> Result<Json<DivisionDto>, ApiError> {
    let code = RegionCode::parse(&code).map_err(|e| {
        let mut err = ServiceError::invalid(&e);
        if matches!(e, sscard_domain::ids::RegionCodeError::Unknown { .. }) {
            err.kind = sscard_service::ErrorKind::NotFound;
        }
        ApiError(err)
    })?;
    Ok(Json(DivisionDto {
        code: code.as_str().to_string(),
        name: code.name().to_string(),
        full_name: code.full_name(),
        children: divisions::children(code.as_str())
            .into_iter()
            .map(|(c, n)| DivisionChild {
                code: c.to_string(),
                name: n.to_string(),
            })
            .collect(),
    }))
}

/// Checks an identity document number (no database access).
#[utoipa::path(
    post,
    path = "/api/v1/documents/validate",
    tag = "validation",
    request_body = ValidateDocumentRequest,
    responses(
        (status = 200, description = "The number is valid", body = DocumentValidation),
        (status = 400, description = "Invalid number (DOC_*, ID_*) or bad body (BAD_REQUEST)", body = ErrorBody),
    )
)]
pub async fn validate_document(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<ValidateDocumentRequest>,
) -> Result<Json<DocumentValidation>, ApiError> {
    let doc_type = DocumentType::parse(req.doc_type.trim()).ok_or_else(|| {
        ApiError(ServiceError::invalid(&DocumentError::UnknownType {
            found: req.doc_type.clone(),
        }))
    })?;
    let doc = Document::parse(doc_type, &req.number, s.app.today())
        .map_err(|e| ApiError(ServiceError::invalid(&e)))?;
    let warnings = doc
        .id_number()
        .map(|id| id.warnings())
        .unwrap_or_default()
        .iter()
        .map(|w| WarningDto {
            code: w.code().to_string(),
            message: w.message_zh(),
            message_en: w.message_en(),
        })
        .collect();
    Ok(Json(DocumentValidation {
        valid: true,
        doc_type: doc.doc_type().as_str().to_string(),
        doc_type_label: doc.doc_type().label_zh().to_string(),
        number: doc.number().to_string(),
        birth_date: doc.birth_date(),
        gender: doc.gender().map(|g| g.as_str().to_string()),
        warnings,
    }))
}

/// Checks a unified social credit code (GB 32100-2015; no database access).
#[utoipa::path(
    post,
    path = "/api/v1/credit-codes/validate",
    tag = "validation",
    request_body = ValidateCreditCodeRequest,
    responses(
        (status = 200, description = "The code is valid", body = CreditCodeValidation),
        (status = 400, description = "Invalid code (CREDIT_CODE_*) or bad body (BAD_REQUEST)", body = ErrorBody),
    )
)]
pub async fn validate_credit_code(
    ApiJson(req): ApiJson<ValidateCreditCodeRequest>,
) -> Result<Json<CreditCodeValidation>, ApiError> {
    let code = CreditCode::parse(&req.code).map_err(|e| ApiError(ServiceError::invalid(&e)))?;
    Ok(Json(CreditCodeValidation {
        valid: true,
        code: code.as_str().to_string(),
        checksum_ok: code.checksum_ok(),
        registration_authority: code.registration_authority().to_string(),
        org_type: code.org_type().to_string(),
        division_code: code.division_code().to_string(),
        division_name: divisions::full_name(code.division_code()),
        org_code: code.org_code().to_string(),
    }))
}

/// This OpenAPI 3 document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.openapi.as_str().to_string(),
    )
}
