//! Dashboard statistics: card events per day and region, settlements per day, IVR calls by
//! menu. Instants are stored in UTC; a day in Asia/Shanghai (UTC+8) runs from 16:00 UTC of the
//! day before, so rows are grouped by UTC date and by whether their time is 16:00 UTC or later
//! (`late`), and the service folds them into Beijing days. This keeps the SQL identical on both
//! backends.

use crate::{Result, Tx, Value};

/// Card events of one kind on one (UTC date, late) slot in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCount {
    /// `YYYY-MM-DD`, UTC.
    pub utc_day: String,
    /// The events happened at 16:00 UTC or later (the next day in Beijing).
    pub late: bool,
    pub region_code: String,
    pub event: String,
    pub count: i64,
}

/// Counts the card events named in `events` with `from <= at < to` (RFC 3339 UTC), by UTC
/// day, late flag, the card's region and event.
pub fn card_events(
    tx: &mut dyn Tx,
    from: &str,
    to: &str,
    events: &[&str],
) -> Result<Vec<EventCount>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..events.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT substr(e.at, 1, 10), CASE WHEN substr(e.at, 12, 2) >= '16' THEN 1 ELSE 0 END,
                c.region_code, e.event, count(*)
         FROM card_events e JOIN cards c ON c.id = e.card_id
         WHERE e.at >= $1 AND e.at < $2 AND e.event IN ({})
         GROUP BY substr(e.at, 1, 10), CASE WHEN substr(e.at, 12, 2) >= '16' THEN 1 ELSE 0 END,
                  c.region_code, e.event
         ORDER BY 1, 2, 3, 4",
        marks.join(", ")
    );
    let mut params = vec![Value::Text(from.into()), Value::Text(to.into())];
    params.extend(events.iter().map(|e| Value::Text((*e).into())));
    tx.query(&sql, &params)?
        .iter()
        .map(|r| {
            Ok(EventCount {
                utc_day: r.text(0)?,
                late: r.i64(1)? != 0,
                region_code: r.text(2)?,
                event: r.text(3)?,
                count: r.i64(4)?,
            })
        })
        .collect()
}

/// Settlements of one Beijing day, region and status, with their amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementDay {
    /// `YYYY-MM-DD` (the settlement day, Beijing time).
    pub day: String,
    pub region_code: String,
    /// `settled`, `reversed` or `voided`.
    pub status: String,
    pub count: i64,
    pub total_fen: i64,
    pub personal_fen: i64,
    pub pooling_fen: i64,
    pub cash_fen: i64,
}

/// Settlements with `from <= settle_day <= to` (`YYYY-MM-DD`), by day, region and status.
pub fn settlements_by_day(tx: &mut dyn Tx, from: &str, to: &str) -> Result<Vec<SettlementDay>> {
    tx.query(
        "SELECT settle_day, region_code, status, count(*),
                CAST(COALESCE(sum(total_fen), 0) AS BIGINT),
                CAST(COALESCE(sum(personal_fen), 0) AS BIGINT),
                CAST(COALESCE(sum(pooling_fen), 0) AS BIGINT),
                CAST(COALESCE(sum(cash_fen), 0) AS BIGINT)
         FROM med_settlements WHERE settle_day >= $1 AND settle_day <= $2
         GROUP BY settle_day, region_code, status ORDER BY 1, 2, 3",
        &[Value::Text(from.into()), Value::Text(to.into())],
    )?
    .iter()
    .map(|r| {
        Ok(SettlementDay {
            day: r.text(0)?,
            region_code: r.text(1)?,
            status: r.text(2)?,
            count: r.i64(3)?,
            total_fen: r.i64(4)?,
            personal_fen: r.i64(5)?,
            pooling_fen: r.i64(6)?,
            cash_fen: r.i64(7)?,
        })
    })
    .collect()
}

/// Calls on the 12333 line that reached one menu and ended one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrMenuCount {
    /// The deepest menu reached (`3-1-1`), empty when the caller chose nothing.
    pub menu: String,
    pub outcome: String,
    pub count: i64,
}

/// IVR calls started with `from <= started_at < to` (RFC 3339 UTC), by menu and outcome.
pub fn ivr_calls_by_menu(tx: &mut dyn Tx, from: &str, to: &str) -> Result<Vec<IvrMenuCount>> {
    tx.query(
        "SELECT menu, outcome, count(*) FROM ivr_calls
         WHERE started_at >= $1 AND started_at < $2
         GROUP BY menu, outcome ORDER BY 1, 2",
        &[Value::Text(from.into()), Value::Text(to.into())],
    )?
    .iter()
    .map(|r| {
        Ok(IvrMenuCount {
            menu: r.text(0)?,
            outcome: r.text(1)?,
            count: r.i64(2)?,
        })
    })
    .collect()
}
