//! The medical personal-account ledger (double entry, integer fen).
//!
//! - Every transfer debits one account and credits another by a positive amount; posted
//!   transfers are immutable (a correction is a new transfer with a reason code).
//! - Idempotent by the client's transfer id: a retry with the same content returns the first
//!   result (`replayed: true`); the same id with different content is `TRANSFER_ID_CONFLICT`.
//! - Two-phase transfers for pre-authorisation: [`reserve`] holds an amount until an expiry,
//!   then [`post_pending`] posts all or part of it, or [`void_pending`] releases it.
//! - A personal account never goes negative: the database refuses a posting or a reservation
//!   that would take the available balance (balance − reserved) below zero
//!   (`INSUFFICIENT_BALANCE`), so the check happens when the amount is reserved.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sscard_store::repo::ledger as repo;
use sscard_store::repo::{regions, ts};
use sscard_store::{StoreError, Tx};

use crate::App;
use crate::access::{self, ADMIN, SYSTEM};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

pub use repo::{EntryRow, LedgerViolation};

/// Checks every ledger invariant: each balance equals its posted transfers, each reservation
/// equals its pending transfers, no personal or clearing account is negative, and all
/// balances sum to zero (double entry).
pub fn check_invariants(app: &App) -> Result<Vec<LedgerViolation>, ServiceError> {
    Ok(app.store().read(|tx| repo::check_invariants(tx))?)
}

/// A transfer to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// The client's id of this transfer (idempotency key), at most 64 characters.
    pub client_id: String,
    pub debit_account: i64,
    pub credit_account: i64,
    pub amount_fen: i64,
    pub kind: String,
    /// Why, for corrections and payouts (e.g. `REVERSAL`, `HEIR_PAYOUT`).
    pub reason_code: String,
    pub memo: String,
}

/// What a transfer call did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TransferResult {
    pub transfer_id: i64,
    pub client_id: String,
    /// `posted`, `pending` or `voided`.
    pub status: String,
    pub amount_fen: i64,
    /// True when this call found the transfer already made by an earlier call.
    pub replayed: bool,
}

fn bad(code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

fn conflict(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorKind::Conflict, code, zh, en)
}

/// `INSUFFICIENT_BALANCE`: the account cannot cover the amount.
pub fn insufficient() -> ServiceError {
    conflict(
        "INSUFFICIENT_BALANCE",
        "个人账户余额不足",
        "The personal account balance is insufficient",
    )
}

fn map_store(e: StoreError) -> ServiceError {
    match e {
        StoreError::Constraint(ref m)
            if m.contains("CHECK") || m.contains("23514") || m.contains("check") =>
        {
            insufficient()
        }
        StoreError::Constraint(_) => conflict(
            "TRANSFER_ID_CONFLICT",
            "该交易流水号已被使用",
            "This transfer id is already in use",
        ),
        other => other.into(),
    }
}

fn validate(req: &TransferRequest) -> Result<(), ServiceError> {
    if req.client_id.trim().is_empty() || req.client_id.len() > 64 {
        return Err(bad(
            "TRANSFER_ID_INVALID",
            "交易流水号须为 1 至 64 个字符",
            "The transfer id must be 1 to 64 characters",
        ));
    }
    if req.amount_fen <= 0 {
        return Err(bad(
            "AMOUNT_INVALID",
            "金额必须大于零",
            "The amount must be positive",
        ));
    }
    if req.debit_account == req.credit_account {
        return Err(bad(
            "TRANSFER_SAME_ACCOUNT",
            "转出与转入账户不能相同",
            "Debit and credit accounts must differ",
        ));
    }
    Ok(())
}

fn same_content(existing: &repo::TransferRow, req: &TransferRequest) -> bool {
    existing.debit_account == req.debit_account
        && existing.credit_account == req.credit_account
        && existing.amount_fen == req.amount_fen
        && existing.kind == req.kind
        && existing.reason_code == req.reason_code
}

fn replay_or_conflict(
    existing: repo::TransferRow,
    req: &TransferRequest,
) -> Result<TransferResult, ServiceError> {
    if same_content(&existing, req) {
        Ok(TransferResult {
            transfer_id: existing.id,
            client_id: existing.client_id,
            status: existing.status,
            amount_fen: existing.amount_fen,
            replayed: true,
        })
    } else {
        Err(conflict(
            "TRANSFER_ID_CONFLICT",
            "该交易流水号已用于内容不同的交易",
            "This transfer id was already used for a different transfer",
        ))
    }
}

fn new_transfer<'a>(req: &'a TransferRequest, now: &'a str) -> repo::NewTransfer<'a> {
    repo::NewTransfer {
        client_id: &req.client_id,
        debit_account: req.debit_account,
        credit_account: req.credit_account,
        amount_fen: req.amount_fen,
        kind: &req.kind,
        reason_code: &req.reason_code,
        memo: &req.memo,
        now,
    }
}

/// Posts a transfer inside the caller's transaction (idempotent by client id).
pub fn transfer_in(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    req: &TransferRequest,
) -> Result<TransferResult, ServiceError> {
    validate(req)?;
    if let Some(existing) = repo::transfer_by_client_id(tx, &req.client_id)? {
        return replay_or_conflict(existing, req);
    }
    let at = ts(now);
    let id = repo::post_transfer(tx, &new_transfer(req, &at)).map_err(map_store)?;
    Ok(TransferResult {
        transfer_id: id,
        client_id: req.client_id.clone(),
        status: "posted".into(),
        amount_fen: req.amount_fen,
        replayed: false,
    })
}

/// Posts a transfer in its own transaction.
pub fn transfer(app: &App, req: &TransferRequest) -> Result<TransferResult, ServiceError> {
    let now = app.now();
    app.store().write(|tx| transfer_in(tx, now, req))
}

/// Reserves an amount (phase one), expiring after `ttl`, inside the caller's transaction.
pub fn reserve_in(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    req: &TransferRequest,
    ttl: Duration,
) -> Result<TransferResult, ServiceError> {
    validate(req)?;
    if let Some(existing) = repo::transfer_by_client_id(tx, &req.client_id)? {
        return replay_or_conflict(existing, req);
    }
    let at = ts(now);
    let id =
        repo::insert_pending(tx, &new_transfer(req, &at), &ts(now + ttl)).map_err(map_store)?;
    Ok(TransferResult {
        transfer_id: id,
        client_id: req.client_id.clone(),
        status: "pending".into(),
        amount_fen: req.amount_fen,
        replayed: false,
    })
}

/// Reserves an amount in its own transaction.
pub fn reserve(
    app: &App,
    req: &TransferRequest,
    ttl: Duration,
) -> Result<TransferResult, ServiceError> {
    let now = app.now();
    app.store().write(|tx| reserve_in(tx, now, req, ttl))
}

fn pending_not_open(status: &str) -> ServiceError {
    conflict(
        "PENDING_NOT_OPEN",
        format!("该预授权已结束({status})"),
        format!("The reservation is no longer open ({status})"),
    )
}

/// Posts all (`amount_fen: None`) or part of a reservation, as the transfer `post_client_id`
/// (idempotent by that id). Errors: `PENDING_NOT_FOUND`, `PENDING_NOT_OPEN`,
/// `PENDING_EXPIRED`, `POST_EXCEEDS_RESERVED`, `AMOUNT_INVALID`.
pub fn post_pending_in(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    pending_client_id: &str,
    post_client_id: &str,
    amount_fen: Option<i64>,
) -> Result<TransferResult, ServiceError> {
    let pending = repo::transfer_by_client_id(tx, pending_client_id)?.ok_or_else(|| {
        ServiceError::not_found("PENDING_NOT_FOUND", "未找到该预授权", "No such reservation")
    })?;
    let amount = amount_fen.unwrap_or(pending.amount_fen);
    let req = TransferRequest {
        client_id: post_client_id.to_string(),
        debit_account: pending.debit_account,
        credit_account: pending.credit_account,
        amount_fen: amount,
        kind: pending.kind.clone(),
        reason_code: pending.reason_code.clone(),
        memo: pending.memo.clone(),
    };
    validate(&req)?;
    if let Some(existing) = repo::transfer_by_client_id(tx, post_client_id)? {
        return replay_or_conflict(existing, &req);
    }
    if pending.status != "pending" || pending.expires_at.is_none() {
        return Err(pending_not_open(&pending.status));
    }
    if pending
        .expires_at
        .as_deref()
        .is_some_and(|e| e <= ts(now).as_str())
    {
        return Err(conflict(
            "PENDING_EXPIRED",
            "预授权已过期",
            "The reservation has expired",
        ));
    }
    if amount > pending.amount_fen {
        return Err(bad(
            "POST_EXCEEDS_RESERVED",
            "入账金额超过预授权金额",
            "The amount exceeds the reservation",
        ));
    }
    let at = ts(now);
    let id = repo::finish_pending(tx, &pending, Some(&new_transfer(&req, &at)))
        .map_err(map_store)?
        .unwrap_or_default();
    Ok(TransferResult {
        transfer_id: id,
        client_id: req.client_id,
        status: "posted".into(),
        amount_fen: amount,
        replayed: false,
    })
}

/// [`post_pending_in`] in its own transaction.
pub fn post_pending(
    app: &App,
    pending_client_id: &str,
    post_client_id: &str,
    amount_fen: Option<i64>,
) -> Result<TransferResult, ServiceError> {
    let now = app.now();
    app.store()
        .write(|tx| post_pending_in(tx, now, pending_client_id, post_client_id, amount_fen))
}

/// Releases a reservation. Voiding an already voided one is a no-op (`replayed`).
pub fn void_pending_in(
    tx: &mut dyn Tx,
    pending_client_id: &str,
) -> Result<TransferResult, ServiceError> {
    let pending = repo::transfer_by_client_id(tx, pending_client_id)?.ok_or_else(|| {
        ServiceError::not_found("PENDING_NOT_FOUND", "未找到该预授权", "No such reservation")
    })?;
    let result = |replayed| TransferResult {
        transfer_id: pending.id,
        client_id: pending.client_id.clone(),
        status: "voided".into(),
        amount_fen: pending.amount_fen,
        replayed,
    };
    match pending.status.as_str() {
        "voided" if pending.expires_at.is_some() => Ok(result(true)),
        "pending" => {
            repo::finish_pending(tx, &pending, None)?;
            Ok(result(false))
        }
        other => Err(pending_not_open(other)),
    }
}

/// [`void_pending_in`] in its own transaction.
pub fn void_pending(app: &App, pending_client_id: &str) -> Result<TransferResult, ServiceError> {
    app.store()
        .write(|tx| void_pending_in(tx, pending_client_id))
}

/// Voids every reservation past its expiry; returns how many.
pub fn expire_pending(app: &App) -> Result<u64, ServiceError> {
    let now = ts(app.now());
    let mut n = 0;
    loop {
        let batch = app.store().write(|tx| {
            let rows = repo::expired_pending(tx, &now, 500)?;
            for p in &rows {
                repo::finish_pending(tx, p, None)?;
            }
            Ok::<_, ServiceError>(rows.len() as u64)
        })?;
        n += batch;
        if batch < 500 {
            return Ok(n);
        }
    }
}

/// Result of a monthly contribution posting.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PostingReport {
    pub month: String,
    /// Transfers posted by this run (0 when the month was already posted).
    pub transfers: i64,
    pub credited_fen: i64,
    /// Per region: (code, transfers, fen).
    pub regions: Vec<(String, i64, i64)>,
}

/// Credits every insured person's medical personal account for `month` (`YYYY-MM`) from the
/// contribution records: `base × medical_account_rate_bp / 10 000` (rounded down) of the
/// policy in force today in the person's region, from that region's contribution income
/// account. One set-based pass for all regions in one transaction (see
/// [`repo::post_contributions`]). Idempotent per person and month: a person already credited
/// for the month is skipped, so a second run posts nothing; a person without a contribution
/// record for the month gets nothing. Regions without a contribution income account are
/// reported with nothing posted. Admin or system only; audited (`ledger.post_contributions`).
pub fn post_contributions(
    app: &App,
    actor: &Actor,
    month: &str,
) -> Result<PostingReport, ServiceError> {
    access::require(actor, &[ADMIN, SYSTEM])?;
    let valid = month.len() == 7
        && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    if !valid {
        return Err(bad(
            "MONTH_INVALID",
            "月份格式应为 YYYY-MM",
            "The month must be YYYY-MM",
        ));
    }
    let now = app.now();
    let today = app.today();
    app.store().write(|tx| {
        let mut terms = Vec::new();
        let mut codes = Vec::new();
        for r in regions::list_regions(tx)? {
            if let Some(income) = repo::fund_account(tx, &r.code, "contribution_income")? {
                let policy = regions::policy_in_force(tx, &r.code, today)?.unwrap_or_default();
                terms.push(repo::PostingTerms {
                    region: r.code.clone(),
                    rate_bp: i64::from(policy.medical_account_rate_bp),
                    income_account: income,
                });
            }
            codes.push(r.code);
        }
        let posted = repo::post_contributions(tx, month, &terms, &ts(now))?;
        let mut report = PostingReport {
            month: month.to_string(),
            transfers: 0,
            credited_fen: 0,
            regions: Vec::with_capacity(codes.len()),
        };
        for code in codes {
            let (n, fen) = posted
                .iter()
                .find(|p| p.region == code)
                .map_or((0, 0), |p| (p.transfers, p.fen));
            report.transfers += n;
            report.credited_fen += fen;
            report.regions.push((code, n, fen));
        }
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "ledger.post_contributions",
                entity: "month",
                entity_id: month,
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "transfers": report.transfers,
                    "credited_fen": report.credited_fen,
                }),
            },
        )?;
        Ok(report)
    })
}

/// The medical personal account of a person and the region's fund accounts, by role.
pub fn medical_account_of(tx: &mut dyn Tx, person_id: i64) -> Result<Option<i64>, ServiceError> {
    Ok(repo::person_account(tx, person_id, "medical_personal")?)
}
