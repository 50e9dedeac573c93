//! The kiosk's card readers.
//!
//! A terminal has two readers: the social security card reader (the holder inserts the card,
//! photo side down, and the chip gives its card number) and the ID card reader (the holder
//! swipes the second-generation ID card and the chip gives the citizen ID number: the way in
//! for someone who lost the card and wants to pre-report the loss). Both sit behind
//! [`CardReader`], so real device drivers plug in where the demo readers are.
//!
//! The demo readers ([`TypedCardReader`], [`TypedIdCardReader`]) take the number typed on the
//! kiosk's on-screen keypad, as if the chip had given it.

use chrono::NaiveDate;
use sscard_domain::ids::{CardNo, IdNumber};

use crate::error::ServiceError;

/// What a reader read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// A social security card was inserted: its card number.
    Card(CardNo),
    /// An ID card was swiped: the holder's citizen ID number.
    IdCard(IdNumber),
}

impl Presented {
    /// `card` or `id_card` (stored with the session).
    pub fn via(&self) -> &'static str {
        match self {
            Presented::Card(_) => "card",
            Presented::IdCard(_) => "id_card",
        }
    }
}

/// A card reader of a kiosk terminal.
pub trait CardReader: Send + Sync {
    /// Reads the card in the reader. `today` is needed to check an ID card's birth date.
    /// Errors: the card number's or ID number's validation codes (`CARD_NO_*`, `ID_*`).
    fn read(&self, today: NaiveDate) -> Result<Presented, ServiceError>;
}

/// The demo social security card reader: the card number typed on the on-screen keypad.
#[derive(Debug, Clone)]
pub struct TypedCardReader {
    /// What was typed.
    pub typed: String,
}

impl CardReader for TypedCardReader {
    fn read(&self, _today: NaiveDate) -> Result<Presented, ServiceError> {
        CardNo::parse(&self.typed)
            .map(Presented::Card)
            .map_err(|e| ServiceError::invalid(&e))
    }
}

/// The demo ID card reader: the citizen ID number typed on the on-screen keypad.
#[derive(Debug, Clone)]
pub struct TypedIdCardReader {
    /// What was typed.
    pub typed: String,
}

impl CardReader for TypedIdCardReader {
    fn read(&self, today: NaiveDate) -> Result<Presented, ServiceError> {
        IdNumber::parse(&self.typed, today)
            .map(Presented::IdCard)
            .map_err(|e| ServiceError::invalid(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn typed_readers_validate() {
        let r = TypedCardReader {
            typed: " n00000010 ".into(),
        };
        assert_eq!(r.read(today()).unwrap().via(), "card");
        let r = TypedCardReader {
            typed: "N12".into(),
        };
        assert_eq!(r.read(today()).unwrap_err().code, "CARD_NO_LENGTH");
        let r = TypedIdCardReader {
            typed: "11010519491231002X".into(),
        };
        assert_eq!(
            r.read(today()).unwrap(),
            Presented::IdCard(IdNumber::parse("11010519491231002X", today()).unwrap())
        );
        let r = TypedIdCardReader {
            typed: "110105194912310021".into(),
        };
        assert!(r.read(today()).unwrap_err().code.starts_with("ID_"));
    }
}
