//! Card number (卡号) and card identifier (卡识别码).

use std::fmt;

use crate::coded::Coded;

use super::region::RegionCode;
use super::serde_as_str;

/// The fixed middle part of every card identifier (positions 7-16).
const MARKER: &str = "D156000005";

/// Card number: exactly 9 upper-case ASCII letters or digits (sample `X00000019`); distinct
/// from the ID number and the bank account. Serialises as the string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNo(String);

/// Why a card number was refused. Positions are 1-based in the trimmed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardNoError {
    /// Nothing given.
    #[error("card number is empty")]
    Empty,
    /// Not 9 characters.
    #[error("card number has {found} characters, expected 9")]
    Length {
        /// What was found.
        found: usize,
    },
    /// Not a letter or digit.
    #[error(
        "card number: invalid character '{found}' at position {position} (expected a letter or digit)"
    )]
    Char {
        /// 1-based character position.
        position: usize,
        /// What was found.
        found: char,
    },
}

impl Coded for CardNoError {
    fn code(&self) -> &'static str {
        match self {
            CardNoError::Empty => "CARD_NO_EMPTY",
            CardNoError::Length { .. } => "CARD_NO_LENGTH",
            CardNoError::Char { .. } => "CARD_NO_CHAR",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CardNoError::Empty => "请输入社会保障卡卡号".to_string(),
            CardNoError::Length { found } => format!("卡号为{found}位，应为9位"),
            CardNoError::Char { position, found } => {
                format!("卡号第{position}位“{found}”无效，应为字母或数字")
            }
        }
    }

    fn message_en(&self) -> String {
        self.to_string()
    }
}

impl CardNo {
    /// Parses a card number: trims, upper-cases, requires 9 ASCII letters/digits.
    pub fn parse(input: &str) -> Result<CardNo, CardNoError> {
        let chars: Vec<char> = input.trim().chars().collect();
        match chars.len() {
            0 => return Err(CardNoError::Empty),
            9 => {}
            n => return Err(CardNoError::Length { found: n }),
        }
        if let Some(i) = chars.iter().position(|c| !c.is_ascii_alphanumeric()) {
            return Err(CardNoError::Char {
                position: i + 1,
                found: chars[i],
            });
        }
        Ok(CardNo(chars.iter().map(char::to_ascii_uppercase).collect()))
    }

    /// The 9 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CardNo {
    type Err = CardNoError;
    fn from_str(s: &str) -> Result<CardNo, CardNoError> {
        CardNo::parse(s)
    }
}

serde_as_str!(CardNo, |s| CardNo::parse(s));

/// Card identifier: 32 upper-case hex characters = issuing area (positions 1-6, a known
/// division code) + `D156000005` (positions 7-16) + chip serial (positions 17-32, 16 hex).
/// Serialises as the string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardId(String);

/// Why a card identifier was refused. Positions are 1-based in the trimmed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardIdError {
    /// Nothing given.
    #[error("card identifier is empty")]
    Empty,
    /// Not 32 characters.
    #[error("card identifier has {found} characters, expected 32")]
    Length {
        /// What was found.
        found: usize,
    },
    /// Not a hex digit.
    #[error(
        "card identifier: invalid character '{found}' at position {position} (expected a hex digit)"
    )]
    Char {
        /// 1-based character position.
        position: usize,
        /// What was found.
        found: char,
    },
    /// Positions 1-6 are not a known division code.
    #[error("card identifier: issuing area {found} at positions 1-6 is not a known division code")]
    Area {
        /// What was found.
        found: String,
    },
    /// Positions 7-16 are not `D156000005`.
    #[error("card identifier: positions 7-16 are {found}, expected D156000005")]
    Marker {
        /// What was found.
        found: String,
    },
}

impl Coded for CardIdError {
    fn code(&self) -> &'static str {
        match self {
            CardIdError::Empty => "CARD_ID_EMPTY",
            CardIdError::Length { .. } => "CARD_ID_LENGTH",
            CardIdError::Char { .. } => "CARD_ID_CHAR",
            CardIdError::Area { .. } => "CARD_ID_AREA",
            CardIdError::Marker { .. } => "CARD_ID_MARKER",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CardIdError::Empty => "请输入卡识别码".to_string(),
            CardIdError::Length { found } => format!("卡识别码为{found}位，应为32位"),
            CardIdError::Char { position, found } => {
                format!("卡识别码第{position}位“{found}”无效，应为十六进制字符（0-9、A-F）")
            }
            CardIdError::Area { found } => {
                format!("卡识别码第1–6位发卡地区代码{found}不是有效的行政区划代码")
            }
            CardIdError::Marker { found } => {
                format!("卡识别码第7–16位应为D156000005，实际为{found}")
            }
        }
    }

    fn message_en(&self) -> String {
        self.to_string()
    }
}

impl CardId {
    /// Parses a card identifier: trims, upper-cases; checks length, hex characters, issuing
    /// area (known division) and the fixed `D156000005`.
    pub fn parse(input: &str) -> Result<CardId, CardIdError> {
        let chars: Vec<char> = input.trim().chars().collect();
        match chars.len() {
            0 => return Err(CardIdError::Empty),
            32 => {}
            n => return Err(CardIdError::Length { found: n }),
        }
        if let Some(i) = chars.iter().position(|c| !c.is_ascii_hexdigit()) {
            return Err(CardIdError::Char {
                position: i + 1,
                found: chars[i],
            });
        }
        let s: String = chars.iter().map(char::to_ascii_uppercase).collect();
        if RegionCode::parse(&s[..6]).is_err() {
            return Err(CardIdError::Area {
                found: s[..6].to_string(),
            });
        }
        if &s[6..16] != MARKER {
            return Err(CardIdError::Marker {
                found: s[6..16].to_string(),
            });
        }
        Ok(CardId(s))
    }

    /// Builds the identifier of a card issued in `area` with chip serial `serial`.
    pub fn new(area: &RegionCode, serial: u64) -> CardId {
        CardId(format!("{}{MARKER}{serial:016X}", area.as_str()))
    }

    /// The 32 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Issuing area (positions 1-6).
    pub fn area(&self) -> RegionCode {
        RegionCode::parse(&self.0[..6]).expect("validated area")
    }

    /// Chip serial (positions 17-32, hex).
    pub fn serial(&self) -> u64 {
        u64::from_str_radix(&self.0[16..], 16).expect("validated hex")
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CardId {
    type Err = CardIdError;
    fn from_str(s: &str) -> Result<CardId, CardIdError> {
        CardId::parse(s)
    }
}

serde_as_str!(CardId, |s| CardId::parse(s));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn card_numbers() {
        assert_eq!(CardNo::parse(" x00000019 ").unwrap().as_str(), "X00000019");
        assert_eq!(CardNo::parse(""), Err(CardNoError::Empty));
        assert_eq!(
            CardNo::parse("X0000001"),
            Err(CardNoError::Length { found: 8 })
        );
        assert_eq!(
            CardNo::parse("X0000-019"),
            Err(CardNoError::Char {
                position: 6,
                found: '-'
            })
        );
        assert_eq!(
            CardNo::parse("X0000０019").unwrap_err().code(),
            "CARD_NO_CHAR"
        );
        let c = CardNo::parse("X00000019").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"X00000019\"");
        assert_eq!(serde_json::from_str::<CardNo>("\"x00000019\"").unwrap(), c);
    }

    #[test]
    fn card_ids() {
        let area = RegionCode::parse("511000").unwrap();
        let id = CardId::new(&area, 0x1234_ABCD);
        assert_eq!(id.as_str(), "511000D156000005000000001234ABCD");
        assert_eq!(id.area(), area);
        assert_eq!(id.serial(), 0x1234_ABCD);
        let lower = id.as_str().to_lowercase();
        assert_eq!(CardId::parse(&lower).unwrap(), id);
        assert_eq!(CardId::parse("  "), Err(CardIdError::Empty));
        assert_eq!(
            CardId::parse("511000D156000005"),
            Err(CardIdError::Length { found: 16 })
        );
        assert_eq!(
            CardId::parse("511000D15600000500000000123GABCD"),
            Err(CardIdError::Char {
                position: 28,
                found: 'G'
            })
        );
        assert_eq!(
            CardId::parse("999999D156000005000000001234ABCD")
                .unwrap_err()
                .code(),
            "CARD_ID_AREA"
        );
        assert_eq!(
            CardId::parse("5110A0D156000005000000001234ABCD")
                .unwrap_err()
                .code(),
            "CARD_ID_AREA"
        );
        assert_eq!(
            CardId::parse("511000D156000006000000001234ABCD"),
            Err(CardIdError::Marker {
                found: "D156000006".into()
            })
        );
        assert!(
            CardIdError::Area {
                found: "999999".into()
            }
            .message_zh()
            .contains("第1–6位")
        );
    }

    proptest! {
        #[test]
        fn generated_card_ids_round_trip(i in 0usize..3000, serial in any::<u64>()) {
            let codes: Vec<&str> = crate::divisions::all().map(|(c, _)| c).collect();
            let area = RegionCode::parse(codes[i % codes.len()]).unwrap();
            let id = CardId::new(&area, serial);
            let back = CardId::parse(&id.to_string()).unwrap();
            prop_assert_eq!(back.serial(), serial);
            prop_assert_eq!(back.area(), area);
            prop_assert_eq!(back, id);
        }
    }
}
