//! Service errors: a kind (which HTTP status / IVR reaction it maps to), a stable code and
//! messages in Chinese and English. Internal details are logged, never shown to the user.

use sscard_domain::Coded;
use sscard_store::StoreError;

/// What sort of failure, for channels to map (HTTP status, IVR prompt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is invalid (400).
    BadRequest,
    /// Not logged in / bad credentials (401).
    Unauthorized,
    /// Logged in but not allowed (403).
    Forbidden,
    /// No such thing (404).
    NotFound,
    /// The state does not allow it (409).
    Conflict,
    /// Locked after too many attempts (423).
    Locked,
    /// A dependency (database) is unavailable (503).
    Unavailable,
    /// A bug or unexpected failure (500).
    Internal,
}

/// A user-facing error of a use case.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message_en}")]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub message_en: String,
    /// Internal detail for logs and debugging; never shown to users.
    pub detail: Option<String>,
}

impl ServiceError {
    pub fn new(
        kind: ErrorKind,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ServiceError {
            kind,
            code,
            message: zh.into(),
            message_en: en.into(),
            detail: None,
        }
    }

    /// A domain validation error, as a bad request.
    pub fn invalid(e: &dyn Coded) -> Self {
        ServiceError::new(
            ErrorKind::BadRequest,
            e.code(),
            e.message_zh(),
            e.message_en(),
        )
    }

    pub fn not_found(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, zh, en)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        let mut e = Self::new(
            ErrorKind::Internal,
            "INTERNAL",
            "系统内部错误,请稍后再试",
            "Internal error, please try again later",
        );
        e.detail = Some(detail.to_string());
        e
    }
}

impl Coded for ServiceError {
    fn code(&self) -> &'static str {
        self.code
    }
    fn message_zh(&self) -> String {
        self.message.clone()
    }
    fn message_en(&self) -> String {
        self.message_en.clone()
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Connect(d) | StoreError::BadUrl(d) => {
                tracing::error!(error = %d, "database unavailable");
                ServiceError::new(
                    ErrorKind::Unavailable,
                    "DB_UNAVAILABLE",
                    "数据库暂时不可用",
                    "The database is unavailable",
                )
            }
            StoreError::NotFound(what) => ServiceError::not_found(
                "NOT_FOUND",
                format!("未找到记录({what})"),
                format!("Not found ({what})"),
            ),
            other => ServiceError::internal(other),
        }
    }
}
