//! The JSON API of the after-issue card business at the counter: reissue with its pickup
//! certificate (JSON and PDF), temporary cards, replacement, correction, cancellation, death
//! and the heirs' payout, and fees. Every endpoint takes a staff session
//! ([`StaffCaller`]); the service checks the role and every rule.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use sscard_service::cards::approval::SupervisorApproval;
use sscard_service::cards::cancel::{self, CancelReason, CancelRequest};
use sscard_service::cards::certificates;
use sscard_service::cards::death::{self, DeathRecord, HeirRequest};
use sscard_service::cards::fees;
use sscard_service::cards::reissue::{self, ReissueRequest};
use sscard_service::cards::replace::{self, CorrectionRequest, ReplaceRequest};
use sscard_service::cards::temporary::{self, TemporaryCardRequest};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::blocking;
use crate::auth::StaffCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// A reissue application.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReissueDto {
    /// The number of the document the holder presents (ID check).
    #[schema(example = "11010519491231002X")]
    pub presented_doc_number: String,
}

/// Reissues a card lost in writing (clerk, supervisor): the old card dies for ever, a new card
/// is applied for, the fee is charged with a receipt and a pickup certificate is issued.
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/reissue", tag = "aftercare",
    params(("card_no" = String, Path, description = "The card lost in writing")),
    request_body = ReissueDto,
    responses(
        (status = 201, description = "ReissueOutcome: old_card, new_card, fee, certificate", body = Object),
        (status = 400, description = "CARD_NO_*, ID_MISMATCH", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "FORBIDDEN", body = ErrorBody),
        (status = 404, description = "CARD_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "REISSUE_NEEDS_WRITTEN_LOSS, CARD_DEAD, CARD_TEMPORARY, PERSON_DECEASED", body = ErrorBody)))]
pub async fn reissue_card(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<ReissueDto>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let out = blocking(&s.app, move |app| {
        reissue::reissue(
            app,
            &who,
            &ReissueRequest {
                card_no,
                presented_doc_number: req.presented_doc_number,
            },
        )
    })
    .await?;
    Ok(created(out))
}

/// A pickup certificate (any staff role), with whether it still counts as a medical voucher.
#[utoipa::path(get, path = "/api/v1/certificates/{cert_no}", tag = "aftercare",
    params(("cert_no" = String, Path, description = "Pickup certificate number", example = "LK511000000000125")),
    responses(
        (status = 200, description = "CertificateView", body = Object),
        (status = 400, description = "CERT_NO_INVALID", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "CERT_NOT_FOUND", body = ErrorBody)))]
pub async fn get_certificate(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(cert_no): ApiPath<String>,
) -> Result<Json<certificates::CertificateView>, ApiError> {
    let who = caller.actor();
    Ok(Json(
        blocking(&s.app, move |app| certificates::get(app, &who, &cert_no)).await?,
    ))
}

/// The pickup certificate (领卡凭证) as an A4 PDF to print (any staff role).
#[utoipa::path(get, path = "/api/v1/certificates/{cert_no}/pdf", tag = "aftercare",
    params(("cert_no" = String, Path, description = "Pickup certificate number")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, description = "CERT_NO_INVALID", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "CERT_NOT_FOUND", body = ErrorBody)))]
pub async fn certificate_pdf(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(cert_no): ApiPath<String>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let name = format!(
        "attachment; filename=\"{}.pdf\"",
        cert_no
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    );
    let bytes = blocking(&s.app, move |app| certificates::pdf(app, &who, &cert_no)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

/// An emergency temporary card request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TemporaryCardDto {
    /// The person's document number.
    pub doc_number: String,
    /// The emergency, e.g. `住院治疗`.
    pub reason: String,
    /// The proof, e.g. the hospital admission certificate number.
    pub proof_ref: String,
}

/// Issues an emergency temporary card (clerk, supervisor): active at once, no bank function,
/// valid for the region's policy days.
#[utoipa::path(post, path = "/api/v1/temporary-cards", tag = "aftercare",
    request_body = TemporaryCardDto,
    responses(
        (status = 201, description = "TemporaryCardOutcome: card, expires_on", body = Object),
        (status = 400, description = "EMERGENCY_REASON_REQUIRED, PROOF_REQUIRED", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "PERSON_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "TEMP_CARD_EXISTS, TEMP_CARD_NOT_NEEDED, PERSON_DECEASED", body = ErrorBody)))]
pub async fn issue_temporary(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiJson(req): ApiJson<TemporaryCardDto>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let out = blocking(&s.app, move |app| {
        temporary::issue(
            app,
            &who,
            &TemporaryCardRequest {
                presented_doc_number: None,
                doc_number: req.doc_number,
                reason: req.reason,
                proof_ref: req.proof_ref,
            },
        )
    })
    .await?;
    Ok(created(out))
}

/// A damaged card brought back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReplaceDto {
    pub presented_doc_number: String,
    /// The clerk finds a quality fault: free, with a supervisor's approval.
    #[serde(default)]
    pub quality_fault: bool,
    /// What is wrong with the card.
    #[serde(default)]
    pub damage: String,
    /// The approving supervisor (quality fault only).
    pub supervisor_username: Option<String>,
    pub supervisor_password: Option<String>,
}

fn approval_of(user: Option<String>, password: Option<String>) -> Option<SupervisorApproval> {
    match (user, password) {
        (None, None) => None,
        (u, p) => Some(SupervisorApproval {
            username: u.unwrap_or_default(),
            password: p.unwrap_or_default(),
        }),
    }
}

/// Replaces a damaged card (clerk, supervisor): free for a quality fault approved by a
/// supervisor, charged otherwise.
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/replace", tag = "aftercare",
    params(("card_no" = String, Path, description = "The damaged card")),
    request_body = ReplaceDto,
    responses(
        (status = 201, description = "ReplaceOutcome: old_card, new_card, fee, approved_by", body = Object),
        (status = 400, description = "ID_MISMATCH, APPROVAL_REQUIRED", body = ErrorBody),
        (status = 401, description = "APPROVAL_FAILED", body = ErrorBody),
        (status = 403, description = "FORBIDDEN, APPROVAL_NOT_SUPERVISOR, APPROVAL_SELF", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "CARD_STATE, CARD_LOST, CARD_DEAD, CARD_TEMPORARY", body = ErrorBody)))]
pub async fn replace_card(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<ReplaceDto>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let out = blocking(&s.app, move |app| {
        replace::replace_damaged(
            app,
            &who,
            &ReplaceRequest {
                card_no,
                presented_doc_number: req.presented_doc_number,
                quality_fault: req.quality_fault,
                damage: req.damage,
                approval: approval_of(req.supervisor_username, req.supervisor_password),
            },
        )
    })
    .await?;
    Ok(created(out))
}

/// Corrected card data; absent fields keep their value.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CorrectionDto {
    pub presented_doc_number: String,
    pub name: Option<String>,
    /// `male` or `female`.
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub ethnicity: Option<String>,
}

/// Corrects wrong card data and remakes the card, free (clerk, supervisor).
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/correct", tag = "aftercare",
    params(("card_no" = String, Path, description = "The card with wrong data")),
    request_body = CorrectionDto,
    responses(
        (status = 201, description = "ReplaceOutcome", body = Object),
        (status = 400, description = "CORRECTION_EMPTY, CORRECTION_INVALID, CORRECTION_CONFLICTS_ID, ID_MISMATCH", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn correct_card(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<CorrectionDto>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let out = blocking(&s.app, move |app| {
        replace::correct(
            app,
            &who,
            &CorrectionRequest {
                card_no,
                presented_doc_number: req.presented_doc_number,
                name: req.name,
                gender: req.gender,
                birth_date: req.birth_date,
                ethnicity: req.ethnicity,
            },
        )
    })
    .await?;
    Ok(created(out))
}

/// A cancellation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CancelDto {
    /// `transfer_out`, `emigration`, `leaving_insurance` or `death`.
    #[schema(example = "transfer_out")]
    pub reason: String,
    /// The holder's document (not needed for a recorded death).
    #[serde(default)]
    pub presented_doc_number: String,
    /// Whether the card itself was handed back.
    #[serde(default)]
    pub card_returned: bool,
}

/// Cancels a card (clerk, supervisor) once the medical personal account is settled; closes the
/// bank side too.
#[utoipa::path(post, path = "/api/v1/cards/{card_no}/cancel", tag = "aftercare",
    params(("card_no" = String, Path, description = "The card to cancel")),
    request_body = CancelDto,
    responses(
        (status = 200, description = "CancelOutcome: card, also_cancelled", body = Object),
        (status = 400, description = "CANCEL_REASON_INVALID, ID_MISMATCH", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "CANCEL_ACCOUNT_NOT_SETTLED, PERSON_NOT_DECEASED, CARD_DEAD", body = ErrorBody)))]
pub async fn cancel_card(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(card_no): ApiPath<String>,
    ApiJson(req): ApiJson<CancelDto>,
) -> Result<Json<cancel::CancelOutcome>, ApiError> {
    let who = caller.actor();
    let reason = CancelReason::parse(&req.reason)?;
    Ok(Json(
        blocking(&s.app, move |app| {
            cancel::cancel(
                app,
                &who,
                &CancelRequest {
                    card_no,
                    reason,
                    presented_doc_number: req.presented_doc_number,
                    card_returned: req.card_returned,
                },
            )
        })
        .await?,
    ))
}

/// A death to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DeathDto {
    /// The deceased's document number.
    pub doc_number: String,
    pub died_on: NaiveDate,
    pub death_certificate_no: String,
}

/// Records a death (clerk, supervisor).
#[utoipa::path(post, path = "/api/v1/deaths", tag = "aftercare", request_body = DeathDto,
    responses(
        (status = 201, description = "DeathRecorded", body = Object),
        (status = 400, description = "DEATH_CERTIFICATE_REQUIRED, DEATH_DATE_INVALID", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "PERSON_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "PERSON_ALREADY_DECEASED", body = ErrorBody)))]
pub async fn record_death(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiJson(req): ApiJson<DeathDto>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let out = blocking(&s.app, move |app| {
        death::record_death(
            app,
            &who,
            &DeathRecord {
                doc_number: req.doc_number,
                died_on: req.died_on,
                death_certificate_no: req.death_certificate_no,
            },
        )
    })
    .await?;
    Ok(created(out))
}

/// A heir asking for the deceased's statement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HeirClaimDto {
    pub deceased_doc_number: String,
    pub heir_name: String,
    /// Default `citizen_id`.
    pub heir_doc_type: Option<String>,
    pub heir_doc_number: String,
    /// spouse, child, parent, sibling, grandparent, grandchild or other.
    pub relationship: String,
    pub death_certificate_no: String,
}

/// Records a heir's claim and returns the statement of the deceased's cards and balances
/// (clerk, supervisor).
#[utoipa::path(post, path = "/api/v1/heir-claims", tag = "aftercare", request_body = HeirClaimDto,
    responses(
        (status = 201, description = "HeirStatement", body = Object),
        (status = 400, description = "HEIR_*, DEATH_CERTIFICATE_REQUIRED, document codes", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "PERSON_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "PERSON_NOT_DECEASED", body = ErrorBody)))]
pub async fn create_heir_claim(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiJson(req): ApiJson<HeirClaimDto>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let out = blocking(&s.app, move |app| {
        death::heir_statement(
            app,
            &who,
            &HeirRequest {
                deceased_doc_number: req.deceased_doc_number,
                heir_name: req.heir_name,
                heir_doc_type: req.heir_doc_type.unwrap_or_else(|| "citizen_id".into()),
                heir_doc_number: req.heir_doc_number,
                relationship: req.relationship,
                death_certificate_no: req.death_certificate_no,
            },
        )
    })
    .await?;
    Ok(created(out))
}

/// A supervisor's approval.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ApprovalDto {
    pub supervisor_username: String,
    pub supervisor_password: String,
}

/// Pays the medical personal account balance to the claim's heir (clerk or supervisor, with a
/// supervisor's approval), then cancels the deceased's cards. Never twice.
#[utoipa::path(post, path = "/api/v1/heir-claims/{claim_id}/payout", tag = "aftercare",
    params(("claim_id" = i64, Path, description = "The claim")),
    request_body = ApprovalDto,
    responses(
        (status = 200, description = "HeirPayout", body = Object),
        (status = 400, description = "APPROVAL_REQUIRED", body = ErrorBody),
        (status = 401, description = "APPROVAL_FAILED", body = ErrorBody),
        (status = 403, description = "FORBIDDEN, APPROVAL_NOT_SUPERVISOR, APPROVAL_SELF", body = ErrorBody),
        (status = 404, description = "HEIR_CLAIM_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "HEIR_ALREADY_PAID, HEIR_CLAIM_STATE", body = ErrorBody)))]
pub async fn pay_heir(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(claim_id): ApiPath<i64>,
    ApiJson(req): ApiJson<ApprovalDto>,
) -> Result<Json<death::HeirPayout>, ApiError> {
    let who = caller.actor();
    Ok(Json(
        blocking(&s.app, move |app| {
            death::pay_heir(
                app,
                &who,
                claim_id,
                &SupervisorApproval {
                    username: req.supervisor_username,
                    password: req.supervisor_password,
                },
            )
        })
        .await?,
    ))
}

/// Whose fees.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeeQuery {
    /// The person's document number.
    pub doc_number: String,
}

/// Every fee charged to a person, with receipt numbers (any staff role).
#[utoipa::path(get, path = "/api/v1/fees", tag = "aftercare", params(FeeQuery),
    responses(
        (status = 200, description = "[FeeView]", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "PERSON_NOT_FOUND", body = ErrorBody)))]
pub async fn list_fees(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiQuery(q): ApiQuery<FeeQuery>,
) -> Result<Json<Vec<fees::FeeView>>, ApiError> {
    let who = caller.actor();
    Ok(Json(
        blocking(&s.app, move |app| {
            fees::list_for_person(app, &who, &q.doc_number)
        })
        .await?,
    ))
}
