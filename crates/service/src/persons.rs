//! Finding a person and showing their cards, for the console and the staff API. Every staff
//! role may read (the auditor too); nothing here changes data.
//!
//! - [`search`]: by full document number (any document type; passports as `COUNTRY:NUMBER`),
//!   by card number, or by name prefix. Results carry masked document numbers.
//! - [`detail`] / [`detail_by_ref`]: the person, the photo's metadata, and every card they ever
//!   had (newest first) with its loss reports and its timeline.
//!
//! Refusals: `QUERY_EMPTY`, `PERSON_NOT_FOUND`, the document's codes, `FORBIDDEN`.

use serde::Serialize;
use sscard_domain::card::CardStatus;
use sscard_domain::ids::{CardNo, Document, DocumentType};
use sscard_domain::mask::mask_id;
use sscard_domain::person::LifeStatus;
use sscard_store::Tx;
use sscard_store::repo::{cards as card_repo, persons as repo, production};

use crate::App;
use crate::access::{self, STAFF_ROLES};
use crate::audit::Actor;
use crate::cards::CardView;
use crate::error::{ErrorKind, ServiceError};

/// Most results of a name search.
pub const SEARCH_LIMIT: i64 = 50;

/// `PERSON_NOT_FOUND`.
pub fn person_not_found() -> ServiceError {
    ServiceError::not_found("PERSON_NOT_FOUND", "未找到该人员", "No such person")
}

/// A person's live card in a search result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardBrief {
    pub card_ref: i64,
    pub card_no: Option<String>,
    pub kind: String,
    pub status: String,
    pub status_label: String,
    pub status_label_en: String,
}

impl From<&card_repo::CardRow> for CardBrief {
    fn from(c: &card_repo::CardRow) -> Self {
        CardBrief {
            card_ref: c.id,
            card_no: c.card_no.clone(),
            kind: c.kind.as_str().into(),
            status: c.status.as_str().into(),
            status_label: c.status.label_zh().into(),
            status_label_en: c.status.label_en().into(),
        }
    }
}

/// One search result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PersonSummary {
    /// Internal reference, for [`detail_by_ref`].
    pub person_ref: i64,
    pub doc_type: String,
    pub doc_type_label: String,
    /// e.g. `5110**********1234`.
    pub doc_number_masked: String,
    pub name: String,
    pub gender: String,
    pub birth_date: String,
    pub region_code: String,
    pub life_status: String,
    pub life_status_label: String,
    /// The live regular card, if any.
    pub live_card: Option<CardBrief>,
}

/// A person as staff see them on the person page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PersonView {
    pub person_ref: i64,
    pub doc_type: String,
    pub doc_type_label: String,
    pub doc_number: String,
    pub doc_number_masked: String,
    pub name: String,
    pub gender: String,
    pub birth_date: String,
    pub ethnicity: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub life_status: String,
    pub life_status_label: String,
    pub life_status_since: Option<String>,
    pub created_at: String,
}

/// The stored photo's metadata.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PhotoView {
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size: i64,
    pub uploaded_at: String,
}

/// One timeline entry of a card.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineEntry {
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub to_status_label: String,
    pub channel: String,
    pub actor: String,
    pub detail: serde_json::Value,
    /// RFC 3339 UTC.
    pub at: String,
}

/// A loss report of a card.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LossReportView {
    /// `social` or `bank`.
    pub side: String,
    /// `temporary` or `written`.
    pub kind: String,
    pub channel: String,
    /// `active`, `lifted`, `lapsed`, `converted`.
    pub status: String,
    pub reported_at: String,
    pub expires_at: Option<String>,
    pub closed_at: Option<String>,
}

/// A card with its history.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CardDetail {
    pub card_ref: i64,
    pub card: CardView,
    pub loss_reports: Vec<LossReportView>,
    /// Oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// A person with every card.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonDetail {
    pub person: PersonView,
    pub photo: Option<PhotoView>,
    /// Newest first.
    pub cards: Vec<CardDetail>,
}

fn life_label(s: &str) -> String {
    LifeStatus::parse(s)
        .map(|l| l.label_zh().to_string())
        .unwrap_or_else(|| s.to_string())
}

fn doc_label(s: &str) -> String {
    DocumentType::parse(s)
        .map(|t| t.label_zh().to_string())
        .unwrap_or_else(|| s.to_string())
}

fn summary(tx: &mut dyn Tx, p: &repo::PersonRow) -> Result<PersonSummary, ServiceError> {
    let live = card_repo::live_card_of(tx, p.id)?;
    Ok(PersonSummary {
        person_ref: p.id,
        doc_type: p.doc_type.clone(),
        doc_type_label: doc_label(&p.doc_type),
        doc_number_masked: mask_id(&p.doc_number),
        name: p.name.clone(),
        gender: p.gender.clone(),
        birth_date: p.birth_date.clone(),
        region_code: p.region_code.clone(),
        life_status: p.life_status.clone(),
        life_status_label: life_label(&p.life_status),
        live_card: live.as_ref().map(CardBrief::from),
    })
}

/// Searches persons by full document number, card number or name prefix (any staff role).
pub fn search(app: &App, actor: &Actor, query: &str) -> Result<Vec<PersonSummary>, ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    let q = query.trim();
    if q.is_empty() {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "QUERY_EMPTY",
            "请输入证件号码、卡号或姓名",
            "Enter a document number, a card number or a name",
        ));
    }
    let today = app.today();
    app.store().read(|tx| {
        let mut found: Vec<repo::PersonRow> = Vec::new();
        let upper = q.to_ascii_uppercase();
        // A document number of any type (15-digit citizen IDs are upgraded).
        for t in DocumentType::ALL {
            if let Ok(doc) = Document::parse(t, q, today)
                && let Some(p) = repo::person_by_document(tx, t.as_str(), doc.number())?
                && !found.iter().any(|f| f.id == p.id)
            {
                found.push(p);
            }
        }
        if found.is_empty() {
            for p in production::persons_by_doc_number(tx, &upper)? {
                found.push(p);
            }
        }
        if found.is_empty()
            && upper.starts_with(|c: char| c.is_ascii_alphabetic())
            && let Ok(no) = CardNo::parse(&upper)
            && let Some(p) = production::person_by_card_no(tx, no.as_str())?
        {
            found.push(p);
        }
        if found.is_empty()
            && !q
                .chars()
                .all(|c| c.is_ascii_digit() || c == 'X' || c == 'x')
        {
            found = repo::persons_by_name(tx, q, SEARCH_LIMIT)?;
        }
        found.iter().map(|p| summary(tx, p)).collect()
    })
}

fn detail_of(tx: &mut dyn Tx, p: repo::PersonRow) -> Result<PersonDetail, ServiceError> {
    let photo = production::photo_meta(tx, p.id)?.map(|m| PhotoView {
        content_type: m.content_type,
        width: m.width,
        height: m.height,
        size: m.size,
        uploaded_at: m.uploaded_at,
    });
    let mut cards = Vec::new();
    for c in card_repo::cards_of(tx, p.id)? {
        let timeline = card_repo::events_of(tx, c.id)?
            .into_iter()
            .map(|e| TimelineEntry {
                to_status_label: CardStatus::parse(&e.to_status)
                    .map(|s| s.label_zh().to_string())
                    .unwrap_or_else(|| e.to_status.clone()),
                detail: serde_json::from_str(&e.detail_json).unwrap_or(serde_json::Value::Null),
                event: e.event,
                from_status: e.from_status,
                to_status: e.to_status,
                channel: e.channel,
                actor: e.actor,
                at: e.at,
            })
            .collect();
        let loss_reports = production::loss_reports_of(tx, c.id)?
            .into_iter()
            .map(|r| LossReportView {
                side: r.side,
                kind: r.kind,
                channel: r.channel,
                status: r.status,
                reported_at: r.reported_at,
                expires_at: r.expires_at,
                closed_at: r.closed_at,
            })
            .collect();
        cards.push(CardDetail {
            card_ref: c.id,
            card: CardView::from(&c),
            loss_reports,
            timeline,
        });
    }
    Ok(PersonDetail {
        person: PersonView {
            person_ref: p.id,
            doc_type_label: doc_label(&p.doc_type),
            doc_number_masked: mask_id(&p.doc_number),
            doc_type: p.doc_type,
            doc_number: p.doc_number,
            name: p.name,
            gender: p.gender,
            birth_date: p.birth_date,
            ethnicity: p.ethnicity,
            phone: p.phone,
            address: p.address,
            region_code: p.region_code,
            life_status_label: life_label(&p.life_status),
            life_status: p.life_status,
            life_status_since: p.life_status_since,
            created_at: p.created_at,
        },
        photo,
        cards,
    })
}

/// A person by document, with every card and its timeline (any staff role).
pub fn detail(
    app: &App,
    actor: &Actor,
    doc_type: DocumentType,
    number: &str,
) -> Result<PersonDetail, ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    let doc =
        Document::parse(doc_type, number, app.today()).map_err(|e| ServiceError::invalid(&e))?;
    app.store().read(|tx| {
        let p = repo::person_by_document(tx, doc.doc_type().as_str(), doc.number())?
            .ok_or_else(person_not_found)?;
        detail_of(tx, p)
    })
}

/// A person by internal reference (from a search result), as [`detail`].
pub fn detail_by_ref(
    app: &App,
    actor: &Actor,
    person_ref: i64,
) -> Result<PersonDetail, ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    app.store().read(|tx| {
        let p = repo::person_by_id(tx, person_ref)?.ok_or_else(person_not_found)?;
        detail_of(tx, p)
    })
}

/// The person's photo: content type and bytes (any staff role). `PERSON_NOT_FOUND` when the
/// person or the photo does not exist.
pub fn photo(app: &App, actor: &Actor, person_ref: i64) -> Result<(String, Vec<u8>), ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    app.store()
        .read(|tx| production::photo_bytes(tx, person_ref))?
        .ok_or_else(person_not_found)
}
