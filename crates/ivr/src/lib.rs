//! # sscard-ivr
//!
//! The 12333 phone channel (seed 000): callers do by telephone keypad what the other channels
//! do, through the same service layer and the same rules.
//!
//! - [`prompts`]: the prompt catalogue (ids, zh-CN and English, parameters spoken in 元/角/分),
//!   cut into sound files for a PBX;
//! - [`engine`]: the menu state machine (entries, timeouts, hang-up → play / collect /
//!   transfer / hang up), calling `sscard_service`;
//! - [`limit`]: the per-caller rate limit on PIN attempts and look-ups;
//! - [`session`]: calls held between HTTP requests, with an idle timeout (the `/api/v1/ivr/`
//!   session API of `sscard-http`);
//! - [`console`]: keys from standard input, prompts as text (`sscard ivr console`);
//! - [`agi`]: a FastAGI server for Asterisk (`sscard ivr agi`), one task per call;
//! - [`sim`]: Asterisk's side of FastAGI, for tests and the load simulator (`sscard ivr load`);
//! - [`render`]: every prompt to an 8 kHz mono WAV with espeak-ng and sox
//!   (`sscard ivr prompts`).
//!
//! Privacy: no PIN and no full ID number is ever logged; callers are known only by a keyed
//! hash of their number.

pub mod agi;
pub mod console;
pub mod engine;
pub mod limit;
pub mod prompts;
pub mod render;
pub mod session;
pub mod sim;

pub use engine::{Action, Call, Collect, Event, Services};
pub use prompts::{Arg, Lang, Prompt};
