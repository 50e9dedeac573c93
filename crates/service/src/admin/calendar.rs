//! The working-day calendar (`calendar_days`): public holidays and the weekend days made
//! working days (调休). Every working-day deadline (reissue ready dates, …) reads it through
//! [`sscard_domain::calendar`].
//!
//! Rules: a day is `holiday` or `workday`; a `workday` entry only makes sense on a Saturday or
//! Sunday (`CALENDAR_WORKDAY_NOT_WEEKEND`); every entry has a name (元旦, 春节调休上班…).

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;
use sscard_store::repo::{admin as repo, regions};

use super::{bad, require_admin, required};
use crate::App;
use crate::audit::{self, Actor, Change};
use crate::error::ServiceError;

/// One entry of the calendar.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// `holiday` or `workday`.
    pub kind: String,
    pub name: String,
    /// `Mon` … `Sun`.
    pub weekday: String,
}

fn parse_day(day: &str) -> Result<NaiveDate, ServiceError> {
    NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| {
        bad(
            "CALENDAR_DAY_INVALID",
            format!("日期 {day} 无效(格式 YYYY-MM-DD)"),
            format!("Invalid date {day} (YYYY-MM-DD)"),
        )
    })
}

/// The entries of a year. Errors: `FORBIDDEN`.
pub fn year(app: &App, actor: &Actor, year: i32) -> Result<Vec<CalendarDay>, ServiceError> {
    require_admin(actor)?;
    let rows = app.store().read(|tx| {
        repo::calendar_days(tx, &format!("{year:04}-01-01"), &format!("{year:04}-12-31"))
    })?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let weekday = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d")
                .map(|d| format!("{:?}", d.weekday()))
                .unwrap_or_default();
            CalendarDay {
                day: r.day,
                kind: r.kind,
                name: r.name,
                weekday,
            }
        })
        .collect())
}

/// Marks a day as a public holiday (`holiday = true`) or as a working weekend day. Errors:
/// `FORBIDDEN`, `CALENDAR_DAY_INVALID`, `CALENDAR_NAME_REQUIRED`,
/// `CALENDAR_WORKDAY_NOT_WEEKEND`.
pub fn set_day(
    app: &App,
    actor: &Actor,
    day: &str,
    holiday: bool,
    name: &str,
) -> Result<(), ServiceError> {
    require_admin(actor)?;
    let d = parse_day(day)?;
    let name = required("CALENDAR_NAME_REQUIRED", "名称", "The name", name, 40)?;
    if !holiday && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        return Err(bad(
            "CALENDAR_WORKDAY_NOT_WEEKEND",
            format!("{d} 本就是工作日,只有周六、周日才能设为调休上班日"),
            format!("{d} is a weekday anyway: only a Saturday or Sunday can be made a working day"),
        ));
    }
    let now = app.now();
    app.store().write(|tx| {
        let before = repo::calendar_days(tx, &d.to_string(), &d.to_string())?
            .into_iter()
            .next()
            .map(|r| serde_json::json!({"kind": r.kind, "name": r.name}))
            .unwrap_or(serde_json::Value::Null);
        regions::set_calendar_day(tx, d, holiday, name)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.calendar_day_set",
                entity: "calendar_day",
                entity_id: &d.to_string(),
                before,
                after: serde_json::json!({
                    "kind": if holiday { "holiday" } else { "workday" }, "name": name,
                }),
            },
        )
    })?;
    Ok(())
}

/// Removes a day's entry: it becomes an ordinary day again. Errors: `FORBIDDEN`,
/// `CALENDAR_DAY_INVALID`, `CALENDAR_DAY_NOT_FOUND`.
pub fn remove_day(app: &App, actor: &Actor, day: &str) -> Result<(), ServiceError> {
    require_admin(actor)?;
    let d = parse_day(day)?.to_string();
    let now = app.now();
    app.store().write(|tx| {
        let Some(before) = repo::calendar_days(tx, &d, &d)?.into_iter().next() else {
            return Err(ServiceError::not_found(
                "CALENDAR_DAY_NOT_FOUND",
                format!("日历中没有 {d} 这一天的设置"),
                format!("The calendar has no entry for {d}"),
            ));
        };
        repo::delete_calendar_day(tx, &d)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.calendar_day_removed",
                entity: "calendar_day",
                entity_id: &d,
                before: serde_json::json!({"kind": before.kind, "name": before.name}),
                after: serde_json::Value::Null,
            },
        )?;
        Ok::<_, ServiceError>(())
    })
}
