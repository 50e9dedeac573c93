//! Ledger accounts and transfers (double entry, integer fen).

use crate::{Result, Tx, params};

/// Balance of a person's account of `kind` (`medical_personal`, `pension_personal`).
pub fn person_balance(tx: &mut dyn Tx, person_id: i64, kind: &str) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT balance_fen FROM accounts WHERE person_id = $1 AND kind = $2",
        params![person_id, kind],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// A posted transfer touching an account, from that account's point of view.
///
/// Two-phase reservations (rows with `expires_at`) never move balances themselves: when one is
/// posted, a child transfer (`pending_id` = the reservation) carries the amount, and the
/// reservation is marked `posted` (or `voided`) for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub transfer_id: i64,
    pub client_id: String,
    /// Positive: credited to the account; negative: debited.
    pub amount_fen: i64,
    pub kind: String,
    pub memo: String,
    pub created_at: String,
}

/// The latest `limit` posted entries of a person's account, newest first.
pub fn person_entries(
    tx: &mut dyn Tx,
    person_id: i64,
    kind: &str,
    limit: i64,
) -> Result<Vec<EntryRow>> {
    let acc = tx.query_opt(
        "SELECT id FROM accounts WHERE person_id = $1 AND kind = $2",
        params![person_id, kind],
    )?;
    let Some(acc) = acc else {
        return Ok(Vec::new());
    };
    let acc = acc.i64(0)?;
    tx.query(
        "SELECT id, client_id, CASE WHEN credit_account = $1 THEN amount_fen ELSE -amount_fen END,
                kind, memo, created_at
         FROM transfers WHERE (credit_account = $1 OR debit_account = $1) AND status = 'posted'
           AND expires_at IS NULL
         ORDER BY id DESC LIMIT $2",
        params![acc, limit],
    )?
    .iter()
    .map(|r| {
        Ok(EntryRow {
            transfer_id: r.i64(0)?,
            client_id: r.text(1)?,
            amount_fen: r.i64(2)?,
            kind: r.text(3)?,
            memo: r.text(4)?,
            created_at: r.text(5)?,
        })
    })
    .collect()
}

/// A broken ledger invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerViolation {
    /// An account's stored balance differs from the sum of its posted transfers.
    BalanceMismatch {
        account_id: i64,
        stored: i64,
        from_entries: i64,
    },
    /// A non-fund account went below zero.
    Negative { account_id: i64, balance: i64 },
    /// The balances of all accounts do not add up to zero.
    NonZeroTotal(i64),
    /// An account's reservation differs from the sum of its pending transfers.
    ReservedMismatch {
        account_id: i64,
        stored: i64,
        from_pending: i64,
    },
}

/// Checks the ledger invariants over every account; returns the violations found.
pub fn check_invariants(tx: &mut dyn Tx) -> Result<Vec<LedgerViolation>> {
    let mut out = Vec::new();
    let rows = tx.query(
        "SELECT a.id, a.balance_fen,
            CAST(COALESCE((SELECT sum(t.amount_fen) FROM transfers t
                  WHERE t.credit_account = a.id AND t.status = 'posted' AND t.expires_at IS NULL), 0) AS BIGINT)
          - CAST(COALESCE((SELECT sum(t.amount_fen) FROM transfers t
                  WHERE t.debit_account = a.id AND t.status = 'posted' AND t.expires_at IS NULL), 0) AS BIGINT),
            a.may_go_negative, a.reserved_fen,
            CAST(COALESCE((SELECT sum(t.amount_fen) FROM transfers t
                  WHERE t.debit_account = a.id AND t.status = 'pending'), 0) AS BIGINT)
         FROM accounts a",
        &[],
    )?;
    let mut total: i64 = 0;
    for r in &rows {
        let (id, stored, derived, may_neg) = (r.i64(0)?, r.i64(1)?, r.i64(2)?, r.bool(3)?);
        if stored != derived {
            out.push(LedgerViolation::BalanceMismatch {
                account_id: id,
                stored,
                from_entries: derived,
            });
        }
        let (reserved, pending) = (r.i64(4)?, r.i64(5)?);
        if reserved != pending {
            out.push(LedgerViolation::ReservedMismatch {
                account_id: id,
                stored: reserved,
                from_pending: pending,
            });
        }
        if !may_neg && stored < 0 {
            out.push(LedgerViolation::Negative {
                account_id: id,
                balance: stored,
            });
        }
        total = total.saturating_add(stored);
    }
    if total != 0 {
        out.push(LedgerViolation::NonZeroTotal(total));
    }
    Ok(out)
}

/// Opens (or finds) an account. Fund accounts (`person_id` and `institution_id` both `None`)
/// may go negative: they are the other side of personal accounts.
pub fn open_account(
    tx: &mut dyn Tx,
    kind: &str,
    person_id: Option<i64>,
    institution_id: Option<i64>,
    region: &str,
    now: &str,
) -> Result<i64> {
    let existing = tx.query_opt(
        "SELECT id FROM accounts WHERE kind = $1
           AND COALESCE(person_id, 0) = $2 AND COALESCE(institution_id, 0) = $3
           AND (person_id IS NOT NULL OR institution_id IS NOT NULL OR region_code = $4)
           AND lane = 0",
        params![
            kind,
            person_id.unwrap_or(0),
            institution_id.unwrap_or(0),
            region
        ],
    )?;
    if let Some(r) = existing {
        return r.i64(0);
    }
    let may_go_negative = person_id.is_none() && institution_id.is_none();
    tx.query_one(
        "INSERT INTO accounts (kind, person_id, institution_id, region_code, may_go_negative, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![kind, person_id, institution_id, region, may_go_negative, now],
        "account",
    )?
    .i64(0)
}

/// A transfer to post.
pub struct NewTransfer<'a> {
    pub client_id: &'a str,
    pub debit_account: i64,
    pub credit_account: i64,
    pub amount_fen: i64,
    pub kind: &'a str,
    pub reason_code: &'a str,
    pub memo: &'a str,
    pub now: &'a str,
}

/// Posts a transfer and moves both balances. A debit that would take a personal account below
/// zero is refused by the accounts table's CHECK constraint (`StoreError::Constraint`), and a
/// reused `client_id` by its UNIQUE constraint.
pub fn post_transfer(tx: &mut dyn Tx, t: &NewTransfer<'_>) -> Result<i64> {
    Ok(post_transfers(tx, std::slice::from_ref(t))?[0])
}

/// A transfer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    pub id: i64,
    pub client_id: String,
    pub debit_account: i64,
    pub credit_account: i64,
    pub amount_fen: i64,
    pub kind: String,
    pub reason_code: String,
    pub status: String,
    pub memo: String,
    pub created_at: String,
    pub pending_id: Option<i64>,
    pub expires_at: Option<String>,
}

const TRANSFER_COLUMNS: &str = "id, client_id, debit_account, credit_account, amount_fen, kind, \
    reason_code, status, memo, created_at, pending_id, expires_at";

fn transfer_row(r: &crate::Row) -> Result<TransferRow> {
    Ok(TransferRow {
        id: r.i64(0)?,
        client_id: r.text(1)?,
        debit_account: r.i64(2)?,
        credit_account: r.i64(3)?,
        amount_fen: r.i64(4)?,
        kind: r.text(5)?,
        reason_code: r.text(6)?,
        status: r.text(7)?,
        memo: r.text(8)?,
        created_at: r.text(9)?,
        pending_id: r.opt_i64(10)?,
        expires_at: r.opt_text(11)?,
    })
}

/// The transfer a client id names, if any (locked on PostgreSQL).
pub fn transfer_by_client_id(tx: &mut dyn Tx, client_id: &str) -> Result<Option<TransferRow>> {
    let lock = if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {TRANSFER_COLUMNS} FROM transfers WHERE client_id = $1{lock}");
    tx.query_opt(&sql, params![client_id])?
        .map(|r| transfer_row(&r))
        .transpose()
}

/// The account of a person of `kind`, if opened.
pub fn person_account(tx: &mut dyn Tx, person_id: i64, kind: &str) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT id FROM accounts WHERE person_id = $1 AND kind = $2",
        params![person_id, kind],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// A region's fund account of `kind` (`pooling_fund`, `contribution_income`, `cash_payout`).
pub fn fund_account(tx: &mut dyn Tx, region: &str, kind: &str) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT id FROM accounts WHERE region_code = $1 AND kind = $2
           AND person_id IS NULL AND institution_id IS NULL AND lane = 0",
        params![region, kind],
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// An account's balance and reservation.
pub fn account_balance(tx: &mut dyn Tx, account: i64) -> Result<(i64, i64)> {
    let r = tx.query_one(
        "SELECT balance_fen, reserved_fen FROM accounts WHERE id = $1",
        params![account],
        "account",
    )?;
    Ok((r.i64(0)?, r.i64(1)?))
}

/// Reserves `t.amount_fen` on the debit account (phase one). A reservation that would take a
/// personal account's available balance below zero is refused by the CHECK constraint.
pub fn insert_pending(tx: &mut dyn Tx, t: &NewTransfer<'_>, expires_at: &str) -> Result<i64> {
    let id = tx
        .query_one(
            "INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
                 reason_code, status, memo, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9) RETURNING id",
            params![
                t.client_id,
                t.debit_account,
                t.credit_account,
                t.amount_fen,
                t.kind,
                t.reason_code,
                t.memo,
                t.now,
                expires_at
            ],
            "transfer",
        )?
        .i64(0)?;
    tx.execute(
        "UPDATE accounts SET reserved_fen = reserved_fen + $1 WHERE id = $2",
        params![t.amount_fen, t.debit_account],
    )?;
    Ok(id)
}

/// Ends a pending transfer (phase two): releases the reservation, marks it `posted` (when
/// `post` carries the transfer to post, of at most the reserved amount) or `voided`.
pub fn finish_pending(
    tx: &mut dyn Tx,
    pending: &TransferRow,
    post: Option<&NewTransfer<'_>>,
) -> Result<Option<i64>> {
    tx.execute(
        "UPDATE accounts SET reserved_fen = reserved_fen - $1 WHERE id = $2",
        params![pending.amount_fen, pending.debit_account],
    )?;
    tx.execute(
        "UPDATE transfers SET status = $1 WHERE id = $2 AND status = 'pending'",
        params![if post.is_some() { "posted" } else { "voided" }, pending.id],
    )?;
    // The pending row itself no longer counts: balances move by the posted child only.
    match post {
        None => Ok(None),
        Some(t) => {
            let id = post_transfer(tx, t)?;
            tx.execute(
                "UPDATE transfers SET pending_id = $1 WHERE id = $2",
                params![pending.id, id],
            )?;
            Ok(Some(id))
        }
    }
}

/// Pending transfers whose expiry has passed.
pub fn expired_pending(tx: &mut dyn Tx, now: &str, limit: i64) -> Result<Vec<TransferRow>> {
    let sql = format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE status = 'pending' AND expires_at <= $1
         ORDER BY id LIMIT $2"
    );
    tx.query(&sql, params![now, limit])?
        .iter()
        .map(transfer_row)
        .collect()
}

/// A region's terms for a monthly contribution posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingTerms {
    /// The pooling region: persons whose `region_code` it is are credited on these terms.
    pub region: String,
    /// The share of the contribution base credited, in basis points (`medical_account_rate_bp`).
    pub rate_bp: i64,
    /// The region's `contribution_income` account, debited for the credits.
    pub income_account: i64,
}

/// What a contribution posting did in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedRegion {
    pub region: String,
    /// Credits posted by this run.
    pub transfers: i64,
    /// Fen credited by this run.
    pub fen: i64,
}

/// The memo of a monthly contribution credit.
const CONTRIBUTION_MEMO: &str = "个人账户划入";

/// `WITH r(region_code, rate_bp, income) AS (VALUES …)` over `terms`, its parameters numbered
/// from `$1` (PostgreSQL).
fn terms_cte(terms: &[PostingTerms]) -> (String, Vec<crate::Value>) {
    let mut rows = Vec::with_capacity(terms.len());
    let mut values = Vec::with_capacity(terms.len() * 3);
    for (i, t) in terms.iter().enumerate() {
        let n = i * 3;
        rows.push(format!(
            "(CAST(${} AS TEXT), CAST(${} AS BIGINT), CAST(${} AS BIGINT))",
            n + 1,
            n + 2,
            n + 3
        ));
        values.push(crate::Value::Text(t.region.clone()));
        values.push(crate::Value::Int(t.rate_bp));
        values.push(crate::Value::Int(t.income_account));
    }
    (
        format!(
            "WITH r(region_code, rate_bp, income) AS (VALUES {})",
            rows.join(", ")
        ),
        values,
    )
}

/// Credits every medical personal account with its share of `month`'s contributions
/// (`base × rate_bp / 10 000`, rounded down, on the terms of the person's region), each from
/// its region's contribution income account, and moves both balances. Persons of regions not
/// in `terms`, and credits that round to zero, are skipped; a credited person without a
/// medical personal account gets one.
///
/// Set-based: all regions in one pass, whatever their number. Idempotent per person and month:
/// a person whose account already has a `contribution` credit for the month (`period`) is
/// skipped, and the unique index on (credit account, kind, period) backs that up against a
/// concurrent run (PostgreSQL). A credit whose client id (`contrib:{person}:{month}`) is
/// already taken by another transfer is skipped too. Returns, per region of `terms` in that
/// order, the credits posted and the fen credited.
pub fn post_contributions(
    tx: &mut dyn Tx,
    month: &str,
    terms: &[PostingTerms],
    now: &str,
) -> Result<Vec<PostedRegion>> {
    let totals = if terms.is_empty() {
        Vec::new()
    } else if tx.backend() == crate::Backend::Sqlite {
        post_contributions_sqlite(tx, month, terms, now)?
    } else {
        post_contributions_postgres(tx, month, terms, now)?
    };
    Ok(terms
        .iter()
        .map(|t| {
            let (n, fen) = totals
                .iter()
                .find(|(income, _, _)| *income == t.income_account)
                .map_or((0, 0), |(_, n, fen)| (*n, *fen));
            PostedRegion {
                region: t.region.clone(),
                transfers: n,
                fen,
            }
        })
        .collect())
}

/// The page cache of the connection that posts, while it posts, in KiB (the connection's own is
/// 64 MiB). 1 000 000 credits dirty ≈ 550 MB of pages; with 64 MiB they are spilled to the WAL
/// and read back early and often. Measured on the 1M demo (1 000 000 credits, whole command):
/// 64 MiB 8.6 s; 128–512 MiB 7.7–8.2 s; 1 GiB from 7.6 s to 8.5 s (faulting in fresh memory is
/// slow on this virtual machine); memory-mapped reads made no measurable difference.
const POSTING_CACHE_KIB: i64 = 262_144;

/// SQLite (one writer, no data-modifying CTEs): stages the credits in a temporary table in one
/// pass over persons, their contribution of the month, their region's terms (a temporary
/// table keyed by region) and their account; opens the missing accounts; inserts every staged
/// credit with one INSERT … SELECT (the unique indexes skip those already posted); moves the
/// personal balances with one UPDATE … FROM and each income account's balance by its total.
/// Returns (income account, credits, fen).
fn post_contributions_sqlite(
    tx: &mut dyn Tx,
    month: &str,
    terms: &[PostingTerms],
    now: &str,
) -> Result<Vec<(i64, i64, i64)>> {
    // A bigger page cache for this transaction only (restored whatever happens); the commit
    // stays as durable as any other (WAL, synchronous=FULL).
    let cache = tx.query_i64("PRAGMA cache_size", &[])?;
    tx.query(&format!("PRAGMA cache_size = -{POSTING_CACHE_KIB}"), &[])?;
    let res = sqlite_stage_and_post(tx, month, terms, now);
    let _ = tx.execute("DROP TABLE IF EXISTS temp.contrib_posting", &[]);
    let _ = tx.execute("DROP TABLE IF EXISTS temp.contrib_terms", &[]);
    let _ = tx.query(&format!("PRAGMA cache_size = {cache}"), &[]);
    res
}

fn sqlite_stage_and_post(
    tx: &mut dyn Tx,
    month: &str,
    terms: &[PostingTerms],
    now: &str,
) -> Result<Vec<(i64, i64, i64)>> {
    tx.execute("DROP TABLE IF EXISTS temp.contrib_posting", &[])?;
    tx.execute(
        "CREATE TEMP TABLE contrib_posting (person_id INTEGER PRIMARY KEY, account INTEGER,
             region_code TEXT NOT NULL, income INTEGER NOT NULL, amount INTEGER NOT NULL)",
        &[],
    )?;
    // The terms keyed by region, so that each person finds theirs by one lookup.
    tx.execute("DROP TABLE IF EXISTS temp.contrib_terms", &[])?;
    tx.execute(
        "CREATE TEMP TABLE contrib_terms (region_code TEXT PRIMARY KEY,
             rate_bp INTEGER NOT NULL, income INTEGER NOT NULL)",
        &[],
    )?;
    for t in terms {
        tx.execute(
            "INSERT INTO temp.contrib_terms (region_code, rate_bp, income) VALUES ($1, $2, $3)",
            params![t.region.as_str(), t.rate_bp, t.income_account],
        )?;
    }
    // Persons in id order, each with its contribution of the month (the contributions' key
    // starts with the person id; there is no index on the month) and its account.
    let staged = tx.execute(
        "INSERT INTO temp.contrib_posting (person_id, account, region_code, income, amount)
         SELECT p.id, a.id, p.region_code, r.income, c.base_fen * r.rate_bp / 10000
         FROM persons p CROSS JOIN contributions c CROSS JOIN temp.contrib_terms r
         LEFT JOIN accounts a ON a.person_id = p.id AND a.kind = 'medical_personal'
         WHERE c.person_id = p.id AND c.month = $1 AND r.region_code = p.region_code
           AND c.base_fen * r.rate_bp / 10000 > 0",
        params![month],
    )?;
    if staged == 0 {
        return Ok(Vec::new());
    }
    let opened = tx.execute(
        "INSERT INTO accounts (kind, person_id, region_code, may_go_negative, created_at)
         SELECT 'medical_personal', person_id, region_code, 0, $1
         FROM temp.contrib_posting WHERE account IS NULL ORDER BY person_id",
        params![now],
    )?;
    if opened > 0 {
        tx.execute(
            "UPDATE temp.contrib_posting SET account = (SELECT a.id FROM accounts a
                 WHERE a.person_id = contrib_posting.person_id AND a.kind = 'medical_personal')
             WHERE account IS NULL",
            &[],
        )?;
    }
    // Idempotency: the unique index on (credit account, kind, period) refuses a second credit
    // for the month, ON CONFLICT skips it (one check per row, the same the insert makes
    // anyway). Rows this statement inserts get ids above the current maximum.
    let max_id = tx.query_i64("SELECT COALESCE(max(id), 0) FROM transfers", &[])?;
    let inserted = tx.execute(
        "INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
             reason_code, status, memo, created_at, period)
         SELECT 'contrib:' || person_id || ':' || $1, income, account, amount, 'contribution',
             '', 'posted', $2, $3, $1
         FROM temp.contrib_posting WHERE true
         ON CONFLICT DO NOTHING",
        params![month, CONTRIBUTION_MEMO, now],
    )?;
    if inserted == 0 {
        return Ok(Vec::new());
    }
    if inserted != staged {
        // Some persons were credited before (or their client id is another transfer's): keep
        // only the credits inserted just now.
        tx.execute(
            "DELETE FROM temp.contrib_posting WHERE NOT EXISTS (SELECT 1 FROM transfers t
                 WHERE t.credit_account = contrib_posting.account AND t.kind = 'contribution'
                   AND t.period = $1 AND t.period IS NOT NULL AND t.id > $2)",
            params![month, max_id],
        )?;
    }
    tx.execute(
        "UPDATE accounts SET balance_fen = balance_fen + s.amount
         FROM temp.contrib_posting s WHERE s.account = accounts.id",
        &[],
    )?;
    // Per income account, in one scan (a GROUP BY would sort the stage).
    let mut columns = Vec::with_capacity(terms.len());
    let mut incomes = Vec::with_capacity(terms.len());
    for (i, t) in terms.iter().enumerate() {
        columns.push(format!(
            "count(*) FILTER (WHERE income = ${n}),
             CAST(COALESCE(sum(amount) FILTER (WHERE income = ${n}), 0) AS BIGINT)",
            n = i + 1
        ));
        incomes.push(crate::Value::Int(t.income_account));
    }
    let sums = tx.query_one(
        &format!("SELECT {} FROM temp.contrib_posting", columns.join(", ")),
        &incomes,
        "contribution totals",
    )?;
    let mut totals = Vec::with_capacity(terms.len());
    for (i, t) in terms.iter().enumerate() {
        let (n, fen) = (sums.i64(2 * i)?, sums.i64(2 * i + 1)?);
        if n > 0 {
            tx.execute(
                "UPDATE accounts SET balance_fen = balance_fen - $1 WHERE id = $2",
                params![fen, t.income_account],
            )?;
            totals.push((t.income_account, n, fen));
        }
    }
    Ok(totals)
}

/// PostgreSQL: opens the missing accounts, then one statement inserts the credits and moves
/// the balances of exactly the credits it inserted (`RETURNING`). Returns (income account,
/// credits, fen).
fn post_contributions_postgres(
    tx: &mut dyn Tx,
    month: &str,
    terms: &[PostingTerms],
    now: &str,
) -> Result<Vec<(i64, i64, i64)>> {
    let (cte, mut values) = terms_cte(terms);
    let m = values.len() + 1;
    values.push(crate::Value::Text(month.to_string()));
    values.push(crate::Value::Text(now.to_string()));
    let at = m + 1;
    // A later statement: data-modifying CTEs do not see one another's rows.
    tx.execute(
        &format!(
            "{cte}
             INSERT INTO accounts (kind, person_id, region_code, may_go_negative, created_at)
             SELECT 'medical_personal', c.person_id, p.region_code, false, ${at}
             FROM contributions c JOIN persons p ON p.id = c.person_id
             JOIN r ON r.region_code = p.region_code
             WHERE c.month = ${m} AND c.base_fen * r.rate_bp / 10000 > 0
               AND NOT EXISTS (SELECT 1 FROM accounts a
                               WHERE a.person_id = c.person_id AND a.kind = 'medical_personal')
             ON CONFLICT DO NOTHING"
        ),
        &values,
    )?;
    values.push(crate::Value::Text(CONTRIBUTION_MEMO.to_string()));
    let memo = at + 1;
    tx.query(
        &format!(
            "{cte},
             ins AS (
                 INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen,
                     kind, reason_code, status, memo, created_at, period)
                 SELECT 'contrib:' || c.person_id || ':' || c.month, r.income, a.id,
                     c.base_fen * r.rate_bp / 10000, 'contribution', '', 'posted', ${memo},
                     ${at}, c.month
                 FROM contributions c JOIN persons p ON p.id = c.person_id
                 JOIN r ON r.region_code = p.region_code
                 JOIN accounts a ON a.person_id = c.person_id AND a.kind = 'medical_personal'
                 WHERE c.month = ${m} AND c.base_fen * r.rate_bp / 10000 > 0
                   AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.credit_account = a.id
                         AND t.kind = 'contribution' AND t.period = ${m}
                         AND t.period IS NOT NULL)
                 ON CONFLICT DO NOTHING
                 RETURNING debit_account, credit_account, amount_fen),
             credited AS (
                 UPDATE accounts SET balance_fen = accounts.balance_fen + ins.amount_fen
                 FROM ins WHERE accounts.id = ins.credit_account RETURNING accounts.id),
             totals AS (
                 SELECT debit_account, count(*) AS n, sum(amount_fen) AS fen
                 FROM ins GROUP BY debit_account),
             debited AS (
                 UPDATE accounts SET balance_fen = accounts.balance_fen - totals.fen
                 FROM totals WHERE accounts.id = totals.debit_account RETURNING accounts.id)
             SELECT debit_account, n, CAST(fen AS BIGINT),
                    (SELECT count(*) FROM credited), (SELECT count(*) FROM debited)
             FROM totals"
        ),
        &values,
    )?
    .iter()
    .map(|r| Ok((r.i64(0)?, r.i64(1)?, r.i64(2)?)))
    .collect()
}

/// Posted transfers debiting `account` with `reason_code`, newest first (the payouts of a
/// personal account of one kind).
pub fn debits_with_reason(
    tx: &mut dyn Tx,
    account: i64,
    reason_code: &str,
) -> Result<Vec<TransferRow>> {
    let sql = format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers
         WHERE debit_account = $1 AND reason_code = $2 AND status = 'posted'
         ORDER BY id DESC"
    );
    tx.query(&sql, params![account, reason_code])?
        .iter()
        .map(transfer_row)
        .collect()
}

/// Posts several transfers that belong together (one settlement's parts): inserts each, then
/// moves every touched balance once by its net amount, in ascending account order, so that
/// concurrent postings lock accounts in the same order and cannot deadlock. A debit that would
/// take a personal account below zero is refused by the CHECK constraint, a reused client id
/// by the UNIQUE one (`StoreError::Constraint`).
pub fn post_transfers(tx: &mut dyn Tx, transfers: &[NewTransfer<'_>]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(transfers.len());
    let mut deltas = std::collections::BTreeMap::<i64, i64>::new();
    for t in transfers {
        let id = tx.insert_id(
            "INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
                 reason_code, status, memo, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'posted', $7, $8)",
            params![
                t.client_id,
                t.debit_account,
                t.credit_account,
                t.amount_fen,
                t.kind,
                t.reason_code,
                t.memo,
                t.now
            ],
        )?;
        ids.push(id);
        *deltas.entry(t.debit_account).or_default() -= t.amount_fen;
        *deltas.entry(t.credit_account).or_default() += t.amount_fen;
    }
    for (account, delta) in deltas {
        if delta != 0 {
            tx.execute(
                "UPDATE accounts SET balance_fen = balance_fen + $1 WHERE id = $2",
                params![delta, account],
            )?;
        }
    }
    Ok(ids)
}

/// A lane of a hot fund or clearing account, opened on first use. The pooling fund of a region
/// and an institution's clearing account take part in every settlement; on PostgreSQL a
/// single row would serialise all of them on its row lock until commit. Spreading them over
/// lanes (each an ordinary account with its own entries, so every invariant holds per lane;
/// the fund's balance is the sum of its lanes) lets settlements commit side by side. Lane 0 is
/// the account every other use (contributions, payouts, reports) sees.
pub fn lane_account(
    tx: &mut dyn Tx,
    kind: &str,
    institution_id: Option<i64>,
    region: &str,
    lane: i64,
    now: &str,
) -> Result<i64> {
    // Two statements, one per unique index (an institution's accounts, a region's funds):
    // one statement covering both cases could use neither and would read the whole table.
    let find = |tx: &mut dyn Tx| -> Result<Option<i64>> {
        let row = match institution_id {
            Some(inst) => tx.query_opt(
                "SELECT id FROM accounts
                  WHERE institution_id = $1 AND kind = $2 AND lane = $3 AND person_id IS NULL",
                params![inst, kind, lane],
            )?,
            None => tx.query_opt(
                "SELECT id FROM accounts
                  WHERE region_code = $1 AND kind = $2 AND lane = $3
                    AND person_id IS NULL AND institution_id IS NULL",
                params![region, kind, lane],
            )?,
        };
        row.map(|r| r.i64(0)).transpose()
    };
    if let Some(id) = find(tx)? {
        return Ok(id);
    }
    tx.execute(
        "INSERT INTO accounts (kind, person_id, institution_id, region_code, may_go_negative,
             created_at, lane)
         VALUES ($1, NULL, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        params![
            kind,
            institution_id,
            region,
            institution_id.is_none(),
            now,
            lane
        ],
    )?;
    find(tx)?.ok_or_else(|| crate::StoreError::NotFound(format!("{kind} lane {lane}")))
}
