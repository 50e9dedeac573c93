//! The self-service kiosk at `/kiosk/`: a full-screen interface for portrait 1080×1920
//! touchscreens (and usable on a phone), server-rendered from askama templates under
//! `templates/kiosk/`, zh-CN by default with an English switch (`?lang=en`, the `lang` cookie
//! the console uses too), every label from one catalogue ([`i18n`]).
//!
//! - **Terminal**: each kiosk is configured once with `/kiosk/?terminal=<id>` (kept in the
//!   `sscard_kiosk_terminal` cookie; `KIOSK-01` when never set). Sessions are bound to it.
//! - **Session**: reading the card (the demo readers take the number typed on the on-screen
//!   keypad) opens a session; its token lives in the `sscard_kiosk` cookie (HttpOnly,
//!   SameSite=Strict, Path=/kiosk). The service checks the PIN, the terminal and the idle
//!   deadline on every request; an expired session returns home (`/kiosk/?timeout=1`).
//! - **Forms**: every POST carries the session's CSRF token (`csrf_token`); a wrong token is
//!   refused with 403 (`CSRF_INVALID`).
//! - **Assets**: `kiosk.js` (keypad, idle timer with keep-alive pings, printing) and
//!   `kiosk.css`, vendored in `assets/kiosk/` and compiled in; no CDN, no inline script (the
//!   pages send a `Content-Security-Policy` of `'self'` only).

pub mod i18n;
mod pages;
mod views;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sscard_service::kiosk::{self, KioskSession};
use sscard_service::{ErrorKind, ServiceError};

use crate::AppState;
use crate::api::blocking;
use crate::auth::cookie;
use crate::console::Fields;
pub use i18n::KMsg;

/// The session cookie.
pub const KIOSK_COOKIE: &str = "sscard_kiosk";
/// The terminal id cookie.
pub const TERMINAL_COOKIE: &str = "sscard_kiosk_terminal";
/// The terminal id of a kiosk that was never configured.
pub const DEFAULT_TERMINAL: &str = "KIOSK-01";
/// The language cookie (shared with the console).
const LANG_COOKIE: &str = "lang";

const JS: &str = include_str!("../../../../assets/kiosk/kiosk.js");
const CSS: &str = include_str!("../../../../assets/kiosk/kiosk.css");

/// The kiosk routes (absolute paths, merged into the main router).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kiosk", get(|| async { Redirect::to("/kiosk/") }))
        .route("/kiosk/", get(pages::home))
        .route("/kiosk/assets/kiosk.js", get(js))
        .route("/kiosk/assets/kiosk.css", get(css))
        .route("/kiosk/insert", post(pages::insert))
        .route("/kiosk/pin", get(pages::pin_page).post(pages::pin_submit))
        .route("/kiosk/menu", get(pages::menu))
        .route("/kiosk/info/{category}", get(pages::info))
        .route(
            "/kiosk/pin-change",
            get(pages::pin_change_page).post(pages::pin_change),
        )
        .route("/kiosk/loss", get(pages::loss_page).post(pages::loss))
        .route(
            "/kiosk/contact",
            get(pages::contact_page).post(pages::contact),
        )
        .route(
            "/kiosk/flexible",
            get(pages::flexible_page).post(pages::flexible),
        )
        .route("/kiosk/print", get(pages::print_page))
        .route("/kiosk/print/rights.pdf", get(pages::rights_pdf))
        .route("/kiosk/print/certificate.pdf", get(pages::certificate_pdf))
        .route("/kiosk/exit", post(pages::exit))
        .route("/kiosk/ping", post(pages::ping))
        .layer(axum::middleware::from_fn(kiosk_layer))
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
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

/// A query parameter's value (first occurrence).
fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
}

/// The language asked for in the query string, if any.
fn query_lang(query: Option<&str>) -> Option<bool> {
    let v = query_param(query, "lang")?;
    if v.eq_ignore_ascii_case("en") {
        Some(true)
    } else if v.to_ascii_lowercase().starts_with("zh") {
        Some(false)
    } else {
        None
    }
}

/// Sets the language and terminal cookies when the query string asks, marks pages as not
/// cacheable (they hold personal data) and sends the content security policy.
async fn kiosk_layer(req: Request, next: Next) -> Response {
    let lang = query_lang(req.uri().query());
    let terminal =
        query_param(req.uri().query(), "terminal").and_then(|t| kiosk::parse_terminal_id(t).ok());
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if let Some(en) = lang {
        let v = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            if en { "en" } else { "zh" }
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(header::SET_COOKIE, v);
        }
    }
    if let Some(t) = terminal {
        let v = format!(
            "{TERMINAL_COOKIE}={t}; Path=/kiosk; Max-Age=315360000; HttpOnly; SameSite=Strict"
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(header::SET_COOKIE, v);
        }
    }
    let is_asset = h.get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"text/css") || v.as_bytes().starts_with(b"text/javascript")
    });
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'self'; \
             frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// The page language: the query string's `lang`, else the `lang` cookie, else zh-CN.
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub KMsg);

fn lang_of(parts: &Parts) -> KMsg {
    let en = query_lang(parts.uri.query())
        .unwrap_or_else(|| cookie(&parts.headers, LANG_COOKIE).is_some_and(|v| v == "en"));
    KMsg { en }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(lang_of(parts)))
    }
}

/// This kiosk's terminal id: the query string's `terminal` (being set), else the cookie,
/// else [`DEFAULT_TERMINAL`].
#[derive(Debug, Clone)]
pub struct Terminal(pub String);

fn terminal_of(parts: &Parts) -> String {
    query_param(parts.uri.query(), "terminal")
        .map(str::to_string)
        .or_else(|| cookie(&parts.headers, TERMINAL_COOKIE))
        .and_then(|t| kiosk::parse_terminal_id(&t).ok())
        .unwrap_or_else(|| DEFAULT_TERMINAL.to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for Terminal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Terminal(terminal_of(parts)))
    }
}

/// The session cookie's header: the token, or clearing it with `None`.
pub fn session_cookie(token: Option<&str>) -> HeaderValue {
    let v = match token {
        Some(t) => format!("{KIOSK_COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/kiosk"),
        None => format!("{KIOSK_COOKIE}=; HttpOnly; SameSite=Strict; Path=/kiosk; Max-Age=0"),
    };
    HeaderValue::from_str(&v)
        .unwrap_or_else(|_| HeaderValue::from_static("sscard_kiosk=; Max-Age=0"))
}

/// A redirect that also forgets the session cookie.
pub fn home_redirect(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, session_cookie(None));
    r
}

/// Where a session error leads: home (noting a timeout), or the PIN page.
fn session_refusal(e: &ServiceError) -> Response {
    match e.code {
        "KIOSK_SESSION_EXPIRED" => home_redirect("/kiosk/?timeout=1"),
        "KIOSK_PIN_REQUIRED" => Redirect::to("/kiosk/pin").into_response(),
        "KIOSK_SESSION_MISSING" | "KIOSK_TERMINAL_MISMATCH" => home_redirect("/kiosk/"),
        _ => home_redirect("/kiosk/?error=1"),
    }
}

/// A kiosk session on a page: the holder after the PIN ([`Holder`]) or the card just read
/// ([`Pending`]).
#[derive(Debug, Clone)]
pub struct Visit {
    pub s: KioskSession,
    pub token: String,
    pub k: KMsg,
}

impl Visit {
    /// The 403 page unless the form carries this session's CSRF token.
    pub fn csrf_refusal(&self, f: &Fields) -> Option<Response> {
        let sent = f.get("csrf_token");
        if constant_time_eq(sent.as_bytes(), self.s.csrf_token.as_bytes()) {
            None
        } else {
            Some(error_page(
                self.k,
                Some(self),
                &ServiceError::new(
                    ErrorKind::Forbidden,
                    "CSRF_INVALID",
                    "表单已失效,请返回重新操作",
                    "The form has expired: go back and try again",
                ),
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn resolve(parts: &Parts, state: &AppState, ready: bool) -> Result<Visit, Response> {
    let k = lang_of(parts);
    let terminal = terminal_of(parts);
    let Some(token) = cookie(&parts.headers, KIOSK_COOKIE).filter(|t| !t.is_empty()) else {
        return Err(Redirect::to("/kiosk/").into_response());
    };
    let t = token.clone();
    match blocking(&state.app, move |app| {
        kiosk::session(app, &t, &terminal, ready)
    })
    .await
    {
        Ok(s) => Ok(Visit { s, token, k }),
        Err(e) if e.0.code.starts_with("KIOSK_") => Err(session_refusal(&e.0)),
        Err(e) => Err(error_page(k, None, &e.0)),
    }
}

/// The holder, after the PIN was verified.
#[derive(Debug, Clone)]
pub struct Holder(pub Visit);

impl FromRequestParts<AppState> for Holder {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        resolve(parts, state, true).await.map(Holder)
    }
}

/// A session whose PIN may not be verified yet (the PIN page).
#[derive(Debug, Clone)]
pub struct Pending(pub Visit);

impl FromRequestParts<AppState> for Pending {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        resolve(parts, state, false).await.map(Pending)
    }
}

/// Renders a template with `status`.
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "kiosk template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(
                    "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>系统内部错误</title>\
                     <h1>系统内部错误 / Internal error</h1><p><a href=\"/kiosk/\">返回首页 / Home</a></p></html>"
                        .to_string(),
                ),
            )
                .into_response()
        }
    }
}

/// A whole-page error (code + message in the page's language) with the error's status.
pub fn error_page(k: KMsg, visit: Option<&Visit>, e: &ServiceError) -> Response {
    let page = views::ErrorPage {
        c: views::Chrome::new(k, visit, k.t("error.title"), "/kiosk/"),
        error: views::ErrorView::of(k, e),
    };
    render(crate::error::status_of(e.kind), &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        assert_eq!(query_lang(Some("lang=en")), Some(true));
        assert_eq!(query_lang(Some("terminal=T1&lang=zh-CN")), Some(false));
        assert_eq!(query_lang(Some("lang=fr")), None);
        assert_eq!(query_param(Some("a=1&terminal=T9"), "terminal"), Some("T9"));
        assert_eq!(query_param(None, "terminal"), None);
    }

    #[test]
    fn csrf_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"", b""));
    }
}
