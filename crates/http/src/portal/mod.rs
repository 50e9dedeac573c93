//! The cardholder web portal (网上服务大厅) at `/portal/`: server-rendered pages (askama
//! templates under `templates/portal/`), zh-CN by default with an English switch (`?lang=en`
//! sets the `lang` cookie), labels from one catalogue ([`i18n`]), usable on a phone screen.
//!
//! - **Login** with the 18-digit ID number and the query password
//!   ([`sscard_service::selfservice::auth`]); the session token lives in the `sscard_portal`
//!   cookie (HttpOnly, SameSite=Strict, Path=/portal), distinct from the staff console's. The
//!   first login leads to the forced change of the initial password before anything else;
//!   pages without a session go back to the login page (with a "timed out" notice when a
//!   cookie was there).
//! - **CSRF**: every form of a logged-in page carries the session's CSRF token; the login form
//!   uses a double-submit token (the `sscard_portal_csrf` cookie and a hidden field).
//! - **Pages** (logged in): basic information, pension, medical, unemployment, work injury,
//!   maternity, contributions (year filter), 低保和优抚, 生命与健康数据, the card with its
//!   timeline and the temporary loss report (card PIN, the shared rule of
//!   `cards::loss::report` with `Channel::Web`), the 参保证明 (PDF download), the electronic
//!   card's QR code, the query-password change.
//! - **Public pages** (no login): the service guide of each region (from its policy), the
//!   agency directory searchable by region and text, the hotlines, and the certificate check.
//!
//! The stylesheet and the emblem are vendored in `assets/portal/` and served at
//! `/portal/assets/…`. No script, no web font, no CDN.

mod handlers;
pub mod i18n;
mod views;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sscard_service::selfservice::auth::{self, CardholderSession};
use sscard_service::{ErrorKind, ServiceError};

use crate::AppState;
use crate::api::blocking;
use crate::auth::cookie;
use crate::console::Fields;
pub use i18n::Tr;

/// The portal's session cookie.
pub const PORTAL_COOKIE: &str = "sscard_portal";
/// The login form's double-submit CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "sscard_portal_csrf";
/// The language cookie shared with the console (`zh` or `en`).
pub const LANG_COOKIE: &str = "lang";

const CSS: &str = include_str!("../../../../assets/portal/portal.css");
const EMBLEM: &str = include_str!("../../../../assets/portal/emblem.svg");

/// The portal routes (absolute paths, merged into the main router).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(|| async { Redirect::to("/portal/") }))
        .route("/portal/", get(handlers::home))
        .route("/portal/assets/portal.css", get(css))
        .route("/portal/assets/emblem.svg", get(emblem))
        .route("/portal/login", post(handlers::login))
        .route("/portal/logout", post(handlers::logout))
        .route(
            "/portal/password",
            get(handlers::password_page).post(handlers::change_password),
        )
        .route("/portal/me", get(handlers::basic))
        .route("/portal/pension", get(handlers::pension))
        .route("/portal/medical", get(handlers::medical))
        .route("/portal/unemployment", get(handlers::unemployment))
        .route("/portal/injury", get(handlers::injury))
        .route("/portal/maternity", get(handlers::maternity))
        .route("/portal/contributions", get(handlers::contributions))
        .route("/portal/assistance", get(handlers::assistance))
        .route("/portal/health", get(handlers::health))
        .route("/portal/card", get(handlers::card))
        .route("/portal/card/loss", post(handlers::report_loss))
        .route(
            "/portal/certificate",
            get(handlers::certificate_page).post(handlers::issue_certificate),
        )
        .route(
            "/portal/certificates/{code}",
            get(handlers::certificate_pdf),
        )
        .route("/portal/ecard", get(handlers::ecard))
        .route("/portal/guide", get(handlers::guide))
        .route("/portal/agencies", get(handlers::agencies))
        .route("/portal/hotlines", get(handlers::hotlines))
        .route("/portal/verify", get(handlers::verify))
        .layer(axum::middleware::from_fn(portal_layer))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn emblem() -> Response {
    asset("image/svg+xml", EMBLEM)
}

/// The language asked for in the query string (`lang=en` / `lang=zh`), if any.
fn query_lang(query: Option<&str>) -> Option<bool> {
    query?.split('&').find_map(|kv| match kv.split_once('=') {
        Some(("lang", v)) if v.eq_ignore_ascii_case("en") => Some(true),
        Some(("lang", v)) if v.to_ascii_lowercase().starts_with("zh") => Some(false),
        _ => None,
    })
}

/// Sets the `lang` cookie when the query string switches the language; pages (not the assets)
/// are never cached (they hold personal data) and may not be framed.
async fn portal_layer(req: Request, next: Next) -> Response {
    let switch = query_lang(req.uri().query());
    let is_asset = req.uri().path().starts_with("/portal/assets/");
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
    if !is_asset {
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    resp
}

/// The page language of a request: the query string's `lang`, else the cookie, else zh-CN.
#[derive(Debug, Clone, Copy)]
pub struct PLang(pub Tr);

impl<S: Send + Sync> FromRequestParts<S> for PLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let en = query_lang(parts.uri.query())
            .unwrap_or_else(|| cookie(&parts.headers, LANG_COOKIE).is_some_and(|v| v == "en"));
        Ok(PLang(Tr { en }))
    }
}

/// A logged-in cardholder on a portal page. Without a valid session the page redirects to the
/// login page; with the forced password change pending, to the password page.
#[derive(Debug, Clone)]
pub struct Holder {
    pub session: CardholderSession,
    pub token: String,
    pub t: Tr,
}

impl Holder {
    /// The 403 page to answer unless the form carries this session's CSRF token.
    pub fn csrf_refusal(&self, fields: &Fields) -> Option<Response> {
        if constant_time_eq(
            fields.get("csrf_token").as_bytes(),
            self.session.csrf_token.as_bytes(),
        ) {
            None
        } else {
            Some(error_page(self.t, Some(self), &csrf_error()))
        }
    }
}

fn csrf_error() -> ServiceError {
    ServiceError::new(
        ErrorKind::Forbidden,
        "CSRF_INVALID",
        "表单已失效或来源不明,请刷新页面后重新提交",
        "The form has expired or did not come from this portal: reload the page and try again",
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Holder, Response> {
    let PLang(t) = PLang::from_request_parts(&mut parts.clone(), state)
        .await
        .unwrap_or(PLang(Tr { en: false }));
    let Some(token) = cookie(&parts.headers, PORTAL_COOKIE).filter(|t| !t.is_empty()) else {
        return Err(Redirect::to("/portal/").into_response());
    };
    let tk = token.clone();
    match blocking(&state.app, move |app| auth::session(app, &tk)).await {
        Ok(session) => Ok(Holder { session, token, t }),
        Err(e) if matches!(e.0.kind, ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
            let mut r = Redirect::to("/portal/?expired=1").into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, session_cookie("", Some(0)));
            Err(r)
        }
        Err(e) => Err(error_page(t, None, &e.0)),
    }
}

impl FromRequestParts<AppState> for Holder {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let h = resolve(parts, state).await?;
        if h.session.must_change_password {
            return Err(Redirect::to("/portal/password").into_response());
        }
        Ok(h)
    }
}

/// Like [`Holder`] but admitted while the forced password change is pending.
#[derive(Debug, Clone)]
pub struct HolderPending(pub Holder);

impl FromRequestParts<AppState> for HolderPending {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        resolve(parts, state).await.map(HolderPending)
    }
}

/// A logged-in cardholder if there is one (public pages show the holder's region), never a
/// redirect.
#[derive(Debug, Clone)]
pub struct MaybeHolder(pub Option<Holder>);

impl FromRequestParts<AppState> for MaybeHolder {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if cookie(&parts.headers, PORTAL_COOKIE).is_none_or(|t| t.is_empty()) {
            return Ok(MaybeHolder(None));
        }
        Ok(MaybeHolder(resolve(parts, state).await.ok()))
    }
}

/// The session cookie (`max_age` 0 clears it).
pub fn session_cookie(token: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{PORTAL_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/portal{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sscard_portal=; Path=/portal; Max-Age=0"))
}

/// Renders a template into an HTML response with `status`.
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "portal template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(
                    "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>系统内部错误</title>\
                     <h1>系统内部错误 / Internal error</h1><p><a href=\"/portal/\">返回 / Back</a></p></html>"
                        .to_string(),
                ),
            )
                .into_response()
        }
    }
}

/// A whole-page error (code + message in the page's language) with the error kind's status.
pub fn error_page(t: Tr, holder: Option<&Holder>, e: &ServiceError) -> Response {
    let page = views::ErrorPage {
        c: views::Chrome::new(t, holder, t.t("error.title"), "", "/portal/"),
        error: views::ErrorView::of(t, e),
    };
    render(crate::error::status_of(e.kind), &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_and_csrf_helpers() {
        assert_eq!(query_lang(Some("lang=en")), Some(true));
        assert_eq!(query_lang(Some("year=2025&lang=zh-CN")), Some(false));
        assert_eq!(query_lang(Some("q=lang")), None);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        let c = session_cookie("tok", None);
        let c = c.to_str().unwrap();
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/portal")
        );
    }
}
