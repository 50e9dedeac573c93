//! Payouts from the medical personal account at the counter (seed 003): a cash withdrawal
//! with an approved settlement slip (冲卡提款), the account moved out with the person to
//! another pooling region (医疗个人账户迁移, 转移出) and the refund to a migrant contract worker
//! who leaves (退医疗保险个人账户, 离职退还). The heirs' payout is in
//! [`crate::cards::death`].
//!
//! Every payout is one immutable ledger transfer from the person's `medical_personal`
//! account to the region's `cash_payout` account (the cash or the bank transfer handed over),
//! with a reason code (`WITHDRAWAL_SLIP`, `MIGRATION_OUT`, `LEAVING_REFUND`) and an audit row
//! in the same transaction. The rules:
//!
//! - counter staff (clerk, supervisor) make the request; a supervisor approves it with their
//!   own credentials, and nobody approves their own request (`APPROVAL_SELF`);
//! - the holder is identified: the document number presented must be the person's
//!   (`ID_MISMATCH`); a deceased person's account goes to the heirs instead
//!   (`PERSON_DECEASED`);
//! - the approved document's number is recorded (the settlement slip, the migration
//!   certificate, the pension account settlement table) and authorises one payout: the same
//!   number is refused for a second payout of the person (`PAYOUT_SLIP_USED`);
//! - a withdrawal pays the slip's amount, positive and within the available balance
//!   (balance − reserved; `INSUFFICIENT_BALANCE`); a migration out and a leaving refund pay
//!   the whole balance, so they need a settled account (nothing reserved, no pending
//!   pre-settlement: `PAYOUT_ACCOUNT_NOT_SETTLED`) and something to pay
//!   (`PAYOUT_NOTHING_TO_PAY`); when the clerk gives the amount shown to the holder, it must
//!   still be the balance (`PAYOUT_AMOUNT_MISMATCH`);
//! - a migration out names the destination region (a GB/T 2260 code outside the person's own
//!   pooling region);
//! - idempotent by the client's id: a retry with the same content returns the first payout
//!   (`replayed: true`, nothing moves); the same id with different content is
//!   `TRANSFER_ID_CONFLICT`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sscard_domain::ids::RegionCode;
use sscard_store::Tx;
use sscard_store::repo::ledger::TransferRow;
use sscard_store::repo::{aftercare, ledger as repo, persons, ts};

use crate::App;
use crate::access::{self, COUNTER, STAFF_ROLES};
use crate::audit::{self, Actor, Change};
use crate::cards::approval::{self, Approved, SupervisorApproval};
use crate::cards::check_holder_document;
use crate::cards::reissue::{person_deceased, person_not_found};
use crate::error::{ErrorKind, ServiceError};
use crate::ledger::{self, TransferRequest};

/// The kinds of payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutKind {
    /// 冲卡提款: a cash withdrawal of the amount on an approved settlement slip.
    Withdrawal,
    /// 医疗个人账户迁移(转移出): the whole balance, taken to the destination region.
    MigrationOut,
    /// 退医疗保险个人账户(离职退还): the whole balance, refunded to a leaving worker.
    LeavingRefund,
}

impl PayoutKind {
    /// Every kind.
    pub const ALL: [PayoutKind; 3] = [
        PayoutKind::Withdrawal,
        PayoutKind::MigrationOut,
        PayoutKind::LeavingRefund,
    ];

    /// The snake_case name, also the ledger transfer's kind.
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutKind::Withdrawal => "withdrawal",
            PayoutKind::MigrationOut => "migration_out",
            PayoutKind::LeavingRefund => "leaving_refund",
        }
    }

    /// The ledger transfer's reason code.
    pub fn reason_code(self) -> &'static str {
        match self {
            PayoutKind::Withdrawal => "WITHDRAWAL_SLIP",
            PayoutKind::MigrationOut => "MIGRATION_OUT",
            PayoutKind::LeavingRefund => "LEAVING_REFUND",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PayoutKind::Withdrawal => "冲卡提款",
            PayoutKind::MigrationOut => "个人账户转移出",
            PayoutKind::LeavingRefund => "离职退还个人账户",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            PayoutKind::Withdrawal => "Cash withdrawal with an approved slip",
            PayoutKind::MigrationOut => "Account moved out to another region",
            PayoutKind::LeavingRefund => "Refund to a leaving worker",
        }
    }

    /// Whether the payout is the whole balance (the amount is not chosen).
    pub fn whole_balance(self) -> bool {
        !matches!(self, PayoutKind::Withdrawal)
    }

    /// The approved document whose number is recorded.
    fn slip_label_zh(self) -> &'static str {
        match self {
            PayoutKind::Withdrawal => "结算单",
            PayoutKind::MigrationOut => "迁移证明",
            PayoutKind::LeavingRefund => "养老个人账户结算表",
        }
    }

    /// Parses the snake_case name. Errors: `PAYOUT_KIND_INVALID`.
    pub fn parse(s: &str) -> Result<PayoutKind, ServiceError> {
        PayoutKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                bad(
                    "PAYOUT_KIND_INVALID",
                    "支取类型只能是 withdrawal(冲卡提款)、migration_out(转移出)或 leaving_refund(离职退还)",
                    "The payout kind must be withdrawal, migration_out or leaving_refund",
                )
            })
    }
}

/// A payout requested at the counter.
#[derive(Debug, Clone)]
pub struct PayoutRequest {
    /// The client's id of this payout (idempotency key), 1 to 64 characters.
    pub client_id: String,
    /// The person (internal reference, as in search results).
    pub person_ref: i64,
    pub kind: PayoutKind,
    /// The number of the document the holder presents (ID check).
    pub presented_doc_number: String,
    /// A withdrawal: the slip's amount (required). A whole-balance payout: the amount shown to
    /// the holder, checked against the balance (optional).
    pub amount_fen: Option<i64>,
    /// The approved document's number (settlement slip, migration certificate, pension
    /// account settlement table): letters, digits, `-`, `_`, `/`, at most 40.
    pub slip_no: String,
    /// A free remark, at most 200 characters (audited).
    pub note: String,
    /// A migration out: the destination region's GB/T 2260 code.
    pub destination_region: Option<String>,
    /// The approving supervisor's credentials.
    pub approval: SupervisorApproval,
}

/// A payout made (or found made by an earlier call with the same client id).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PayoutOutcome {
    pub transfer_id: i64,
    pub client_id: String,
    pub kind: String,
    pub kind_label: String,
    pub reason_code: String,
    pub amount_fen: i64,
    /// The medical personal account's balance after the payout (now, for a replay).
    pub balance_after_fen: i64,
    pub slip_no: String,
    pub destination_region: Option<String>,
    /// The supervisor who approved this call.
    pub approved_by: String,
    pub memo: String,
    pub at: String,
    /// True when an earlier call with the same client id made this payout.
    pub replayed: bool,
}

/// A past payout of a person.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PayoutView {
    pub transfer_id: i64,
    pub client_id: String,
    pub kind: String,
    pub kind_label: String,
    pub kind_label_en: String,
    pub reason_code: String,
    pub amount_fen: i64,
    pub memo: String,
    pub at: String,
}

fn bad(code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

fn conflict(code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(ErrorKind::Conflict, code, zh, en)
}

fn id_conflict() -> ServiceError {
    conflict(
        "TRANSFER_ID_CONFLICT",
        "该交易流水号已用于内容不同的交易",
        "This transfer id was already used for a different transfer",
    )
}

fn nothing_to_pay() -> ServiceError {
    conflict(
        "PAYOUT_NOTHING_TO_PAY",
        "医保个人账户余额为零,没有可支取的金额",
        "The medical personal account balance is zero: there is nothing to pay",
    )
}

fn not_settled() -> ServiceError {
    conflict(
        "PAYOUT_ACCOUNT_NOT_SETTLED",
        "医保个人账户有未完成的结算(预授权冻结金额),请先处理后再办理",
        "The medical personal account has unfinished settlements (reserved amounts): finish them first",
    )
}

fn slip_used() -> ServiceError {
    conflict(
        "PAYOUT_SLIP_USED",
        "该凭证编号已办理过支取,不能重复使用",
        "This document number was already used for a payout",
    )
}

/// The request's checked fields.
struct Checked {
    slip_no: String,
    note: String,
    destination: Option<RegionCode>,
}

fn check_input(req: &PayoutRequest) -> Result<Checked, ServiceError> {
    if req.client_id.trim().is_empty() || req.client_id.len() > 64 {
        return Err(bad(
            "TRANSFER_ID_INVALID",
            "交易流水号须为 1 至 64 个字符",
            "The transfer id must be 1 to 64 characters",
        ));
    }
    let slip_no = req.slip_no.trim().to_string();
    if slip_no.is_empty() {
        return Err(bad(
            "PAYOUT_SLIP_REQUIRED",
            "请填写经审核的凭证编号(结算单、迁移证明或养老个人账户结算表)",
            "Give the number of the approved document (slip, migration certificate or pension account settlement table)",
        ));
    }
    if slip_no.chars().count() > 40
        || !slip_no
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'))
    {
        return Err(bad(
            "PAYOUT_SLIP_INVALID",
            "凭证编号只能由字母、数字和 - _ / 组成,最多 40 个字符",
            "The document number may hold letters, digits, - _ / and at most 40 characters",
        ));
    }
    let note = req.note.trim().to_string();
    if note.chars().count() > 200 {
        return Err(bad(
            "PAYOUT_NOTE_TOO_LONG",
            "备注最多 200 个字",
            "The remark may hold at most 200 characters",
        ));
    }
    match req.amount_fen {
        None if !req.kind.whole_balance() => {
            return Err(bad(
                "PAYOUT_AMOUNT_REQUIRED",
                "冲卡提款须填写结算单上的金额",
                "A withdrawal needs the slip's amount",
            ));
        }
        Some(a) if a <= 0 => {
            return Err(bad(
                "AMOUNT_INVALID",
                "金额必须大于零",
                "The amount must be positive",
            ));
        }
        _ => {}
    }
    let destination = match (req.kind, req.destination_region.as_deref().map(str::trim)) {
        (PayoutKind::MigrationOut, None | Some("")) => {
            return Err(bad(
                "PAYOUT_DESTINATION_REQUIRED",
                "转移出须填写迁入地行政区划代码",
                "A migration out needs the destination region code",
            ));
        }
        (PayoutKind::MigrationOut, Some(code)) => {
            Some(RegionCode::parse(code).map_err(|e| ServiceError::invalid(&e))?)
        }
        (_, None | Some("")) => None,
        (_, Some(_)) => {
            return Err(bad(
                "PAYOUT_DESTINATION_UNEXPECTED",
                "只有转移出才填写迁入地",
                "Only a migration out has a destination region",
            ));
        }
    };
    Ok(Checked {
        slip_no,
        note,
        destination,
    })
}

/// The transfer's memo: what the payout is, with the approved document's number.
fn memo(kind: PayoutKind, c: &Checked) -> String {
    let slip = format!("({} {})", kind.slip_label_zh(), c.slip_no);
    match &c.destination {
        Some(d) => format!("{}至 {} {}{slip}", kind.label_zh(), d.as_str(), d.name()),
        None => format!("{}{slip}", kind.label_zh()),
    }
}

/// Whether a memo records the document number `slip_no` (the number is always followed by
/// the closing parenthesis, and holds neither spaces nor parentheses).
fn memo_has_slip(memo: &str, slip_no: &str) -> bool {
    memo.contains(&format!(" {slip_no})"))
}

/// Whether `region` lies in the pooling region `home` (e.g. `511002` in `511000`).
fn within(home: &str, region: &str) -> bool {
    let mut prefix = home;
    while prefix.len() > 2 && prefix.ends_with("00") {
        prefix = &prefix[..prefix.len() - 2];
    }
    region.starts_with(prefix)
}

/// What a payout request comes to, once the person and the account were looked at.
enum Plan {
    /// The client id is already used (the write phase compares the content).
    Existing,
    /// A new payout from `account` of `amount`.
    Pay { account: i64, amount: i64 },
}

/// The checks shared by the read-only pre-check (before the supervisor's password is tried)
/// and the write phase (`lock`: rows locked on PostgreSQL, the replay compared in full).
fn assess(
    tx: &mut dyn Tx,
    req: &PayoutRequest,
    c: &Checked,
    lock: bool,
) -> Result<(persons::PersonRow, Plan), ServiceError> {
    let person = persons::person_by_id(tx, req.person_ref)?.ok_or_else(person_not_found)?;
    check_holder_document(&person, &req.presented_doc_number)?;
    if aftercare::transfer_by_client_id(tx, &req.client_id)?.is_some() {
        return Ok((person, Plan::Existing));
    }
    if person.life_status == "deceased" {
        return Err(person_deceased());
    }
    if let Some(d) = &c.destination
        && within(&person.region_code, d.as_str())
    {
        return Err(bad(
            "PAYOUT_DESTINATION_SAME",
            "迁入地不能是本统筹区",
            "The destination must be outside the person's own pooling region",
        ));
    }
    let account = if lock {
        aftercare::account_for_update(tx, person.id, "medical_personal")?.map(|(id, _)| id)
    } else {
        repo::person_account(tx, person.id, "medical_personal")?
    };
    let Some(account) = account else {
        return Err(if req.kind.whole_balance() {
            nothing_to_pay()
        } else {
            ledger::insufficient()
        });
    };
    for kind in PayoutKind::ALL {
        if repo::debits_with_reason(tx, account, kind.reason_code())?
            .iter()
            .any(|t| memo_has_slip(&t.memo, &c.slip_no))
        {
            return Err(slip_used());
        }
    }
    let (balance, reserved) = repo::account_balance(tx, account)?;
    let amount = if req.kind.whole_balance() {
        let (_, pending) = aftercare::unsettled(tx, person.id, "medical_personal")?;
        if reserved != 0 || pending != 0 {
            return Err(not_settled());
        }
        if balance <= 0 {
            return Err(nothing_to_pay());
        }
        if req.amount_fen.is_some_and(|a| a != balance) {
            return Err(conflict(
                "PAYOUT_AMOUNT_MISMATCH",
                "账户余额已变动,与所示金额不符,请重新查询后再办理",
                "The balance changed and differs from the amount shown: look it up again",
            ));
        }
        balance
    } else {
        let amount = req.amount_fen.unwrap_or_default();
        if amount > balance - reserved {
            return Err(ledger::insufficient());
        }
        amount
    };
    Ok((person, Plan::Pay { account, amount }))
}

fn outcome(
    t: &TransferRow,
    kind: PayoutKind,
    c: &Checked,
    balance_after: i64,
    approved: &Approved,
    replayed: bool,
) -> PayoutOutcome {
    PayoutOutcome {
        transfer_id: t.id,
        client_id: t.client_id.clone(),
        kind: kind.as_str().into(),
        kind_label: kind.label_zh().into(),
        reason_code: kind.reason_code().into(),
        amount_fen: t.amount_fen,
        balance_after_fen: balance_after,
        slip_no: c.slip_no.clone(),
        destination_region: c.destination.as_ref().map(|d| d.as_str().to_string()),
        approved_by: approved.username.clone(),
        memo: t.memo.clone(),
        at: t.created_at.clone(),
        replayed,
    }
}

/// A retry of a payout: the same person's account, kind, document and amount (when given)
/// return the first payout; anything else is `TRANSFER_ID_CONFLICT`.
fn replay(
    tx: &mut dyn Tx,
    person: &persons::PersonRow,
    req: &PayoutRequest,
    c: &Checked,
    approved: &Approved,
) -> Result<PayoutOutcome, ServiceError> {
    let existing = repo::transfer_by_client_id(tx, &req.client_id)?.ok_or_else(id_conflict)?;
    let account = repo::person_account(tx, person.id, "medical_personal")?;
    let same = Some(existing.debit_account) == account
        && existing.kind == req.kind.as_str()
        && existing.reason_code == req.kind.reason_code()
        && existing.status == "posted"
        && existing.pending_id.is_none()
        && existing.expires_at.is_none()
        && existing.memo == memo(req.kind, c)
        && req.amount_fen.is_none_or(|a| a == existing.amount_fen);
    if !same {
        return Err(id_conflict());
    }
    let (balance, _) = repo::account_balance(tx, existing.debit_account)?;
    Ok(outcome(&existing, req.kind, c, balance, approved, true))
}

fn pay_in_tx(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    req: &PayoutRequest,
    c: &Checked,
    approved: &Approved,
) -> Result<PayoutOutcome, ServiceError> {
    let (person, plan) = assess(tx, req, c, true)?;
    let (account, amount) = match plan {
        Plan::Existing => return replay(tx, &person, req, c, approved),
        Plan::Pay { account, amount } => (account, amount),
    };
    let at = ts(now);
    let (before, _) = repo::account_balance(tx, account)?;
    let payout = repo::open_account(tx, "cash_payout", None, None, &person.region_code, &at)?;
    let memo = memo(req.kind, c);
    let result = ledger::transfer_in(
        tx,
        now,
        &TransferRequest {
            client_id: req.client_id.clone(),
            debit_account: account,
            credit_account: payout,
            amount_fen: amount,
            kind: req.kind.as_str().into(),
            reason_code: req.kind.reason_code().into(),
            memo: memo.clone(),
        },
    )?;
    let (after, _) = repo::account_balance(tx, account)?;
    let destination = c.destination.as_ref().map(|d| d.as_str().to_string());
    audit::record(
        tx,
        now,
        actor,
        Change {
            action: "ledger.payout",
            entity: "person",
            entity_id: &format!("person#{}", person.id),
            before: serde_json::json!({"medical_balance_fen": before}),
            after: serde_json::json!({
                "medical_balance_fen": after,
                "kind": req.kind.as_str(),
                "reason_code": req.kind.reason_code(),
                "amount_fen": amount,
                "transfer_id": result.transfer_id,
                "client_id": req.client_id,
                "slip_no": c.slip_no,
                "destination_region": destination,
                "note": c.note,
                "approved_by": approved.username,
                "presented_doc_masked": sscard_domain::mask::mask_id(&person.doc_number),
            }),
        },
    )?;
    Ok(PayoutOutcome {
        transfer_id: result.transfer_id,
        client_id: req.client_id.clone(),
        kind: req.kind.as_str().into(),
        kind_label: req.kind.label_zh().into(),
        reason_code: req.kind.reason_code().into(),
        amount_fen: amount,
        balance_after_fen: after,
        slip_no: c.slip_no.clone(),
        destination_region: destination,
        approved_by: approved.username.clone(),
        memo,
        at,
        replayed: false,
    })
}

/// Pays out of a person's medical personal account (clerk or supervisor, approved by another
/// supervisor's credentials). See the module documentation for the rules.
///
/// Errors: `FORBIDDEN`; input: `TRANSFER_ID_INVALID`, `PAYOUT_SLIP_REQUIRED`,
/// `PAYOUT_SLIP_INVALID`, `PAYOUT_NOTE_TOO_LONG`, `PAYOUT_AMOUNT_REQUIRED`, `AMOUNT_INVALID`,
/// `PAYOUT_DESTINATION_REQUIRED`, `PAYOUT_DESTINATION_UNEXPECTED`, the region code's
/// `REGION_*`; the person: `PERSON_NOT_FOUND`, `ID_MISMATCH`, `PERSON_DECEASED`,
/// `PAYOUT_DESTINATION_SAME`; the account: `INSUFFICIENT_BALANCE`, `PAYOUT_NOTHING_TO_PAY`,
/// `PAYOUT_ACCOUNT_NOT_SETTLED`, `PAYOUT_AMOUNT_MISMATCH`, `PAYOUT_SLIP_USED`,
/// `TRANSFER_ID_CONFLICT`; the approval's `APPROVAL_*`, `STAFF_LOCKED`, `STAFF_DISABLED`.
pub fn pay_out(
    app: &App,
    actor: &Actor,
    req: &PayoutRequest,
) -> Result<PayoutOutcome, ServiceError> {
    access::require(actor, &COUNTER)?;
    let checked = check_input(req)?;
    // Refuse what is refused anyway before the supervisor's password is tried.
    app.store()
        .read(|tx| assess(tx, req, &checked, false).map(|_| ()))?;
    let approved = approval::verify_supervisor(app, actor, &req.approval)?;
    let now = app.now();
    app.store()
        .write(|tx| pay_in_tx(tx, now, actor, req, &checked, &approved))
}

/// The payouts of a person's medical personal account, newest first (any staff role).
///
/// Errors: `FORBIDDEN`, `PERSON_NOT_FOUND`.
pub fn payouts_of(
    app: &App,
    actor: &Actor,
    person_ref: i64,
) -> Result<Vec<PayoutView>, ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    app.store().read(|tx| {
        let person = persons::person_by_id(tx, person_ref)?.ok_or_else(person_not_found)?;
        let Some(account) = repo::person_account(tx, person.id, "medical_personal")? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for kind in PayoutKind::ALL {
            for t in repo::debits_with_reason(tx, account, kind.reason_code())? {
                out.push(PayoutView {
                    transfer_id: t.id,
                    client_id: t.client_id,
                    kind: kind.as_str().into(),
                    kind_label: kind.label_zh().into(),
                    kind_label_en: kind.label_en().into(),
                    reason_code: t.reason_code,
                    amount_fen: t.amount_fen,
                    memo: t.memo,
                    at: t.created_at,
                });
            }
        }
        out.sort_by_key(|v| std::cmp::Reverse(v.transfer_id));
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pooling_region_holds_its_counties() {
        assert!(within("511000", "511002"));
        assert!(within("511000", "511000"));
        assert!(!within("511000", "510100"));
        assert!(within("500000", "500101"));
        assert!(!within("500000", "510100"));
        assert!(within("210200", "210202"));
        assert!(!within("210200", "210100"));
    }

    #[test]
    fn the_memo_names_the_document_exactly() {
        let c = Checked {
            slip_no: "S-12".into(),
            note: String::new(),
            destination: None,
        };
        let m = memo(PayoutKind::Withdrawal, &c);
        assert!(memo_has_slip(&m, "S-12"), "{m}");
        assert!(!memo_has_slip(&m, "S-1"), "{m}");
        assert!(!memo_has_slip(&m, "AS-12"), "{m}");
        let c = Checked {
            slip_no: "M1".into(),
            note: String::new(),
            destination: Some(RegionCode::parse("500000").unwrap()),
        };
        let m = memo(PayoutKind::MigrationOut, &c);
        assert!(m.contains("500000") && memo_has_slip(&m, "M1"), "{m}");
        assert!(!memo_has_slip(&m, "500000"), "{m}");
    }

    #[test]
    fn kinds_parse_from_their_names() {
        for k in PayoutKind::ALL {
            assert_eq!(PayoutKind::parse(k.as_str()).unwrap(), k);
        }
        assert_eq!(
            PayoutKind::parse("cash").unwrap_err().code,
            "PAYOUT_KIND_INVALID"
        );
    }
}
