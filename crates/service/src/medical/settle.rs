//! The institution interfaces: 9001, 1101, 2206, 2207, 2208, 2601, 3201, 3202.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sscard_domain::settlement::{InstitutionLevel, Scheme, Split, YearToDate, split};
use sscard_store::repo::ledger as ledger_repo;
use sscard_store::repo::medical::{self as repo, NewSettlement, SettlementRow};
use sscard_store::repo::ts;
use sscard_store::{GroupedWrite, Tx};

use super::auth::{Institution, consume_nonce};
use super::{
    CallMeta, DayTotals, DetailRecord, Mismatch, PersonInfo, PersonQuery, ReconcileDetail,
    ReconcileDetailInput, ReconcileTotals, ReconcileTotalsInput, Resolved, ReverseOutput,
    SettleInput, SettleOutput, SignIn, bad_input, check_items, err, resolve,
};
use crate::App;
use crate::cards::pin::{PinCheck, check_in};
use crate::error::{ErrorKind, ServiceError};

/// What a call's work returns: `Ok(Ok(v))` keep the changes and answer `v`; `Ok(Err(e))` keep
/// the changes (a counted wrong PIN) but answer `e`; `Err(e)` roll the changes back.
type Work<T> = Result<Result<T, ServiceError>, ServiceError>;

/// A call's work: what it does inside the transaction, at the call's time.
type CallWork<'a, T> = dyn FnMut(&mut dyn Tx, DateTime<Utc>) -> Work<T> + 'a;

/// A call handed to the store's group commit: wait for it ([`PendingCall::wait`]) or await it
/// (from an async task, without holding a thread, when the store commits in the background:
/// see [`sscard_store::Store::grouped_in_background`]).
#[must_use = "a call reports its outcome only when waited for or awaited"]
pub struct PendingCall<T>(Pending<T>);

enum Pending<T> {
    Grouped(GroupedWrite<Result<T, ServiceError>, ServiceError>),
    /// Already done (committed on the calling thread).
    Done(Option<Result<T, ServiceError>>),
}

// The outcome is only ever moved out, never pinned.
impl<T> Unpin for PendingCall<T> {}

impl<T> PendingCall<T> {
    /// Blocks until the call's commit is durable.
    pub fn wait(self) -> Result<T, ServiceError> {
        match self.0 {
            Pending::Grouped(g) => g.wait()?,
            Pending::Done(r) => {
                r.unwrap_or_else(|| Err(ServiceError::internal("call awaited twice")))
            }
        }
    }

    fn done(r: Result<T, ServiceError>) -> Self {
        PendingCall(Pending::Done(Some(r)))
    }
}

impl<T> std::future::Future for PendingCall<T> {
    type Output = Result<T, ServiceError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match &mut self.get_mut().0 {
            Pending::Grouped(g) => std::pin::Pin::new(g).poll(cx).map(|r| r?),
            Pending::Done(r) => std::task::Poll::Ready(
                r.take()
                    .unwrap_or_else(|| Err(ServiceError::internal("call awaited twice"))),
            ),
        }
    }
}

/// Whether a [`PendingCall`] may be awaited from an async task without blocking it: the store
/// commits on a thread of its own (SQLite). Otherwise (PostgreSQL) handing a call over runs it
/// on the calling thread, which must then be one allowed to block.
pub fn calls_run_in_background(app: &App) -> bool {
    app.store().grouped_in_background()
}

/// Hands a call to a grouped durable write: the nonce is consumed first and kept whatever the
/// call does; what the call's work decides to undo is undone (see [`call_in`]). The work may
/// run twice, the first run rolled back: it must not leave anything behind outside the
/// transaction.
fn submit_call<T, F>(app: &App, inst: &Institution, mut work: F) -> PendingCall<T>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Tx, DateTime<Utc>) -> Work<T> + Send + 'static,
{
    let now = app.now();
    let inst = inst.clone();
    let app = app.clone();
    PendingCall(Pending::Grouped(app.clone().store().submit_grouped(
        move |tx| -> Work<T> { call_in(&app, &inst, tx, now, &mut work) },
    )))
}

/// A call's share of a transaction: consumes the nonce (kept whatever the call does), then runs
/// the call's work; when the work says `Err`, what it wrote is undone and the nonce stays.
///
/// In a group commit's first pass (SQLite) there is no savepoint to undo with: a work that
/// refuses without having written anything (the usual refusal) needs none, and one that did
/// write asks the store to run the group again with a savepoint around every call, where this
/// takes its own savepoint as well.
fn call_in<T>(
    app: &App,
    inst: &Institution,
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    work: &mut CallWork<'_, T>,
) -> Work<T> {
    if let Err(e) = consume_nonce(app, tx, inst, now) {
        return Ok(Err(e));
    }
    if let Some(before) = tx.unguarded_changes() {
        return match work(tx, now) {
            Ok(answer) => Ok(answer),
            Err(e) if tx.unguarded_changes() == Some(before) => Ok(Err(e)),
            // Never answered: the store runs the group again and this call with it.
            Err(_) => Err(ServiceError::new(
                crate::error::ErrorKind::Internal,
                "RERUN_WITH_SAVEPOINT",
                "请重试",
                "Run again with a savepoint",
            )),
        };
    }
    tx.execute("SAVEPOINT medical_call", &[])?;
    match work(tx, now) {
        Ok(answer) => {
            tx.execute("RELEASE SAVEPOINT medical_call", &[])?;
            Ok(answer)
        }
        Err(e) => {
            tx.execute("ROLLBACK TO SAVEPOINT medical_call", &[])?;
            tx.execute("RELEASE SAVEPOINT medical_call", &[])?;
            Ok(Err(e))
        }
    }
}

/// [`submit_call`] and wait for it.
fn run_call<T, F>(app: &App, inst: &Institution, work: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Tx, DateTime<Utc>) -> Work<T> + Send + 'static,
{
    submit_call(app, inst, work).wait()
}

/// The region's policy in force on `day`, from the cache when fresh.
fn policy_of(
    app: &App,
    tx: &mut dyn Tx,
    region: &str,
    day: NaiveDate,
) -> Result<sscard_domain::policy::RegionPolicy, ServiceError> {
    let cache = app.medical_cache();
    if let Some(p) = cache.policy(region, day) {
        return Ok(p);
    }
    let p = crate::cards::policy_of(tx, region, day)?;
    cache.put_policy(region, day, &p);
    Ok(p)
}

fn day_of(app: &App) -> String {
    app.today().format("%Y-%m-%d").to_string()
}

fn check_operator(op: &str) -> Result<(), ServiceError> {
    if op.trim().is_empty() || op.len() > 32 {
        return Err(bad_input(
            "经办人(opter)须为 1 至 32 个字符",
            "The operator (opter) must be 1 to 32 characters",
        ));
    }
    Ok(())
}

fn check_msg_id(id: &str) -> Result<(), ServiceError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(bad_input(
            "报文编号(msgid)须为 1 至 64 位字母、数字、- 或 _",
            "The message id (msgid) must be 1 to 64 letters, digits, - or _",
        ));
    }
    Ok(())
}

fn check_sign(
    app: &App,
    tx: &mut dyn Tx,
    inst: &Institution,
    sign_no: &str,
    today: &str,
) -> Result<(), ServiceError> {
    let cache = app.medical_cache();
    let found = match cache.sign(sign_no) {
        Some(hit) => Some(hit),
        None => {
            let found = repo::signin_by_no(tx, sign_no)?;
            if let Some((id, day)) = &found {
                cache.put_sign(sign_no, *id, day);
            }
            found
        }
    };
    match found {
        Some((id, day)) if id == inst.id && day == today => Ok(()),
        _ => Err(err(
            ErrorKind::Unauthorized,
            "SIGN_NO_INVALID",
            "签到编号无效或已过期,请先签到(9001)",
            "The sign number is invalid or from another day; sign in first (9001)",
        )),
    }
}

/// 9001: an operator signs in and gets the day's sign number (the same one again when already
/// signed in today).
pub fn sign_in(app: &App, inst: &Institution, meta: &CallMeta) -> Result<SignIn, ServiceError> {
    check_operator(&meta.operator)?;
    let day = day_of(app);
    let operator = meta.operator.clone();
    let (inst_id, inst_code) = (inst.id, inst.code.clone());
    run_call(app, inst, move |tx, now| {
        if let Some((sign_no, at)) = repo::signin_of(tx, inst_id, &operator, &day)? {
            return Ok(Ok(SignIn {
                sign_no,
                sign_time: at,
                day: day.clone(),
            }));
        }
        let mut rnd = [0u8; 5];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut rnd);
        let sign_no = format!(
            "{}{}{}",
            day.replace('-', ""),
            inst_code,
            hex::encode_upper(rnd)
        );
        let at = ts(now);
        repo::insert_signin(tx, inst_id, &operator, &sign_no, &day, &at)?;
        Ok(Ok(SignIn {
            sign_no,
            sign_time: at,
            day: day.clone(),
        }))
    })
}

fn available(tx: &mut dyn Tx, person_id: i64) -> Result<(Option<i64>, i64), ServiceError> {
    Ok(match repo::medical_account(tx, person_id)? {
        Some((acc, bal, reserved)) => (Some(acc), bal - reserved),
        None => (None, 0),
    })
}

/// 1101: who the credential names, their insurance and account balance. An e-card token is
/// only read here (2207 consumes it).
pub fn person_info(
    app: &App,
    inst: &Institution,
    query: &PersonQuery,
) -> Result<PersonInfo, ServiceError> {
    let app2 = app.clone();
    let query = query.clone();
    let today = app.today();
    run_call(app, inst, move |tx, now| {
        let day = today.format("%Y-%m-%d").to_string();
        let r = resolve(&app2, tx, &query.credential, now, &day, false)?;
        let (_, balc) = available(tx, r.person.id)?;
        let policy = policy_of(&app2, tx, &r.person.region_code, today)?;
        Ok(Ok(PersonInfo {
            psn_no: r.person.id.to_string(),
            psn_name: r.person.name.clone(),
            gend: r.person.gender.clone(),
            brdy: r.person.birth_date.clone(),
            certno_masked: sscard_domain::mask::mask_id(&r.person.doc_number),
            insutype: r.person.medical_scheme.clone().unwrap_or_default(),
            insuplc_admdvs: r.person.region_code.clone(),
            balc_fen: balc,
            card_no_masked: r
                .card
                .as_ref()
                .and_then(|c| c.card_no.as_deref())
                .map(sscard_domain::mask::mask_id),
            card_status: r.card.as_ref().map(|c| c.status.as_str().to_string()),
            pin_required_above_fen: policy.pin_required_above_fen,
        }))
    })
}

struct Computed {
    split: Split,
    policy: sscard_domain::policy::RegionPolicy,
    account: Option<i64>,
    available: i64,
    /// What the split was computed from, and the year they are of (`YYYY-01-01`).
    figures: repo::HolderFigures,
    year_start: String,
}

fn compute(
    app: &App,
    tx: &mut dyn Tx,
    r: &Resolved,
    inst: &Institution,
    input: &SettleInput,
    today: NaiveDate,
) -> Result<Computed, ServiceError> {
    let figures = repo::holder_figures(tx, r.person.id, &year_start(today))?;
    compute_from(app, tx, r, inst, input, today, figures)
}

/// The first day of `today`'s year (`YYYY-01-01`): where year-to-date figures start.
fn year_start(today: NaiveDate) -> String {
    format!("{}-01-01", today.format("%Y"))
}

/// [`compute`] from the holder's figures read already.
fn compute_from(
    app: &App,
    tx: &mut dyn Tx,
    r: &Resolved,
    inst: &Institution,
    input: &SettleInput,
    today: NaiveDate,
    figures: repo::HolderFigures,
) -> Result<Computed, ServiceError> {
    let policy = policy_of(app, tx, &r.person.region_code, today)?;
    let level = InstitutionLevel::from_stored(&inst.kind, inst.level);
    let scheme = match r.person.medical_scheme.as_deref() {
        Some("resident") => Scheme::Resident,
        _ => Scheme::Employee,
    };
    let (account, available) = match figures.account {
        Some((acc, bal, reserved)) => (Some(acc), bal - reserved),
        None => (None, 0),
    };
    let split = split(
        &input.items,
        &policy,
        level,
        scheme,
        YearToDate {
            deductible_used_fen: figures.deductible_used_fen,
            pooling_paid_fen: figures.pooling_paid_fen,
        },
        available,
        input.acct_used_flag && account.is_some(),
    )
    .map_err(|e| ServiceError::invalid(&e))?;
    Ok(Computed {
        split,
        policy,
        account,
        available,
        figures,
        year_start: year_start(today),
    })
}

fn output(
    setl_id: Option<i64>,
    r: &Resolved,
    s: &Split,
    balc: i64,
    replayed: bool,
) -> SettleOutput {
    SettleOutput {
        setl_id,
        psn_no: r.person.id.to_string(),
        psn_name: r.person.name.clone(),
        medfee_sumamt_fen: s.total_fen,
        self_pay_fen: s.self_pay_fen,
        deductible_fen: s.deductible_fen,
        fund_pay_fen: s.pooling_fen,
        acct_pay_fen: s.personal_account_fen,
        psn_cash_pay_fen: s.cash_fen,
        balc_fen: balc,
        replayed,
    }
}

/// 2206: the split of an itemised bill, without committing anything.
pub fn presettle(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
) -> Result<SettleOutput, ServiceError> {
    check_items(&input.items)?;
    let (app2, inst2, input, sign_no) = (
        app.clone(),
        inst.clone(),
        input.clone(),
        meta.sign_no.clone(),
    );
    let today = app.today();
    run_call(app, inst, move |tx, now| {
        let day = today.format("%Y-%m-%d").to_string();
        check_sign(&app2, tx, &inst2, &sign_no, &day)?;
        let r = resolve(&app2, tx, &input.credential, now, &day, false)?;
        let c = compute(&app2, tx, &r, &inst2, &input, today)?;
        let balc = c.available - c.split.personal_account_fen;
        Ok(Ok(output(None, &r, &c.split, balc, false)))
    })
}

fn request_hash(inst: &Institution, input: &SettleInput) -> String {
    let mut h = Sha256::new();
    h.update(inst.id.to_be_bytes());
    h.update(serde_json::to_vec(input).unwrap_or_default());
    hex::encode(h.finalize())
}

fn msg_conflict() -> ServiceError {
    err(
        ErrorKind::Conflict,
        "MSGID_CONFLICT",
        "该报文编号已用于内容不同的交易",
        "This message id was already used for a different request",
    )
}

fn msg_voided() -> ServiceError {
    err(
        ErrorKind::Conflict,
        "MSGID_VOIDED",
        "该报文编号的交易已被冲正(2601),不能再结算",
        "A timeout reversal (2601) barred this message id; it cannot settle",
    )
}

fn pin_required() -> ServiceError {
    err(
        ErrorKind::Unauthorized,
        "PIN_REQUIRED",
        "个人账户支付超过限额,需要输入社保卡密码",
        "The personal-account amount is above the limit: the card PIN is required",
    )
}

fn replay(
    tx: &mut dyn Tx,
    row: &SettlementRow,
    name: String,
) -> Result<SettleOutput, ServiceError> {
    let balc = match row.person_id {
        Some(p) => available(tx, p)?.1,
        None => 0,
    };
    Ok(SettleOutput {
        setl_id: Some(row.id),
        psn_no: row.person_id.map(|p| p.to_string()).unwrap_or_default(),
        psn_name: name,
        medfee_sumamt_fen: row.total_fen,
        self_pay_fen: row.self_pay_fen,
        deductible_fen: row.deductible_fen,
        fund_pay_fen: row.pooling_fen,
        acct_pay_fen: row.personal_fen,
        psn_cash_pay_fen: row.cash_fen,
        balc_fen: balc,
        replayed: true,
    })
}

/// How many lanes the hot accounts (pooling fund, institution clearing) are spread over on
/// PostgreSQL (see `sscard_store::repo::ledger::lane_account`): settlements there commit side
/// by side, and one row per account would serialise them all on its lock. A reversal pays
/// back the very accounts its settlement paid into, whatever lane they are on (see [`undo`]).
pub(crate) const LANES: i64 = 16;

/// The lane of a person's settlements: one of [`LANES`] on PostgreSQL; always lane 0 on SQLite,
/// where one writer commits every settlement in turn, so lanes would only spread each group
/// commit's writes over more pages (the lanes' account rows and their entries' index pages:
/// measured on the settlement benchmark, 9.7 WAL pages a settlement with 16 lanes, 8.5 with
/// one).
fn lane_of(app: &App, person_id: Option<i64>) -> i64 {
    let lanes = match app.store().backend() {
        sscard_store::Backend::Postgres => LANES,
        sscard_store::Backend::Sqlite => 1,
    };
    person_id.unwrap_or(0).rem_euclid(lanes)
}

/// An account id read in this transaction may be cached only once the transaction is known to
/// commit; ids of accounts that already existed are safe, so only those found by a lookup of
/// an existing row are cached (a lane opened here is cached on its next use).
fn clearing_of(
    app: &App,
    tx: &mut dyn Tx,
    inst: &Institution,
    lane: i64,
    at: &str,
) -> Result<i64, ServiceError> {
    let cache = app.medical_cache();
    if let Some(a) = cache.clearing(inst.id, lane) {
        return Ok(a);
    }
    let existing = repo::clearing_account(tx, inst.id, lane)?;
    let id = ledger_repo::lane_account(
        tx,
        "institution_clearing",
        Some(inst.id),
        &inst.region_code,
        lane,
        at,
    )?;
    if existing == Some(id) {
        cache.put_clearing(inst.id, lane, id);
    }
    Ok(id)
}

fn pooling_of(
    app: &App,
    tx: &mut dyn Tx,
    region: &str,
    lane: i64,
    at: &str,
) -> Result<i64, ServiceError> {
    let cache = app.medical_cache();
    if let Some(a) = cache.pooling(region, lane) {
        return Ok(a);
    }
    let existing = repo::pooling_account(tx, region, lane)?;
    let id = ledger_repo::lane_account(tx, "pooling_fund", None, region, lane, at)?;
    if existing == Some(id) {
        cache.put_pooling(region, lane, id);
    }
    Ok(id)
}

/// Posts a settlement's (or a reversal's) transfers together; zero amounts are skipped.
fn post(tx: &mut dyn Tx, transfers: Vec<ledger_repo::NewTransfer<'_>>) -> Result<(), ServiceError> {
    let transfers: Vec<_> = transfers.into_iter().filter(|t| t.amount_fen > 0).collect();
    if transfers.is_empty() {
        return Ok(());
    }
    ledger_repo::post_transfers(tx, &transfers).map_err(insufficient_on_check)?;
    Ok(())
}

/// A refused CHECK (an account that may not go negative) is `INSUFFICIENT_BALANCE`.
fn insufficient_on_check(e: sscard_store::StoreError) -> ServiceError {
    match e {
        sscard_store::StoreError::Constraint(ref m) if m.to_lowercase().contains("check") => {
            crate::ledger::insufficient()
        }
        other => other.into(),
    }
}

/// 2207: commits a settlement. Idempotent by message id: the same message again answers the
/// first result (`replayed`), a different request under the same id is `MSGID_CONFLICT`.
///
/// Errors: `SIGN_NO_INVALID`, `CARD_NOT_FOUND` (无此卡信息), `NO_INSURED_RECORD`
/// (无参保人员信息), `CARD_LOST`, `CARD_CANCELLED`, `TEMP_CARD_EXPIRED`, `PIN_REQUIRED`,
/// `PIN_WRONG`, `PIN_LOCKED`, `ECARD_*`, `MSGID_CONFLICT`, `MSGID_VOIDED`, `BILL_*`.
pub fn settle(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
) -> Result<SettleOutput, ServiceError> {
    settle_call(app, inst, meta, input)?.wait()
}

/// [`settle`], handed to the store without waiting for it.
pub fn settle_call(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
) -> Result<PendingCall<SettleOutput>, ServiceError> {
    settle_call_with(app, inst, meta, input, true)
}

/// [`settle`] by the ordinary path only: for a call [`settle_batched`] did not write.
pub fn settle_unbatched(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
) -> Result<SettleOutput, ServiceError> {
    settle_call_with(app, inst, meta, input, false)?.wait()
}

/// 2207 from an async task, without holding a thread where the store allows it: on SQLite
/// with its committer thread the call is handed to the group commit and awaited; on
/// PostgreSQL the common case is handed to the settlement writer and awaited. `Ok(None)`:
/// nothing was written and the call must go through [`settle_unbatched`] on a thread that may
/// block (not the common case, or a store without a committer thread). The rules and answers
/// are [`settle`]'s.
pub async fn settle_in_task(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
) -> Result<Option<SettleOutput>, ServiceError> {
    if calls_run_in_background(app) {
        return Ok(Some(settle_call(app, inst, meta, input)?.await?));
    }
    match settle_batched(app, inst, meta, input)? {
        Some(call) => Ok(call.await),
        None => Ok(None),
    }
}

/// A 2207 call handed to the settlement writer (PostgreSQL), to be awaited from an async task
/// without holding a thread: `Some` once written and durable, `None` when it was not written
/// (nothing of it was; [`settle_unbatched`] then decides and answers).
struct BatchedCall(super::batch::Answer<Prepared>);

impl Future for BatchedCall {
    type Output = Option<SettleOutput>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|o| o.map(|(p, id)| p.answer(id)))
    }
}

/// On PostgreSQL, hands the common case of 2207 (see [`write_in_batch`]) to the settlement
/// writer without blocking. `Ok(None)`: not the common case, or not PostgreSQL; the call
/// then goes through [`settle_unbatched`] (as when the [`BatchedCall`] ends in `None`). The
/// input checks and their errors are [`settle`]'s.
fn settle_batched(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
) -> Result<Option<BatchedCall>, ServiceError> {
    if app.store().backend() != sscard_store::Backend::Postgres {
        return Ok(None);
    }
    let (hash, items_json) = checked(inst, meta, input)?;
    Ok(submit_in_batch(app, inst, meta, input, &hash, &items_json).map(BatchedCall))
}

/// 2207's input checks; then the request's hash (what a replay must match) and the bill's
/// items as stored.
fn checked(
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
) -> Result<(String, String), ServiceError> {
    check_items(&input.items)?;
    check_msg_id(&meta.msg_id)?;
    check_operator(&meta.operator)?;
    let hash = request_hash(inst, input);
    let items_json = serde_json::to_string(&input.items).unwrap_or_else(|_| "[]".into());
    Ok((hash, items_json))
}

fn settle_call_with(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
    batch: bool,
) -> Result<PendingCall<SettleOutput>, ServiceError> {
    let (hash, items_json) = checked(inst, meta, input)?;
    let ordinary = Ordinary {
        app: app.clone(),
        inst: inst.clone(),
        meta: meta.clone(),
        input: input.clone(),
        hash,
        items_json,
        today: app.today(),
    };
    // Where every statement is a round trip (PostgreSQL), the common case is prepared off the
    // writer and written in batches. On SQLite, measured, the same split costs more than it
    // saves: the committer still re-reads what the split depends on (7 600 TPS against 8 400).
    if batch
        && app.store().backend() == sscard_store::Backend::Postgres
        && let Some(out) =
            write_in_batch(app, inst, meta, input, &ordinary.hash, &ordinary.items_json)
    {
        return Ok(PendingCall::done(Ok(out)));
    }
    Ok(submit_call(app, inst, move |tx, now| {
        ordinary.work(tx, now)
    }))
}

/// What the ordinary path of a 2207 call needs.
struct Ordinary {
    app: App,
    inst: Institution,
    meta: CallMeta,
    input: SettleInput,
    hash: String,
    items_json: String,
    today: NaiveDate,
}

impl Ordinary {
    /// The ordinary path of 2207, after the call's nonce (see [`call_in`]).
    fn work(&self, tx: &mut dyn Tx, now: DateTime<Utc>) -> Work<SettleOutput> {
        let Ordinary {
            app: app2,
            inst: inst2,
            meta,
            input,
            hash,
            items_json,
            today,
        } = self;
        let today = *today;
        let day = today.format("%Y-%m-%d").to_string();
        check_sign(app2, tx, inst2, &meta.sign_no, &day)?;
        if let Some(row) = repo::settlement_by_msg(tx, inst2.id, &meta.msg_id)? {
            if row.status == "voided" {
                return Err(msg_voided());
            }
            if row.request_hash != *hash {
                return Err(msg_conflict());
            }
            let name = match row.person_id {
                Some(p) => repo::insured_person(tx, p)?
                    .map(|p| p.name)
                    .unwrap_or_default(),
                None => String::new(),
            };
            return Ok(Ok(replay(tx, &row, name)?));
        }
        let r = resolve(app2, tx, &input.credential, now, &day, true)?;
        let c = compute(app2, tx, &r, inst2, input, today)?;
        if c.split.personal_account_fen > c.policy.pin_required_above_fen && r.via != "ecard" {
            let (Some(pin), Some(card)) = (input.pin.as_deref(), r.card.as_ref()) else {
                return Err(pin_required());
            };
            let actor = inst2.actor(&meta.operator);
            match check_in(tx, now, app2.pin_key(), &actor, card, &c.policy, pin)? {
                PinCheck::Ok { .. } => {}
                refused => return Ok(Err(refused.into_result().unwrap_err())),
            }
        }
        let at = ts(now);
        let s = &c.split;
        let setl_id = repo::insert_settlement(
            tx,
            &NewSettlement {
                msg_id: &meta.msg_id,
                institution_id: inst2.id,
                person_id: Some(r.person.id),
                card_id: r.card.as_ref().map(|c| c.id),
                region_code: &r.person.region_code,
                sign_no: &meta.sign_no,
                operator: &meta.operator,
                request_hash: hash,
                via: r.via,
                total_fen: s.total_fen,
                self_pay_fen: s.self_pay_fen,
                deductible_fen: s.deductible_fen,
                pooling_fen: s.pooling_fen,
                personal_fen: s.personal_account_fen,
                cash_fen: s.cash_fen,
                items_json,
                status: "settled",
                settle_day: &day,
                at: &at,
            },
        )
        .map_err(|e| match e {
            sscard_store::StoreError::Constraint(_) => msg_conflict(),
            other => other.into(),
        })?;
        let lane = lane_of(app2, Some(r.person.id));
        let clearing = clearing_of(app2, tx, inst2, lane, &at)?;
        let fund = match s.pooling_fen > 0 {
            true => Some(pooling_of(app2, tx, &r.person.region_code, lane, &at)?),
            false => None,
        };
        let legs = repo::SettlementLegs {
            account: c.account,
            fund,
            clearing,
            personal_fen: s.personal_account_fen,
            pooling_fen: s.pooling_fen,
        };
        repo::post_settlement_transfers(tx, setl_id, &legs, &at).map_err(insufficient_on_check)?;
        let balc = c.available - s.personal_account_fen;
        Ok(Ok(output(Some(setl_id), &r, s, balc, false)))
    }
}

/// What a 2207 card settlement written by the settlement writer answers with, besides its id.
pub(crate) struct Prepared {
    resolved: Resolved,
    split: Split,
    available: i64,
}

impl Prepared {
    fn answer(&self, setl_id: i64) -> SettleOutput {
        let balc = self.available - self.split.personal_account_fen;
        output(Some(setl_id), &self.resolved, &self.split, balc, false)
    }
}

/// The common case of 2207, prepared and written by the settlement writer (PostgreSQL): a
/// physical card, a cached sign number, a message id not seen before, no refusal, no PIN to
/// check. The writer reads the contexts of every waiting settlement — card, holder, enrolment,
/// account, year-to-date figures, whether the message id is used — with one statement
/// ([`repo::settle_contexts`]), computes each split here as on the ordinary path
/// ([`prepare_from`]), and writes them all with one more, which checks again, under the
/// ordinary path's locks, that each nonce is unused and each context holds
/// ([`repo::commit_settlements`]). `None` for anything else (nothing was written): the
/// ordinary path decides and answers. Rules and answers are those of the ordinary path; only
/// the round trips and the work per statement differ.
fn write_in_batch(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
    hash: &str,
    items_json: &str,
) -> Option<SettleOutput> {
    let (p, id) = submit_in_batch(app, inst, meta, input, hash, items_json)?.wait()?;
    Some(p.answer(id))
}

/// [`write_in_batch`] without waiting: `None` when the call is not the common case.
fn submit_in_batch(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
    hash: &str,
    items_json: &str,
) -> Option<super::batch::Answer<Prepared>> {
    let cred = &input.credential;
    if cred.mdtrt_cert_type != super::CertType::Card {
        return None;
    }
    let today = app.today();
    let day = today.format("%Y-%m-%d").to_string();
    match app.medical_cache().sign(&meta.sign_no) {
        Some((id, d)) if id == inst.id && d == day => {}
        _ => return None,
    }
    let now = app.now();
    let key = repo::ContextKey {
        institution_id: inst.id,
        msg_id: meta.msg_id.clone(),
        card_no: cred.mdtrt_cert_no.trim().to_ascii_uppercase(),
        year_start: year_start(today),
    };
    let (app2, inst2, meta2, input2) = (app.clone(), inst.clone(), meta.clone(), input.clone());
    let (hash2, items2) = (hash.to_string(), items_json.to_string());
    let make: super::batch::Make<Prepared> = Box::new(move |tx, ctx| {
        prepare_from(
            &app2, tx, &inst2, &meta2, &input2, &hash2, &items2, ctx?, now,
        )
    });
    let writer = app.medical_cache().writer(app.store())?;
    Some(super::batch::submit(writer, key, make))
}

/// [`write_in_batch`]'s split of one settlement from its context, inside the writer's
/// statements (`tx`: statements commit on their own): what to write, and what to answer.
#[allow(clippy::too_many_arguments)]
fn prepare_from(
    app: &App,
    tx: &mut dyn Tx,
    inst: &Institution,
    meta: &CallMeta,
    input: &SettleInput,
    hash: &str,
    items_json: &str,
    ctx: repo::SettleContext,
    now: DateTime<Utc>,
) -> Option<(repo::SettlementItem, Prepared)> {
    let today = app.today();
    let day = today.format("%Y-%m-%d").to_string();
    let at = ts(now);
    crate::signing::forget_old_nonces_now_and_then(app, tx, now).ok()?;
    if ctx.msg_seen {
        return None;
    }
    let r = super::resolve_card_read(ctx.card, ctx.person, &input.credential, &day).ok()?;
    let c = compute_from(app, tx, &r, inst, input, today, ctx.figures).ok()?;
    if c.split.personal_account_fen > c.policy.pin_required_above_fen {
        return None;
    }
    let lane = lane_of(app, Some(r.person.id));
    let clearing = clearing_of(app, tx, inst, lane, &at).ok()?;
    let fund = match c.split.pooling_fen > 0 {
        true => Some(pooling_of(app, tx, &r.person.region_code, lane, &at).ok()?),
        false => None,
    };
    let card = r.card.as_ref()?;
    let s = &c.split;
    let (account, balance, reserved) = match c.figures.account {
        Some((a, b, r)) => (Some(a), Some(b), Some(r)),
        None => (None, None, None),
    };
    let item = repo::SettlementItem {
        key_id: inst.key_id.clone(),
        nonce: inst.nonce.clone(),
        at,
        card_id: Some(card.id),
        card_status: Some(card.status.as_str().to_string()),
        person_id: r.person.id,
        year_start: c.year_start.clone(),
        account,
        balance,
        reserved,
        deductible_used: c.figures.deductible_used_fen,
        pooling_paid: c.figures.pooling_paid_fen,
        msg_id: meta.msg_id.clone(),
        institution_id: inst.id,
        region_code: r.person.region_code.clone(),
        sign_no: meta.sign_no.clone(),
        operator: meta.operator.clone(),
        request_hash: hash.to_string(),
        via: r.via.to_string(),
        total: s.total_fen,
        self_pay: s.self_pay_fen,
        deductible: s.deductible_fen,
        pooling: s.pooling_fen,
        personal: s.personal_account_fen,
        cash: s.cash_fen,
        items_json: items_json.to_string(),
        settle_day: day,
        clearing,
        fund,
    };
    let answer = Prepared {
        split: c.split,
        available: c.available,
        resolved: r,
    };
    Some((item, answer))
}

/// The body of 2208: which settlement to reverse.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReverseInput {
    pub setl_id: Option<i64>,
    /// The original settlement's message id (instead of `setl_id`).
    pub omsgid: Option<String>,
}

fn not_found() -> ServiceError {
    err(
        ErrorKind::NotFound,
        "SETTLEMENT_NOT_FOUND",
        "未找到该结算记录",
        "No such settlement",
    )
}

/// Posts the reversing transfers of a settled settlement and marks it reversed.
fn undo(
    tx: &mut dyn Tx,
    row: &SettlementRow,
    reversal_msg_id: &str,
    at: &str,
) -> Result<ReverseOutput, ServiceError> {
    // Back into the accounts the settlement's own transfers name: which lane a person's
    // settlements use depends on the backend (see `lane_of`), and the data may have been
    // written under another.
    let (acct_leg, fund_leg) = repo::settlement_transfers(tx, row.id)?;
    let leg_of = |leg: Option<ledger_repo::TransferRow>, amount: i64| match (leg, amount > 0) {
        (Some(t), true) if t.amount_fen == amount => Ok(Some(t)),
        (_, true) => Err(ServiceError::internal("a settled transfer is missing")),
        (_, false) => Ok(None),
    };
    let (acct_id, fund_id) = (
        format!("med-{}-acct-rev", row.id),
        format!("med-{}-fund-rev", row.id),
    );
    let mut parts = Vec::with_capacity(2);
    for (leg, client_id) in [
        (leg_of(acct_leg, row.personal_fen)?, &acct_id),
        (leg_of(fund_leg, row.pooling_fen)?, &fund_id),
    ] {
        let Some(t) = leg else { continue };
        parts.push(ledger_repo::NewTransfer {
            client_id,
            debit_account: t.credit_account,
            credit_account: t.debit_account,
            amount_fen: t.amount_fen,
            kind: "medical_settlement_reversal",
            reason_code: "REVERSAL",
            memo: "",
            now: at,
        });
    }
    post(tx, parts)?;
    repo::mark_reversed(tx, row.id, reversal_msg_id, at)?;
    Ok(ReverseOutput {
        setl_id: Some(row.id),
        status: "reversed".into(),
        acct_refund_fen: row.personal_fen,
        fund_refund_fen: row.pooling_fen,
        replayed: false,
    })
}

fn replayed_reversal(row: &SettlementRow) -> ReverseOutput {
    ReverseOutput {
        setl_id: (row.status != "voided").then_some(row.id),
        status: row.status.clone(),
        acct_refund_fen: row.personal_fen,
        fund_refund_fen: row.pooling_fen,
        replayed: true,
    }
}

/// 2208: reverses a settlement (money back to the personal account and the pooling fund).
/// Idempotent by the reversal's own message id.
///
/// Errors: `SIGN_NO_INVALID`, `SETTLEMENT_NOT_FOUND`, `SETTLEMENT_REVERSED`.
pub fn reverse(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &ReverseInput,
) -> Result<ReverseOutput, ServiceError> {
    check_msg_id(&meta.msg_id)?;
    check_operator(&meta.operator)?;
    if input.setl_id.is_none() && input.omsgid.is_none() {
        return Err(bad_input(
            "须给出结算编号(setl_id)或原报文编号(omsgid)",
            "Give setl_id or omsgid",
        ));
    }
    let (app2, inst2, input, meta) = (app.clone(), inst.clone(), input.clone(), meta.clone());
    let today = day_of(app);
    run_call(app, inst, move |tx, now| {
        check_sign(&app2, tx, &inst2, &meta.sign_no, &today)?;
        if let Some(row) = repo::settlement_by_reversal_msg(tx, inst2.id, &meta.msg_id)? {
            return Ok(Ok(replayed_reversal(&row)));
        }
        let row = match (input.setl_id, input.omsgid.as_deref()) {
            (Some(id), _) => repo::settlement_by_id(tx, inst2.id, id)?,
            (None, Some(m)) => repo::settlement_by_msg(tx, inst2.id, m)?,
            (None, None) => None,
        };
        let row = row.filter(|r| r.status != "voided").ok_or_else(not_found)?;
        if row.status == "reversed" {
            return Err(err(
                ErrorKind::Conflict,
                "SETTLEMENT_REVERSED",
                "该结算已冲正",
                "This settlement was already reversed",
            ));
        }
        Ok(Ok(undo(tx, &row, &meta.msg_id, &ts(now))?))
    })
}

/// The body of 2601.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RevokeInput {
    /// The message id of the call that timed out.
    pub omsgid: String,
    /// Its interface number (only `2207` can be revoked).
    #[serde(default = "settle_infno")]
    pub oinfno: String,
}

fn settle_infno() -> String {
    "2207".into()
}

/// 2601: the institution never saw the answer to a 2207 and cancels it. If the settlement
/// happened it is reversed; if it did not, its message id is barred so a late delivery cannot
/// settle. Either way the outcome is final and idempotent by this call's message id.
pub fn revoke_timed_out(
    app: &App,
    inst: &Institution,
    meta: &CallMeta,
    input: &RevokeInput,
) -> Result<ReverseOutput, ServiceError> {
    check_msg_id(&meta.msg_id)?;
    check_msg_id(&input.omsgid)?;
    if input.oinfno != "2207" {
        return Err(bad_input(
            "只能冲正结算交易(2207)",
            "Only settlements (2207) can be revoked",
        ));
    }
    let (inst2, input, meta) = (inst.clone(), input.clone(), meta.clone());
    let today = day_of(app);
    run_call(app, inst, move |tx, now| {
        if let Some(row) = repo::settlement_by_reversal_msg(tx, inst2.id, &meta.msg_id)? {
            return Ok(Ok(replayed_reversal(&row)));
        }
        let at = ts(now);
        match repo::settlement_by_msg(tx, inst2.id, &input.omsgid)? {
            Some(row) if row.status == "settled" => Ok(Ok(undo(tx, &row, &meta.msg_id, &at)?)),
            Some(row) => Ok(Ok(replayed_reversal(&row))),
            None => {
                repo::insert_settlement(
                    tx,
                    &NewSettlement {
                        msg_id: &input.omsgid,
                        institution_id: inst2.id,
                        person_id: None,
                        card_id: None,
                        region_code: &inst2.region_code,
                        sign_no: "",
                        operator: &meta.operator,
                        request_hash: "",
                        via: "none",
                        total_fen: 0,
                        self_pay_fen: 0,
                        deductible_fen: 0,
                        pooling_fen: 0,
                        personal_fen: 0,
                        cash_fen: 0,
                        items_json: "[]",
                        status: "voided",
                        settle_day: &today,
                        at: &at,
                    },
                )?;
                tx.execute(
                    "UPDATE med_settlements SET reversal_msg_id = $1, reversed_at = $2
                      WHERE institution_id = $3 AND msg_id = $4",
                    sscard_store::params![
                        meta.msg_id.as_str(),
                        at.as_str(),
                        inst2.id,
                        input.omsgid.as_str()
                    ],
                )?;
                Ok(Ok(ReverseOutput {
                    setl_id: None,
                    status: "voided".into(),
                    acct_refund_fen: 0,
                    fund_refund_fen: 0,
                    replayed: false,
                }))
            }
        }
    })
}

fn parse_day(d: &str) -> Result<String, ServiceError> {
    NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| bad_input("对账日期须为 YYYY-MM-DD", "stmt_day must be YYYY-MM-DD"))
}

fn detail_of(r: &SettlementRow) -> DetailRecord {
    DetailRecord {
        msgid: r.msg_id.clone(),
        medfee_sumamt_fen: r.total_fen,
        fund_pay_fen: r.pooling_fen,
        acct_pay_fen: r.personal_fen,
        status: r.status.clone(),
    }
}

/// 3201: the day's totals of settled (not reversed) settlements, compared with the
/// institution's.
pub fn reconcile_totals(
    app: &App,
    inst: &Institution,
    input: &ReconcileTotalsInput,
) -> Result<ReconcileTotals, ServiceError> {
    let day = parse_day(&input.stmt_day)?;
    let (inst_id, theirs) = (inst.id, input.totals.clone());
    run_call(app, inst, move |tx, _| {
        let mut ours = DayTotals::default();
        for r in repo::settlements_of_day(tx, inst_id, &day)? {
            if r.status != "settled" {
                continue;
            }
            ours.setl_cnt += 1;
            ours.medfee_sumamt_fen += r.total_fen;
            ours.fund_pay_fen += r.pooling_fen;
            ours.acct_pay_fen += r.personal_fen;
            ours.psn_cash_pay_fen += r.cash_fen;
        }
        let rslt = if ours == theirs { "match" } else { "mismatch" };
        Ok(Ok(ReconcileTotals {
            stmt_day: day.clone(),
            stmt_rslt: rslt.into(),
            ours,
            theirs: theirs.clone(),
        }))
    })
}

/// 3202: the day's settlements one by one, and where the institution's records differ.
pub fn reconcile_detail(
    app: &App,
    inst: &Institution,
    input: &ReconcileDetailInput,
) -> Result<ReconcileDetail, ServiceError> {
    let day = parse_day(&input.stmt_day)?;
    let (inst_id, theirs) = (inst.id, input.records.clone());
    run_call(app, inst, move |tx, _| {
        let ours: Vec<DetailRecord> = repo::settlements_of_day(tx, inst_id, &day)?
            .iter()
            .filter(|r| r.status != "voided")
            .map(detail_of)
            .collect();
        let mut mismatches = Vec::new();
        let by_id: std::collections::HashMap<&str, &DetailRecord> =
            theirs.iter().map(|r| (r.msgid.as_str(), r)).collect();
        for o in &ours {
            match by_id.get(o.msgid.as_str()) {
                None => mismatches.push(Mismatch {
                    msgid: o.msgid.clone(),
                    kind: "missing_there".into(),
                    ours: Some(o.clone()),
                    theirs: None,
                }),
                Some(t) if t.status != o.status => mismatches.push(Mismatch {
                    msgid: o.msgid.clone(),
                    kind: "status".into(),
                    ours: Some(o.clone()),
                    theirs: Some((*t).clone()),
                }),
                Some(t)
                    if (t.medfee_sumamt_fen, t.fund_pay_fen, t.acct_pay_fen)
                        != (o.medfee_sumamt_fen, o.fund_pay_fen, o.acct_pay_fen) =>
                {
                    mismatches.push(Mismatch {
                        msgid: o.msgid.clone(),
                        kind: "amount".into(),
                        ours: Some(o.clone()),
                        theirs: Some((*t).clone()),
                    })
                }
                Some(_) => {}
            }
        }
        let known: std::collections::HashSet<&str> =
            ours.iter().map(|o| o.msgid.as_str()).collect();
        for t in &theirs {
            if !known.contains(t.msgid.as_str()) {
                mismatches.push(Mismatch {
                    msgid: t.msgid.clone(),
                    kind: "missing_here".into(),
                    ours: None,
                    theirs: Some(t.clone()),
                });
            }
        }
        let rslt = if mismatches.is_empty() {
            "match"
        } else {
            "mismatch"
        };
        Ok(Ok(ReconcileDetail {
            stmt_day: day.clone(),
            stmt_rslt: rslt.into(),
            records: ours,
            mismatches,
        }))
    })
}
