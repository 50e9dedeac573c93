//! Individual card applications at the counter (申领).
//!
//! The clerk identifies the person by an identity document; a person not yet known is
//! registered on the spot (their web query password follows the region's initial rule: nothing
//! is stored until they change it). A JPEG or PNG photo of 358×441 pixels is required unless one
//! is on file. The new card starts in status `applied` with the region's initial PIN, sealed
//! under the PIN key. The first card is free; from the second card on the region's reissue fee
//! is charged and recorded with a receipt number.
//!
//! Refusals: the document's own codes (`DOC_*`, `ID_*`), `NAME_REQUIRED`, `NAME_MISMATCH`,
//! `GENDER_REQUIRED`, `BIRTH_DATE_REQUIRED`, `PHONE_INVALID`, `REGION_REQUIRED`,
//! `REGION_NOT_SERVED`, `PHOTO_FORMAT`, `PHOTO_SIZE`, `PHOTO_TOO_LARGE`, `PHOTO_MISSING`,
//! `CARD_LIVE_EXISTS`, `PERSON_DECEASED` / `PERSON_EMIGRATED` / `PERSON_MISSING` /
//! `PERSON_IMPRISONED`, `FORBIDDEN` (only clerks and supervisors apply).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sscard_domain::card::{CardKind, CardStatus};
use sscard_domain::ids::{Document, DocumentType, RegionCode};
use sscard_domain::mask::mask_id;
use sscard_domain::person::{Gender, LifeStatus};
use sscard_store::repo::{cards as card_repo, persons, production, regions, ts};
use sscard_store::{StoreError, Tx};

use super::photo::{self, PhotoInfo};
use super::{CardView, policy_of};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};
use crate::secrets::PinKey;

/// An individual application as the clerk enters it.
#[derive(Debug, Clone, Default)]
pub struct Application {
    pub doc_type: Option<DocumentType>,
    /// The document number (passports: `COUNTRY:NUMBER`).
    pub doc_number: String,
    /// Required for a new person; for a known person, when given, it must match.
    pub name: String,
    /// Needed only when the document does not encode it (passports).
    pub gender: Option<Gender>,
    /// Needed only when the document does not encode it (passports).
    pub birth_date: Option<NaiveDate>,
    /// Mobile number for notices (11 digits starting with 1); empty keeps what is on file.
    pub phone: String,
    pub address: String,
    /// Pooling region of a new person; defaults to the region of the clerk's agency.
    pub region_code: Option<String>,
    /// The photo file (JPEG/PNG, 358×441); optional when one is on file.
    pub photo: Option<Vec<u8>>,
}

/// An accepted application.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApplicationResult {
    /// The new card's internal reference (it has no card number until produced).
    pub card_ref: i64,
    pub person_ref: i64,
    /// Whether the person was registered by this application.
    pub person_created: bool,
    pub name: String,
    pub doc_type: String,
    pub doc_number_masked: String,
    pub card: CardView,
    /// 0 for the first card.
    pub fee_fen: i64,
    /// The fee's receipt number, when a fee was charged.
    pub receipt_no: Option<String>,
}

/// Validated input, before any database access.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub doc: Document,
    pub name: String,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub phone: String,
    pub address: String,
    pub region: Option<RegionCode>,
    pub photo: Option<(PhotoInfo, Vec<u8>)>,
}

pub(crate) fn bad(
    code: &'static str,
    zh: impl Into<String>,
    en: impl Into<String>,
) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

/// `PERSON_*`: a person whose life status is not normal cannot get a new card.
pub(crate) fn life_status_refusal(status: &str) -> Option<ServiceError> {
    let s = LifeStatus::parse(status)?;
    let code = match s {
        LifeStatus::Normal => return None,
        LifeStatus::Deceased => "PERSON_DECEASED",
        LifeStatus::Emigrated => "PERSON_EMIGRATED",
        LifeStatus::Missing => "PERSON_MISSING",
        LifeStatus::Imprisoned => "PERSON_IMPRISONED",
    };
    Some(ServiceError::new(
        ErrorKind::Conflict,
        code,
        format!("该人员登记状态为“{}”,不能办理此业务", s.label_zh()),
        format!(
            "The person is recorded as {}: this cannot be done",
            s.as_str()
        ),
    ))
}

/// Checks a mobile number: empty, or 11 digits starting with 1.
pub(crate) fn check_phone(phone: &str) -> Result<String, ServiceError> {
    let p = phone.trim();
    if p.is_empty()
        || (p.len() == 11 && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit()))
    {
        Ok(p.to_string())
    } else {
        Err(bad(
            "PHONE_INVALID",
            "手机号码须为 1 开头的 11 位数字",
            "The mobile number must be 11 digits starting with 1",
        ))
    }
}

/// Validates an application's fields (no database access).
pub(crate) fn prepare(a: &Application, today: NaiveDate) -> Result<Prepared, ServiceError> {
    let doc_type = a.doc_type.unwrap_or(DocumentType::CitizenId);
    let doc =
        Document::parse(doc_type, &a.doc_number, today).map_err(|e| ServiceError::invalid(&e))?;
    let region = match a.region_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(RegionCode::parse(r).map_err(|e| ServiceError::invalid(&e))?),
    };
    let photo = match &a.photo {
        None => None,
        Some(bytes) => Some((photo::check(bytes)?, bytes.clone())),
    };
    Ok(Prepared {
        name: a.name.trim().to_string(),
        gender: doc.gender().or(a.gender),
        birth_date: doc.birth_date().or(a.birth_date),
        doc,
        phone: check_phone(&a.phone)?,
        address: a.address.trim().to_string(),
        region,
        photo,
    })
}

/// The pooling region an agency belongs to (its own code, its city's or its province's), if
/// that region is served here.
pub(crate) fn region_of_agency(
    tx: &mut dyn Tx,
    agency_code: &str,
) -> Result<Option<String>, StoreError> {
    let Some(agency) = production::agency_by_code(tx, agency_code)? else {
        return Ok(None);
    };
    let regions = regions::list_regions(tx)?;
    let a = agency.region_code.as_str();
    let found = regions.iter().find(|r| r.code == a).or_else(|| {
        regions.iter().find(|r| {
            let c = r.code.as_str();
            if c.ends_with("0000") {
                a.get(..2) == c.get(..2)
            } else if c.ends_with("00") {
                a.get(..4) == c.get(..4)
            } else {
                false
            }
        })
    });
    Ok(found.map(|r| r.code.clone()))
}

/// What the database says about the applicant, checked before anything is written.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub existing: Option<persons::PersonRow>,
    /// The region of a new person.
    pub region: String,
}

/// Checks the applicant against the database: life status, live card, name, photo, region.
pub(crate) fn check(tx: &mut dyn Tx, p: &Prepared, actor: &Actor) -> Result<Checked, ServiceError> {
    let existing = persons::person_by_document(tx, p.doc.doc_type().as_str(), p.doc.number())?;
    if let Some(person) = &existing {
        if let Some(e) = life_status_refusal(&person.life_status) {
            return Err(e);
        }
        if !p.name.is_empty() && p.name != person.name {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "NAME_MISMATCH",
                "姓名与该证件号码登记的姓名不符",
                "The name does not match the one registered for this document",
            ));
        }
        if let Some(c) = card_repo::live_card_of(tx, person.id)? {
            return Err(super::live_card_exists(Some(&c)));
        }
        if p.photo.is_none() && production::photo_meta(tx, person.id)?.is_none() {
            return Err(photo::missing_error());
        }
        return Ok(Checked {
            region: person.region_code.clone(),
            existing,
        });
    }
    if p.name.is_empty() {
        return Err(bad("NAME_REQUIRED", "请填写姓名", "The name is required"));
    }
    if p.gender.is_none() {
        return Err(bad(
            "GENDER_REQUIRED",
            "该证件不含性别信息,请选择性别",
            "The document does not show the gender: please give it",
        ));
    }
    if p.birth_date.is_none() {
        return Err(bad(
            "BIRTH_DATE_REQUIRED",
            "该证件不含出生日期,请填写出生日期",
            "The document does not show the birth date: please give it",
        ));
    }
    let region = match &p.region {
        Some(r) => r.as_str().to_string(),
        None => region_of_agency(tx, &actor.agency)?.ok_or_else(|| {
            bad(
                "REGION_REQUIRED",
                "请选择参保统筹区",
                "The pooling region of the new person is required",
            )
        })?,
    };
    if !regions::list_regions(tx)?.iter().any(|r| r.code == region) {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "REGION_NOT_SERVED",
            format!("{region} 不是本系统的统筹区"),
            format!("{region} is not a pooling region served here"),
        ));
    }
    if p.photo.is_none() {
        return Err(photo::missing_error());
    }
    Ok(Checked {
        existing: None,
        region,
    })
}

/// Writes a checked application: registers the person if new, stores the photo, creates the
/// card in status `applied` with the initial PIN, charges the fee from the second card on,
/// and records the timeline entry and audit rows. `extra` goes into the card event's detail.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    today: NaiveDate,
    key: &PinKey,
    actor: &Actor,
    p: &Prepared,
    c: &Checked,
    extra: serde_json::Value,
) -> Result<ApplicationResult, ServiceError> {
    let at = ts(now);
    let masked = mask_id(p.doc.number());
    let (person_id, region, name, created) = match &c.existing {
        Some(person) => {
            if !p.phone.is_empty() && p.phone != person.phone {
                production::set_person_phone(tx, person.id, &p.phone)?;
            }
            (
                person.id,
                person.region_code.clone(),
                person.name.clone(),
                false,
            )
        }
        None => {
            let gender = p.gender.unwrap_or(Gender::Male);
            let birth = p.birth_date.map(|d| d.to_string()).unwrap_or_default();
            let id = persons::insert_person(
                tx,
                &persons::NewPerson {
                    doc_type: p.doc.doc_type().as_str(),
                    doc_number: p.doc.number(),
                    name: &p.name,
                    gender: gender.as_str(),
                    birth_date: &birth,
                    ethnicity: "汉族",
                    phone: &p.phone,
                    address: &p.address,
                    region_code: &c.region,
                    // The initial query password follows the region's rule; nothing is stored
                    // until the person changes it.
                    query_password_hash: "",
                },
                now,
            )
            .map_err(|e| match e {
                StoreError::Constraint(_) => ServiceError::new(
                    ErrorKind::Conflict,
                    "PERSON_EXISTS",
                    "该证件号码的人员已登记",
                    "A person with this document is already registered",
                ),
                other => other.into(),
            })?;
            audit::record(
                tx,
                now,
                actor,
                Change {
                    action: "person.register",
                    entity: "person",
                    entity_id: &format!("person#{id}"),
                    before: serde_json::Value::Null,
                    after: serde_json::json!({
                        "doc_type": p.doc.doc_type().as_str(),
                        "doc_number": masked,
                        "name": p.name,
                        "gender": gender.as_str(),
                        "region_code": c.region,
                    }),
                },
            )?;
            (id, c.region.clone(), p.name.clone(), true)
        }
    };
    if let Some((info, bytes)) = &p.photo {
        production::upsert_photo(
            tx,
            person_id,
            info.content_type,
            i64::from(info.width),
            i64::from(info.height),
            bytes,
            &at,
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "person.photo",
                entity: "person",
                entity_id: &format!("person#{person_id}"),
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "content_type": info.content_type,
                    "width": info.width,
                    "height": info.height,
                    "size": bytes.len(),
                }),
            },
        )?;
    }
    let policy = policy_of(tx, &region, today)?;
    let earlier_cards = production::count_regular_cards(tx, person_id)?;
    let agency = production::agency_by_code(tx, &actor.agency)?;
    let pin_mac = key.seal_new_pin(&policy.initial_pin);
    let card_id = super::insert_card(
        tx,
        &card_repo::NewCard {
            person_id,
            kind: CardKind::Regular,
            status: CardStatus::Applied,
            region_code: &region,
            agency_id: agency.as_ref().map(|a| a.id),
            previous_card_id: None,
            applied_at: &at,
            expires_on: None,
            pin_mac: &pin_mac,
        },
    )?;
    let free = earlier_cards == 0 && policy.first_card_free;
    let fee_fen = if free { 0 } else { policy.reissue_fee_fen };
    let fee = super::fees::charge(
        tx,
        now,
        actor,
        person_id,
        &region,
        Some(card_id),
        super::fees::FeeKind::Reissue,
        fee_fen,
    )?;
    let receipt_no = fee.map(|f| f.receipt_no);
    let mut detail = serde_json::json!({
        "fee_fen": fee_fen,
        "receipt_no": receipt_no,
        "agency": actor.agency,
        "photo": p.photo.as_ref().map(|(i, _)| i.content_type),
    });
    if let (Some(d), serde_json::Value::Object(more)) = (detail.as_object_mut(), extra) {
        d.extend(more);
    }
    let card = card_repo::card_by_id(tx, card_id)?
        .ok_or_else(|| ServiceError::internal("new card vanished"))?;
    super::record_new_card(tx, now, actor, &card, "apply", detail)?;
    Ok(ApplicationResult {
        card_ref: card_id,
        person_ref: person_id,
        person_created: created,
        name,
        doc_type: p.doc.doc_type().as_str().to_string(),
        doc_number_masked: masked,
        card: CardView::from(&card),
        fee_fen,
        receipt_no,
    })
}

/// Applies for a card at the counter (clerk or supervisor). See the module documentation for
/// the rules and refusal codes.
pub fn apply(app: &App, actor: &Actor, a: &Application) -> Result<ApplicationResult, ServiceError> {
    access::require(actor, &COUNTER)?;
    let today = app.today();
    let now = app.now();
    let p = prepare(a, today)?;
    let key = app.pin_key().clone();
    app.store().write(|tx| {
        let c = check(tx, &p, actor)?;
        write(tx, now, today, &key, actor, &p, &c, serde_json::json!({}))
    })
}

/// Stores or replaces a known person's photo (clerk or supervisor), e.g. before a roster
/// import that names no photo file. Refusals: `PHOTO_*`, `PERSON_NOT_FOUND`, `FORBIDDEN`.
pub fn upload_photo(
    app: &App,
    actor: &Actor,
    doc_type: DocumentType,
    doc_number: &str,
    bytes: &[u8],
) -> Result<PhotoInfo, ServiceError> {
    access::require(actor, &COUNTER)?;
    let doc = Document::parse(doc_type, doc_number, app.today())
        .map_err(|e| ServiceError::invalid(&e))?;
    let info = photo::check(bytes)?;
    let now = app.now();
    app.store().write(|tx| {
        let person = persons::person_by_document(tx, doc.doc_type().as_str(), doc.number())?
            .ok_or_else(crate::persons::person_not_found)?;
        production::upsert_photo(
            tx,
            person.id,
            info.content_type,
            i64::from(info.width),
            i64::from(info.height),
            bytes,
            &ts(now),
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "person.photo",
                entity: "person",
                entity_id: &format!("person#{}", person.id),
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "content_type": info.content_type,
                    "width": info.width,
                    "height": info.height,
                    "size": bytes.len(),
                }),
            },
        )?;
        Ok(info)
    })
}
