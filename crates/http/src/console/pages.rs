//! Home, search, the person page and the new applicant's form.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sscard_domain::card::CardStatus;
use sscard_domain::divisions;
use sscard_domain::ids::DocumentType;
use sscard_service::cards::death::RELATIONSHIPS;
use sscard_service::cards::fees::{self, FeeView};
use sscard_service::persons::{self, CardDetail, PersonDetail, PersonSummary};
use sscard_service::reference;

use super::views::{Chrome, ErrorView, local_time, yuan};
use super::{Can, Msg, Params, Staff, error_page, render};
use crate::AppState;
use crate::api::blocking;

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    c: Chrome,
    done: bool,
}

/// `GET /console/`: the search box and shortcuts.
pub async fn home(staff: Staff, Params(q): Params) -> Response {
    let page = HomePage {
        c: staff.chrome(staff.m.t("home.title"), "home", "/console/"),
        done: q.opt("done").is_some(),
    };
    render(StatusCode::OK, &page)
}

/// A search result row.
struct ResultRow {
    href: String,
    name: String,
    doc_label: String,
    doc_masked: String,
    gender: String,
    birth_date: String,
    region: String,
    life: String,
    card: String,
    card_status: String,
    card_status_label: String,
}

#[derive(Template)]
#[template(path = "console/search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    searched: bool,
    rows: Vec<ResultRow>,
    error: Option<ErrorView>,
    /// The query looks like a document number: offer to register the person.
    offer_new: bool,
}

/// The name of a region code (the code itself when unknown).
pub fn region_name(code: &str) -> String {
    divisions::name(code)
        .map(|n| format!("{n}({code})"))
        .unwrap_or_else(|| code.to_string())
}

fn result_row(m: Msg, p: PersonSummary) -> ResultRow {
    let (card, card_status, card_status_label) = match &p.live_card {
        Some(c) => (
            c.card_no
                .clone()
                .unwrap_or_else(|| m.t("card.pending").into()),
            c.status.clone(),
            m.pick(&c.status_label, &c.status_label_en).to_string(),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    ResultRow {
        href: format!("/console/persons/{}", p.person_ref),
        doc_label: m.label("doc", &p.doc_type),
        doc_masked: p.doc_number_masked,
        gender: m.label("gender", &p.gender),
        birth_date: p.birth_date,
        region: region_name(&p.region_code),
        life: m.label("life", &p.life_status),
        name: p.name,
        card,
        card_status,
        card_status_label,
    }
}

/// `GET /console/search?q=…`: by document number, card number or name.
pub async fn search(State(s): State<AppState>, staff: Staff, Params(q): Params) -> Response {
    let m = staff.m;
    let q = q.get("q").to_string();
    let mut page = SearchPage {
        c: staff.chrome(
            m.t("search.title"),
            "search",
            &format!("/console/search?q={}", super::ops::enc(&q)),
        ),
        q: q.clone(),
        searched: !q.is_empty(),
        rows: Vec::new(),
        error: None,
        offer_new: false,
    };
    if q.is_empty() {
        return render(StatusCode::OK, &page);
    }
    let actor = staff.actor();
    let query = q.clone();
    match blocking(&s.app, move |app| persons::search(app, &actor, &query)).await {
        Ok(found) => {
            page.offer_new = found.is_empty()
                && staff.can().counter
                && q.len() >= 15
                && q.chars().all(|c| c.is_ascii_alphanumeric() || c == ':');
            page.rows = found.into_iter().map(|p| result_row(m, p)).collect();
            render(StatusCode::OK, &page)
        }
        Err(e) => {
            page.error = Some(ErrorView::of(m, &e.0));
            render(crate::error::status_of(e.0.kind), &page)
        }
    }
}

/// One timeline entry as shown.
pub struct EventRow {
    pub at: String,
    pub event: String,
    pub status: String,
    pub channel: String,
    pub actor: String,
    pub detail: String,
}

/// One card as shown, with the forms that fit its state.
pub struct CardBox {
    pub card_no: String,
    pub has_no: bool,
    pub kind: String,
    pub temporary: bool,
    pub status: String,
    pub status_label: String,
    pub live: bool,
    pub region: String,
    pub bank_status: String,
    pub account: String,
    pub applied_at: String,
    pub notice_date: String,
    pub at_card_centre: bool,
    pub expires_on: String,
    pub pin: String,
    pub pin_locked: bool,
    pub timeline: Vec<EventRow>,
    pub can_collect: bool,
    pub can_loss_temporary: bool,
    pub can_loss_written: bool,
    pub can_lift: bool,
    pub can_pin: bool,
    pub can_reissue: bool,
    pub can_replace: bool,
    pub can_cancel: bool,
}

impl CardBox {
    /// Whether any form is shown for this card.
    pub fn any_action(&self) -> bool {
        self.can_collect
            || self.can_loss_temporary
            || self.can_loss_written
            || self.can_lift
            || self.can_pin
            || self.can_reissue
            || self.can_replace
            || self.can_cancel
    }
}

fn detail_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn card_box(m: Msg, can: Can, c: &CardDetail) -> CardBox {
    let v = &c.card;
    let st = v.status.as_str();
    let temporary = v.kind == "temporary";
    let live = !matches!(st, "reissuing" | "replacing" | "cancelled" | "expired");
    let has_no = v.card_no.is_some();
    let counter = can.counter && has_no;
    let pin = if v.pin_locked {
        m.t("card.pin_locked").to_string()
    } else if v.pin_changed {
        m.t("card.pin_changed").to_string()
    } else {
        m.t("card.pin_initial").to_string()
    };
    CardBox {
        card_no: v.card_no.clone().unwrap_or_default(),
        has_no,
        kind: m
            .t(if temporary {
                "card.kind_temporary"
            } else {
                "card.kind_regular"
            })
            .to_string(),
        temporary,
        status: st.to_string(),
        status_label: m.pick(&v.status_label, &v.status_label_en).to_string(),
        live,
        region: region_name(&v.region_code),
        bank_status: m.label("bank", &v.bank_status),
        account: v.bank_account_masked.clone().unwrap_or_default(),
        applied_at: local_time(&v.applied_at),
        notice_date: v.notice_date.clone().unwrap_or_default(),
        at_card_centre: v.at_card_centre,
        expires_on: v.expires_on.clone().unwrap_or_default(),
        pin,
        pin_locked: v.pin_locked,
        timeline: c
            .timeline
            .iter()
            .rev()
            .map(|e| EventRow {
                at: local_time(&e.at),
                event: m.label("event", &e.event),
                status: CardStatus::parse(&e.to_status)
                    .map(|s| m.pick(s.label_zh(), s.label_en()).to_string())
                    .unwrap_or_else(|| e.to_status.clone()),
                channel: m.label("channel", &e.channel),
                actor: e.actor.clone(),
                detail: detail_text(&e.detail),
            })
            .collect(),
        can_collect: counter && st == "awaiting_collection",
        can_loss_temporary: can.temp_loss && has_no && matches!(st, "collected" | "active"),
        can_loss_written: counter && matches!(st, "collected" | "active" | "temporary_loss"),
        can_lift: counter && matches!(st, "temporary_loss" | "written_loss"),
        can_pin: counter && live && !matches!(st, "applied" | "in_production"),
        can_reissue: counter && !temporary && st == "written_loss",
        can_replace: counter
            && !temporary
            && matches!(st, "awaiting_collection" | "collected" | "active"),
        can_cancel: counter && live,
    }
}

/// A fee as shown.
pub struct FeeRow {
    pub receipt_no: String,
    pub kind: String,
    pub amount: String,
    pub card_no: String,
    pub at: String,
    pub staff: String,
}

fn fee_row(m: Msg, f: FeeView) -> FeeRow {
    FeeRow {
        kind: m.label("fee", &f.kind),
        amount: yuan(f.amount_fen),
        card_no: f.card_no.unwrap_or_default(),
        at: local_time(&f.at),
        staff: f.staff,
        receipt_no: f.receipt_no,
    }
}

/// The heirs' statement shown after a heir's claim was recorded.
pub struct HeirView {
    pub claim_id: i64,
    pub claim_status: String,
    pub deceased: String,
    pub died_on: String,
    pub medical_balance: String,
    pub pension: String,
    pub already_paid: bool,
    pub cards: Vec<(String, String)>,
    pub recent: Vec<(String, String, String)>,
}

/// A form error: which form it belongs to.
pub struct FormError {
    pub action: String,
    pub card_no: String,
    pub error: ErrorView,
}

impl FormError {
    /// Whether this error belongs to the form of `action` (for `card_no`, empty for person
    /// forms).
    pub fn is_for(&self, action: &str, card_no: &str) -> bool {
        self.action == action && self.card_no == card_no
    }
}

/// The person page.
#[derive(Template)]
#[template(path = "console/person.html")]
pub struct PersonPage {
    pub c: Chrome,
    pub person_ref: i64,
    pub name: String,
    pub doc_label: String,
    pub doc_number: String,
    pub doc_masked: String,
    pub gender: String,
    pub birth_date: String,
    pub ethnicity: String,
    pub phone: String,
    pub address: String,
    pub region: String,
    pub life: String,
    pub life_since: String,
    pub deceased: bool,
    pub photo: String,
    pub has_photo: bool,
    pub cards: Vec<CardBox>,
    pub fees: Vec<FeeRow>,
    /// No live regular card: a card may be applied for.
    pub can_apply: bool,
    /// No usable card: a temporary card may be issued.
    pub can_temporary: bool,
    pub done: Option<String>,
    pub done_extra: Option<String>,
    pub cert: Option<String>,
    pub error: Option<FormError>,
    pub heir: Option<HeirView>,
    pub relationships: Vec<(String, String)>,
    pub doc_types: Vec<(String, String)>,
    pub cancel_reasons: Vec<(String, String)>,
}

impl PersonPage {
    /// The error of the form `action` (of card `card_no`, empty for person forms).
    pub fn error_for(&self, action: &str, card_no: &str) -> Option<&ErrorView> {
        self.error
            .as_ref()
            .filter(|e| e.is_for(action, card_no))
            .map(|e| &e.error)
    }

    /// Whether the form `action` of card `card_no` is open (it has an error).
    pub fn open(&self, action: &str, card_no: &str) -> bool {
        self.error_for(action, card_no).is_some()
    }
}

/// Document types for select boxes: `(value, label)`.
pub fn doc_types(m: Msg) -> Vec<(String, String)> {
    DocumentType::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), m.label("doc", t.as_str())))
        .collect()
}

/// Builds the person page from the service's detail.
pub fn person_page(
    staff: &Staff,
    d: PersonDetail,
    fees: Vec<FeeView>,
    done: Option<&str>,
    cert: Option<String>,
) -> PersonPage {
    let m = staff.m;
    let can = staff.can();
    let p = d.person;
    let cards: Vec<CardBox> = d.cards.iter().map(|c| card_box(m, can, c)).collect();
    let deceased = p.life_status == "deceased";
    let normal = p.life_status == "normal";
    let live_regular = cards.iter().any(|c| c.live && !c.temporary);
    let usable = cards
        .iter()
        .any(|c| c.live && matches!(c.status.as_str(), "active"));
    let live_temporary = cards.iter().any(|c| c.live && c.temporary);
    let photo = match &d.photo {
        Some(ph) => format!(
            "{} · {}×{} · {}",
            ph.content_type,
            ph.width,
            ph.height,
            local_time(&ph.uploaded_at)
        ),
        None => String::new(),
    };
    let path = format!("/console/persons/{}", p.person_ref);
    PersonPage {
        c: staff.chrome(&p.name, "search", &path),
        person_ref: p.person_ref,
        doc_label: m.label("doc", &p.doc_type),
        doc_masked: p.doc_number_masked,
        doc_number: p.doc_number,
        gender: m.label("gender", &p.gender),
        birth_date: p.birth_date,
        ethnicity: p.ethnicity,
        phone: p.phone,
        address: p.address,
        region: region_name(&p.region_code),
        life: m.label("life", &p.life_status),
        life_since: p.life_status_since.unwrap_or_default(),
        deceased,
        has_photo: d.photo.is_some(),
        photo,
        name: p.name,
        cards,
        fees: fees.into_iter().map(|f| fee_row(m, f)).collect(),
        can_apply: can.counter && normal && !live_regular,
        can_temporary: can.counter && normal && !usable && !live_temporary,
        done: done.map(|a| m.label("action", a)),
        done_extra: None,
        cert,
        error: None,
        heir: None,
        relationships: RELATIONSHIPS
            .iter()
            .map(|r| (r.to_string(), m.label("relation", r)))
            .collect(),
        doc_types: doc_types(m),
        cancel_reasons: ["transfer_out", "emigration", "leaving_insurance", "death"]
            .iter()
            .map(|r| (r.to_string(), m.label("cancel", r)))
            .collect(),
    }
}

/// Loads what the person page shows.
pub async fn load_person(
    s: &AppState,
    staff: &Staff,
    person_ref: i64,
) -> Result<(PersonDetail, Vec<FeeView>), Response> {
    let actor = staff.actor();
    let r = blocking(&s.app, move |app| {
        let d = persons::detail_by_ref(app, &actor, person_ref)?;
        let f = fees::list_for_person(app, &actor, &d.person.doc_number).unwrap_or_default();
        Ok((d, f))
    })
    .await;
    r.map_err(|e| error_page(staff.m, Some(staff), &e.0))
}

/// `GET /console/persons/{id}`: basic information, every card with its timeline, the forms.
pub async fn person(
    State(s): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Params(q): Params,
) -> Response {
    let (d, f) = match load_person(&s, &staff, id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let cert = q
        .opt("cert")
        .filter(|c| c.len() <= 40 && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
        .map(str::to_string);
    let done = q
        .opt("done")
        .filter(|d| d.len() <= 40 && d.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
    let mut page = person_page(&staff, d, f, done, cert);
    page.done_extra = q.opt("info").filter(|i| i.len() <= 300).map(str::to_string);
    render(StatusCode::OK, &page)
}

/// The new applicant form.
#[derive(Template)]
#[template(path = "console/apply.html")]
pub struct ApplyPage {
    pub c: Chrome,
    pub doc_types: Vec<(String, String)>,
    pub regions: Vec<(String, String)>,
    pub doc_type: String,
    pub doc_number: String,
    pub name: String,
    pub gender: String,
    pub birth_date: String,
    pub phone: String,
    pub address: String,
    pub region: String,
    pub error: Option<ErrorView>,
}

/// The regions served, for select boxes.
pub async fn regions(s: &AppState) -> Vec<(String, String)> {
    blocking(&s.app, reference::list_regions)
        .await
        .map(|rs| rs.into_iter().map(|r| (r.code, r.name)).collect())
        .unwrap_or_default()
}

/// `GET /console/apply?doc=…`: registers a person not yet known and applies for their card.
pub async fn apply_page(State(s): State<AppState>, staff: Staff, Params(q): Params) -> Response {
    let m = staff.m;
    let page = ApplyPage {
        c: staff.chrome(m.t("apply.title"), "search", "/console/apply"),
        doc_types: doc_types(m),
        regions: regions(&s).await,
        doc_type: "citizen_id".into(),
        doc_number: q.get("doc").to_string(),
        name: String::new(),
        gender: String::new(),
        birth_date: String::new(),
        phone: String::new(),
        address: String::new(),
        region: String::new(),
        error: None,
    };
    render(StatusCode::OK, &page)
}
