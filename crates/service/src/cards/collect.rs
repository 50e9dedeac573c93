//! Collection (领卡) and activation (启用) at the counter.
//!
//! The card is handed over to the holder, after the ID check (the presented document number
//! must be the holder's), or to a proxy with a written authorisation: the proxy's name,
//! document and the authorisation's reference are recorded in the timeline (the proxy's number
//! masked). The holder's own ID document must be presented by the proxy too. The
//! social-security function is activated at once: two timeline entries, `collect` then
//! `activate`. The bank function is activated by the bank, separately.
//!
//! Within the collection window (`collection_window_months` after the notice date) the card is
//! collected at any counter; once the daily job moved an uncollected card to the city card
//! centre (`at_card_centre`), only a clerk of that card centre can hand it over.
//!
//! Refusals: `ID_MISMATCH`, `PROXY_INCOMPLETE`, the proxy document's codes (`DOC_*`, `ID_*`),
//! `COLLECT_AT_CARD_CENTRE`, `PERSON_DECEASED` (etc.), `CARD_STATE` (not awaiting collection),
//! `CARD_NOT_FOUND`, `FORBIDDEN`.

use sscard_domain::card::CardEvent;
use sscard_domain::ids::{Document, DocumentType};
use sscard_domain::mask::mask_id;
use sscard_store::repo::{cards as card_repo, production, ts};

use super::apply::life_status_refusal;
use super::{CardView, check_holder_document, holder, load_for_update, transition};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::Actor;
use crate::error::{ErrorKind, ServiceError};

/// Someone collecting the card for the holder.
#[derive(Debug, Clone, Default)]
pub struct Proxy {
    pub name: String,
    /// Default: citizen ID.
    pub doc_type: Option<DocumentType>,
    pub doc_number: String,
    /// Reference of the written authorisation (委托书编号).
    pub authorisation_ref: String,
}

/// A collection at the counter.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// The holder's document number as presented (by the holder or the proxy).
    pub presented_doc_number: String,
    /// Set when a proxy collects.
    pub proxy: Option<Proxy>,
}

/// Hands a card over and activates its social-security function (clerk or supervisor).
/// Returns the card, now `active`.
pub fn collect(
    app: &App,
    actor: &Actor,
    card_no: &str,
    req: &Collection,
) -> Result<CardView, ServiceError> {
    access::require(actor, &COUNTER)?;
    let today = app.today();
    let proxy = match &req.proxy {
        None => None,
        Some(p) => {
            if p.name.trim().is_empty()
                || p.doc_number.trim().is_empty()
                || p.authorisation_ref.trim().is_empty()
            {
                return Err(ServiceError::new(
                    ErrorKind::BadRequest,
                    "PROXY_INCOMPLETE",
                    "代领须登记代领人姓名、证件号码和授权委托书编号",
                    "A proxy collection needs the proxy's name, document number and the authorisation reference",
                ));
            }
            let doc = Document::parse(
                p.doc_type.unwrap_or(DocumentType::CitizenId),
                &p.doc_number,
                today,
            )
            .map_err(|e| ServiceError::invalid(&e))?;
            Some((p, doc))
        }
    };
    let now = app.now();
    app.store().write(|tx| {
        let card = load_for_update(tx, card_no)?;
        let person = holder(tx, &card)?;
        check_holder_document(&person, &req.presented_doc_number)?;
        if let Some(e) = life_status_refusal(&person.life_status) {
            return Err(e);
        }
        if card.at_card_centre {
            let centre = production::card_centre_of(tx, &card.region_code)?;
            let here = production::agency_by_code(tx, &actor.agency)?;
            let at_centre = matches!((&centre, &here), (Some(c), Some(h)) if c.id == h.id);
            if !at_centre {
                let (name, address) = centre
                    .map(|c| (c.name, c.address))
                    .unwrap_or_else(|| ("市社会保障卡服务中心".into(), String::new()));
                return Err(ServiceError::new(
                    ErrorKind::Conflict,
                    "COLLECT_AT_CARD_CENTRE",
                    format!(
                        "该卡超过领取期限未领取,已移交{name},请到该中心领取{}",
                        if address.is_empty() { String::new() } else { format!("(地址:{address})") }
                    ),
                    format!(
                        "The card was not collected in time and moved to the city card centre ({name}): it can only be collected there"
                    ),
                ));
            }
        }
        let by = match &proxy {
            None => serde_json::json!({"by": "holder", "id_checked": true}),
            Some((p, doc)) => serde_json::json!({
                "by": "proxy",
                "id_checked": true,
                "proxy_name": p.name.trim(),
                "proxy_doc_type": doc.doc_type().as_str(),
                "proxy_doc_number": mask_id(doc.number()),
                "authorisation_ref": p.authorisation_ref.trim(),
            }),
        };
        let at = ts(now);
        transition(tx, now, actor, &card, CardEvent::Collect, by)?;
        production::set_collected_at(tx, card.id, &at)?;
        let collected = card_repo::card_by_id(tx, card.id)?
            .ok_or_else(|| ServiceError::internal("card vanished"))?;
        transition(
            tx,
            now,
            actor,
            &collected,
            CardEvent::Activate,
            serde_json::json!({"function": "social_security"}),
        )?;
        production::set_activated_at(tx, card.id, &at)?;
        let done = card_repo::card_by_id(tx, card.id)?
            .ok_or_else(|| ServiceError::internal("card vanished"))?;
        Ok(CardView::from(&done))
    })
}
