//! The medical personal-account ledger: balances, recent entries and the invariant check.
//! (Settlement, two-phase transfers and contribution posting build on this module.)

use sscard_store::repo::ledger as repo;

use crate::App;
use crate::error::ServiceError;

pub use repo::{EntryRow, LedgerViolation};

/// Checks every ledger invariant: each balance equals its posted transfers, no personal or
/// clearing account is negative, and all balances sum to zero (double entry).
pub fn check_invariants(app: &App) -> Result<Vec<LedgerViolation>, ServiceError> {
    Ok(app.store().read(|tx| repo::check_invariants(tx))?)
}
