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
}

/// Checks the ledger invariants over every account; returns the violations found.
pub fn check_invariants(tx: &mut dyn Tx) -> Result<Vec<LedgerViolation>> {
    let mut out = Vec::new();
    let rows = tx.query(
        "SELECT a.id, a.balance_fen,
            CAST(COALESCE((SELECT sum(t.amount_fen) FROM transfers t
                  WHERE t.credit_account = a.id AND t.status = 'posted'), 0) AS BIGINT)
          - CAST(COALESCE((SELECT sum(t.amount_fen) FROM transfers t
                  WHERE t.debit_account = a.id AND t.status = 'posted'), 0) AS BIGINT),
            a.may_go_negative
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
           AND (person_id IS NOT NULL OR institution_id IS NOT NULL OR region_code = $4)",
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
