//! The 12333 session API under `/api/v1/ivr/` for IVR platforms other than Asterisk: the
//! platform owns the telephony (answers, plays, collects DTMF) and asks the sscard menu engine
//! what to do after each key — the same engine, prompts and rules as the FastAGI server.
//!
//! Who may call it: only a registered IVR platform (`sscard ivr platform-add`), signing every
//! request like the banks do (`X-Key-Id`, `X-Timestamp`, `X-Nonce`, `X-Signature` = HMAC-SHA256
//! of `METHOD\nPATH\nTIMESTAMP\nNONCE\nSHA256(body)`, see docs/ivr.md). A call is visible only
//! to the platform that started it; a call idle for 2 minutes is closed as `timeout`.
//!
//! - `POST /api/v1/ivr/calls` `{caller?, lang?}` → 201: the call id, the greeting and what to
//!   collect;
//! - `POST /api/v1/ivr/calls/{call_id}/keys` `{keys?, timeout?}` → the prompts to play next and
//!   the action (`collect`, `transfer`, `hangup`, or `none` while an entry is incomplete);
//! - `DELETE /api/v1/ivr/calls/{call_id}` → the caller hung up.

use std::sync::OnceLock;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use sscard_ivr::Lang;
use sscard_ivr::session::{Hub, Turn};
use sscard_service::phone::{self, IvrPlatform};
use sscard_service::{App, ErrorKind, ServiceError};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::signed::Signed;

/// The calls of this process (a session lives in the process that started it).
fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(Hub::default)
}

impl Signed {
    fn platform(&self, app: &App) -> Result<IvrPlatform, ServiceError> {
        phone::authenticate_platform(app, &self.request())
    }

    /// The JSON body, or the default for an empty one.
    fn json<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, ServiceError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        serde_json::from_slice(&self.body).map_err(|e| ApiError::bad_request(e).0)
    }
}

/// Answering a call.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StartCallDto {
    /// The caller's number as the network gives it (empty or absent when withheld). Only a
    /// keyed hash of it is kept.
    #[serde(default)]
    pub caller: String,
    /// `zh` (default) or `en`.
    #[serde(default)]
    pub lang: String,
}

/// Keys pressed, or a timeout.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct KeysDto {
    /// DTMF keys in order (`0-9`, `*`, `#`), one or more; at most 64.
    #[serde(default)]
    #[schema(example = "3")]
    pub keys: String,
    /// The wait for keys ran out (after any `keys`).
    #[serde(default)]
    pub timeout: bool,
}

/// A prompt to play.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IvrPromptDto {
    /// Catalogue id (`main-menu`, `medical-balance`…).
    pub id: String,
    /// The sentence in the call's language.
    pub text: String,
    /// How a PBX plays it: sound files of `sscard ivr prompts`, numbers and digits to say.
    #[schema(value_type = Vec<Object>)]
    pub segments: serde_json::Value,
}

/// What to collect next.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IvrCollectDto {
    /// Most keys of the entry (a `#`-terminated entry may take one more before it is cut).
    pub max_digits: usize,
    /// Whether `#` ends the entry (numbers) or one key is the entry (menus).
    pub terminated: bool,
    /// How long to wait before sending `timeout`.
    pub timeout_ms: u64,
}

/// The engine's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IvrTurnDto {
    pub call_id: String,
    /// Prompts to play, in order.
    pub prompts: Vec<IvrPromptDto>,
    /// `collect`, `transfer` (put the caller through to an agent), `hangup`, or `none` (an
    /// entry is incomplete: keep collecting).
    pub action: String,
    pub collect: Option<IvrCollectDto>,
    /// Whether the call is over.
    pub ended: bool,
}

impl From<Turn> for IvrTurnDto {
    fn from(t: Turn) -> Self {
        IvrTurnDto {
            call_id: t.call_id,
            prompts: t
                .prompts
                .into_iter()
                .map(|p| IvrPromptDto {
                    id: p.id,
                    text: p.text,
                    segments: serde_json::to_value(&p.segments).unwrap_or(serde_json::Value::Null),
                })
                .collect(),
            action: t.action,
            collect: t.collect.map(|c| IvrCollectDto {
                max_digits: c.max_digits,
                terminated: c.terminated,
                timeout_ms: c.timeout_ms,
            }),
            ended: t.ended,
        }
    }
}

fn lang_of(s: &str) -> Result<Lang, ServiceError> {
    Lang::parse(s).ok_or_else(|| {
        ServiceError::new(
            ErrorKind::BadRequest,
            "IVR_LANG",
            "语言只能是 zh 或 en",
            "The language must be zh or en",
        )
    })
}

/// Answers a call: the greeting, the main menu and what to collect.
#[utoipa::path(post, path = "/api/v1/ivr/calls", tag = "ivr",
    params(
        ("X-Key-Id" = String, Header, description = "The IVR platform's key id (IVR-<CODE>)"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request (8-64 of A-Z a-z 0-9 - _)"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256(body)"),
    ),
    request_body = StartCallDto,
    responses(
        (status = 201, description = "The call is answered", body = IvrTurnDto),
        (status = 400, description = "BAD_REQUEST, IVR_LANG", body = ErrorBody),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody)))]
pub async fn start_call(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<IvrTurnDto>), ApiError> {
    let signed = Signed::new(&method, &uri, &headers, body);
    let turn = blocking(&s.app, move |app| {
        let platform = signed.platform(app)?;
        let req: StartCallDto = signed.json()?;
        hub().start(app, platform.id, &req.caller, lang_of(&req.lang)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(turn.into())))
}

/// Keys the caller pressed (or a timeout): the prompts to play next and the action.
#[utoipa::path(post, path = "/api/v1/ivr/calls/{call_id}/keys", tag = "ivr",
    params(
        ("call_id" = String, Path, description = "The call id of POST /api/v1/ivr/calls"),
        ("X-Key-Id" = String, Header, description = "The IVR platform's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256"),
    ),
    request_body = KeysDto,
    responses(
        (status = 200, description = "What to play and do next", body = IvrTurnDto),
        (status = 400, description = "BAD_REQUEST, IVR_KEYS_FORMAT", body = ErrorBody),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody),
        (status = 404, description = "IVR_CALL_NOT_FOUND (unknown, ended, timed out or another platform's)", body = ErrorBody)))]
pub async fn send_keys(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(call_id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<IvrTurnDto>, ApiError> {
    let signed = Signed::new(&method, &uri, &headers, body);
    let turn = blocking(&s.app, move |app| {
        let platform = signed.platform(app)?;
        let req: KeysDto = signed.json()?;
        hub().keys(app, platform.id, &call_id, req.keys.trim(), req.timeout)
    })
    .await?;
    Ok(Json(turn.into()))
}

/// The caller hung up.
#[utoipa::path(delete, path = "/api/v1/ivr/calls/{call_id}", tag = "ivr",
    request_body(content = String, description = "Empty; the empty body is signed all the same", content_type = "application/json"),
    params(
        ("call_id" = String, Path, description = "The call id"),
        ("X-Key-Id" = String, Header, description = "The IVR platform's key id"),
        ("X-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Nonce" = String, Header, description = "Unique per request"),
        ("X-Signature" = String, Header, description = "hex HMAC-SHA256 (of an empty body)"),
    ),
    responses(
        (status = 200, description = "The call is closed", body = IvrTurnDto),
        (status = 401, description = "SIGNATURE_INVALID, TIMESTAMP_STALE, NONCE_REUSED", body = ErrorBody),
        (status = 404, description = "IVR_CALL_NOT_FOUND", body = ErrorBody)))]
pub async fn hang_up(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(call_id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<IvrTurnDto>, ApiError> {
    let signed = Signed::new(&method, &uri, &headers, body);
    let turn = blocking(&s.app, move |app| {
        let platform = signed.platform(app)?;
        hub().hangup(app, platform.id, &call_id)
    })
    .await?;
    Ok(Json(turn.into()))
}
