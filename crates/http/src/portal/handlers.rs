//! The portal's pages: parse, call the service on the blocking pool, render.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sscard_domain::ids::RegionCode;
use sscard_service::cards::loss::{self, LossKind, LossRequest};
use sscard_service::selfservice::records::{self, PersonRecords};
use sscard_service::selfservice::{auth, certificate, guide};
use sscard_service::{ErrorKind, ServiceError};

use super::views::{
    self, AgenciesPage, Area, CardBox, CardPage, CertificatePage, Choice, Chrome, EcardPage,
    ErrorView, GuidePage, GuideTopic, HomePage, HotlinesPage, PasswordPage, RecordsPage,
    VerifyPage, local_time, new_fact, new_table, yuan,
};
use super::{
    Holder, HolderPending, LOGIN_CSRF_COOKIE, MaybeHolder, PLang, Tr, constant_time_eq, error_page,
    render, session_cookie,
};
use crate::AppState;
use crate::api::blocking;
use crate::auth::cookie;
use crate::console::{Fields, Params};

fn see_other(to: &str) -> Response {
    axum::response::Redirect::to(to).into_response()
}

/// A raw (untrimmed) form field: passwords and PINs are taken as typed.
fn raw(f: &Fields, name: &str) -> String {
    f.0.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn random_token() -> String {
    sscard_service::secrets::random_salt()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn login_csrf_cookie(v: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={v}; HttpOnly; SameSite=Strict; Path=/portal"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sscard_portal_csrf=; Path=/portal"))
}

fn home_page(
    t: Tr,
    id_number: String,
    expired: bool,
    logged_out: bool,
    error: Option<ErrorView>,
    status: StatusCode,
) -> Response {
    let csrf = random_token();
    let page = HomePage {
        c: Chrome::new(t, None, t.t("home.title"), "", "/portal/"),
        id_number,
        login_csrf: csrf.clone(),
        expired,
        logged_out,
        error,
    };
    let mut resp = render(status, &page);
    resp.headers_mut()
        .append(header::SET_COOKIE, login_csrf_cookie(&csrf));
    resp
}

/// `GET /portal/`: the login form and the public pages; a logged-in holder goes to their
/// basic information.
pub async fn home(PLang(t): PLang, MaybeHolder(h): MaybeHolder, Params(q): Params) -> Response {
    if h.is_some() {
        return see_other("/portal/me");
    }
    home_page(
        t,
        String::new(),
        q.opt("expired").is_some(),
        q.opt("bye").is_some(),
        None,
        StatusCode::OK,
    )
}

/// `POST /portal/login`.
pub async fn login(
    State(s): State<AppState>,
    PLang(t): PLang,
    headers: axum::http::HeaderMap,
    f: Fields,
) -> Response {
    let id_number = f.get("id_number").to_string();
    let sent = f.get("csrf_token");
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return home_page(
            t,
            id_number,
            false,
            false,
            Some(ErrorView::of(t, &super::csrf_error())),
            StatusCode::FORBIDDEN,
        );
    }
    let password = raw(&f, "password");
    let id = id_number.clone();
    match blocking(&s.app, move |app| auth::login(app, &id, &password)).await {
        Ok(ok) => {
            let to = if ok.session.must_change_password {
                "/portal/password"
            } else {
                "/portal/me"
            };
            let mut resp = see_other(to);
            resp.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&ok.token, None));
            resp
        }
        Err(e) => home_page(
            t,
            id_number,
            false,
            false,
            Some(ErrorView::of(t, &e.0)),
            crate::error::status_of(e.0.kind),
        ),
    }
}

/// `POST /portal/logout`.
pub async fn logout(
    State(s): State<AppState>,
    HolderPending(h): HolderPending,
    f: Fields,
) -> Response {
    if let Some(r) = h.csrf_refusal(&f) {
        return r;
    }
    let token = h.token.clone();
    if let Err(e) = blocking(&s.app, move |app| auth::logout(app, &token)).await {
        return error_page(h.t, Some(&h), &e.0);
    }
    let mut resp = see_other("/portal/?bye=1");
    resp.headers_mut()
        .append(header::SET_COOKIE, session_cookie("", Some(0)));
    resp
}

fn password_view(h: &Holder, done: bool, error: Option<ErrorView>) -> PasswordPage {
    PasswordPage {
        c: Chrome::new(
            h.t,
            Some(h),
            h.t.t("password.title"),
            "password",
            "/portal/password",
        ),
        forced: h.session.must_change_password,
        done,
        error,
    }
}

/// `GET /portal/password`.
pub async fn password_page(HolderPending(h): HolderPending, Params(q): Params) -> Response {
    render(
        StatusCode::OK,
        &password_view(&h, q.opt("done").is_some(), None),
    )
}

/// `POST /portal/password`.
pub async fn change_password(
    State(s): State<AppState>,
    HolderPending(h): HolderPending,
    f: Fields,
) -> Response {
    if let Some(r) = h.csrf_refusal(&f) {
        return r;
    }
    let (current, new, confirm) = (
        raw(&f, "current_password"),
        raw(&f, "new_password"),
        raw(&f, "confirm_password"),
    );
    if new != confirm {
        let e = ServiceError::new(
            ErrorKind::BadRequest,
            "PASSWORD_MISMATCH",
            Tr { en: false }.t("password.mismatch"),
            Tr { en: true }.t("password.mismatch"),
        );
        return render(
            StatusCode::BAD_REQUEST,
            &password_view(&h, false, Some(ErrorView::of(h.t, &e))),
        );
    }
    let actor = h.session.actor();
    let pid = h.session.person_id;
    let token = h.token.clone();
    match blocking(&s.app, move |app| {
        auth::change_query_password(app, &actor, pid, &current, &new, Some(&token))
    })
    .await
    {
        Ok(()) => see_other("/portal/password?done=1"),
        Err(e) => render(
            crate::error::status_of(e.0.kind),
            &password_view(&h, false, Some(ErrorView::of(h.t, &e.0))),
        ),
    }
}

async fn load_records(s: &AppState, h: &Holder) -> Result<PersonRecords, Response> {
    let actor = h.session.actor();
    let pid = h.session.person_id;
    blocking(&s.app, move |app| records::person_records(app, &actor, pid))
        .await
        .map_err(|e| error_page(h.t, Some(h), &e.0))
}

async fn area_page(
    s: AppState,
    h: Holder,
    nav: &str,
    title_key: &str,
    build: fn(Tr, &PersonRecords) -> Area,
) -> Response {
    let r = match load_records(&s, &h).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let t = h.t;
    let page = RecordsPage {
        c: Chrome::new(t, Some(&h), t.t(title_key), nav, &format!("/portal/{nav}")),
        heading: t.t(title_key).to_string(),
        area: build(t, &r),
        years: Vec::new(),
        error: None,
    };
    render(StatusCode::OK, &page)
}

/// `GET /portal/me`.
pub async fn basic(State(s): State<AppState>, h: Holder) -> Response {
    area_page(s, h, "me", "nav.basic", views::basic_area).await
}

/// `GET /portal/pension`.
pub async fn pension(State(s): State<AppState>, h: Holder) -> Response {
    area_page(s, h, "pension", "nav.pension", views::pension_area).await
}

/// `GET /portal/medical`.
pub async fn medical(State(s): State<AppState>, h: Holder) -> Response {
    area_page(s, h, "medical", "nav.medical", views::medical_area).await
}

/// `GET /portal/unemployment`.
pub async fn unemployment(State(s): State<AppState>, h: Holder) -> Response {
    area_page(
        s,
        h,
        "unemployment",
        "nav.unemployment",
        views::unemployment_area,
    )
    .await
}

/// `GET /portal/injury`.
pub async fn injury(State(s): State<AppState>, h: Holder) -> Response {
    area_page(s, h, "injury", "nav.injury", views::injury_area).await
}

/// `GET /portal/maternity`.
pub async fn maternity(State(s): State<AppState>, h: Holder) -> Response {
    area_page(s, h, "maternity", "nav.maternity", views::maternity_area).await
}

/// `GET /portal/assistance`.
pub async fn assistance(State(s): State<AppState>, h: Holder) -> Response {
    area_page(s, h, "assistance", "nav.assistance", views::assistance_area).await
}

/// `GET /portal/health`.
pub async fn health(State(s): State<AppState>, h: Holder) -> Response {
    area_page(s, h, "health", "nav.health", views::health_area).await
}

/// `GET /portal/contributions?year=YYYY`.
pub async fn contributions(State(s): State<AppState>, h: Holder, Params(q): Params) -> Response {
    let t = h.t;
    let year = match q.opt("year") {
        None | Some("all") => None,
        Some(y) => match y.parse::<i32>() {
            Ok(y) => Some(y),
            Err(_) => {
                return error_page(
                    t,
                    Some(&h),
                    &ServiceError::new(
                        ErrorKind::BadRequest,
                        "YEAR_INVALID",
                        "年份无效",
                        "Invalid year",
                    ),
                );
            }
        },
    };
    let actor = h.session.actor();
    let pid = h.session.person_id;
    let hist = match blocking(&s.app, move |app| {
        records::contributions(app, &actor, pid, year)
    })
    .await
    {
        Ok(v) => v,
        Err(e) => return error_page(t, Some(&h), &e.0),
    };
    let mut years = vec![Choice {
        value: "all".into(),
        label: t.t("contrib.all_years").into(),
        selected: year.is_none(),
    }];
    years.extend(hist.years.iter().map(|y| Choice {
        value: y.to_string(),
        label: y.to_string(),
        selected: Some(*y) == year,
    }));
    let path = match year {
        Some(y) => format!("/portal/contributions?year={y}"),
        None => "/portal/contributions".into(),
    };
    let page = RecordsPage {
        c: Chrome::new(
            t,
            Some(&h),
            t.t("nav.contributions"),
            "contributions",
            &path,
        ),
        heading: t.t("nav.contributions").to_string(),
        area: views::contributions_area(t, &hist),
        years,
        error: None,
    };
    render(StatusCode::OK, &page)
}

fn channel_label(t: Tr, c: &str) -> String {
    t.label("channel", c)
}

async fn card_view(
    s: &AppState,
    h: &Holder,
    status: StatusCode,
    done: Option<String>,
    error: Option<ErrorView>,
) -> Response {
    let r = match load_records(s, h).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let t = h.t;
    let mut cards = Vec::new();
    let mut loss_card = None;
    for c in &r.cards {
        let v = &c.card;
        let mut facts = vec![
            new_fact(
                "status",
                t.t("f.card_status"),
                t.pick(&v.status_label, &v.status_label_en),
            ),
            new_fact(
                "card_no",
                t.t("f.card_no"),
                v.card_no.clone().unwrap_or_else(|| "—".into()),
            ),
            new_fact("applied", t.t("f.applied_at"), local_time(&v.applied_at)),
            new_fact(
                "pin",
                t.t("f.pin_state"),
                if v.pin_locked {
                    t.t("pin.locked")
                } else if v.pin_changed {
                    t.t("pin.enabled")
                } else {
                    t.t("pin.initial")
                },
            ),
            new_fact(
                "bank",
                t.t("f.bank_status"),
                t.label("bank", &v.bank_status),
            ),
        ];
        if let Some(e) = &v.expires_on {
            facts.push(new_fact("expires", t.t("f.expires_on"), e.clone()));
        }
        let mut tl = new_table(
            t,
            "timeline",
            t.t("c.timeline"),
            &["h.time", "h.event", "h.status_after", "h.channel"],
            &[],
        );
        for e in &c.timeline {
            tl.rows.push(vec![
                local_time(&e.at),
                t.pick(&e.event_label, &e.event_label_en).to_string(),
                t.pick(&e.to_status_label, &e.to_status_label_en)
                    .to_string(),
                channel_label(t, &e.channel),
            ]);
        }
        let kind = if v.kind == "temporary" {
            t.t("card.temporary")
        } else {
            t.t("card.regular")
        };
        if c.live
            && loss_card.is_none()
            && matches!(v.status.as_str(), "active" | "collected")
            && let Some(no) = &v.card_no
        {
            loss_card = Some(no.clone());
        }
        cards.push(CardBox {
            title: format!(
                "{kind} {}",
                v.card_no
                    .clone()
                    .unwrap_or_else(|| t.t("card.no_number").into())
            ),
            facts,
            timeline: tl,
            live: c.live,
        });
    }
    let page = CardPage {
        c: Chrome::new(t, Some(h), t.t("nav.card"), "card", "/portal/card"),
        cards,
        loss_card,
        done,
        error,
    };
    render(status, &page)
}

/// `GET /portal/card`: the cards, their timelines and the loss report form.
pub async fn card(State(s): State<AppState>, h: Holder) -> Response {
    card_view(&s, &h, StatusCode::OK, None, None).await
}

/// `POST /portal/card/loss`: a temporary loss report with the card's PIN (the same rule as
/// every self-service channel).
pub async fn report_loss(State(s): State<AppState>, h: Holder, f: Fields) -> Response {
    if let Some(r) = h.csrf_refusal(&f) {
        return r;
    }
    let t = h.t;
    if !f.checked("confirm") {
        let e = ServiceError::new(
            ErrorKind::BadRequest,
            "CONFIRM_REQUIRED",
            Tr { en: false }.t("loss.confirm_required"),
            Tr { en: true }.t("loss.confirm_required"),
        );
        return card_view(
            &s,
            &h,
            StatusCode::BAD_REQUEST,
            None,
            Some(ErrorView::of(t, &e)),
        )
        .await;
    }
    // The card is the holder's own live card, never one named by the form.
    let r = match load_records(&s, &h).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Some(card_no) = r
        .cards
        .iter()
        .find(|c| c.live && matches!(c.card.status.as_str(), "active" | "collected"))
        .and_then(|c| c.card.card_no.clone())
    else {
        let e = ServiceError::new(
            ErrorKind::Conflict,
            "NO_CARD_TO_REPORT",
            Tr { en: false }.t("loss.no_card"),
            Tr { en: true }.t("loss.no_card"),
        );
        return card_view(
            &s,
            &h,
            StatusCode::CONFLICT,
            None,
            Some(ErrorView::of(t, &e)),
        )
        .await;
    };
    let pin = raw(&f, "pin");
    let actor = h.session.actor();
    match blocking(&s.app, move |app| {
        loss::report(
            app,
            &actor,
            &card_no,
            &LossRequest {
                kind: LossKind::Temporary,
                pin: Some(pin),
                presented_doc_number: None,
            },
        )
    })
    .await
    {
        Ok(res) => {
            let until = res
                .expires_at
                .as_deref()
                .map(local_time)
                .unwrap_or_default();
            let msg = format!("{}{until}", t.t("loss.done"));
            card_view(&s, &h, StatusCode::OK, Some(msg), None).await
        }
        Err(e) => {
            card_view(
                &s,
                &h,
                crate::error::status_of(e.0.kind),
                None,
                Some(ErrorView::of(t, &e.0)),
            )
            .await
        }
    }
}

fn certificate_view(h: &Holder, code: Option<String>, error: Option<ErrorView>) -> CertificatePage {
    CertificatePage {
        c: Chrome::new(
            h.t,
            Some(h),
            h.t.t("nav.certificate"),
            "certificate",
            "/portal/certificate",
        ),
        code,
        error,
    }
}

/// `GET /portal/certificate`.
pub async fn certificate_page(h: Holder, Params(q): Params) -> Response {
    let code = q.opt("code").and_then(|c| certificate::parse_code(c).ok());
    render(StatusCode::OK, &certificate_view(&h, code, None))
}

/// `POST /portal/certificate`: issues a certificate and shows its code and download link.
pub async fn issue_certificate(State(s): State<AppState>, h: Holder, f: Fields) -> Response {
    if let Some(r) = h.csrf_refusal(&f) {
        return r;
    }
    let actor = h.session.actor();
    let pid = h.session.person_id;
    match blocking(&s.app, move |app| {
        certificate::issue_insurance_certificate(app, &actor, pid)
    })
    .await
    {
        Ok(c) => see_other(&format!("/portal/certificate?code={}", c.code)),
        Err(e) => render(
            crate::error::status_of(e.0.kind),
            &certificate_view(&h, None, Some(ErrorView::of(h.t, &e.0))),
        ),
    }
}

/// `GET /portal/certificates/{code}`: the PDF of the holder's own certificate.
pub async fn certificate_pdf(
    State(s): State<AppState>,
    h: Holder,
    Path(code): Path<String>,
) -> Response {
    let actor = h.session.actor();
    let c = code.trim_end_matches(".pdf").to_string();
    match blocking(&s.app, move |app| {
        let code = certificate::parse_code(&c)?;
        let pdf = certificate::certificate_pdf(app, &actor, &code)?;
        Ok((code, pdf))
    })
    .await
    {
        Ok((code, pdf)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"canbao-{code}.pdf\""),
                ),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => error_page(h.t, Some(&h), &e.0),
    }
}

/// `GET /portal/verify?code=…` (public): checks a certificate's verification code.
pub async fn verify(
    State(s): State<AppState>,
    PLang(t): PLang,
    MaybeHolder(h): MaybeHolder,
    Params(q): Params,
) -> Response {
    let code = q.get("code").to_string();
    let path = "/portal/verify";
    let mut page = VerifyPage {
        c: Chrome::new(t, h.as_ref(), t.t("nav.verify"), "verify", path),
        code: code.clone(),
        result: None,
        valid: false,
        error: None,
    };
    if code.is_empty() {
        return render(StatusCode::OK, &page);
    }
    match blocking(&s.app, move |app| certificate::verify_code(app, &code)).await {
        Ok(c) => {
            page.valid = c.valid;
            let span = match (&c.first_month, &c.last_month) {
                (Some(a), Some(b)) => format!("{a} — {b}"),
                _ => "—".into(),
            };
            page.result = Some(vec![
                new_fact("code", t.t("f.code"), c.code.clone()),
                new_fact("holder", t.t("f.name"), c.holder_name_masked),
                new_fact("doc", t.t("f.ssn"), c.doc_number_masked),
                new_fact(
                    "region",
                    t.t("f.region"),
                    format!("{}({})", c.region_name, c.region_code),
                ),
                new_fact("issued", t.t("f.issued_at"), local_time(&c.issued_at)),
                new_fact("span", t.t("f.span"), span),
                new_fact(
                    "months",
                    t.t("f.months_shown"),
                    format!("{} {}", c.months, t.t("common.months")),
                ),
                new_fact("personal", t.t("f.personal_total"), yuan(c.personal_fen)),
                new_fact("employer", t.t("f.employer_total"), yuan(c.employer_fen)),
            ]);
            page.code = c.code;
            render(StatusCode::OK, &page)
        }
        Err(e) => {
            page.error = Some(ErrorView::of(t, &e.0));
            render(crate::error::status_of(e.0.kind), &page)
        }
    }
}

async fn region_choices(s: &AppState, selected: &str, with_all: Option<&str>) -> Vec<Choice> {
    let hot = blocking(&s.app, guide::hotlines).await.unwrap_or_default();
    let mut out: Vec<Choice> = with_all
        .map(|label| Choice {
            value: String::new(),
            label: label.to_string(),
            selected: selected.is_empty(),
        })
        .into_iter()
        .collect();
    out.extend(hot.into_iter().map(|h| Choice {
        selected: h.region_code == selected,
        label: format!("{}({})", h.region_name, h.region_code),
        value: h.region_code,
    }));
    out
}

/// `GET /portal/guide?region=…` (public): the service guide of a region, from its policy.
pub async fn guide(
    State(s): State<AppState>,
    PLang(t): PLang,
    MaybeHolder(h): MaybeHolder,
    Params(q): Params,
) -> Response {
    let region = q
        .opt("region")
        .map(str::to_string)
        .or_else(|| h.as_ref().map(|h| h.session.region_code.clone()))
        .unwrap_or_else(|| "511000".to_string());
    let path = format!("/portal/guide?region={region}");
    let regions = region_choices(&s, &region, None).await;
    let r = region.clone();
    let mut page = GuidePage {
        c: Chrome::new(t, h.as_ref(), t.t("nav.guide"), "guide", &path),
        regions,
        region_name: String::new(),
        hotline: String::new(),
        local_hotline: String::new(),
        topics: Vec::new(),
        error: None,
    };
    match blocking(&s.app, move |app| guide::service_guide(app, &r)).await {
        Ok(g) => {
            page.region_name = g.region_name;
            page.hotline = g.hotline;
            page.local_hotline = g.local_hotline;
            page.topics = g
                .sections
                .into_iter()
                .map(|sec| GuideTopic {
                    key: sec.key,
                    title: if t.en { sec.title_en } else { sec.title },
                    steps: if t.en { sec.steps_en } else { sec.steps },
                })
                .collect();
            render(StatusCode::OK, &page)
        }
        Err(e) => {
            page.error = Some(ErrorView::of(t, &e.0));
            render(crate::error::status_of(e.0.kind), &page)
        }
    }
}

/// `GET /portal/agencies?region=…&q=…` (public): the agency directory.
pub async fn agencies(
    State(s): State<AppState>,
    PLang(t): PLang,
    MaybeHolder(h): MaybeHolder,
    Params(q): Params,
) -> Response {
    let region = q.get("region").to_string();
    let text = q.get("q").to_string();
    let regions = region_choices(&s, &region, Some(t.t("agencies.all"))).await;
    let mut table = new_table(
        t,
        "agencies",
        t.t("c.agencies"),
        &["h.agency", "h.district", "h.phone", "h.address"],
        &[],
    );
    let (r, x) = (region.clone(), text.clone());
    let result = blocking(&s.app, move |app| guide::agencies(app, Some(&r), Some(&x))).await;
    let mut error = None;
    let status = match result {
        Ok(list) => {
            for a in list {
                let district = RegionCode::parse(&a.region_code)
                    .map(|c| c.full_name())
                    .unwrap_or_else(|_| a.region_code.clone());
                table.rows.push(vec![a.name, district, a.phone, a.address]);
            }
            StatusCode::OK
        }
        Err(e) => {
            error = Some(ErrorView::of(t, &e.0));
            crate::error::status_of(e.0.kind)
        }
    };
    let page = AgenciesPage {
        c: Chrome::new(
            t,
            h.as_ref(),
            t.t("nav.agencies"),
            "agencies",
            "/portal/agencies",
        ),
        regions,
        q: text,
        table,
        error,
    };
    render(status, &page)
}

/// `GET /portal/hotlines` (public).
pub async fn hotlines(
    State(s): State<AppState>,
    PLang(t): PLang,
    MaybeHolder(h): MaybeHolder,
) -> Response {
    let list = match blocking(&s.app, guide::hotlines).await {
        Ok(l) => l,
        Err(e) => return error_page(t, h.as_ref(), &e.0),
    };
    let mut table = new_table(
        t,
        "hotlines",
        t.t("c.hotlines"),
        &["h.region", "h.national", "h.local"],
        &[],
    );
    for l in list {
        table.rows.push(vec![
            format!("{}({})", l.region_name, l.region_code),
            l.hotline,
            l.local_hotline,
        ]);
    }
    let page = HotlinesPage {
        c: Chrome::new(
            t,
            h.as_ref(),
            t.t("nav.hotlines"),
            "hotlines",
            "/portal/hotlines",
        ),
        table,
    };
    render(StatusCode::OK, &page)
}

/// `GET /portal/ecard`: the electronic card's QR code (valid for a minute, one settlement).
pub async fn ecard(State(s): State<AppState>, h: Holder) -> Response {
    let t = h.t;
    let actor = h.session.actor();
    let pid = h.session.person_id;
    let mut page = EcardPage {
        c: Chrome::new(t, Some(&h), t.t("nav.ecard"), "ecard", "/portal/ecard"),
        svg: None,
        card_no_masked: String::new(),
        expires_local: String::new(),
        ttl_secs: 0,
        error: None,
    };
    match blocking(&s.app, move |app| {
        sscard_service::ecard::issue_qr(app, &actor, pid)
    })
    .await
    {
        Ok(qr) => {
            page.svg = Some(qr.svg);
            page.card_no_masked = qr.card_no_masked;
            page.expires_local = local_time(&qr.expires_at);
            page.ttl_secs = qr.ttl_secs;
            render(StatusCode::OK, &page)
        }
        Err(e) => {
            page.error = Some(ErrorView::of(t, &e.0));
            render(crate::error::status_of(e.0.kind), &page)
        }
    }
}
