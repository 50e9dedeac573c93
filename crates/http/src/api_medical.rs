//! The signed JSON API of designated hospitals and pharmacies under `/api/v1/medical/` (see
//! docs/medical-api.md), modelled on the national medical security platform: one path per
//! interface number, one envelope for all of them.
//!
//! Request body: `{"infno": "2207", "msgid": "…", "opter": "…", "sign_no": "…", "input": {…}}`
//! (`infno`, when given, must match the path). Answer:
//! `{"infcode": 0, "infno": "2207", "msgid": "…", "output": {…}}`; a refusal is the usual
//! error body `{"code", "message", "message_en"}` with its HTTP status.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sscard_service::medical::{self, CallMeta, Institution};
use sscard_service::{App, ServiceError};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::signed::Signed;

/// The request envelope.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Envelope {
    /// The interface number; optional, must match the path when given.
    #[serde(default)]
    pub infno: Option<String>,
    /// The institution's message id (unique per institution; the idempotency key of 2207,
    /// 2208 and 2601).
    #[serde(default)]
    pub msgid: String,
    /// The operator (经办人).
    #[serde(default)]
    pub opter: String,
    /// The sign number from 9001 (2206, 2207, 2208).
    #[serde(default)]
    pub sign_no: String,
    /// The interface's input.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
}

/// The answer envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct Answer<T> {
    /// 0: success.
    pub infcode: i32,
    pub infno: String,
    pub msgid: String,
    pub output: T,
}

struct Call {
    institution: Institution,
    meta: CallMeta,
    input: serde_json::Value,
}

fn bad(e: impl std::fmt::Display) -> ServiceError {
    ApiError::bad_request(e).0
}

/// Checks the signature, then parses the envelope.
fn open(
    app: &App,
    infno: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Call, ServiceError> {
    let signed = Signed::new(method, uri, headers, body.clone());
    let institution = medical::authenticate(app, &signed.request())?;
    envelope(infno, institution, body)
}

/// Parses the envelope of an authenticated call.
fn envelope(infno: &str, institution: Institution, body: &Bytes) -> Result<Call, ServiceError> {
    let env: Envelope = serde_json::from_slice(body).map_err(bad)?;
    if let Some(n) = env.infno.as_deref()
        && n != infno
    {
        return Err(bad(format!("infno {n} does not match the path ({infno})")));
    }
    Ok(Call {
        institution,
        meta: CallMeta {
            msg_id: env.msgid,
            operator: env.opter,
            sign_no: env.sign_no,
        },
        input: env.input,
    })
}

fn input<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, ServiceError> {
    serde_json::from_value(v).map_err(|e| bad(format!("input: {e}")))
}

async fn run<T: Serialize + Send + 'static>(
    s: AppState,
    infno: &'static str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    f: impl FnOnce(&App, Call) -> Result<T, ServiceError> + Send + 'static,
) -> Result<Json<Answer<T>>, ApiError> {
    let (msgid, output) = blocking(&s.app, move |app| {
        let call = open(app, infno, &method, &uri, &headers, &body)?;
        let msgid = call.meta.msg_id.clone();
        Ok((msgid, f(app, call)?))
    })
    .await?;
    Ok(answer(infno, msgid, output))
}

/// A call's successful answer.
fn answer<T>(infno: &str, msgid: String, output: T) -> Json<Answer<T>> {
    Json(Answer {
        infcode: 0,
        infno: infno.into(),
        msgid,
        output,
    })
}

/// 9001 sign-in: the operator's sign number for today (the same one when already signed in).
#[utoipa::path(post, path = "/api/v1/medical/9001", tag = "medical",
    request_body(content = Envelope, description = "`opter` required; `input` empty"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request (8-64 of A-Z a-z 0-9 - _)"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256(body)"),
    ),
    responses(
        (status = 200, description = "output: sign_no, sign_time, day", body = Object),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody),
        (status = 403, description = "INSTITUTION_INACTIVE", body = ErrorBody)))]
pub async fn sign_in(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::SignIn>>, ApiError> {
    run(s, "9001", method, uri, headers, body, |app, c| {
        medical::sign_in(app, &c.institution, &c.meta)
    })
    .await
}

/// 1101 person and card information, by card (`03`: number + `card_sn`), ID card (`02`) or
/// e-card QR token (`01`, not consumed).
#[utoipa::path(post, path = "/api/v1/medical/1101", tag = "medical",
    request_body(content = Envelope, description = "input: {mdtrt_cert_type, mdtrt_cert_no, card_sn?}"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "output: psn_no, psn_name, gend, brdy, certno_masked, insutype, insuplc_admdvs, balc_fen, card_no_masked, card_status, pin_required_above_fen", body = Object),
        (status = 404, description = "CARD_NOT_FOUND (无此卡信息), NO_INSURED_RECORD (无参保人员信息)", body = ErrorBody),
        (status = 409, description = "CARD_LOST, CARD_CANCELLED, TEMP_CARD_EXPIRED, ECARD_EXPIRED", body = ErrorBody)))]
pub async fn person_info(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::PersonInfo>>, ApiError> {
    run(s, "1101", method, uri, headers, body, |app, c| {
        medical::person_info(app, &c.institution, &input(c.input)?)
    })
    .await
}

/// 2206 pre-settlement: the split of an itemised bill (pooling fund, personal account, cash),
/// nothing committed.
#[utoipa::path(post, path = "/api/v1/medical/2206", tag = "medical",
    request_body(content = Envelope, description = "input: {mdtrt_cert_type, mdtrt_cert_no, card_sn?, acct_used_flag?, items: [{code, name, class: a|b|c, amount_fen}]}"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "output: medfee_sumamt_fen, self_pay_fen, deductible_fen, fund_pay_fen, acct_pay_fen, psn_cash_pay_fen, balc_fen", body = Object),
        (status = 400, description = "BILL_EMPTY, BILL_ITEM_AMOUNT, MEDICAL_INPUT", body = ErrorBody),
        (status = 401, description = "SIGN_NO_INVALID", body = ErrorBody)))]
pub async fn presettle(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::SettleOutput>>, ApiError> {
    run(s, "2206", method, uri, headers, body, |app, c| {
        medical::presettle(app, &c.institution, &c.meta, &input(c.input)?)
    })
    .await
}

/// 2207 settlement: commits the split (acknowledged only once durable), idempotent by msgid.
#[utoipa::path(post, path = "/api/v1/medical/2207", tag = "medical",
    request_body(content = Envelope, description = "input as 2206, plus pin when the personal-account part exceeds the region's limit"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "output: setl_id, amounts, balc_fen, replayed", body = Object),
        (status = 401, description = "SIGN_NO_INVALID, PIN_REQUIRED, PIN_WRONG", body = ErrorBody),
        (status = 404, description = "CARD_NOT_FOUND, NO_INSURED_RECORD", body = ErrorBody),
        (status = 409, description = "CARD_LOST, CARD_CANCELLED, TEMP_CARD_EXPIRED, MSGID_CONFLICT, MSGID_VOIDED, ECARD_USED, ECARD_EXPIRED", body = ErrorBody),
        (status = 423, description = "PIN_LOCKED", body = ErrorBody)))]
pub async fn settle(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::SettleOutput>>, ApiError> {
    // The hot path of the institutions' traffic: with the institution's key cached nothing
    // here blocks, so the call is handed to the store from this task and awaited, without a
    // blocking thread per settlement (`medical::settle_in_task`); what it does not write takes
    // the ordinary path on a blocking thread.
    let signed = Signed::new(&method, &uri, &headers, body.clone());
    if let Some(auth) = medical::authenticate_cached(&s.app, &signed.request()) {
        let call = envelope("2207", auth?, &body)?;
        let bill: medical::SettleInput = input(call.input)?;
        if let Some(output) =
            medical::settle_in_task(&s.app, &call.institution, &call.meta, &bill).await?
        {
            return Ok(answer("2207", call.meta.msg_id, output));
        }
        return run(s, "2207", method, uri, headers, body, |app, c| {
            medical::settle_unbatched(app, &c.institution, &c.meta, &input(c.input)?)
        })
        .await;
    }
    run(s, "2207", method, uri, headers, body, |app, c| {
        medical::settle(app, &c.institution, &c.meta, &input(c.input)?)
    })
    .await
}

/// 2208 reversal of a settlement, idempotent by this call's msgid.
#[utoipa::path(post, path = "/api/v1/medical/2208", tag = "medical",
    request_body(content = Envelope, description = "input: {setl_id} or {omsgid}"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "output: setl_id, status, acct_refund_fen, fund_refund_fen, replayed", body = Object),
        (status = 404, description = "SETTLEMENT_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "SETTLEMENT_REVERSED", body = ErrorBody)))]
pub async fn reverse(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::ReverseOutput>>, ApiError> {
    run(s, "2208", method, uri, headers, body, |app, c| {
        medical::reverse(app, &c.institution, &c.meta, &input(c.input)?)
    })
    .await
}

/// 2601 reversal of a timed-out settlement call: reverses it if it happened, bars its msgid
/// if it did not.
#[utoipa::path(post, path = "/api/v1/medical/2601", tag = "medical",
    request_body(content = Envelope, description = "input: {omsgid, oinfno: \"2207\"}"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "output: status reversed|voided, refunds, replayed", body = Object),
        (status = 400, description = "MEDICAL_INPUT", body = ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::ReverseOutput>>, ApiError> {
    run(s, "2601", method, uri, headers, body, |app, c| {
        medical::revoke_timed_out(app, &c.institution, &c.meta, &input(c.input)?)
    })
    .await
}

/// 3201 daily reconciliation, totals.
#[utoipa::path(post, path = "/api/v1/medical/3201", tag = "medical",
    request_body(content = Envelope, description = "input: {stmt_day, setl_cnt, medfee_sumamt_fen, fund_pay_fen, acct_pay_fen, psn_cash_pay_fen}"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "output: stmt_rslt match|mismatch, ours, theirs", body = Object),
        (status = 400, description = "MEDICAL_INPUT", body = ErrorBody)))]
pub async fn reconcile_totals(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::ReconcileTotals>>, ApiError> {
    run(s, "3201", method, uri, headers, body, |app, c| {
        medical::reconcile_totals(app, &c.institution, &input(c.input)?)
    })
    .await
}

/// 3202 daily reconciliation, detail with a mismatch report.
#[utoipa::path(post, path = "/api/v1/medical/3202", tag = "medical",
    request_body(content = Envelope, description = "input: {stmt_day, records: [{msgid, medfee_sumamt_fen, fund_pay_fen, acct_pay_fen, status}]}"),
    params(
        ("X-Key-Id" = String, Header, description = "The institution's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    responses(
        (status = 200, description = "output: stmt_rslt, records, mismatches [{msgid, kind: missing_here|missing_there|amount|status}]", body = Object),
        (status = 400, description = "MEDICAL_INPUT", body = ErrorBody)))]
pub async fn reconcile_detail(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Answer<medical::ReconcileDetail>>, ApiError> {
    run(s, "3202", method, uri, headers, body, |app, c| {
        medical::reconcile_detail(app, &c.institution, &input(c.input)?)
    })
    .await
}
