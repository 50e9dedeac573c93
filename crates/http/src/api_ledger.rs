//! The JSON API of the medical personal account's payouts at the counter: a cash withdrawal
//! with an approved slip (冲卡提款), the account moved out with the person (转移出) and the
//! refund to a leaving worker (离职退还). Every endpoint takes a staff session
//! ([`StaffCaller`]); the service checks the role, the supervisor's approval and every rule
//! (see `sscard_service::payouts`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sscard_service::cards::approval::SupervisorApproval;
use sscard_service::payouts::{self, PayoutKind, PayoutRequest};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::blocking;
use crate::auth::StaffCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

/// A payout from the medical personal account.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PayoutDto {
    /// The client's id of this payout (idempotency key, 1 to 64 characters): a retry with the
    /// same content returns the first payout.
    #[schema(example = "counter-NJ-20261123-0001")]
    pub client_id: String,
    /// `withdrawal` (冲卡提款), `migration_out` (转移出) or `leaving_refund` (离职退还).
    #[schema(example = "withdrawal")]
    pub kind: String,
    /// The number of the document the holder presents (ID check).
    #[schema(example = "11010519491231002X")]
    pub presented_doc_number: String,
    /// A withdrawal: the approved slip's amount in fen (required). A whole-balance payout:
    /// the amount shown to the holder, checked against the balance (optional).
    pub amount_fen: Option<i64>,
    /// The approved document's number: the settlement slip, the migration certificate or the
    /// pension account settlement table.
    #[schema(example = "JS-2026-0001")]
    pub slip_no: String,
    /// A remark (at most 200 characters).
    #[serde(default)]
    pub note: String,
    /// A migration out: the destination region's GB/T 2260 code.
    #[schema(example = "500000")]
    pub destination_region: Option<String>,
    /// The approving supervisor (not the caller).
    pub supervisor_username: String,
    pub supervisor_password: String,
}

/// Pays out of a person's medical personal account (clerk, supervisor; approved by another
/// supervisor's credentials): one ledger transfer to the region's cash payout account.
/// `201` for a new payout, `200` with `replayed: true` for a retry of the same client id.
#[utoipa::path(post, path = "/api/v1/ledger/persons/{person_ref}/payouts", tag = "ledger",
    params(("person_ref" = i64, Path, description = "The person (person_ref of a search result)")),
    request_body = PayoutDto,
    responses(
        (status = 201, description = "PayoutOutcome: transfer_id, amount_fen, balance_after_fen, reason_code, approved_by, replayed", body = Object),
        (status = 200, description = "PayoutOutcome of an earlier call with the same client id (replayed)", body = Object),
        (status = 400, description = "PAYOUT_KIND_INVALID, TRANSFER_ID_INVALID, PAYOUT_SLIP_REQUIRED, PAYOUT_SLIP_INVALID, PAYOUT_NOTE_TOO_LONG, PAYOUT_AMOUNT_REQUIRED, AMOUNT_INVALID, PAYOUT_DESTINATION_REQUIRED, PAYOUT_DESTINATION_UNEXPECTED, PAYOUT_DESTINATION_SAME, REGION_CODE_*, ID_MISMATCH, APPROVAL_REQUIRED", body = ErrorBody),
        (status = 401, description = "LOGIN_REQUIRED, APPROVAL_FAILED", body = ErrorBody),
        (status = 403, description = "FORBIDDEN, APPROVAL_NOT_SUPERVISOR, APPROVAL_SELF, STAFF_DISABLED", body = ErrorBody),
        (status = 404, description = "PERSON_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "INSUFFICIENT_BALANCE, PAYOUT_NOTHING_TO_PAY, PAYOUT_ACCOUNT_NOT_SETTLED, PAYOUT_AMOUNT_MISMATCH, PAYOUT_SLIP_USED, TRANSFER_ID_CONFLICT, PERSON_DECEASED", body = ErrorBody),
        (status = 423, description = "STAFF_LOCKED", body = ErrorBody)))]
pub async fn create_payout(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(person_ref): ApiPath<i64>,
    ApiJson(req): ApiJson<PayoutDto>,
) -> Result<Response, ApiError> {
    let who = caller.actor();
    let kind = PayoutKind::parse(&req.kind)?;
    let out = blocking(&s.app, move |app| {
        payouts::pay_out(
            app,
            &who,
            &PayoutRequest {
                client_id: req.client_id,
                person_ref,
                kind,
                presented_doc_number: req.presented_doc_number,
                amount_fen: req.amount_fen,
                slip_no: req.slip_no,
                note: req.note,
                destination_region: req.destination_region,
                approval: SupervisorApproval {
                    username: req.supervisor_username,
                    password: req.supervisor_password,
                },
            },
        )
    })
    .await?;
    let status = if out.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(out)).into_response())
}

/// The payouts of a person's medical personal account, newest first (any staff role).
#[utoipa::path(get, path = "/api/v1/ledger/persons/{person_ref}/payouts", tag = "ledger",
    params(("person_ref" = i64, Path, description = "The person (person_ref of a search result)")),
    responses(
        (status = 200, description = "[PayoutView]", body = [Object]),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "PERSON_NOT_FOUND", body = ErrorBody)))]
pub async fn list_payouts(
    State(s): State<AppState>,
    caller: StaffCaller,
    ApiPath(person_ref): ApiPath<i64>,
) -> Result<Json<Vec<payouts::PayoutView>>, ApiError> {
    let who = caller.actor();
    Ok(Json(
        blocking(&s.app, move |app| {
            payouts::payouts_of(app, &who, person_ref)
        })
        .await?,
    ))
}
