//! Production batches (制卡批次): applied cards go to the cooperating bank, which opens their
//! accounts, and come back with account numbers; the card numbers and identifiers are then
//! assigned and the holders told to collect their cards.
//!
//! 1. [`create`]: all `applied` cards of a region, or a chosen list, go into a new batch
//!    (`B<region>-<YYYYMMDD>-<NNN>`) and move to `in_production`.
//! 2. [`bank_file`]: the bank's account-opening file, CSV, UTF-8 with a header:
//!    `batch_no,seq,name,doc_type,doc_number,gender,birth_date,phone`. It carries the **full**
//!    document numbers: the bank needs them to open the accounts (a file for the bank only).
//!    The batch becomes `sent_to_bank`.
//! 3. [`bank_return`]: the bank's return file, CSV with a header `doc_number,bank_account`
//!    (account: 12-19 digits). Each valid row sets the card's account (bank side `opened`),
//!    assigns its card number and identifier, moves it to `awaiting_collection` with today's
//!    notice date and queues the "card ready" SMS. Bad rows are reported row by row
//!    (`ROW_MALFORMED`, `ACCOUNT_INVALID`, `NOT_IN_BATCH`, `ALREADY_PRODUCED`,
//!    `DUPLICATE_ROW`) and the good rows are still recorded: the accounts they name exist at
//!    the bank. The batch becomes `produced` when every card came back, `returned` before.
//!
//! Refusals: `BATCH_NOT_FOUND`, `BATCH_EMPTY`, `BATCH_CARD_INVALID`, `BANK_NOT_FOUND`,
//! `REGION_NOT_SERVED`, `RETURN_FILE_HEADER`, `FORBIDDEN`.

use std::collections::HashSet;

use serde::Serialize;
use sscard_domain::card::{CardEvent, CardStatus};
use sscard_domain::ids::RegionCode;
use sscard_domain::mask::mask_id;
use sscard_store::repo::{cards as card_repo, production, regions, ts};

use super::numbers::{self, Numbering};
use super::roster::{RosterFormat, read_rows};
use super::{CardView, transition};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};
use crate::notices;

/// What a new batch holds.
#[derive(Debug, Clone, Default)]
pub struct NewBatch {
    /// The pooling region whose cards are produced.
    pub region_code: String,
    /// Chosen cards (their `card_ref`s); `None` takes every applied card of the region.
    pub card_refs: Option<Vec<i64>>,
    /// The cooperating bank's code (`ICBC`, …); default: the first bank by code.
    pub bank_code: Option<String>,
}

/// A batch as shown to staff.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BatchView {
    pub batch_no: String,
    pub region_code: String,
    pub bank_code: Option<String>,
    /// `open`, `sent_to_bank`, `returned`, `produced`.
    pub status: String,
    pub created_at: String,
    pub created_by: String,
    pub cards: usize,
    /// Cards of the batch still waiting for the bank's return.
    pub in_production: usize,
}

/// The account-opening file for the bank.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BankFile {
    pub batch_no: String,
    /// Suggested file name.
    pub file_name: String,
    /// The CSV text (UTF-8, header line, CRLF line ends).
    pub content: String,
    pub rows: usize,
}

/// One row of the bank's return file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReturnRow {
    /// Row number in the file (header = 1).
    pub row: usize,
    pub doc_number_masked: String,
    /// `ok` or `error`.
    pub status: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub message_en: Option<String>,
    /// The card number assigned.
    pub card_no: Option<String>,
}

/// The report of a bank return import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReturnReport {
    pub batch_no: String,
    pub produced: usize,
    pub error_rows: usize,
    /// The batch's status afterwards.
    pub batch_status: String,
    pub rows: Vec<ReturnRow>,
}

/// `BATCH_NOT_FOUND`.
pub fn batch_not_found(batch_no: &str) -> ServiceError {
    ServiceError::not_found(
        "BATCH_NOT_FOUND",
        format!("未找到制卡批次 {batch_no}"),
        format!("No production batch {batch_no}"),
    )
}

fn view(
    tx: &mut dyn sscard_store::Tx,
    b: &production::BatchRow,
) -> Result<BatchView, ServiceError> {
    let cards = production::cards_of_batch(tx, b.id)?;
    Ok(BatchView {
        batch_no: b.batch_no.clone(),
        region_code: b.region_code.clone(),
        bank_code: b.bank_code.clone(),
        status: b.status.clone(),
        created_at: b.created_at.clone(),
        created_by: b.created_by.clone(),
        in_production: cards
            .iter()
            .filter(|c| c.card.status == CardStatus::InProduction)
            .count(),
        cards: cards.len(),
    })
}

/// Creates a production batch (clerk or supervisor) and moves its cards to `in_production`.
pub fn create(app: &App, actor: &Actor, req: &NewBatch) -> Result<BatchView, ServiceError> {
    access::require(actor, &COUNTER)?;
    let region =
        RegionCode::parse(req.region_code.trim()).map_err(|e| ServiceError::invalid(&e))?;
    let now = app.now();
    let today = app.today();
    app.store().write(|tx| {
        if !regions::list_regions(tx)?
            .iter()
            .any(|r| r.code == region.as_str())
        {
            return Err(ServiceError::new(
                ErrorKind::BadRequest,
                "REGION_NOT_SERVED",
                format!("{} 不是本系统的统筹区", region.as_str()),
                format!("{} is not a pooling region served here", region.as_str()),
            ));
        }
        let (bank_id, bank_code) = match req.bank_code.as_deref().map(str::trim) {
            None | Some("") => production::default_bank(tx)?
                .map(|(id, code)| (Some(id), Some(code)))
                .unwrap_or((None, None)),
            Some(code) => {
                let id = production::bank_id_by_code(tx, code)?.ok_or_else(|| {
                    ServiceError::not_found(
                        "BANK_NOT_FOUND",
                        format!("未找到合作银行 {code}"),
                        format!("No cooperating bank {code}"),
                    )
                })?;
                (Some(id), Some(code.to_string()))
            }
        };
        let cards = match &req.card_refs {
            None => production::applied_cards_of_region(tx, region.as_str())?,
            Some(refs) => {
                let mut unique = refs.clone();
                unique.sort_unstable();
                unique.dedup();
                let found = production::cards_for_update(tx, &unique)?;
                for r in &unique {
                    let ok = found.iter().any(|c| {
                        c.id == *r
                            && c.status == CardStatus::Applied
                            && c.region_code == region.as_str()
                    });
                    if !ok {
                        return Err(ServiceError::new(
                            ErrorKind::Conflict,
                            "BATCH_CARD_INVALID",
                            format!("卡片 card#{r} 不存在、不在本统筹区或不是“已申请”状态"),
                            format!(
                                "Card card#{r} does not exist, is of another region or is not in status applied"
                            ),
                        ));
                    }
                }
                found
            }
        };
        if cards.is_empty() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "BATCH_EMPTY",
                "没有可制卡的申请",
                "There are no applied cards to produce",
            ));
        }
        let prefix = format!("B{}-{}-", region.as_str(), today.format("%Y%m%d"));
        let seq = production::count_batches_with_prefix(tx, &prefix)? + 1;
        let batch_no = format!("{prefix}{seq:03}");
        let batch_id =
            production::insert_batch(tx, &batch_no, region.as_str(), bank_id, &ts(now), &actor.username)?;
        for c in &cards {
            production::set_card_batch(tx, c.id, batch_id)?;
            transition(
                tx,
                now,
                actor,
                c,
                CardEvent::Batch,
                serde_json::json!({"batch_no": batch_no}),
            )?;
        }
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "batch.create",
                entity: "batch",
                entity_id: &batch_no,
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "region_code": region.as_str(),
                    "bank": bank_code,
                    "cards": cards.len(),
                }),
            },
        )?;
        let b = production::batch_by_no(tx, &batch_no)?
            .ok_or_else(|| ServiceError::internal("new batch vanished"))?;
        view(tx, &b)
    })
}

/// A batch by number (any staff role).
pub fn get(app: &App, actor: &Actor, batch_no: &str) -> Result<BatchView, ServiceError> {
    access::require(actor, &access::STAFF_ROLES)?;
    app.store().read(|tx| {
        let b = production::batch_by_no(tx, batch_no.trim())?
            .ok_or_else(|| batch_not_found(batch_no.trim()))?;
        view(tx, &b)
    })
}

/// The latest batches, optionally of one region (any staff role).
pub fn list(
    app: &App,
    actor: &Actor,
    region_code: Option<&str>,
) -> Result<Vec<BatchView>, ServiceError> {
    access::require(actor, &access::STAFF_ROLES)?;
    app.store().read(|tx| {
        let rows = production::list_batches(tx, region_code, 100)?;
        rows.iter().map(|b| view(tx, b)).collect()
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Exports the bank's account-opening file of a batch (clerk or supervisor): one line per card
/// still in production. Marks an `open` batch `sent_to_bank`.
pub fn bank_file(app: &App, actor: &Actor, batch_no: &str) -> Result<BankFile, ServiceError> {
    access::require(actor, &COUNTER)?;
    let now = app.now();
    let batch_no = batch_no.trim().to_string();
    app.store().write(|tx| {
        let b = production::batch_for_update(tx, &batch_no)?
            .ok_or_else(|| batch_not_found(&batch_no))?;
        let cards = production::cards_of_batch(tx, b.id)?;
        let mut out =
            String::from("batch_no,seq,name,doc_type,doc_number,gender,birth_date,phone\r\n");
        let mut rows = 0;
        for (k, bc) in cards.iter().enumerate() {
            if bc.card.status != CardStatus::InProduction {
                continue;
            }
            rows += 1;
            let h = &bc.holder;
            let fields = [
                b.batch_no.clone(),
                (k + 1).to_string(),
                h.name.clone(),
                h.doc_type.clone(),
                h.doc_number.clone(),
                h.gender.clone(),
                h.birth_date.clone(),
                h.phone.clone(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        if b.status == "open" {
            production::set_batch_status(tx, b.id, "sent_to_bank")?;
        }
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "batch.bank_file",
                entity: "batch",
                entity_id: &b.batch_no,
                before: serde_json::json!({"status": b.status}),
                after: serde_json::json!({
                    "status": if b.status == "open" { "sent_to_bank" } else { b.status.as_str() },
                    "rows": rows,
                }),
            },
        )?;
        Ok(BankFile {
            file_name: format!("{}-bank-open.csv", b.batch_no),
            batch_no: b.batch_no.clone(),
            content: out,
            rows,
        })
    })
}

/// Imports the bank's return file of a batch: at the counter (clerk or supervisor) or sent by
/// the cooperating bank itself through the signed bank API (role `bank`, which only sees its
/// own batches: another bank's batch answers `BATCH_NOT_FOUND`). See the module documentation
/// for the format and the row codes.
pub fn bank_return(
    app: &App,
    actor: &Actor,
    batch_no: &str,
    csv: &[u8],
) -> Result<ReturnReport, ServiceError> {
    access::require(
        actor,
        &[
            crate::access::CLERK,
            crate::access::SUPERVISOR,
            crate::access::BANK,
        ],
    )?;
    let from_bank = actor.role == crate::access::BANK;
    let now = app.now();
    let today = app.today();
    let batch_no = batch_no.trim().to_string();
    let rows = read_rows(RosterFormat::Csv, csv)?;
    app.store().write(|tx| {
        let b = production::batch_for_update(tx, &batch_no)?
            .ok_or_else(|| batch_not_found(&batch_no))?;
        // A bank sees only its own batches (its code is the actor's agency).
        if from_bank && b.bank_code.as_deref() != Some(actor.agency.as_str()) {
            return Err(batch_not_found(&batch_no));
        }
        let mut it = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.iter().any(|c| !c.is_empty()));
        let header = it.next().map(|(_, h)| h.clone()).unwrap_or_default();
        let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(doc_col), Some(acct_col)) = (col("doc_number"), col("bank_account")) else {
            return Err(ServiceError::new(
                ErrorKind::BadRequest,
                "RETURN_FILE_HEADER",
                "回盘文件第1行须为表头 doc_number,bank_account",
                "Row 1 of the return file must be the header doc_number,bank_account",
            ));
        };
        let cards = production::cards_of_batch(tx, b.id)?;
        let region = RegionCode::parse(&b.region_code).map_err(|e| ServiceError::invalid(&e))?;
        let mut numbering = Numbering::start(tx, numbers::region_letter(region.as_str()))?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut produced = 0;
        for (i, cells) in it {
            let row = i + 1;
            let doc = cells
                .get(doc_col)
                .cloned()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let account = cells.get(acct_col).cloned().unwrap_or_default();
            let mut r = ReturnRow {
                row,
                doc_number_masked: mask_id(&doc),
                status: "ok".into(),
                code: None,
                message: None,
                message_en: None,
                card_no: None,
            };
            let err =
                |code: &'static str, zh: &str, en: &str| (code, zh.to_string(), en.to_string());
            let outcome: Result<i64, (&'static str, String, String)> = (|| {
                if cells.len() != header.len() || doc.is_empty() || account.is_empty() {
                    return Err(err(
                        "ROW_MALFORMED",
                        "该行格式有误(列数不符或缺少证件号码、银行账号)",
                        "Malformed row (wrong number of columns, or no document number or account)",
                    ));
                }
                if !(12..=19).contains(&account.len())
                    || !account.bytes().all(|c| c.is_ascii_digit())
                {
                    return Err(err(
                        "ACCOUNT_INVALID",
                        "银行账号须为 12–19 位数字",
                        "The bank account must be 12-19 digits",
                    ));
                }
                if !seen.insert(doc.clone()) {
                    return Err(err(
                        "DUPLICATE_ROW",
                        "该证件号码在回盘文件中重复出现",
                        "This document appears earlier in the file",
                    ));
                }
                let Some(bc) = cards.iter().find(|c| c.holder.doc_number == doc) else {
                    return Err(err(
                        "NOT_IN_BATCH",
                        "该证件号码不在本批次中",
                        "This document is not in the batch",
                    ));
                };
                let card = card_repo::card_for_update(tx, bc.card.id)
                    .map_err(|e| err("INTERNAL", &e.to_string(), &e.to_string()))?
                    .ok_or_else(|| err("NOT_IN_BATCH", "该卡不在本批次中", "Not in the batch"))?;
                if card.status != CardStatus::InProduction {
                    return Err(err(
                        "ALREADY_PRODUCED",
                        &format!("该卡当前状态为“{}”,不能重复回盘", card.status.label_zh()),
                        &format!(
                            "The card is already {}",
                            card.status.label_en().to_lowercase()
                        ),
                    ));
                }
                Ok(card.id)
            })();
            match outcome {
                Err((code, zh, en)) => {
                    if code == "INTERNAL" {
                        return Err(ServiceError::internal(zh));
                    }
                    r.status = "error".into();
                    r.code = Some(code.to_string());
                    r.message = Some(zh);
                    r.message_en = Some(en);
                }
                Ok(id) => {
                    let (serial, no) = numbering.take_next();
                    let chip = numbers::card_identifier(&region, serial);
                    production::set_produced(
                        tx,
                        id,
                        &no,
                        chip.as_str(),
                        b.bank_id,
                        &account,
                        &today.to_string(),
                    )?;
                    let card = card_repo::card_by_id(tx, id)?
                        .ok_or_else(|| ServiceError::internal("card vanished"))?;
                    transition(
                        tx,
                        now,
                        actor,
                        &card,
                        CardEvent::Produced,
                        serde_json::json!({
                            "batch_no": b.batch_no,
                            "card_id": chip.as_str(),
                            "bank_account": mask_id(&account),
                            "notice_date": today.to_string(),
                        }),
                    )?;
                    // A reissued card's holder hears "reissue ready" (they hold a pickup
                    // certificate); everyone else "card ready".
                    let kind = match sscard_store::repo::cards::previous_card_status(tx, card.id)?
                        .as_deref()
                    {
                        Some("reissuing") => notices::Kind::ReissueReady,
                        _ => notices::Kind::CardReady,
                    };
                    notices::queue_for_card(tx, now, &card, kind)?;
                    produced += 1;
                    r.card_no = Some(no);
                }
            }
            out.push(r);
        }
        let remaining = production::cards_of_batch(tx, b.id)?
            .iter()
            .filter(|c| c.card.status == CardStatus::InProduction)
            .count();
        let status = if remaining == 0 {
            "produced"
        } else if produced > 0 {
            "returned"
        } else {
            b.status.as_str()
        };
        if status != b.status {
            production::set_batch_status(tx, b.id, status)?;
        }
        let error_rows = out.iter().filter(|r| r.status == "error").count();
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "batch.bank_return",
                entity: "batch",
                entity_id: &b.batch_no,
                before: serde_json::json!({"status": b.status}),
                after: serde_json::json!({
                    "status": status,
                    "produced": produced,
                    "error_rows": error_rows,
                }),
            },
        )?;
        Ok(ReturnReport {
            batch_no: b.batch_no.clone(),
            produced,
            error_rows,
            batch_status: status.to_string(),
            rows: out,
        })
    })
}

/// The card view after production, for callers that hold a card reference.
pub fn card_view(app: &App, actor: &Actor, card_ref: i64) -> Result<CardView, ServiceError> {
    access::require(actor, &access::STAFF_ROLES)?;
    app.store()
        .read(|tx| card_repo::card_by_id(tx, card_ref))?
        .map(|c| CardView::from(&c))
        .ok_or_else(|| {
            ServiceError::not_found(
                "CARD_NOT_FOUND",
                format!("无此卡信息(card#{card_ref})"),
                format!("No such card (card#{card_ref})"),
            )
        })
}
