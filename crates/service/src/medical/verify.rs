//! After a crash: is every acknowledged settlement stored exactly once, and nothing half done?

use serde::Serialize;
use sscard_store::repo::medical as repo;

use crate::App;
use crate::error::ServiceError;

/// What [`verify_acknowledged`] found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AckReport {
    /// Message ids the client saw acknowledged.
    pub acknowledged: u64,
    /// Of those, stored exactly once.
    pub present: u64,
    /// Acknowledged but not stored (a lost settlement).
    pub missing: u64,
    /// Stored more than once.
    pub duplicated: u64,
    /// Settlements whose transfers are missing or wrong, or transfers without their
    /// settlement.
    pub half_applied: u64,
    /// Ledger invariant violations (see [`crate::ledger::check_invariants`]).
    pub ledger_violations: u64,
}

impl AckReport {
    /// Whether everything holds.
    pub fn ok(&self) -> bool {
        self.missing == 0
            && self.duplicated == 0
            && self.half_applied == 0
            && self.ledger_violations == 0
            && self.present == self.acknowledged
    }
}

/// Checks acknowledged settlement message ids against the store and the ledger invariants.
pub fn verify_acknowledged(app: &App, msg_ids: &[String]) -> Result<AckReport, ServiceError> {
    let (counts, half) = app.store().read(|tx| {
        let counts = repo::count_by_msg_ids(tx, msg_ids)?;
        let half = repo::half_applied(tx)?;
        Ok::<_, sscard_store::StoreError>((counts, half))
    })?;
    let mut r = AckReport {
        acknowledged: msg_ids.len() as u64,
        half_applied: half as u64,
        ..AckReport::default()
    };
    for (_, n) in counts {
        match n {
            0 => r.missing += 1,
            1 => r.present += 1,
            _ => r.duplicated += 1,
        }
    }
    r.ledger_violations = crate::ledger::check_invariants(app)?.len() as u64;
    Ok(r)
}
