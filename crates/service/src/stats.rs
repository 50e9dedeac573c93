//! Statistics for the dashboard (admin and auditor): card activity per month and region,
//! settlements per day with amounts, PIN locks per day, 12333 calls by menu. Each is also a
//! [`Table`] that channels render or export (CSV, XLSX) the same way.
//!
//! Days and months are Beijing days and months (Asia/Shanghai); the store groups by UTC day and
//! a "late" flag, folded here (see [`sscard_store::repo::stats`]).
//!
//! What is counted (card events of the card timeline, by the card's region):
//! applied = `apply` (first applications), issued = `produced` (card made, holder notified),
//! collected = `collect`, lost = `report_loss_temporary` + `report_loss_written` (loss
//! reports), reissued = `reissue` (reissue applications), cancelled = `cancel`; PIN locks =
//! `pin_locked`. Settlements: `med_settlements` by settlement day, settled and reversed
//! separately (amounts in fen).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, Months, NaiveDate};
use serde::Serialize;
use sscard_store::repo::stats as repo;

use crate::App;
use crate::access::{self, ADMIN, AUDITOR};
use crate::audit::Actor;
use crate::error::ServiceError;

/// The card measures: key, events counted, Chinese and English labels.
pub const CARD_MEASURES: [(&str, &[&str], &str, &str); 6] = [
    ("applied", &["apply"], "申领", "Applied"),
    ("issued", &["produced"], "制卡发放", "Issued"),
    ("collected", &["collect"], "领卡", "Collected"),
    (
        "lost",
        &["report_loss_temporary", "report_loss_written"],
        "挂失",
        "Lost",
    ),
    ("reissued", &["reissue"], "补卡", "Reissued"),
    ("cancelled", &["cancel"], "注销", "Cancelled"),
];

/// Who may read statistics: administrators and auditors.
pub const READERS: [&str; 2] = [ADMIN, AUDITOR];

/// Card activity of one month in one region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardMonth {
    /// `YYYY-MM` (Beijing).
    pub month: String,
    pub region_code: String,
    /// Counts in the order of [`CARD_MEASURES`].
    pub counts: [i64; 6],
}

/// Settlements of one day in one region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct SettlementDay {
    pub day: String,
    pub region_code: String,
    pub settled: i64,
    pub total_fen: i64,
    pub personal_fen: i64,
    pub pooling_fen: i64,
    pub cash_fen: i64,
    pub reversed: i64,
    pub reversed_fen: i64,
}

/// PIN locks of one day in one region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PinLockDay {
    pub day: String,
    pub region_code: String,
    pub locks: i64,
}

/// Calls that reached one IVR menu and ended one way.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IvrMenu {
    pub menu: String,
    pub label_zh: String,
    pub label_en: String,
    pub outcome: String,
    pub calls: i64,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Dashboard {
    /// The region shown, or every region.
    pub region: Option<String>,
    /// The months of the card activity, oldest first (`YYYY-MM`).
    pub months: Vec<String>,
    /// The days of the daily series, oldest first (`YYYY-MM-DD`).
    pub days: Vec<String>,
    pub cards: Vec<CardMonth>,
    pub settlements: Vec<SettlementDay>,
    pub pin_locks: Vec<PinLockDay>,
    pub ivr: Vec<IvrMenu>,
}

/// Months of card activity on the dashboard.
pub const MONTHS: u32 = 12;
/// Days of the daily series (settlements, PIN locks, IVR calls).
pub const DAYS: i64 = 30;

/// A table cell.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Money in fen, shown as yuan with two decimals.
    Fen(i64),
}

impl Cell {
    /// The cell as text (yuan for money).
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Fen(f) => {
                let sign = if *f < 0 { "-" } else { "" };
                format!(
                    "{sign}{}.{:02}",
                    f.unsigned_abs() / 100,
                    f.unsigned_abs() % 100
                )
            }
        }
    }
}

/// A statistics table: what the dashboard shows and every export holds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Table {
    /// `cards`, `settlements`, `pin_locks`, `ivr` (also the export's file name).
    pub name: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    /// Column keys (the CSV header), Chinese and English labels.
    pub columns: Vec<(&'static str, &'static str, &'static str)>,
    pub rows: Vec<Vec<Cell>>,
}

/// The tables' names.
pub const TABLES: [&str; 4] = ["cards", "settlements", "pin_locks", "ivr"];

/// The instant a Beijing day starts, as stored (RFC 3339 UTC).
fn day_start(d: NaiveDate) -> String {
    format!("{}T16:00:00.000Z", d - Duration::days(1))
}

/// The Beijing day of a (UTC day, late) slot.
fn beijing_day(utc_day: &str, late: bool) -> Result<NaiveDate, ServiceError> {
    let d = NaiveDate::parse_from_str(utc_day, "%Y-%m-%d")
        .map_err(|e| ServiceError::internal(format!("bad stored day {utc_day}: {e}")))?;
    Ok(if late { d + Duration::days(1) } else { d })
}

/// The labels of the 12333 menus (seed 000's flows), by menu path.
pub fn ivr_menu_label(menu: &str) -> (&'static str, &'static str) {
    match menu {
        "" => ("未选择", "No choice"),
        "3" => ("社保信息查询", "Insurance information"),
        "3-1" => ("个人账户查询", "Personal accounts"),
        "3-1-1" => ("医疗卡余额", "Medical account balance"),
        "3-1-2" => ("失业保险连续缴费月数", "Unemployment contribution months"),
        "3-1-3" => ("退休待遇金额", "Pension amount"),
        "3-2" => ("工伤人员待遇", "Work-injury benefits"),
        "3-3" => ("工亡人员待遇", "Work-death benefits"),
        "3-4" => ("单位医疗保险缴费", "Employer medical contributions"),
        "5" => ("社保卡改密、挂失", "Card PIN and loss"),
        "5-1" => ("修改密码", "Change the PIN"),
        "5-2" => ("电话挂失", "Report a loss"),
        "0" => ("人工服务", "Human agent"),
        _ => ("其他菜单", "Other menu"),
    }
}

fn require_reader(actor: &Actor) -> Result<(), ServiceError> {
    access::require(actor, &READERS)
}

/// The dashboard's data for one region or all (`region: None`): the last [`MONTHS`] months of
/// card activity and the last [`DAYS`] days of the daily series, today included. Errors:
/// `FORBIDDEN` (only admins and auditors read statistics).
pub fn dashboard(
    app: &App,
    actor: &Actor,
    region: Option<&str>,
) -> Result<Dashboard, ServiceError> {
    require_reader(actor)?;
    let region = region.map(str::trim).filter(|r| !r.is_empty());
    let today = app.today();
    let first_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .and_then(|d| d.checked_sub_months(Months::new(MONTHS - 1)))
        .ok_or_else(|| ServiceError::internal("month arithmetic"))?;
    let months: Vec<String> = (0..MONTHS)
        .filter_map(|i| first_month.checked_add_months(Months::new(i)))
        .map(|d| d.format("%Y-%m").to_string())
        .collect();
    let first_day = today - Duration::days(DAYS - 1);
    let days: Vec<String> = (0..DAYS)
        .map(|i| (first_day + Duration::days(i)).to_string())
        .collect();
    let end = day_start(today + Duration::days(1));
    let events: Vec<&str> = CARD_MEASURES
        .iter()
        .flat_map(|(_, evs, _, _)| evs.iter().copied())
        .chain(["pin_locked"])
        .collect();
    let (event_rows, settle_rows, ivr_rows) = app.store().read(|tx| {
        let ev = repo::card_events(tx, &day_start(first_month), &end, &events)?;
        let st = repo::settlements_by_day(tx, &first_day.to_string(), &today.to_string())?;
        let iv = if region.is_none() {
            repo::ivr_calls_by_menu(tx, &day_start(first_day), &end)?
        } else {
            // Calls are not attributed to a region (the caller is only a hash).
            Vec::new()
        };
        Ok::<_, ServiceError>((ev, st, iv))
    })?;
    let keep = |r: &str| region.is_none_or(|want| want == r);

    let mut cards: BTreeMap<(String, String), [i64; 6]> = BTreeMap::new();
    let mut locks: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in event_rows.iter().filter(|r| keep(&r.region_code)) {
        let day = beijing_day(&r.utc_day, r.late)?;
        if r.event == "pin_locked" {
            if day >= first_day {
                *locks
                    .entry((day.to_string(), r.region_code.clone()))
                    .or_default() += r.count;
            }
            continue;
        }
        if day < first_month {
            continue;
        }
        if let Some(i) = CARD_MEASURES
            .iter()
            .position(|(_, evs, _, _)| evs.contains(&r.event.as_str()))
        {
            cards
                .entry((day.format("%Y-%m").to_string(), r.region_code.clone()))
                .or_default()[i] += r.count;
        }
    }
    let mut settlements: BTreeMap<(String, String), SettlementDay> = BTreeMap::new();
    for r in settle_rows.iter().filter(|r| keep(&r.region_code)) {
        let e = settlements
            .entry((r.day.clone(), r.region_code.clone()))
            .or_insert_with(|| SettlementDay {
                day: r.day.clone(),
                region_code: r.region_code.clone(),
                ..Default::default()
            });
        match r.status.as_str() {
            "settled" => {
                e.settled += r.count;
                e.total_fen += r.total_fen;
                e.personal_fen += r.personal_fen;
                e.pooling_fen += r.pooling_fen;
                e.cash_fen += r.cash_fen;
            }
            "reversed" => {
                e.reversed += r.count;
                e.reversed_fen += r.total_fen;
            }
            _ => {}
        }
    }
    Ok(Dashboard {
        region: region.map(str::to_string),
        months,
        days,
        cards: cards
            .into_iter()
            .map(|((month, region_code), counts)| CardMonth {
                month,
                region_code,
                counts,
            })
            .collect(),
        settlements: settlements.into_values().collect(),
        pin_locks: locks
            .into_iter()
            .map(|((day, region_code), locks)| PinLockDay {
                day,
                region_code,
                locks,
            })
            .collect(),
        ivr: ivr_rows
            .into_iter()
            .map(|r| {
                let (zh, en) = ivr_menu_label(&r.menu);
                IvrMenu {
                    menu: r.menu,
                    label_zh: zh.into(),
                    label_en: en.into(),
                    outcome: r.outcome,
                    calls: r.count,
                }
            })
            .collect(),
    })
}

impl Dashboard {
    /// Card counts per month over the regions shown: `(month, counts)`, every month listed.
    pub fn card_totals(&self) -> Vec<(String, [i64; 6])> {
        self.months
            .iter()
            .map(|m| {
                let mut t = [0i64; 6];
                for c in self.cards.iter().filter(|c| &c.month == m) {
                    for (a, b) in t.iter_mut().zip(c.counts) {
                        *a += b;
                    }
                }
                (m.clone(), t)
            })
            .collect()
    }

    /// Settled amount (fen) and count per day over the regions shown, every day listed.
    pub fn settlement_totals(&self) -> Vec<(String, i64, i64)> {
        self.days
            .iter()
            .map(|d| {
                let rows = self.settlements.iter().filter(|s| &s.day == d);
                let (fen, n) = rows.fold((0, 0), |(f, n), s| (f + s.total_fen, n + s.settled));
                (d.clone(), fen, n)
            })
            .collect()
    }

    /// PIN locks per day over the regions shown, every day listed.
    pub fn pin_lock_totals(&self) -> Vec<(String, i64)> {
        self.days
            .iter()
            .map(|d| {
                let n = self
                    .pin_locks
                    .iter()
                    .filter(|p| &p.day == d)
                    .map(|p| p.locks)
                    .sum();
                (d.clone(), n)
            })
            .collect()
    }

    /// Calls per menu (all outcomes), most called first.
    pub fn ivr_totals(&self) -> Vec<(String, i64)> {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for c in &self.ivr {
            *m.entry(c.menu.clone()).or_default() += c.calls;
        }
        let mut v: Vec<(String, i64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// One of the [`TABLES`] by name.
    pub fn table(&self, name: &str) -> Option<Table> {
        let t = |s: &str| Cell::Text(s.to_string());
        Some(match name {
            "cards" => Table {
                name: "cards",
                title_zh: "社保卡业务量(按月、统筹区)",
                title_en: "Card activity per month and region",
                columns: [
                    ("month", "月份", "Month"),
                    ("region_code", "统筹区", "Region"),
                ]
                .into_iter()
                .chain(CARD_MEASURES.iter().map(|(k, _, zh, en)| (*k, *zh, *en)))
                .collect(),
                rows: self
                    .cards
                    .iter()
                    .map(|c| {
                        [t(&c.month), t(&c.region_code)]
                            .into_iter()
                            .chain(c.counts.iter().map(|n| Cell::Int(*n)))
                            .collect()
                    })
                    .collect(),
            },
            "settlements" => Table {
                name: "settlements",
                title_zh: "医疗费用结算(按日、统筹区)",
                title_en: "Settlements per day and region",
                columns: vec![
                    ("day", "日期", "Day"),
                    ("region_code", "统筹区", "Region"),
                    ("settled", "结算笔数", "Settled"),
                    ("total_yuan", "医疗费总额(元)", "Total (yuan)"),
                    (
                        "personal_yuan",
                        "个人账户支付(元)",
                        "Personal account (yuan)",
                    ),
                    ("pooling_yuan", "统筹基金支付(元)", "Pooling fund (yuan)"),
                    ("cash_yuan", "现金支付(元)", "Cash (yuan)"),
                    ("reversed", "冲正笔数", "Reversed"),
                    ("reversed_yuan", "冲正金额(元)", "Reversed (yuan)"),
                ],
                rows: self
                    .settlements
                    .iter()
                    .map(|s| {
                        vec![
                            t(&s.day),
                            t(&s.region_code),
                            Cell::Int(s.settled),
                            Cell::Fen(s.total_fen),
                            Cell::Fen(s.personal_fen),
                            Cell::Fen(s.pooling_fen),
                            Cell::Fen(s.cash_fen),
                            Cell::Int(s.reversed),
                            Cell::Fen(s.reversed_fen),
                        ]
                    })
                    .collect(),
            },
            "pin_locks" => Table {
                name: "pin_locks",
                title_zh: "密码锁定(按日、统筹区)",
                title_en: "PIN locks per day and region",
                columns: vec![
                    ("day", "日期", "Day"),
                    ("region_code", "统筹区", "Region"),
                    ("locks", "锁定次数", "Locks"),
                ],
                rows: self
                    .pin_locks
                    .iter()
                    .map(|p| vec![t(&p.day), t(&p.region_code), Cell::Int(p.locks)])
                    .collect(),
            },
            "ivr" => Table {
                name: "ivr",
                title_zh: "12333 来电(按菜单)",
                title_en: "12333 calls by menu",
                columns: vec![
                    ("menu", "菜单", "Menu"),
                    ("label_zh", "菜单名称", "Menu name (zh)"),
                    ("label_en", "Menu name", "Menu name (en)"),
                    ("outcome", "结果", "Outcome"),
                    ("calls", "来电数", "Calls"),
                ],
                rows: self
                    .ivr
                    .iter()
                    .map(|c| {
                        vec![
                            t(&c.menu),
                            t(&c.label_zh),
                            t(&c.label_en),
                            t(&c.outcome),
                            Cell::Int(c.calls),
                        ]
                    })
                    .collect(),
            },
            _ => return None,
        })
    }
}

/// One statistics table for export. Errors: `FORBIDDEN`, `STATS_TABLE_UNKNOWN`.
pub fn table(
    app: &App,
    actor: &Actor,
    name: &str,
    region: Option<&str>,
) -> Result<Table, ServiceError> {
    require_reader(actor)?;
    if !TABLES.contains(&name) {
        return Err(ServiceError::not_found(
            "STATS_TABLE_UNKNOWN",
            format!("没有名为 {name} 的统计表"),
            format!("No statistics table {name} (one of {})", TABLES.join(", ")),
        ));
    }
    let d = dashboard(app, actor, region)?;
    d.table(name)
        .ok_or_else(|| ServiceError::internal("table vanished"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_days_fold_late_utc_hours() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(beijing_day("2026-01-31", true).unwrap(), d("2026-02-01"));
        assert_eq!(beijing_day("2026-01-31", false).unwrap(), d("2026-01-31"));
        assert_eq!(day_start(d("2026-02-01")), "2026-01-31T16:00:00.000Z");
        assert_eq!(Cell::Fen(-12345).text(), "-123.45");
        assert_eq!(Cell::Fen(5).text(), "0.05");
    }
}
