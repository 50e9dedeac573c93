//! The deterministic synthetic demo population (`sscard demo`, `sscard serve --demo`).
//!
//! The same persons count, seed and as-of date always give the same data. Persons live in the
//! four seed cities (weighted), carry valid ID numbers from real divisions, work for employers
//! with valid credit codes, have contribution histories, medical personal accounts whose
//! balances equal their ledger transfers, benefits, and cards in every lifecycle state.
//!
//! Generation runs on one thread and writing on another, chunk by chunk, through the store's
//! bulk insert (prepared statements on SQLite, COPY on PostgreSQL).

mod generate;
mod names;
mod settle;

pub use settle::SettleCardholder;

use chrono::NaiveDate;
use serde::Serialize;

use crate::App;
use crate::error::{ErrorKind, ServiceError};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub persons: u64,
    pub seed: u64,
    /// The day the population is "as of" (contribution months end the month before).
    pub as_of: NaiveDate,
}

/// A cardholder to try things with. `card_status` is `active` only for a usable card (living
/// holder, PIN not locked); otherwise the card state's snake_case name, or `pin_locked` /
/// `holder_deceased` for an active card that cannot be used.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SampleCardholder {
    pub name: String,
    pub id_number: String,
    /// `None` until the card is produced (applied, in production).
    pub card_no: Option<String>,
    pub card_status: String,
    pub pin: String,
    pub pin_changed: bool,
    pub query_password: String,
    pub query_password_changed: bool,
    pub medical_balance_fen: i64,
    pub region_code: String,
    pub life_status: String,
    /// `regular` or `temporary`.
    pub card_kind: String,
    pub pin_locked: bool,
    pub usable: bool,
    /// The card identifier (识别码) printed on the card, which hospitals send with the card
    /// number; `None` until the card is produced.
    pub card_sn: Option<String>,
}

/// A staff login.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SampleStaff {
    pub username: String,
    pub password: String,
    pub role: String,
    pub must_change_password: bool,
}

/// A designated institution's API credentials.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SampleInstitution {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub key_id: String,
    pub secret: String,
}

/// A cooperating bank's API credentials.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SampleBank {
    pub code: String,
    pub name: String,
    pub key_id: String,
    pub secret: String,
}

/// The "try it" list, also written as JSON by `--samples FILE`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct DemoSamples {
    pub cardholders: Vec<SampleCardholder>,
    pub staff: Vec<SampleStaff>,
    pub institutions: Vec<SampleInstitution>,
    /// The cooperating banks' API credentials (the signed bank API).
    pub banks: Vec<SampleBank>,
    /// Counts of what was generated, by table.
    pub counts: Vec<(String, u64)>,
    /// Up to 2 000 insured holders of usable cards with their initial PIN, for settlement
    /// load (`sscard bench settle`).
    pub settle_cardholders: Vec<SettleCardholder>,
}

/// Fills an empty database. `progress(done, total)` is called as persons are written.
pub fn generate(
    app: &App,
    opts: &DemoOptions,
    progress: &dyn Fn(u64, u64),
) -> Result<DemoSamples, ServiceError> {
    if opts.persons == 0 || opts.persons > 20_000_000 {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "DEMO_PERSONS",
            "人数必须在 1 到 20000000 之间",
            "The number of persons must be between 1 and 20,000,000",
        ));
    }
    if !app.is_empty()? {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            "DEMO_NOT_EMPTY",
            "数据库中已有人员数据,演示数据只能写入空数据库",
            "The database already holds persons; demo data only goes into an empty database",
        ));
    }
    generate::run(app, opts, progress)
}
