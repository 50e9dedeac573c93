//! # sscard-service
//!
//! The use cases of sscard. This crate is the only caller of the store: it checks permissions,
//! applies the domain rules and writes the audit log. Every channel (HTTP API, pages, IVR, CLI)
//! calls this layer, so every channel behaves the same.
//!
//! - [`app`]: the [`App`] handle (store, clock, secrets) every channel holds;
//! - [`error`]: [`ServiceError`], each with a stable code and zh/en messages;
//! - [`audit`]: the hash-chained audit log and its verification;
//! - [`secrets`]: PIN MACs (HMAC-SHA256 with a key kept outside the database) and password hashes;
//! - [`reference`]: regions, policies, agencies, banks and the working-day calendar;
//! - [`demo`]: the deterministic synthetic population.

pub mod access;
pub mod admin;
pub mod app;
pub mod audit;
pub mod bank;
pub mod cards;
pub mod demo;
pub mod ecard;
pub mod employers;
pub mod error;
pub mod kiosk;
pub mod ledger;
pub mod medical;
pub mod notices;
pub mod payouts;
pub mod persons;
pub mod phone;
pub mod reference;
pub mod secrets;
pub mod selfservice;
pub mod signing;
pub mod staff;
pub mod stats;

pub use app::{App, AppConfig, SystemClock};
pub use error::{ErrorKind, ServiceError};
