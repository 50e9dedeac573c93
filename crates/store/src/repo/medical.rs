//! Medical settlement with designated institutions: sign-ins, settlements, used e-card tokens.

use crate::{Result, Row, Tx, params};

/// An institution as the signed API sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionAuth {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `hospital` or `pharmacy`.
    pub kind: String,
    pub level: i64,
    pub region_code: String,
    pub active: bool,
    pub secret: String,
    /// The previous secret and until when it is still accepted (key rotation).
    pub prev_secret: Option<String>,
    pub prev_valid_until: Option<String>,
}

/// The institution holding `key_id`, with its secrets.
pub fn institution_by_key(tx: &mut dyn Tx, key_id: &str) -> Result<Option<InstitutionAuth>> {
    tx.query_opt(
        "SELECT id, code, name, kind, level, region_code, active, api_secret, prev_api_secret,
                prev_valid_until
           FROM institutions WHERE key_id = $1",
        params![key_id],
    )?
    .map(|r| {
        Ok(InstitutionAuth {
            id: r.i64(0)?,
            code: r.text(1)?,
            name: r.text(2)?,
            kind: r.text(3)?,
            level: r.i64(4)?,
            region_code: r.text(5)?,
            active: r.bool(6)?,
            secret: r.text(7)?,
            prev_secret: r.opt_text(8)?,
            prev_valid_until: r.opt_text(9)?,
        })
    })
    .transpose()
}

/// The sign number an operator already has for `day`, if any.
pub fn signin_of(
    tx: &mut dyn Tx,
    institution_id: i64,
    operator: &str,
    day: &str,
) -> Result<Option<(String, String)>> {
    tx.query_opt(
        "SELECT sign_no, signed_at FROM med_signins
          WHERE institution_id = $1 AND operator = $2 AND day = $3",
        params![institution_id, operator, day],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}

/// Records a sign-in.
pub fn insert_signin(
    tx: &mut dyn Tx,
    institution_id: i64,
    operator: &str,
    sign_no: &str,
    day: &str,
    at: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO med_signins (institution_id, operator, sign_no, day, signed_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![institution_id, operator, sign_no, day, at],
    )?;
    Ok(())
}

/// The institution and day a sign number belongs to.
pub fn signin_by_no(tx: &mut dyn Tx, sign_no: &str) -> Result<Option<(i64, String)>> {
    tx.query_opt(
        "SELECT institution_id, day FROM med_signins WHERE sign_no = $1",
        params![sign_no],
    )?
    .map(|r| Ok((r.i64(0)?, r.text(1)?)))
    .transpose()
}

/// What settlement needs to know about an insured person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuredPerson {
    pub id: i64,
    pub doc_type: String,
    pub doc_number: String,
    pub name: String,
    pub gender: String,
    pub birth_date: String,
    pub region_code: String,
    pub life_status: String,
    /// The scheme of the person's active (or retired) medical enrolment, if any.
    pub medical_scheme: Option<String>,
}

/// What [`person_row`] reads, from `persons p`.
macro_rules! person_columns {
    () => {
        "p.id, p.doc_type, p.doc_number, p.name, p.gender, p.birth_date,
        p.region_code, p.life_status,
        (SELECT e.scheme FROM enrolments e
          WHERE e.person_id = p.id AND e.insurance = 'medical'
            AND e.status IN ('active', 'retired')
          ORDER BY e.start_date DESC LIMIT 1)"
    };
}
const PERSON_SQL: &str = concat!("SELECT ", person_columns!(), " FROM persons p");

fn person_row(r: &Row) -> Result<InsuredPerson> {
    Ok(InsuredPerson {
        id: r.i64(0)?,
        doc_type: r.text(1)?,
        doc_number: r.text(2)?,
        name: r.text(3)?,
        gender: r.text(4)?,
        birth_date: r.text(5)?,
        region_code: r.text(6)?,
        life_status: r.text(7)?,
        medical_scheme: r.opt_text(8)?,
    })
}

/// A person by id, with their medical enrolment.
pub fn insured_person(tx: &mut dyn Tx, person_id: i64) -> Result<Option<InsuredPerson>> {
    let sql = format!("{PERSON_SQL} WHERE p.id = $1");
    tx.query_opt(&sql, params![person_id])?
        .map(|r| person_row(&r))
        .transpose()
}

/// A person by resident ID number (any document type with that number).
pub fn insured_person_by_doc(tx: &mut dyn Tx, doc_number: &str) -> Result<Option<InsuredPerson>> {
    let sql = format!("{PERSON_SQL} WHERE p.doc_number = $1 ORDER BY p.id LIMIT 1");
    tx.query_opt(&sql, params![doc_number])?
        .map(|r| person_row(&r))
        .transpose()
}

/// What a settlement needs to know of its holder's money, read in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolderFigures {
    /// The medical personal account: id, balance and reservation (none for a person without
    /// one).
    pub account: Option<(i64, i64, i64)>,
    /// What the person has used of this year's deductible and pooling fund: the sums over
    /// their settled (not reversed) settlements since the year's first day.
    pub deductible_used_fen: i64,
    pub pooling_paid_fen: i64,
}

/// [`medical_account`] and the year-to-date figures together, in one round trip
/// (`year_start`: the year's first day, `YYYY-MM-DD`).
pub fn holder_figures(tx: &mut dyn Tx, person_id: i64, year_start: &str) -> Result<HolderFigures> {
    let r = tx.query_one(
        "SELECT a.id, a.balance_fen, a.reserved_fen, y.ded, y.pool
           FROM (SELECT CAST(COALESCE(SUM(deductible_fen), 0) AS BIGINT) AS ded,
                        CAST(COALESCE(SUM(pooling_fen), 0) AS BIGINT) AS pool
                   FROM med_settlements
                  WHERE person_id = $1 AND settle_day >= $2 AND status = 'settled') y
           LEFT JOIN accounts a ON a.person_id = $1 AND a.kind = 'medical_personal'",
        params![person_id, year_start],
        "holder figures",
    )?;
    let account = match r.opt_i64(0)? {
        Some(id) => Some((id, r.i64(1)?, r.i64(2)?)),
        None => None,
    };
    Ok(HolderFigures {
        account,
        deductible_used_fen: r.i64(3)?,
        pooling_paid_fen: r.i64(4)?,
    })
}

/// A person's medical personal account: id, balance and reservation.
pub fn medical_account(tx: &mut dyn Tx, person_id: i64) -> Result<Option<(i64, i64, i64)>> {
    tx.query_opt(
        "SELECT id, balance_fen, reserved_fen FROM accounts
          WHERE person_id = $1 AND kind = 'medical_personal'",
        params![person_id],
    )?
    .map(|r| Ok((r.i64(0)?, r.i64(1)?, r.i64(2)?)))
    .transpose()
}

/// An institution's clearing account (lane `lane`), if opened.
pub fn clearing_account(tx: &mut dyn Tx, institution_id: i64, lane: i64) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT id FROM accounts
          WHERE institution_id = $1 AND kind = 'institution_clearing' AND lane = $2",
        params![institution_id, lane],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// A region's pooling fund account (lane `lane`), if opened.
pub fn pooling_account(tx: &mut dyn Tx, region: &str, lane: i64) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT id FROM accounts WHERE region_code = $1 AND kind = 'pooling_fund'
            AND person_id IS NULL AND institution_id IS NULL AND lane = $2",
        params![region, lane],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// A settlement as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub id: i64,
    pub msg_id: String,
    pub institution_id: i64,
    pub person_id: Option<i64>,
    pub card_id: Option<i64>,
    pub region_code: String,
    pub request_hash: String,
    pub via: String,
    pub total_fen: i64,
    pub self_pay_fen: i64,
    pub deductible_fen: i64,
    pub pooling_fen: i64,
    pub personal_fen: i64,
    pub cash_fen: i64,
    pub status: String,
    pub settle_day: String,
    pub settled_at: String,
    pub reversed_at: Option<String>,
    pub reversal_msg_id: Option<String>,
}

const SETTLEMENT_COLUMNS: &str = "id, msg_id, institution_id, person_id, card_id, region_code, \
    request_hash, via, total_fen, self_pay_fen, deductible_fen, pooling_fen, personal_fen, \
    cash_fen, status, settle_day, settled_at, reversed_at, reversal_msg_id";

fn settlement_row(r: &Row) -> Result<SettlementRow> {
    Ok(SettlementRow {
        id: r.i64(0)?,
        msg_id: r.text(1)?,
        institution_id: r.i64(2)?,
        person_id: r.opt_i64(3)?,
        card_id: r.opt_i64(4)?,
        region_code: r.text(5)?,
        request_hash: r.text(6)?,
        via: r.text(7)?,
        total_fen: r.i64(8)?,
        self_pay_fen: r.i64(9)?,
        deductible_fen: r.i64(10)?,
        pooling_fen: r.i64(11)?,
        personal_fen: r.i64(12)?,
        cash_fen: r.i64(13)?,
        status: r.text(14)?,
        settle_day: r.text(15)?,
        settled_at: r.text(16)?,
        reversed_at: r.opt_text(17)?,
        reversal_msg_id: r.opt_text(18)?,
    })
}

fn lock_suffix(tx: &dyn Tx) -> &'static str {
    if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// An institution's settlement by its message id (locked on PostgreSQL).
pub fn settlement_by_msg(
    tx: &mut dyn Tx,
    institution_id: i64,
    msg_id: &str,
) -> Result<Option<SettlementRow>> {
    let sql = format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM med_settlements
          WHERE institution_id = $1 AND msg_id = $2{}",
        lock_suffix(tx)
    );
    tx.query_opt(&sql, params![institution_id, msg_id])?
        .map(|r| settlement_row(&r))
        .transpose()
}

/// An institution's settlement by id (locked on PostgreSQL).
pub fn settlement_by_id(
    tx: &mut dyn Tx,
    institution_id: i64,
    id: i64,
) -> Result<Option<SettlementRow>> {
    let sql = format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM med_settlements
          WHERE institution_id = $1 AND id = $2{}",
        lock_suffix(tx)
    );
    tx.query_opt(&sql, params![institution_id, id])?
        .map(|r| settlement_row(&r))
        .transpose()
}

/// The settlement a reversal message id already reversed, if any.
pub fn settlement_by_reversal_msg(
    tx: &mut dyn Tx,
    institution_id: i64,
    reversal_msg_id: &str,
) -> Result<Option<SettlementRow>> {
    let sql = format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM med_settlements
          WHERE institution_id = $1 AND reversal_msg_id = $2"
    );
    tx.query_opt(&sql, params![institution_id, reversal_msg_id])?
        .map(|r| settlement_row(&r))
        .transpose()
}

/// A settlement to record.
#[derive(Debug, Clone)]
pub struct NewSettlement<'a> {
    pub msg_id: &'a str,
    pub institution_id: i64,
    pub person_id: Option<i64>,
    pub card_id: Option<i64>,
    pub region_code: &'a str,
    pub sign_no: &'a str,
    pub operator: &'a str,
    pub request_hash: &'a str,
    pub via: &'a str,
    pub total_fen: i64,
    pub self_pay_fen: i64,
    pub deductible_fen: i64,
    pub pooling_fen: i64,
    pub personal_fen: i64,
    pub cash_fen: i64,
    pub items_json: &'a str,
    /// `settled` or `voided` (a 2601 tombstone).
    pub status: &'a str,
    pub settle_day: &'a str,
    pub at: &'a str,
}

/// Records a settlement; a second one with the same institution and message id is refused by
/// the UNIQUE constraint.
pub fn insert_settlement(tx: &mut dyn Tx, s: &NewSettlement<'_>) -> Result<i64> {
    tx.insert_id(
        "INSERT INTO med_settlements (msg_id, institution_id, person_id, card_id, region_code,
             sign_no, operator, request_hash, via, total_fen, self_pay_fen, deductible_fen,
             pooling_fen, personal_fen, cash_fen, items_json, status, settle_day, settled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19)",
        params![
            s.msg_id,
            s.institution_id,
            s.person_id,
            s.card_id,
            s.region_code,
            s.sign_no,
            s.operator,
            s.request_hash,
            s.via,
            s.total_fen,
            s.self_pay_fen,
            s.deductible_fen,
            s.pooling_fen,
            s.personal_fen,
            s.cash_fen,
            s.items_json,
            s.status,
            s.settle_day,
            s.at
        ],
    )
}

/// Everything a card settlement is computed from, read in one statement (see
/// [`settle_context`]).
#[derive(Debug, Clone)]
pub struct SettleContext {
    /// The institution already used the message id (the call is a replay or a conflict).
    pub msg_seen: bool,
    pub card: crate::repo::cards::CardRow,
    pub person: InsuredPerson,
    pub figures: HolderFigures,
}

/// The card numbered `card_no` with its holder, the holder's [`HolderFigures`] for the year
/// from `year_start`, and whether `institution_id` already used `msg_id`: one statement, no
/// locks. For a settlement written by [`commit_settlement`], which checks what matters again.
pub fn settle_context(
    tx: &mut dyn Tx,
    institution_id: i64,
    msg_id: &str,
    card_no: &str,
    year_start: &str,
) -> Result<Option<SettleContext>> {
    // SQLite numbers `$n` parameters in the order they first appear: keep them ascending.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let card_columns: Vec<String> = crate::repo::cards::CARD_COLUMNS
            .split(',')
            .map(|c| format!("c.{}", c.trim()))
            .collect();
        format!(
            "SELECT {}, {},
                    a.id, a.balance_fen, a.reserved_fen,
                    CAST(COALESCE(y.ded, 0) AS BIGINT), CAST(COALESCE(y.pool, 0) AS BIGINT),
                    EXISTS (SELECT 1 FROM med_settlements s
                             WHERE s.institution_id = $1 AND s.msg_id = $2)
               FROM cards c
               JOIN persons p ON p.id = c.person_id
               LEFT JOIN accounts a ON a.person_id = c.person_id AND a.kind = 'medical_personal'
               LEFT JOIN (SELECT s.person_id, SUM(s.deductible_fen) AS ded,
                                 SUM(s.pooling_fen) AS pool
                            FROM med_settlements s
                           WHERE s.person_id = (SELECT k.person_id FROM cards k
                                                 WHERE k.card_no = $3)
                             AND s.settle_day >= $4 AND s.status = 'settled'
                           GROUP BY s.person_id) y ON y.person_id = c.person_id
              WHERE c.card_no = $3",
            card_columns.join(", "),
            person_columns!()
        )
    });
    let Some(r) = tx.query_opt(&SQL, params![institution_id, msg_id, card_no, year_start])? else {
        return Ok(None);
    };
    context_from_row(r).map(Some)
}

/// A [`SettleContext`] from a row laid out as [`settle_context`]'s.
fn context_from_row(r: Row) -> Result<SettleContext> {
    let n_card = crate::repo::cards::CARD_COLUMNS.split(',').count();
    let card = crate::repo::cards::card_row(&r)?;
    let rest = Row(r.0[n_card..].to_vec());
    let person = person_row(&rest)?;
    let f = Row(rest.0[9..].to_vec());
    let account = match f.opt_i64(0)? {
        Some(id) => Some((id, f.i64(1)?, f.i64(2)?)),
        None => None,
    };
    Ok(SettleContext {
        msg_seen: f.bool(5)?,
        card,
        person,
        figures: HolderFigures {
            account,
            deductible_used_fen: f.i64(3)?,
            pooling_paid_fen: f.i64(4)?,
        },
    })
}

/// What [`settle_contexts`] reads one context by.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContextKey {
    pub institution_id: i64,
    pub msg_id: String,
    pub card_no: String,
    pub year_start: String,
}

/// [`settle_context`] for many keys at once, in their order: one statement on PostgreSQL.
pub fn settle_contexts(tx: &mut dyn Tx, keys: &[ContextKey]) -> Result<Vec<Option<SettleContext>>> {
    if tx.backend() != crate::Backend::Postgres {
        return keys
            .iter()
            .map(|k| settle_context(tx, k.institution_id, &k.msg_id, &k.card_no, &k.year_start))
            .collect();
    }
    let mut json = Vec::with_capacity(keys.len());
    for (ord, k) in keys.iter().enumerate() {
        let mut v = serde_json::to_value(k).map_err(|e| crate::StoreError::Data(e.to_string()))?;
        v["ord"] = serde_json::Value::from(ord);
        json.push(v);
    }
    let json = serde_json::Value::Array(json).to_string();
    let mut out: Vec<Option<SettleContext>> = keys.iter().map(|_| None).collect();
    for r in tx.query(settle_contexts_sql(), params![json])? {
        let ord = usize::try_from(r.i64(0)?)
            .map_err(|_| crate::StoreError::Data("bad context key".into()))?;
        let ctx = context_from_row(Row(r.0[1..].to_vec()))?;
        if let Some(slot) = out.get_mut(ord) {
            *slot = Some(ctx);
        }
    }
    Ok(out)
}

/// [`settle_contexts`]'s statement on PostgreSQL (`$1`: the keys as a JSON array of objects
/// with `ord` and the key's fields); public for the test of its plan. Whether a message id is
/// used is a `LATERAL ... LIMIT 1`, not an `EXISTS`: the planner made that `EXISTS` a hashed
/// subplan — a scan of every settlement at every batch — whenever the table looked small when
/// the statement was planned (9–10 ms a batch at 20 000 settlements: 80 % of the settlement
/// writer's read stage, measured with `pg_stat_statements` and `auto_explain`).
#[doc(hidden)]
pub fn settle_contexts_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let card_columns: Vec<String> = crate::repo::cards::CARD_COLUMNS
            .split(',')
            .map(|c| format!("c.{}", c.trim()))
            .collect();
        format!(
            "SELECT q.ord, {}, {},
                    a.id, a.balance_fen, a.reserved_fen, y.ded, y.pool, m.seen IS NOT NULL
               FROM jsonb_to_recordset(CAST(CAST($1 AS TEXT) AS JSONB))
                        AS q(ord INT, institution_id BIGINT, msg_id TEXT, card_no TEXT,
                             year_start TEXT)
               JOIN cards c ON c.card_no = q.card_no
               JOIN persons p ON p.id = c.person_id
               LEFT JOIN accounts a ON a.person_id = c.person_id AND a.kind = 'medical_personal'
               LEFT JOIN LATERAL (
                     SELECT 1 AS seen FROM med_settlements s
                      WHERE s.institution_id = q.institution_id AND s.msg_id = q.msg_id
                      LIMIT 1) m ON TRUE
               CROSS JOIN LATERAL (
                     SELECT CAST(COALESCE(SUM(s.deductible_fen), 0) AS BIGINT) AS ded,
                            CAST(COALESCE(SUM(s.pooling_fen), 0) AS BIGINT) AS pool
                       FROM med_settlements s
                      WHERE s.person_id = c.person_id AND s.settle_day >= q.year_start
                        AND s.status = 'settled') y",
            card_columns.join(", "),
            person_columns!()
        )
    });
    &SQL
}

/// A settlement computed from a context read beforehand, outside any transaction: what it was
/// computed from (checked again when it is written) and what it writes. Owned, so that a
/// writer thread can commit many together ([`commit_settlements`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SettlementItem {
    /// The signed request's key and nonce: consumed with the settlement.
    pub key_id: String,
    pub nonce: String,
    /// When (RFC 3339 UTC): the settlement's time and the nonce's.
    pub at: String,
    /// The card used and the status it had.
    pub card_id: Option<i64>,
    pub card_status: Option<String>,
    pub person_id: i64,
    /// The year's first day (`YYYY-MM-DD`) of the year-to-date figures.
    pub year_start: String,
    /// The holder's figures the split was computed from: the medical personal account (id,
    /// balance, reservation) and the year-to-date deductible and pooling-fund sums.
    pub account: Option<i64>,
    pub balance: Option<i64>,
    pub reserved: Option<i64>,
    pub deductible_used: i64,
    pub pooling_paid: i64,
    pub msg_id: String,
    pub institution_id: i64,
    pub region_code: String,
    pub sign_no: String,
    pub operator: String,
    pub request_hash: String,
    pub via: String,
    pub total: i64,
    pub self_pay: i64,
    pub deductible: i64,
    pub pooling: i64,
    pub personal: i64,
    pub cash: i64,
    pub items_json: String,
    pub settle_day: String,
    /// The institution's clearing account lane, and the pooling fund lane (needed when the
    /// pooling fund pays a part).
    pub clearing: i64,
    pub fund: Option<i64>,
}

impl SettlementItem {
    /// The holder's figures the item was computed from.
    pub fn figures(&self) -> HolderFigures {
        HolderFigures {
            account: match (self.account, self.balance, self.reserved) {
                (Some(a), Some(b), Some(r)) => Some((a, b, r)),
                _ => None,
            },
            deductible_used_fen: self.deductible_used,
            pooling_paid_fen: self.pooling_paid,
        }
    }

    fn check(&self) -> Result<()> {
        let paid_from_nowhere = self.personal > 0 && self.figures().account.is_none()
            || self.pooling > 0 && self.fund.is_none();
        if paid_from_nowhere || self.personal < 0 || self.pooling < 0 {
            return Err(crate::StoreError::Data(format!(
                "settlement {:?} pays from an account it does not name",
                self.msg_id
            )));
        }
        Ok(())
    }
}

/// Where a settlement's money comes from and goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementLegs {
    /// The holder's medical personal account (needed when it pays a part).
    pub account: Option<i64>,
    /// The pooling fund lane (needed when the fund pays a part).
    pub fund: Option<i64>,
    /// The institution's clearing account lane.
    pub clearing: i64,
    pub personal_fen: i64,
    pub pooling_fen: i64,
}

/// Posts settlement `setl_id`'s ledger transfers: personal account → clearing as
/// `med-<id>-acct`, pooling fund → clearing as `med-<id>-fund` (zero amounts are skipped).
/// PostgreSQL's batch function (`sscard_commit_settlements`, migration 11) writes the same.
pub fn post_settlement_transfers(
    tx: &mut dyn Tx,
    setl_id: i64,
    legs: &SettlementLegs,
    at: &str,
) -> Result<()> {
    let (acct_id, fund_id) = (
        leg_client_id(setl_id, "acct"),
        leg_client_id(setl_id, "fund"),
    );
    let leg = |client_id, debit_account, amount_fen| crate::repo::ledger::NewTransfer {
        client_id,
        debit_account,
        credit_account: legs.clearing,
        amount_fen,
        kind: "medical_settlement",
        reason_code: "",
        memo: "",
        now: at,
    };
    let mut transfers = Vec::with_capacity(2);
    match (legs.account, legs.personal_fen > 0) {
        (Some(a), true) => transfers.push(leg(&acct_id, a, legs.personal_fen)),
        (None, true) => return Err(no_source(setl_id)),
        _ => {}
    }
    match (legs.fund, legs.pooling_fen > 0) {
        (Some(f), true) => transfers.push(leg(&fund_id, f, legs.pooling_fen)),
        (None, true) => return Err(no_source(setl_id)),
        _ => {}
    }
    if !transfers.is_empty() {
        crate::repo::ledger::post_transfers(tx, &transfers)?;
    }
    Ok(())
}

/// The client id of settlement `setl_id`'s transfer from the personal account (`"acct"`) or
/// from the pooling fund (`"fund"`).
fn leg_client_id(setl_id: i64, leg: &str) -> String {
    format!("med-{setl_id}-{leg}")
}

/// Settlement `setl_id`'s transfers as posted (see [`post_settlement_transfers`]): from the
/// personal account, from the pooling fund; each absent when its amount was zero. A reversal
/// pays back into the accounts they name, whatever lane they are on.
pub fn settlement_transfers(
    tx: &mut dyn Tx,
    setl_id: i64,
) -> Result<(
    Option<crate::repo::ledger::TransferRow>,
    Option<crate::repo::ledger::TransferRow>,
)> {
    let acct = crate::repo::ledger::transfer_by_client_id(tx, &leg_client_id(setl_id, "acct"))?;
    let fund = crate::repo::ledger::transfer_by_client_id(tx, &leg_client_id(setl_id, "fund"))?;
    Ok((acct, fund))
}

fn no_source(setl_id: i64) -> crate::StoreError {
    crate::StoreError::Data(format!(
        "settlement {setl_id} pays from an account it does not name"
    ))
}

/// Writes prepared settlements, in order, each only if its context still holds: its nonce
/// unused, its card's status and its holder's figures as when it was computed, and no earlier
/// item of the batch for the same person, card, nonce or message id. An item that holds gets
/// its settlement, its transfers (personal account → clearing as `med-<id>-acct`, pooling
/// fund → clearing as `med-<id>-fund`) and balances, and its settlement id in the answer; the
/// others get `None` and nothing of them is written (their nonces stay unused).
///
/// A refused write (on PostgreSQL a message id taken meanwhile; an account's non-negative
/// check) is an error, and then nothing of the batch remains: on PostgreSQL the one statement
/// fails; on SQLite the caller's transaction must roll back. (SQLite checks the message id
/// first and leaves such an item out instead.)
///
/// PostgreSQL runs the batch as one statement (`sscard_commit_settlements`, migration 11),
/// committed on its own when called through `Store::autocommit`; SQLite runs the same checks
/// and writes item by item.
pub fn commit_settlements(tx: &mut dyn Tx, items: &[SettlementItem]) -> Result<Vec<Option<i64>>> {
    for item in items {
        item.check()?;
    }
    if items.is_empty() {
        return Ok(Vec::new());
    }
    if tx.backend() == crate::Backend::Postgres {
        let mut json = Vec::with_capacity(items.len());
        for (ord, item) in items.iter().enumerate() {
            let mut v =
                serde_json::to_value(item).map_err(|e| crate::StoreError::Data(e.to_string()))?;
            v["ord"] = serde_json::Value::from(ord);
            json.push(v);
        }
        let json = serde_json::Value::Array(json).to_string();
        let rows = tx.query(
            "SELECT item, settlement FROM sscard_commit_settlements(CAST(CAST($1 AS TEXT) AS JSONB))",
            params![json],
        )?;
        let mut out = vec![None; items.len()];
        for r in rows {
            let ord = usize::try_from(r.i64(0)?)
                .map_err(|_| crate::StoreError::Data("bad batch item".into()))?;
            if let Some(slot) = out.get_mut(ord) {
                *slot = Some(r.i64(1)?);
            }
        }
        return Ok(out);
    }
    items
        .iter()
        .map(|item| commit_one_sqlite(tx, item))
        .collect()
}

/// [`commit_settlements`] for one item on SQLite: one writer, so check first, then write.
fn commit_one_sqlite(tx: &mut dyn Tx, p: &SettlementItem) -> Result<Option<i64>> {
    if let Some(card) = p.card_id {
        let status = tx
            .query_opt("SELECT status FROM cards WHERE id = $1", params![card])?
            .map(|r| r.text(0))
            .transpose()?;
        if status != p.card_status {
            return Ok(None);
        }
    }
    if holder_figures(tx, p.person_id, &p.year_start)? != p.figures() {
        return Ok(None);
    }
    // A message id taken meanwhile: left out rather than refused, so that nothing is written
    // before the refusal and the caller's transaction can go on (the ordinary path answers).
    let taken = tx.query_opt(
        "SELECT 1 FROM med_settlements WHERE institution_id = $1 AND msg_id = $2",
        params![p.institution_id, p.msg_id],
    )?;
    if taken.is_some() {
        return Ok(None);
    }
    if !tx.claim_nonce(&p.key_id, &p.nonce, &p.at)? {
        return Ok(None);
    }
    let id = insert_settlement(
        tx,
        &NewSettlement {
            msg_id: &p.msg_id,
            institution_id: p.institution_id,
            person_id: Some(p.person_id),
            card_id: p.card_id,
            region_code: &p.region_code,
            sign_no: &p.sign_no,
            operator: &p.operator,
            request_hash: &p.request_hash,
            via: &p.via,
            total_fen: p.total,
            self_pay_fen: p.self_pay,
            deductible_fen: p.deductible,
            pooling_fen: p.pooling,
            personal_fen: p.personal,
            cash_fen: p.cash,
            items_json: &p.items_json,
            status: "settled",
            settle_day: &p.settle_day,
            at: &p.at,
        },
    )?;
    post_settlement_transfers(
        tx,
        id,
        &SettlementLegs {
            account: p.account,
            fund: p.fund,
            clearing: p.clearing,
            personal_fen: p.personal,
            pooling_fen: p.pooling,
        },
        &p.at,
    )?;
    Ok(Some(id))
}

/// Marks a settlement reversed.
pub fn mark_reversed(tx: &mut dyn Tx, id: i64, reversal_msg_id: &str, at: &str) -> Result<()> {
    tx.execute(
        "UPDATE med_settlements SET status = 'reversed', reversed_at = $1, reversal_msg_id = $2
          WHERE id = $3 AND status = 'settled'",
        params![at, reversal_msg_id, id],
    )?;
    Ok(())
}

/// An institution's settlements of one day (the reconciliation detail), in id order.
pub fn settlements_of_day(
    tx: &mut dyn Tx,
    institution_id: i64,
    day: &str,
) -> Result<Vec<SettlementRow>> {
    let sql = format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM med_settlements
          WHERE institution_id = $1 AND settle_day = $2 ORDER BY id"
    );
    tx.query(&sql, params![institution_id, day])?
        .iter()
        .map(settlement_row)
        .collect()
}

/// Marks an e-card token id used; false when it already was.
pub fn use_ecard_token(
    tx: &mut dyn Tx,
    jti: &str,
    card_id: i64,
    at: &str,
    expires_at: &str,
) -> Result<bool> {
    let n = tx.execute(
        "INSERT INTO ecard_tokens_used (jti, card_id, used_at, expires_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
        params![jti, card_id, at, expires_at],
    )?;
    Ok(n == 1)
}

/// Forgets used e-card tokens that expired before `before` (they can no longer verify).
pub fn purge_ecard_tokens(tx: &mut dyn Tx, before: &str) -> Result<u64> {
    tx.execute(
        "DELETE FROM ecard_tokens_used WHERE expires_at < $1",
        params![before],
    )
}

/// How many settlements each message id has (any institution), for the ids given. One pass
/// over the table, so checking a whole crash test's acknowledgements stays linear.
pub fn count_by_msg_ids(tx: &mut dyn Tx, msg_ids: &[String]) -> Result<Vec<(String, i64)>> {
    let mut stored = std::collections::HashMap::<String, i64>::new();
    for r in tx.query(
        "SELECT msg_id, COUNT(*) FROM med_settlements WHERE status <> 'voided' GROUP BY msg_id",
        &[],
    )? {
        stored.insert(r.text(0)?, r.i64(1)?);
    }
    Ok(msg_ids
        .iter()
        .map(|m| (m.clone(), stored.get(m).copied().unwrap_or(0)))
        .collect())
}

/// Settlements whose ledger transfers are missing or differ from their amounts, and
/// settlement transfers without their settlement: both would be a half-applied settlement.
/// Reads both sides once and matches them in memory (`med-<id>-acct`, `med-<id>-fund`).
pub fn half_applied(tx: &mut dyn Tx) -> Result<i64> {
    let mut transfers = std::collections::HashMap::<String, i64>::new();
    for r in tx.query(
        "SELECT client_id, amount_fen FROM transfers WHERE kind = 'medical_settlement'",
        &[],
    )? {
        transfers.insert(r.text(0)?, r.i64(1)?);
    }
    let mut broken = 0;
    let mut matched = 0usize;
    for r in tx.query(
        "SELECT id, personal_fen, pooling_fen FROM med_settlements
          WHERE status IN ('settled', 'reversed')",
        &[],
    )? {
        let (id, personal, pooling) = (r.i64(0)?, r.i64(1)?, r.i64(2)?);
        for (suffix, amount) in [("acct", personal), ("fund", pooling)] {
            if amount <= 0 {
                continue;
            }
            match transfers.get(&leg_client_id(id, suffix)) {
                Some(a) if *a == amount => matched += 1,
                _ => broken += 1,
            }
        }
    }
    let orphans = transfers.len().saturating_sub(matched) as i64;
    Ok(broken + orphans)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every settlement reads its holder with [`PERSON_SQL`]: the current medical enrolment must
    /// come from an index in start-date order, not from a sort in a temporary B-tree per call
    /// (migration 12).
    #[test]
    fn the_current_enrolment_is_read_in_index_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("p.db").display().to_string()).unwrap();
        let plan = store
            .read(|tx| {
                let sql = format!("EXPLAIN QUERY PLAN {PERSON_SQL} WHERE p.id = $1");
                let rows = tx.query(&sql, params![1_i64])?;
                rows.iter().map(|r| r.text(3)).collect::<Result<Vec<_>>>()
            })
            .unwrap()
            .join("\n");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        assert!(plan.contains("enrolments_person_insurance"), "{plan}");
    }
}
