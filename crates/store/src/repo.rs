//! Repository functions: all the SQL of sscard, written once for both backends. Each takes the
//! open transaction (`&mut dyn Tx`) so a use case can combine several in one atomic unit.

pub mod admin;
pub mod aftercare;
pub mod audit;
pub mod cards;
pub mod ivr;
pub mod kiosk;
pub mod ledger;
pub mod medical;
pub mod org;
pub mod persons;
pub mod production;
pub mod regions;
pub mod selfservice;
pub mod stats;

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats an instant the way every table stores it: RFC 3339, UTC, milliseconds, `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a stored instant.
pub fn parse_ts(s: &str) -> crate::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| crate::StoreError::Data(format!("bad instant {s:?}: {e}")))
}
