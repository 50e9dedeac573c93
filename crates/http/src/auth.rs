//! Staff authentication for the API and the console.
//!
//! A staff member logs in with `POST /api/v1/auth/login` (JSON) or the console's login form;
//! both create a session in the service. The API takes the token as `Authorization: Bearer …`;
//! the console keeps it in the `sscard_session` cookie (HttpOnly, SameSite=Strict) and checks
//! the session's CSRF token on every form post.
//!
//! [`StaffCaller`] is the extractor every staff endpoint takes: it refuses with 401 JSON when
//! there is no valid session and with 403 `PASSWORD_CHANGE_REQUIRED` until a forced password
//! change is done ([`StaffCallerAllowingPasswordChange`] is for the change itself).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use sscard_service::audit::{Actor, Channel};
use sscard_service::staff::{self, StaffSession};
use sscard_service::{ErrorKind, ServiceError};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;

/// Name of the console's session cookie.
pub const SESSION_COOKIE: &str = "sscard_session";

/// The session token of a request: the bearer token, else the session cookie.
pub fn token_of(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some((t.trim().to_string(), false));
    }
    cookie(headers, SESSION_COOKIE).map(|t| (t, true))
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A logged-in staff member calling an endpoint.
#[derive(Debug, Clone)]
pub struct StaffCaller {
    pub session: StaffSession,
    /// The raw token (to log out or change the password).
    pub token: String,
    /// Whether the token came from the console's cookie (then forms must carry the CSRF token).
    pub via_cookie: bool,
}

impl StaffCaller {
    /// The actor for the service: counter channel.
    pub fn actor(&self) -> Actor {
        self.session.actor(Channel::Counter)
    }
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<StaffCaller, ApiError> {
    let Some((token, via_cookie)) = token_of(&parts.headers) else {
        return Err(ApiError(ServiceError::new(
            ErrorKind::Unauthorized,
            "LOGIN_REQUIRED",
            "请先登录",
            "Please log in first",
        )));
    };
    let t = token.clone();
    let session = blocking(&state.app, move |app| staff::session(app, &t)).await?;
    Ok(StaffCaller {
        session,
        token,
        via_cookie,
    })
}

impl FromRequestParts<AppState> for StaffCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = resolve(parts, state).await?;
        if caller.session.must_change_password {
            return Err(ApiError(ServiceError::new(
                ErrorKind::Forbidden,
                "PASSWORD_CHANGE_REQUIRED",
                "首次登录须先修改密码",
                "You must change your password first",
            )));
        }
        Ok(caller)
    }
}

/// Like [`StaffCaller`] but also admitted while a password change is pending.
#[derive(Debug, Clone)]
pub struct StaffCallerAllowingPasswordChange(pub StaffCaller);

impl FromRequestParts<AppState> for StaffCallerAllowingPasswordChange {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        resolve(parts, state)
            .await
            .map(StaffCallerAllowingPasswordChange)
    }
}

/// Login request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "clerk1")]
    pub username: String,
    pub password: String,
}

/// A new session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    /// CSRF token of the session (console forms).
    pub csrf_token: String,
    pub username: String,
    pub display_name: String,
    /// clerk, supervisor, phone_agent, admin or auditor.
    pub role: String,
    pub agency: String,
    /// True until the initial password is changed; other endpoints answer 403 until then.
    pub must_change_password: bool,
}

/// Logs a staff member in.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
              (status = 423, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let ok = blocking(&state.app, move |app| {
        staff::login(app, &req.username, &req.password, Channel::Counter)
    })
    .await?;
    Ok(Json(LoginResponse {
        token: ok.token,
        csrf_token: ok.session.csrf_token,
        username: ok.session.username,
        display_name: ok.session.display_name,
        role: ok.session.role,
        agency: ok.session.agency,
        must_change_password: ok.session.must_change_password,
    }))
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: StaffCallerAllowingPasswordChange,
) -> Result<StatusCode, ApiError> {
    let token = caller.0.token;
    blocking(&state.app, move |app| staff::logout(app, &token)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Password change request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    pub current_password: String,
    /// At least 10 characters with letters and digits.
    pub new_password: String,
}

/// Changes the caller's password (required after the first login).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChangeRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: StaffCallerAllowingPasswordChange,
    ApiJson(req): ApiJson<PasswordChangeRequest>,
) -> Result<StatusCode, ApiError> {
    let token = caller.0.token;
    blocking(&state.app, move |app| {
        staff::change_password(app, &token, &req.current_password, &req.new_password)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's session.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
pub async fn me(caller: StaffCallerAllowingPasswordChange) -> Json<LoginResponse> {
    let s = caller.0.session;
    Json(LoginResponse {
        token: String::new(),
        csrf_token: s.csrf_token,
        username: s.username,
        display_name: s.display_name,
        role: s.role,
        agency: s.agency,
        must_change_password: s.must_change_password,
    })
}
