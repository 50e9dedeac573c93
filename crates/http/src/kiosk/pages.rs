//! The kiosk's pages: home (read the card), the PIN pad, the menu, the seven query categories
//! and the self-service actions. Handlers parse, call the service on the blocking pool and
//! render; every rule is the service's.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sscard_service::kiosk::{self, EndReason, TypedCardReader, TypedIdCardReader};
use sscard_service::selfservice::{certificate, records};
use sscard_service::{ErrorKind, ServiceError};

use super::views::{CATEGORIES, Chrome, ErrorView, Section, local_time, yuan};
use super::{
    Holder, KIOSK_COOKIE, KMsg, Lang, Pending, Terminal, Visit, error_page, home_redirect, render,
    session_cookie, session_refusal,
};
use crate::AppState;
use crate::api::blocking;
use crate::auth::cookie;
use crate::console::{Fields, Params};

fn status(e: &ServiceError) -> StatusCode {
    crate::error::status_of(e.kind)
}

/// The raw value of a form field (PINs: never trimmed nor logged).
fn raw(f: &Fields, name: &str) -> String {
    f.0.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

// ---- Home: insert the card or swipe the ID card ----

#[derive(Template)]
#[template(path = "kiosk/home.html")]
struct HomePage {
    c: Chrome,
    terminal: String,
    /// `card` or `id_card`.
    reader: String,
    notice: Option<&'static str>,
    error: Option<ErrorView>,
}

fn home_view(
    k: KMsg,
    terminal: String,
    reader: &str,
    notice: Option<&'static str>,
    error: Option<ErrorView>,
) -> HomePage {
    HomePage {
        c: Chrome::new(k, None, k.t("home.title"), "/kiosk/"),
        terminal,
        reader: if reader == "id_card" {
            "id_card"
        } else {
            "card"
        }
        .to_string(),
        notice,
        error,
    }
}

/// `GET /kiosk/`: `?timeout=1` after an idle timeout, `?bye=1` after 退卡.
pub async fn home(Lang(k): Lang, Terminal(terminal): Terminal, Params(q): Params) -> Response {
    let notice = if q.opt("timeout").is_some() {
        Some("home.timeout")
    } else if q.opt("bye").is_some() {
        Some("home.bye")
    } else if q.opt("error").is_some() {
        Some("home.again")
    } else {
        None
    };
    render(
        StatusCode::OK,
        &home_view(k, terminal, "card", notice, None),
    )
}

/// `POST /kiosk/insert`: the reader (`card` or `id_card`) and the number typed on the keypad.
pub async fn insert(
    State(s): State<AppState>,
    Lang(k): Lang,
    Terminal(terminal): Terminal,
    f: Fields,
) -> Response {
    let reader = f.get("reader").to_string();
    let typed = f.get("number").to_string();
    let t = terminal.clone();
    let r = reader.clone();
    let res = blocking(&s.app, move |app| {
        if r == "id_card" {
            kiosk::insert(app, &t, &TypedIdCardReader { typed })
        } else {
            kiosk::insert(app, &t, &TypedCardReader { typed })
        }
    })
    .await;
    match res {
        Ok(started) => {
            let mut resp = Redirect::to("/kiosk/pin").into_response();
            resp.headers_mut()
                .append(header::SET_COOKIE, session_cookie(Some(&started.token)));
            resp
        }
        Err(e) => render(
            status(&e.0),
            &home_view(k, terminal, &reader, None, Some(ErrorView::of(k, &e.0))),
        ),
    }
}

// ---- The PIN pad ----

#[derive(Template)]
#[template(path = "kiosk/pin.html")]
struct PinPage {
    c: Chrome,
    card_masked: String,
    via_id_card: bool,
    error: Option<ErrorView>,
}

fn pin_view(v: &Visit, error: Option<ErrorView>) -> PinPage {
    PinPage {
        c: Chrome::new(v.k, Some(v), v.k.t("pin.title"), "/kiosk/pin"),
        card_masked: v.s.card_no_masked.clone(),
        via_id_card: v.s.via == "id_card",
        error,
    }
}

/// `GET /kiosk/pin`.
pub async fn pin_page(Pending(v): Pending) -> Response {
    if v.s.ready {
        return Redirect::to("/kiosk/menu").into_response();
    }
    render(StatusCode::OK, &pin_view(&v, None))
}

/// A locked PIN ended the session: home, with where to unlock.
fn locked_home(k: KMsg, terminal: String, e: &ServiceError) -> Response {
    let mut resp = render(
        status(e),
        &home_view(k, terminal, "card", None, Some(ErrorView::of(k, e))),
    );
    resp.headers_mut()
        .append(header::SET_COOKIE, session_cookie(None));
    resp
}

/// `POST /kiosk/pin`: 【确认】 on the PIN pad.
pub async fn pin_submit(
    State(s): State<AppState>,
    Pending(v): Pending,
    Terminal(terminal): Terminal,
    f: Fields,
) -> Response {
    if let Some(r) = v.csrf_refusal(&f) {
        return r;
    }
    let pin = raw(&f, "pin");
    let token = v.token.clone();
    let t = terminal.clone();
    match blocking(&s.app, move |app| kiosk::enter_pin(app, &token, &t, &pin)).await {
        Ok(_) => Redirect::to("/kiosk/menu").into_response(),
        Err(e) if e.0.code == "PIN_LOCKED" => locked_home(v.k, terminal, &e.0),
        Err(e) if e.0.code.starts_with("KIOSK_") => session_refusal(&e.0),
        Err(e) => render(status(&e.0), &pin_view(&v, Some(ErrorView::of(v.k, &e.0)))),
    }
}

// ---- Menu and the seven categories ----

struct Tile {
    href: String,
    id: String,
    label: &'static str,
    hint: &'static str,
}

#[derive(Template)]
#[template(path = "kiosk/menu.html")]
struct MenuPage {
    c: Chrome,
    categories: Vec<Tile>,
    services: Vec<Tile>,
    card_status: String,
    card_lost: bool,
}

/// `GET /kiosk/menu`.
pub async fn menu(Holder(v): Holder) -> Response {
    let k = v.k;
    let categories = CATEGORIES
        .iter()
        .map(|(slug, key)| Tile {
            href: format!("/kiosk/info/{slug}"),
            id: format!("cat-{slug}"),
            label: k.t(key),
            hint: k.t(&format!("{key}.hint")),
        })
        .collect();
    let services = [
        ("pin-change", "svc.pin_change"),
        ("loss", "svc.loss"),
        ("print", "svc.print"),
        ("contact", "svc.contact"),
        ("flexible", "svc.flexible"),
    ]
    .iter()
    .map(|(slug, key)| Tile {
        href: format!("/kiosk/{slug}"),
        id: format!("svc-{slug}"),
        label: k.t(key),
        hint: k.t(&format!("{key}.hint")),
    })
    .collect();
    let page = MenuPage {
        c: Chrome::new(k, Some(&v), k.t("menu.title"), "/kiosk/menu"),
        categories,
        services,
        card_status: k
            .pick(&v.s.card_status_label, &v.s.card_status_label_en)
            .to_string(),
        card_lost: matches!(v.s.card_status.as_str(), "temporary_loss" | "written_loss"),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "kiosk/info.html")]
struct InfoPage {
    c: Chrome,
    slug: String,
    heading: String,
    as_of: String,
    sections: Vec<Section>,
}

/// `GET /kiosk/info/{category}`: one of the seven query categories, from the holder's records.
pub async fn info(
    State(s): State<AppState>,
    Holder(v): Holder,
    Path(slug): Path<String>,
) -> Response {
    let k = v.k;
    let Some((_, key)) = CATEGORIES.iter().find(|(c, _)| *c == slug) else {
        return error_page(
            k,
            Some(&v),
            &ServiceError::not_found("KIOSK_CATEGORY_UNKNOWN", "没有该查询项目", "No such query"),
        );
    };
    let actor = v.s.actor();
    let person = v.s.person_id;
    let r = match blocking(&s.app, move |app| {
        records::person_records(app, &actor, person)
    })
    .await
    {
        Ok(r) => r,
        Err(e) => return error_page(k, Some(&v), &e.0),
    };
    let sections = super::views::sections(k, &slug, &r).unwrap_or_default();
    let page = InfoPage {
        c: Chrome::new(k, Some(&v), k.t(key), &format!("/kiosk/info/{slug}")),
        heading: k.t(key).to_string(),
        as_of: r.as_of.clone(),
        slug,
        sections,
    };
    render(StatusCode::OK, &page)
}

// ---- Done page (after an action) ----

#[derive(Template)]
#[template(path = "kiosk/done.html")]
struct DonePage {
    c: Chrome,
    done: &'static str,
    heading: String,
    lines: Vec<String>,
}

fn done(v: &Visit, done: &'static str, heading: &str, lines: Vec<String>) -> Response {
    let page = DonePage {
        c: Chrome::new(v.k, Some(v), heading, "/kiosk/menu"),
        done,
        heading: heading.to_string(),
        lines,
    };
    render(StatusCode::OK, &page)
}

// ---- 卡密码修改 ----

#[derive(Template)]
#[template(path = "kiosk/pin_change.html")]
struct PinChangePage {
    c: Chrome,
    error: Option<ErrorView>,
}

fn pin_change_view(v: &Visit, error: Option<ErrorView>) -> PinChangePage {
    PinChangePage {
        c: Chrome::new(v.k, Some(v), v.k.t("svc.pin_change"), "/kiosk/pin-change"),
        error,
    }
}

/// `GET /kiosk/pin-change`.
pub async fn pin_change_page(Holder(v): Holder) -> Response {
    render(StatusCode::OK, &pin_change_view(&v, None))
}

/// `POST /kiosk/pin-change`: old PIN, new PIN, confirmation.
pub async fn pin_change(
    State(s): State<AppState>,
    Holder(v): Holder,
    Terminal(terminal): Terminal,
    f: Fields,
) -> Response {
    if let Some(r) = v.csrf_refusal(&f) {
        return r;
    }
    let (old, new, confirm) = (
        raw(&f, "old_pin"),
        raw(&f, "new_pin"),
        raw(&f, "confirm_pin"),
    );
    let (token, sess) = (v.token.clone(), v.s.clone());
    match blocking(&s.app, move |app| {
        kiosk::change_pin(app, &token, &sess, &old, &new, &confirm)
    })
    .await
    {
        Ok(_) => done(
            &v,
            "pin_changed",
            v.k.t("done.pin_changed"),
            vec![v.k.t("done.pin_changed.note").to_string()],
        ),
        Err(e) if e.0.code == "PIN_LOCKED" => locked_home(v.k, terminal, &e.0),
        Err(e) => render(
            status(&e.0),
            &pin_change_view(&v, Some(ErrorView::of(v.k, &e.0))),
        ),
    }
}

// ---- 挂失 (self-service loss pre-report) ----

#[derive(Template)]
#[template(path = "kiosk/loss.html")]
struct LossPage {
    c: Chrome,
    card_no: String,
    pin_changed: bool,
    already_lost: bool,
    error: Option<ErrorView>,
}

fn loss_view(v: &Visit, error: Option<ErrorView>) -> LossPage {
    LossPage {
        c: Chrome::new(v.k, Some(v), v.k.t("svc.loss"), "/kiosk/loss"),
        card_no: v.s.card_no.clone(),
        pin_changed: v.s.pin_changed,
        already_lost: matches!(v.s.card_status.as_str(), "temporary_loss" | "written_loss"),
        error,
    }
}

/// `GET /kiosk/loss`.
pub async fn loss_page(Holder(v): Holder) -> Response {
    render(StatusCode::OK, &loss_view(&v, None))
}

/// `POST /kiosk/loss`: confirmed with the PIN.
pub async fn loss(
    State(s): State<AppState>,
    Holder(v): Holder,
    Terminal(terminal): Terminal,
    f: Fields,
) -> Response {
    if let Some(r) = v.csrf_refusal(&f) {
        return r;
    }
    let pin = raw(&f, "pin");
    let (token, sess) = (v.token.clone(), v.s.clone());
    match blocking(&s.app, move |app| {
        kiosk::report_loss(app, &token, &sess, &pin)
    })
    .await
    {
        Ok(r) => {
            let k = v.k;
            let until = r.expires_at.as_deref().map(local_time).unwrap_or_default();
            done(
                &v,
                "loss_reported",
                k.t("done.loss"),
                vec![
                    format!("{}{}", k.t("done.loss.until"), until),
                    k.t("done.loss.note").to_string(),
                ],
            )
        }
        Err(e) if e.0.code == "PIN_LOCKED" => locked_home(v.k, terminal, &e.0),
        Err(e) => render(status(&e.0), &loss_view(&v, Some(ErrorView::of(v.k, &e.0)))),
    }
}

// ---- Own phone and address ----

#[derive(Template)]
#[template(path = "kiosk/contact.html")]
struct ContactPage {
    c: Chrome,
    phone_masked: String,
    address_now: String,
    phone: String,
    address: String,
    error: Option<ErrorView>,
}

/// `GET /kiosk/contact`.
pub async fn contact_page(State(s): State<AppState>, Holder(v): Holder) -> Response {
    let sess = v.s.clone();
    match blocking(&s.app, move |app| kiosk::contact(app, &sess)).await {
        Ok(c) => render(
            StatusCode::OK,
            &ContactPage {
                c: Chrome::new(v.k, Some(&v), v.k.t("svc.contact"), "/kiosk/contact"),
                phone_masked: c.phone_masked,
                address_now: c.address.clone(),
                phone: String::new(),
                address: c.address,
                error: None,
            },
        ),
        Err(e) => error_page(v.k, Some(&v), &e.0),
    }
}

/// `POST /kiosk/contact`: the new mobile number and address.
pub async fn contact(State(s): State<AppState>, Holder(v): Holder, f: Fields) -> Response {
    if let Some(r) = v.csrf_refusal(&f) {
        return r;
    }
    let (phone, address) = (f.get("phone").to_string(), raw(&f, "address"));
    let sess = v.s.clone();
    let (p, a) = (phone.clone(), address.clone());
    match blocking(&s.app, move |app| kiosk::update_contact(app, &sess, &p, &a)).await {
        Ok(c) => done(
            &v,
            "contact_updated",
            v.k.t("done.contact"),
            vec![
                format!("{}{}", v.k.t("f.phone"), c.phone_masked),
                format!("{}{}", v.k.t("f.address"), c.address),
            ],
        ),
        Err(e) => {
            let sess = v.s.clone();
            let now = blocking(&s.app, move |app| kiosk::contact(app, &sess))
                .await
                .ok();
            render(
                status(&e.0),
                &ContactPage {
                    c: Chrome::new(v.k, Some(&v), v.k.t("svc.contact"), "/kiosk/contact"),
                    phone_masked: now
                        .as_ref()
                        .map(|c| c.phone_masked.clone())
                        .unwrap_or_default(),
                    address_now: now.map(|c| c.address).unwrap_or_default(),
                    phone,
                    address,
                    error: Some(ErrorView::of(v.k, &e.0)),
                },
            )
        }
    }
}

// ---- Flexible-employment contribution level ----

struct LevelView {
    fen: i64,
    label: String,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "kiosk/flexible.html")]
struct FlexiblePage {
    c: Chrome,
    year: i32,
    current: String,
    levels: Vec<LevelView>,
    /// Why the holder cannot choose (not a flexible contributor).
    refusal: Option<ErrorView>,
    error: Option<ErrorView>,
}

async fn flexible_render(s: &AppState, v: &Visit, error: Option<ServiceError>) -> Response {
    let sess = v.s.clone();
    let k = v.k;
    let res = blocking(&s.app, move |app| kiosk::flexible_options(app, &sess)).await;
    let mut page = FlexiblePage {
        c: Chrome::new(k, Some(v), k.t("svc.flexible"), "/kiosk/flexible"),
        year: 0,
        current: String::new(),
        levels: Vec::new(),
        refusal: None,
        error: error.as_ref().map(|e| ErrorView::of(k, e)),
    };
    match res {
        Ok(o) => {
            page.year = o.year;
            page.current = o.current_base_fen.map(yuan).unwrap_or_else(|| "—".into());
            page.levels = o
                .levels_fen
                .iter()
                .map(|l| LevelView {
                    fen: *l,
                    label: yuan(*l),
                    chosen: o.chosen_fen == Some(*l),
                })
                .collect();
        }
        Err(e) => page.refusal = Some(ErrorView::of(k, &e.0)),
    }
    let code = error.as_ref().map(status).unwrap_or(StatusCode::OK);
    render(code, &page)
}

/// `GET /kiosk/flexible`.
pub async fn flexible_page(State(s): State<AppState>, Holder(v): Holder) -> Response {
    flexible_render(&s, &v, None).await
}

/// `POST /kiosk/flexible`: the chosen monthly base (fen).
pub async fn flexible(State(s): State<AppState>, Holder(v): Holder, f: Fields) -> Response {
    if let Some(r) = v.csrf_refusal(&f) {
        return r;
    }
    let Ok(level) = f.get("level").parse::<i64>() else {
        let e = ServiceError::new(
            ErrorKind::BadRequest,
            "FLEXIBLE_LEVEL_INVALID",
            "请选择一个缴费档次",
            "Choose a contribution level",
        );
        return flexible_render(&s, &v, Some(e)).await;
    };
    let sess = v.s.clone();
    match blocking(&s.app, move |app| {
        kiosk::choose_flexible_level(app, &sess, level)
    })
    .await
    {
        Ok(o) => done(
            &v,
            "flexible_chosen",
            v.k.t("done.flexible"),
            vec![format!(
                "{}{} {}",
                o.year,
                v.k.t("done.flexible.year"),
                o.chosen_fen.map(yuan).unwrap_or_default()
            )],
        ),
        Err(e) => flexible_render(&s, &v, Some(e.0)).await,
    }
}

// ---- Printing ----

#[derive(Template)]
#[template(path = "kiosk/print.html")]
struct PrintPage {
    c: Chrome,
}

/// `GET /kiosk/print`.
pub async fn print_page(Holder(v): Holder) -> Response {
    render(
        StatusCode::OK,
        &PrintPage {
            c: Chrome::new(v.k, Some(&v), v.k.t("svc.print"), "/kiosk/print"),
        },
    )
}

fn pdf(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /kiosk/print/rights.pdf`: the personal rights record (个人权益记录).
pub async fn rights_pdf(State(s): State<AppState>, Holder(v): Holder) -> Response {
    let sess = v.s.clone();
    match blocking(&s.app, move |app| {
        kiosk::rights::rights_record_pdf(app, &sess)
    })
    .await
    {
        Ok(b) => pdf("rights-record.pdf", b),
        Err(e) => error_page(v.k, Some(&v), &e.0),
    }
}

/// `GET /kiosk/print/certificate.pdf`: the certificate of insurance (参保证明).
pub async fn certificate_pdf(State(s): State<AppState>, Holder(v): Holder) -> Response {
    let (actor, person) = (v.s.actor(), v.s.person_id);
    match blocking(&s.app, move |app| {
        certificate::issue_insurance_certificate(app, &actor, person)
    })
    .await
    {
        Ok(c) => pdf("insurance-certificate.pdf", c.pdf),
        Err(e) => error_page(v.k, Some(&v), &e.0),
    }
}

// ---- 退卡, idle timeout, keep-alive ----

/// `POST /kiosk/exit`: 退卡 (`reason=take_card`) or the page's idle timer (`reason=idle`).
/// Always forgets the cookie and returns home; an existing session is ended (with the CSRF
/// token checked).
pub async fn exit(
    State(s): State<AppState>,
    Lang(k): Lang,
    Terminal(terminal): Terminal,
    headers: HeaderMap,
    f: Fields,
) -> Response {
    let idle = f.get("reason") == "idle";
    let to = if idle {
        "/kiosk/?timeout=1"
    } else {
        "/kiosk/?bye=1"
    };
    let Some(token) = cookie(&headers, KIOSK_COOKIE).filter(|t| !t.is_empty()) else {
        return home_redirect(to);
    };
    let t = token.clone();
    let session = blocking(&s.app, move |app| kiosk::session(app, &t, &terminal, false)).await;
    if let Ok(sess) = session {
        let v = Visit {
            s: sess,
            token: token.clone(),
            k,
        };
        if let Some(r) = v.csrf_refusal(&f) {
            return r;
        }
        let reason = if idle {
            EndReason::Idle
        } else {
            EndReason::TakeCard
        };
        if let Err(e) = blocking(&s.app, move |app| kiosk::end(app, &token, reason)).await {
            return error_page(k, None, &e.0);
        }
    }
    home_redirect(to)
}

/// `POST /kiosk/ping`: the page saw a touch; keeps the session alive (204), or 401 when it is
/// gone.
pub async fn ping(
    State(s): State<AppState>,
    Terminal(terminal): Terminal,
    headers: HeaderMap,
    f: Fields,
) -> Response {
    let token = cookie(&headers, KIOSK_COOKIE).unwrap_or_default();
    let t = token.clone();
    match blocking(&s.app, move |app| kiosk::session(app, &t, &terminal, false)).await {
        Ok(sess) => {
            if super::constant_time_eq(f.get("csrf_token").as_bytes(), sess.csrf_token.as_bytes()) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                StatusCode::FORBIDDEN.into_response()
            }
        }
        Err(e) if e.0.code.starts_with("KIOSK_") => StatusCode::UNAUTHORIZED.into_response(),
        Err(e) => e.into_response(),
    }
}
