//! Login, logout and the (forced) password change.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use sscard_service::audit::Channel;
use sscard_service::staff;
use sscard_service::{ErrorKind, ServiceError};

use super::views::{Chrome, ErrorView};
use super::{Fields, Lang, Msg, Params, Staff, StaffPendingPassword, render, see_other};
use crate::AppState;
use crate::api::blocking;
use crate::auth::SESSION_COOKIE;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    c: Chrome,
    username: String,
    expired: bool,
    error: Option<ErrorView>,
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage {
    c: Chrome,
    forced: bool,
    error: Option<ErrorView>,
}

fn login_view(m: Msg, username: String, expired: bool, error: Option<ErrorView>) -> LoginPage {
    LoginPage {
        c: Chrome::new(m, None, m.t("login.title"), "", "/console/login"),
        username,
        expired,
        error,
    }
}

/// `GET /console/login`.
pub async fn login_page(Lang(m): Lang, Params(q): Params) -> Response {
    let expired = q.opt("expired").is_some();
    render(StatusCode::OK, &login_view(m, String::new(), expired, None))
}

fn session_cookie(token: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sscard_session=; Path=/; Max-Age=0"))
}

/// `POST /console/login`: on success sets the session cookie and goes to the console (or to
/// the forced password change); on failure shows the error (tries left, lockout) in the form.
pub async fn login(State(s): State<AppState>, Lang(m): Lang, f: Fields) -> Response {
    let username = f.get("username").to_string();
    let password =
        f.0.iter()
            .rev()
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
    let u = username.clone();
    match blocking(&s.app, move |app| {
        staff::login(app, &u, &password, Channel::Counter)
    })
    .await
    {
        Ok(ok) => {
            let to = if ok.session.must_change_password {
                "/console/password"
            } else {
                "/console/"
            };
            let mut resp = see_other(to);
            resp.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&ok.token, None));
            resp
        }
        Err(e) => {
            let status = crate::error::status_of(e.0.kind);
            render(
                status,
                &login_view(m, username, false, Some(ErrorView::of(m, &e.0))),
            )
        }
    }
}

/// `POST /console/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(s): State<AppState>,
    StaffPendingPassword(staff): StaffPendingPassword,
    f: Fields,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let token = staff.token.clone();
    if let Err(e) = blocking(&s.app, move |app| staff::logout(app, &token)).await {
        return super::error_page(staff.m, Some(&staff), &e.0);
    }
    let mut resp = see_other("/console/login");
    resp.headers_mut()
        .append(header::SET_COOKIE, session_cookie("", Some(0)));
    resp
}

fn password_view(staff: &Staff, error: Option<ErrorView>) -> PasswordPage {
    PasswordPage {
        c: staff.chrome(staff.m.t("password.title"), "", "/console/password"),
        forced: staff.session.must_change_password,
        error,
    }
}

/// `GET /console/password`.
pub async fn password_page(StaffPendingPassword(staff): StaffPendingPassword) -> Response {
    render(StatusCode::OK, &password_view(&staff, None))
}

/// `POST /console/password`.
pub async fn change_password(
    State(s): State<AppState>,
    StaffPendingPassword(staff): StaffPendingPassword,
    f: Fields,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let raw = |name: &str| {
        f.0.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (current, new, confirm) = (
        raw("current_password"),
        raw("new_password"),
        raw("confirm_password"),
    );
    let m = staff.m;
    if new != confirm {
        let e = ServiceError::new(
            ErrorKind::BadRequest,
            "PASSWORD_MISMATCH",
            Msg { en: false }.t("password.mismatch"),
            Msg { en: true }.t("password.mismatch"),
        );
        return render(
            StatusCode::BAD_REQUEST,
            &password_view(&staff, Some(ErrorView::of(m, &e))),
        );
    }
    let token = staff.token.clone();
    match blocking(&s.app, move |app| {
        staff::change_password(app, &token, &current, &new)
    })
    .await
    {
        Ok(()) => see_other("/console/?done=password"),
        Err(e) => render(
            crate::error::status_of(e.0.kind),
            &password_view(&staff, Some(ErrorView::of(m, &e.0))),
        ),
    }
}
