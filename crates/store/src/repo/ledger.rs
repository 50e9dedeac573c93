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
    let id = tx
        .query_one(
            "INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
                 reason_code, status, memo, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'posted', $7, $8) RETURNING id",
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
            "transfer",
        )?
        .i64(0)?;
    tx.execute(
        "UPDATE accounts SET balance_fen = balance_fen - $1 WHERE id = $2",
        params![t.amount_fen, t.debit_account],
    )?;
    tx.execute(
        "UPDATE accounts SET balance_fen = balance_fen + $1 WHERE id = $2",
        params![t.amount_fen, t.credit_account],
    )?;
    Ok(id)
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

/// Credits, in one set-based pass, every medical personal account of `region` with its share
/// of `month`'s contributions (`base × rate_bp / 10 000`), from the region's contribution
/// income account. Persons without an account get one. Idempotent per person and month: a
/// unique index allows one `contribution` credit per account and `period`. Returns (transfers posted, fen credited).
pub fn post_contributions(
    tx: &mut dyn Tx,
    region: &str,
    month: &str,
    rate_bp: i64,
    run_id: &str,
    now: &str,
) -> Result<(i64, i64)> {
    let Some(income) = fund_account(tx, region, "contribution_income")? else {
        return Ok((0, 0));
    };
    tx.execute(
        "INSERT INTO accounts (kind, person_id, region_code, may_go_negative, created_at)
         SELECT 'medical_personal', c.person_id, p.region_code, $1, $2
         FROM contributions c JOIN persons p ON p.id = c.person_id
         WHERE c.month = $3 AND p.region_code = $4
           AND NOT EXISTS (SELECT 1 FROM accounts a
                           WHERE a.person_id = c.person_id AND a.kind = 'medical_personal')",
        params![false, now, month, region],
    )?;
    let inserted = tx.execute(
        "INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
             reason_code, status, memo, created_at, run_id, period)
         SELECT 'contrib:' || CAST(c.person_id AS TEXT) || ':' || c.month, $1, a.id,
                c.base_fen * $2 / 10000, 'contribution', '', 'posted', '个人账户划入', $3, $4, c.month
         FROM contributions c
         JOIN persons p ON p.id = c.person_id
         JOIN accounts a ON a.person_id = c.person_id AND a.kind = 'medical_personal'
         WHERE c.month = $5 AND p.region_code = $6 AND c.base_fen * $2 / 10000 > 0
         ON CONFLICT DO NOTHING",
        params![income, rate_bp, now, run_id, month, region],
    )?;
    let total = tx.query_i64(
        "SELECT CAST(COALESCE(sum(amount_fen), 0) AS BIGINT) FROM transfers WHERE run_id = $1",
        params![run_id],
    )?;
    if inserted > 0 {
        tx.execute(
            "UPDATE accounts SET balance_fen = balance_fen + t.amount_fen
             FROM transfers t WHERE t.run_id = $1 AND t.credit_account = accounts.id",
            params![run_id],
        )?;
        tx.execute(
            "UPDATE accounts SET balance_fen = balance_fen - $1 WHERE id = $2",
            params![total, income],
        )?;
    }
    Ok((inserted as i64, total))
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
        let id = tx
            .query_one(
                "INSERT INTO transfers (client_id, debit_account, credit_account, amount_fen, kind,
                     reason_code, status, memo, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'posted', $7, $8) RETURNING id",
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
                "transfer",
            )?
            .i64(0)?;
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
    let find = |tx: &mut dyn Tx| -> Result<Option<i64>> {
        tx.query_opt(
            "SELECT id FROM accounts WHERE kind = $1 AND person_id IS NULL
               AND COALESCE(institution_id, 0) = $2
               AND (institution_id IS NOT NULL OR region_code = $3) AND lane = $4",
            params![kind, institution_id.unwrap_or(0), region, lane],
        )?
        .map(|r| r.i64(0))
        .transpose()
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
