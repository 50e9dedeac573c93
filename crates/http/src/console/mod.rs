//! The counter staff console at `/console/`: server-rendered pages (askama templates under
//! `templates/console/`), zh-CN by default with an English switch (`?lang=en` sets the `lang`
//! cookie), every label from one message catalogue ([`i18n`]).
//!
//! - Staff log in with the login form ([`auth`]); the session token lives in the
//!   `sscard_session` cookie (HttpOnly, SameSite=Strict, Path=/). A first login leads to the
//!   forced password change before anything else. Pages without a session redirect to the
//!   login page.
//! - Every POST form carries the session's CSRF token in a hidden `csrf_token` field; a post
//!   without the right token is refused with 403 ([`Staff::csrf_refusal`]).
//! - Handlers only parse, call the service on the blocking pool and render. The service checks
//!   the role of every operation; the pages also hide the actions a role cannot do
//!   ([`Can`]). Service errors are shown inline as code + message in the page's language.
//!
//! The stylesheet is vendored in `assets/console.css` and served by the binary.

mod admin;
mod auth;
mod batches;
pub mod i18n;
mod ops;
mod pages;
mod roster;
mod stats;
mod views;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sscard_service::access;
use sscard_service::audit::{Actor, Channel};
use sscard_service::staff::{self, StaffSession};
use sscard_service::{ErrorKind, ServiceError};

use crate::AppState;
use crate::api::blocking;
use crate::auth::{SESSION_COOKIE, cookie};
pub use i18n::Msg;

/// Name of the language cookie (`zh` or `en`).
pub const LANG_COOKIE: &str = "lang";

/// The console's stylesheet, served at `/console/assets/console.css`.
const CSS: &str = include_str!("../../assets/console.css");

/// The console routes (absolute paths, merged into the main router).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(pages::home))
        .route("/console/assets/console.css", get(css))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route(
            "/console/password",
            get(auth::password_page).post(auth::change_password),
        )
        .route("/console/search", get(pages::search))
        .route("/console/persons/{id}", get(pages::person))
        .route("/console/persons/{id}/{action}", post(ops::person_action))
        .route(
            "/console/apply",
            get(pages::apply_page).post(ops::apply_new),
        )
        .route("/console/certificates/{cert_no}", get(ops::certificate_pdf))
        .route("/console/batches", get(batches::list).post(batches::create))
        .route("/console/batches/{id}", get(batches::detail))
        .route("/console/batches/{id}/bank-file", get(batches::bank_file))
        .route(
            "/console/batches/{id}/bank-return",
            post(batches::bank_return),
        )
        .route("/console/roster", get(roster::page).post(roster::upload))
        .route("/console/admin", get(admin::home))
        .route(
            "/console/admin/staff",
            get(admin::staff_page).post(admin::staff_create),
        )
        .route(
            "/console/admin/staff/{username}/{action}",
            post(admin::staff_action),
        )
        .route(
            "/console/admin/agencies",
            get(admin::agencies_page).post(admin::agency_create),
        )
        .route(
            "/console/admin/agencies/{code}/{action}",
            post(admin::agency_action),
        )
        .route(
            "/console/admin/institutions",
            get(admin::institutions_page).post(admin::institution_create),
        )
        .route(
            "/console/admin/institutions/{code}/{action}",
            post(admin::institution_action),
        )
        .route(
            "/console/admin/banks",
            get(admin::banks_page).post(admin::bank_create),
        )
        .route(
            "/console/admin/banks/{code}/{action}",
            post(admin::bank_action),
        )
        .route(
            "/console/admin/policies",
            get(admin::policies_page).post(admin::policy_set),
        )
        .route(
            "/console/admin/calendar",
            get(admin::calendar_page).post(admin::calendar_set),
        )
        .route(
            "/console/admin/calendar/{day}/remove",
            post(admin::calendar_remove),
        )
        .route("/console/stats", get(stats::dashboard))
        .route("/console/stats/export/{file}", get(stats::export))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(axum::middleware::from_fn(lang_layer))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// The language asked for in the query string (`lang=en` / `lang=zh`), if any.
fn query_lang(query: Option<&str>) -> Option<bool> {
    let q = query?;
    q.split('&').find_map(|kv| match kv.split_once('=') {
        Some(("lang", v)) if v.eq_ignore_ascii_case("en") => Some(true),
        Some(("lang", v)) if v.to_ascii_lowercase().starts_with("zh") => Some(false),
        _ => None,
    })
}

/// Sets the `lang` cookie when the query string switches the language, and marks every console
/// page as not cacheable (pages hold personal data).
async fn lang_layer(req: Request, next: Next) -> Response {
    let switch = query_lang(req.uri().query());
    let mut resp = next.run(req).await;
    if let Some(en) = switch {
        let v = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            if en { "en" } else { "zh" }
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    let is_css = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/css"));
    if !is_css {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The page language of a request: the query string's `lang`, else the cookie, else zh-CN.
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub Msg);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let en = query_lang(parts.uri.query())
            .unwrap_or_else(|| cookie(&parts.headers, LANG_COOKIE).is_some_and(|v| v == "en"));
        Ok(Lang(Msg { en }))
    }
}

/// What a role may do in the console (the service checks again; this only hides actions).
#[derive(Debug, Clone, Copy, Default)]
pub struct Can {
    /// Clerks and supervisors: every counter operation.
    pub counter: bool,
    /// Clerks, supervisors and 12333 agents: temporary (oral) loss reports.
    pub temp_loss: bool,
    /// Production batches and bank files (clerks and supervisors; every staff role sees them).
    pub batches: bool,
    /// Read-only role.
    pub read_only: bool,
}

impl Can {
    /// The capabilities of a role.
    pub fn of(role: &str) -> Can {
        let counter = access::COUNTER.contains(&role);
        Can {
            counter,
            temp_loss: counter || role == access::PHONE_AGENT,
            batches: counter,
            read_only: role == access::AUDITOR,
        }
    }
}

/// A logged-in staff member on a console page (the `sscard_session` cookie only, never a
/// bearer token). Without a valid session the page redirects to the login page; with a pending
/// password change, to the password page.
#[derive(Debug, Clone)]
pub struct Staff {
    pub session: StaffSession,
    pub token: String,
    pub m: Msg,
}

impl Staff {
    /// The actor for the service. A 12333 agent works on the phone line.
    pub fn actor(&self) -> Actor {
        let channel = if self.session.role == access::PHONE_AGENT {
            Channel::Ivr
        } else {
            Channel::Counter
        };
        self.session.actor(channel)
    }

    /// What this member may do.
    pub fn can(&self) -> Can {
        Can::of(&self.session.role)
    }

    /// The 403 page to answer unless the form carries this session's CSRF token (`None`: the
    /// token is right).
    pub fn csrf_refusal(&self, fields: &Fields) -> Option<Response> {
        let sent = fields.get("csrf_token");
        if constant_time_eq(sent.as_bytes(), self.session.csrf_token.as_bytes()) {
            None
        } else {
            Some(error_page(
                self.m,
                Some(self),
                &ServiceError::new(
                    ErrorKind::Forbidden,
                    "CSRF_INVALID",
                    "表单已失效或来源不明,请刷新页面后重新提交",
                    "The form has expired or did not come from this console: reload the page and try again",
                ),
            ))
        }
    }

    /// The page frame of this member.
    pub fn chrome(&self, title: &str, nav: &'static str, path: &str) -> views::Chrome {
        views::Chrome::new(self.m, Some(self), title, nav, path)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn resolve_staff(parts: &Parts, state: &AppState) -> Result<Staff, Response> {
    let Lang(m) = Lang::from_request_parts(&mut parts.clone(), state)
        .await
        .unwrap_or(Lang(Msg { en: false }));
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
        return Err(Redirect::to("/console/login").into_response());
    };
    let t = token.clone();
    match blocking(&state.app, move |app| staff::session(app, &t)).await {
        Ok(session) => Ok(Staff { session, token, m }),
        Err(e) if matches!(e.0.kind, ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
            Err(Redirect::to("/console/login?expired=1").into_response())
        }
        Err(e) => Err(error_page(m, None, &e.0)),
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let s = resolve_staff(parts, state).await?;
        if s.session.must_change_password {
            return Err(Redirect::to("/console/password").into_response());
        }
        Ok(s)
    }
}

/// Like [`Staff`] but admitted while the forced password change is pending.
#[derive(Debug, Clone)]
pub struct StaffPendingPassword(pub Staff);

impl FromRequestParts<AppState> for StaffPendingPassword {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        resolve_staff(parts, state).await.map(StaffPendingPassword)
    }
}

/// The fields of a URL-encoded form (the last value of a repeated name wins).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// A field's value, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    /// A field's value, `None` when absent or blank.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// Whether a checkbox is ticked.
    pub fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), "on" | "true" | "1" | "yes")
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let en = cookie(req.headers(), LANG_COOKIE).is_some_and(|v| v == "en");
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Fields(v)),
            Err(r) => Err(error_page(
                Msg { en },
                None,
                &crate::error::ApiError::bad_request(r.body_text()).0,
            )),
        }
    }
}

/// The query string's parameters (never rejects: a malformed query string reads as empty).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Fields);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Params(Fields(
            axum::extract::Query::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map(|q| q.0)
                .unwrap_or_default(),
        )))
    }
}

/// An uploaded file of a multipart form.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The form field's name.
    pub field: String,
    /// The file name the browser sent.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A posted form, URL-encoded or multipart (file uploads): its text fields and its files
/// (empty file inputs are left out).
#[derive(Debug, Clone, Default)]
pub struct Posted {
    pub fields: Fields,
    pub files: Vec<UploadedFile>,
}

impl Posted {
    /// The first file of field `name`.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|f| f.field == name)
    }
}

/// Largest upload the console accepts (rosters with their photos).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let en = cookie(req.headers(), LANG_COOKIE).is_some_and(|v| v == "en");
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let fields = Fields::from_request(req, state).await?;
            return Ok(Posted {
                fields,
                files: Vec::new(),
            });
        }
        let bad = |detail: String| {
            error_page(
                Msg { en },
                None,
                &crate::error::ApiError::bad_request(detail).0,
            )
        };
        let mut mp = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| bad(e.body_text()))?;
        let mut out = Posted::default();
        while let Some(field) = mp.next_field().await.map_err(|e| bad(e.body_text()))? {
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.map_err(|e| bad(e.body_text()))?;
            match file_name {
                Some(file_name) => {
                    if !bytes.is_empty() {
                        out.files.push(UploadedFile {
                            field: name,
                            file_name,
                            bytes: bytes.to_vec(),
                        });
                    }
                }
                None => out
                    .fields
                    .0
                    .push((name, String::from_utf8_lossy(&bytes).into_owned())),
            }
        }
        Ok(out)
    }
}

/// Renders a template into an HTML response with `status`.
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(
                    "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>系统内部错误</title>\
                     <h1>系统内部错误 / Internal error</h1><p><a href=\"/console/\">返回 / Back</a></p></html>"
                        .to_string(),
                ),
            )
                .into_response()
        }
    }
}

/// A whole-page error (code + message in the page's language) with the error kind's status.
pub fn error_page(m: Msg, staff: Option<&Staff>, e: &ServiceError) -> Response {
    let chrome = views::Chrome::new(m, staff, m.t("error.title"), "", "/console/");
    let page = views::ErrorPage {
        c: chrome,
        error: views::ErrorView::of(m, e),
    };
    render(crate::error::status_of(e.kind), &page)
}

/// A `303 See Other` to `to` (after a successful form post).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lang_switches() {
        assert_eq!(query_lang(Some("lang=en")), Some(true));
        assert_eq!(query_lang(Some("q=1&lang=zh-CN")), Some(false));
        assert_eq!(query_lang(Some("q=lang")), None);
        assert_eq!(query_lang(None), None);
    }

    #[test]
    fn csrf_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }

    #[test]
    fn roles() {
        assert!(Can::of("clerk").counter && Can::of("supervisor").counter);
        assert!(!Can::of("admin").counter && !Can::of("admin").batches);
        let agent = Can::of("phone_agent");
        assert!(agent.temp_loss && !agent.counter);
        let aud = Can::of("auditor");
        assert!(aud.read_only && !aud.counter && !aud.temp_loss && !aud.batches);
    }
}
