//! Validated identifiers. Every type here is a newtype holding the normalised text; it can only
//! be built by a `parse` that checks it (or, for synthetic data, by a constructor that computes
//! the check character). Error positions are 1-based character positions in the trimmed input.
//!
//! - [`IdNumber`]: citizen ID number (GB 11643-1999), also the social security number;
//! - [`Document`] / [`DocumentType`]: the identity documents a person can be keyed by;
//! - [`CreditCode`]: unified social credit code of an employer (GB 32100-2015);
//! - [`CardNo`] / [`CardId`]: the card number (9 chars) and card identifier (32 hex chars);
//! - [`RegionCode`]: a known GB/T 2260 division code (pooling region).

mod card;
mod citizen;
mod credit;
mod document;
mod region;

pub use card::{CardId, CardIdError, CardNo, CardNoError};
pub use citizen::{IdNumber, IdNumberError, IdWarning, check_char};
pub use credit::{CreditCode, CreditCodeError};
pub use document::{Document, DocumentError, DocumentType};
pub use region::{RegionCode, RegionCodeError};

/// Implements `Serialize` (as `as_str()`) and `Deserialize` (through the given parse
/// expression over `$s: &str`) for a string newtype.
macro_rules! serde_as_str {
    ($ty:ty, |$s:ident| $parse:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                ser.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                let raw = <String as serde::Deserialize>::deserialize(de)?;
                let $s: &str = &raw;
                let parsed: Result<$ty, _> = $parse;
                parsed.map_err(|e| {
                    <D::Error as serde::de::Error>::custom(format!(
                        "{}: {}",
                        crate::coded::Coded::code(&e),
                        crate::coded::Coded::message_en(&e)
                    ))
                })
            }
        }
    };
}
pub(crate) use serde_as_str;
