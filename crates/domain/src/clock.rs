//! Time is passed in, never read inside the domain. The system clock lives in the service layer.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Today's date in China (Asia/Shanghai, UTC+8 all year since 1991).
    fn today(&self) -> NaiveDate {
        to_shanghai(self.now()).date_naive()
    }
}

/// A clock stuck at one instant (tests, simulations).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Asia/Shanghai offset. China has kept UTC+8 without daylight saving since 1991.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Converts a stored UTC instant to Asia/Shanghai for display.
pub fn to_shanghai(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&shanghai())
}
