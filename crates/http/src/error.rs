//! Errors as JSON: `{"code": "...", "message": "中文", "message_en": "English"}` with the HTTP
//! status that matches the [`ErrorKind`].

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sscard_service::{ErrorKind, ServiceError};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `ID_CHECK_CHAR`, `REGION_NOT_SERVED`, `BAD_REQUEST`.
    #[schema(example = "ROUTE_NOT_FOUND")]
    pub code: String,
    /// Message in Simplified Chinese.
    pub message: String,
    /// Message in English.
    pub message_en: String,
}

/// A service error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError(pub ServiceError);

/// The HTTP status of an error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Locked => StatusCode::LOCKED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// A malformed request (bad JSON body, bad query string, bad path segment).
    pub fn bad_request(detail: impl std::fmt::Display) -> ApiError {
        ApiError(ServiceError::new(
            ErrorKind::BadRequest,
            "BAD_REQUEST",
            format!("请求格式有误:{detail}"),
            format!("Bad request: {detail}"),
        ))
    }

    /// No API route at this path.
    pub fn route_not_found(path: &str) -> ApiError {
        let path = sscard_domain::mask::mask_ids_in_text(path);
        ApiError(ServiceError::not_found(
            "ROUTE_NOT_FOUND",
            format!("接口不存在:{path}"),
            format!("No such API route: {path}"),
        ))
    }

    /// A bug (a panic, a failed background task).
    pub fn internal() -> ApiError {
        ApiError(ServiceError::new(
            ErrorKind::Internal,
            "INTERNAL",
            "系统内部错误,请稍后再试",
            "Internal error, please try again later",
        ))
    }

    /// The JSON body of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.0.code.to_string(),
            message: self.0.message.clone(),
            message_en: self.0.message_en.clone(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        status_of(self.0.kind)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

/// `405` with the error JSON (the route exists but not for this method).
pub fn method_not_allowed() -> Response {
    let body = ErrorBody {
        code: "METHOD_NOT_ALLOWED".into(),
        message: "该接口不支持此请求方法".into(),
        message_en: "This route does not accept this HTTP method".into(),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
