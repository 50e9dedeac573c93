//! # sscard-domain
//!
//! Pure rules and types of the social security card domain. Nothing in this crate performs
//! I/O or reads the clock: time is always passed in (see [`clock`]).
//!
//! Where to find a rule:
//! - [`ids`]: validated identifiers (citizen ID and other identity documents, unified social
//!   credit code, card number and card identifier, region code);
//! - [`divisions`]: the GB/T 2260 administrative division table (names for codes);
//! - [`money`]: amounts in integer fen;
//! - [`card`]: card statuses and the card state machine;
//! - [`person`]: life status, gender, insurance types;
//! - [`pin`]: what a valid new social-security PIN is;
//! - [`policy`]: the per-region policy (PIN defaults, loss validity, fees, windows…);
//! - [`coded`]: the stable error codes every user-facing error carries.

pub mod calendar;
pub mod card;
pub mod clock;
pub mod coded;
pub mod divisions;
pub mod ids;
pub mod mask;
pub mod money;
pub mod person;
pub mod pin;
pub mod policy;
pub mod settlement;

pub use coded::Coded;
pub use money::Money;
