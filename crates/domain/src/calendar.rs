//! Working-day arithmetic: weekends are rest days unless the calendar makes them working days
//! (调休); public holidays are rest days.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Whether `day` is a working day, given the calendar's overrides (`Some(true)`: holiday,
/// `Some(false)`: adjusted working day, `None`: ordinary day).
pub fn is_working_day(day: NaiveDate, override_of: &dyn Fn(NaiveDate) -> Option<bool>) -> bool {
    match override_of(day) {
        Some(holiday) => !holiday,
        None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
    }
}

/// The date `n` working days after `start` (`start` itself not counted).
pub fn add_working_days(
    start: NaiveDate,
    n: u32,
    override_of: &dyn Fn(NaiveDate) -> Option<bool>,
) -> NaiveDate {
    let mut day = start;
    let mut left = n;
    while left > 0 {
        day += Duration::days(1);
        if is_working_day(day, override_of) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn skips_weekends_and_holidays_and_counts_adjusted_days() {
        let none = |_| None;
        // Friday + 1 working day = Monday.
        assert_eq!(add_working_days(d("2026-11-20"), 1, &none), d("2026-11-23"));
        // National day week 2026: 1–7 October off, Saturday 10 October worked.
        let cal = |day: NaiveDate| {
            if (d("2026-10-01")..=d("2026-10-07")).contains(&day) {
                Some(true)
            } else if day == d("2026-10-10") {
                Some(false)
            } else {
                None
            }
        };
        assert_eq!(add_working_days(d("2026-09-30"), 1, &cal), d("2026-10-08"));
        assert_eq!(add_working_days(d("2026-10-09"), 1, &cal), d("2026-10-10"));
        // 8, 9, 10 (Sat, worked), 12–16, 19–23, 26, 27 October.
        assert_eq!(add_working_days(d("2026-09-30"), 15, &cal), d("2026-10-27"));
    }
}
