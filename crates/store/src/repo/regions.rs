//! Regions, their policy history and the working-day calendar.

use chrono::{DateTime, NaiveDate, Utc};
use sscard_domain::policy::RegionPolicy;

use super::ts;
use crate::{Result, StoreError, Tx, params};

/// A pooling region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
}

pub fn upsert_region(tx: &mut dyn Tx, code: &str, name: &str, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "INSERT INTO regions (code, name, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name",
        params![code, name, ts(now)],
    )?;
    Ok(())
}

pub fn list_regions(tx: &mut dyn Tx) -> Result<Vec<RegionRow>> {
    tx.query("SELECT code, name FROM regions ORDER BY code", &[])?
        .iter()
        .map(|r| {
            Ok(RegionRow {
                code: r.text(0)?,
                name: r.text(1)?,
            })
        })
        .collect()
}

/// Records a policy version taking effect on `effective_from`.
pub fn insert_policy(
    tx: &mut dyn Tx,
    region: &str,
    effective_from: NaiveDate,
    policy: &RegionPolicy,
    now: DateTime<Utc>,
    by: &str,
) -> Result<()> {
    let json = serde_json::to_string(policy).map_err(|e| StoreError::Data(e.to_string()))?;
    tx.execute(
        "INSERT INTO region_policies (region_code, effective_from, policy_json, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (region_code, effective_from)
         DO UPDATE SET policy_json = excluded.policy_json, created_at = excluded.created_at,
                       created_by = excluded.created_by",
        params![region, effective_from.to_string(), json, ts(now), by],
    )?;
    Ok(())
}

/// The policy in force in `region` on `day`, if the region has any.
pub fn policy_in_force(
    tx: &mut dyn Tx,
    region: &str,
    day: NaiveDate,
) -> Result<Option<RegionPolicy>> {
    let row = tx.query_opt(
        "SELECT policy_json FROM region_policies
         WHERE region_code = $1 AND effective_from <= $2
         ORDER BY effective_from DESC LIMIT 1",
        params![region, day.to_string()],
    )?;
    match row {
        None => Ok(None),
        Some(r) => serde_json::from_str(&r.text(0)?)
            .map(Some)
            .map_err(|e| StoreError::Data(format!("policy of {region}: {e}"))),
    }
}

/// Marks a day as a public holiday or as a working weekend day.
pub fn set_calendar_day(tx: &mut dyn Tx, day: NaiveDate, holiday: bool, name: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)
         ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
        params![
            day.to_string(),
            if holiday { "holiday" } else { "workday" },
            name
        ],
    )?;
    Ok(())
}

/// Calendar overrides between two days inclusive: (day, is_holiday).
pub fn calendar_between(
    tx: &mut dyn Tx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, bool)>> {
    tx.query(
        "SELECT day, kind FROM calendar_days WHERE day >= $1 AND day <= $2 ORDER BY day",
        params![from.to_string(), to.to_string()],
    )?
    .iter()
    .map(|r| {
        let d = NaiveDate::parse_from_str(&r.text(0)?, "%Y-%m-%d")
            .map_err(|e| StoreError::Data(e.to_string()))?;
        Ok((d, r.text(1)? == "holiday"))
    })
    .collect()
}
