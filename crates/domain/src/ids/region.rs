//! Region codes: GB/T 2260 division codes present in the division table (pooling regions,
//! card issuing areas).

use std::fmt;

use crate::coded::Coded;
use crate::divisions;

use super::serde_as_str;

/// A 6-digit division code known to [`crate::divisions`] (e.g. 重庆 `500000`, 内江 `511000`,
/// 大连 `210200`, 石家庄 `130100`). Serialises as the string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

/// Why a region code was refused. Positions are 1-based in the trimmed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    /// Nothing given.
    #[error("region code is empty")]
    Empty,
    /// Not 6 characters.
    #[error("region code has {found} characters, expected 6 digits")]
    Length {
        /// What was found.
        found: usize,
    },
    /// A non-digit.
    #[error("region code: invalid character '{found}' at position {position} (expected a digit)")]
    Char {
        /// 1-based character position.
        position: usize,
        /// What was found.
        found: char,
    },
    /// Well-formed but not in the division table.
    #[error("region code {code} is not a known division code")]
    Unknown {
        /// The offending code.
        code: String,
    },
}

impl Coded for RegionCodeError {
    fn code(&self) -> &'static str {
        match self {
            RegionCodeError::Empty => "REGION_CODE_EMPTY",
            RegionCodeError::Length { .. } => "REGION_CODE_LENGTH",
            RegionCodeError::Char { .. } => "REGION_CODE_CHAR",
            RegionCodeError::Unknown { .. } => "REGION_CODE_UNKNOWN",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            RegionCodeError::Empty => "请输入行政区划代码".to_string(),
            RegionCodeError::Length { found } => {
                format!("行政区划代码为{found}位，应为6位数字")
            }
            RegionCodeError::Char { position, found } => {
                format!("行政区划代码第{position}位“{found}”无效，应为数字")
            }
            RegionCodeError::Unknown { code } => format!("行政区划代码{code}不存在"),
        }
    }

    fn message_en(&self) -> String {
        self.to_string()
    }
}

impl RegionCode {
    /// Parses a region code: trims, checks 6 digits and membership in the division table.
    pub fn parse(input: &str) -> Result<RegionCode, RegionCodeError> {
        let chars: Vec<char> = input.trim().chars().collect();
        match chars.len() {
            0 => return Err(RegionCodeError::Empty),
            6 => {}
            n => return Err(RegionCodeError::Length { found: n }),
        }
        if let Some(i) = chars.iter().position(|c| !c.is_ascii_digit()) {
            return Err(RegionCodeError::Char {
                position: i + 1,
                found: chars[i],
            });
        }
        let code: String = chars.into_iter().collect();
        if divisions::is_known(&code) {
            Ok(RegionCode(code))
        } else {
            Err(RegionCodeError::Unknown { code })
        }
    }

    /// The 6 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Own name, e.g. `内江市`.
    pub fn name(&self) -> &'static str {
        divisions::name(&self.0).expect("RegionCode is always a known division")
    }

    /// Name from the province down, e.g. `四川省内江市`; `重庆市` for `500000`.
    pub fn full_name(&self) -> String {
        divisions::full_name(&self.0).expect("RegionCode is always a known division")
    }

    /// The province (`xx0000`) this region belongs to (itself for a province).
    pub fn province(&self) -> RegionCode {
        RegionCode(format!("{}0000", &self.0[..2]))
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for RegionCode {
    type Err = RegionCodeError;
    fn from_str(s: &str) -> Result<RegionCode, RegionCodeError> {
        RegionCode::parse(s)
    }
}

serde_as_str!(RegionCode, |s| RegionCode::parse(s));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_regions() {
        let r = |s| RegionCode::parse(s).unwrap();
        assert_eq!(r("500000").name(), "重庆市");
        assert_eq!(r("500000").full_name(), "重庆市");
        assert_eq!(r("511000").name(), "内江市");
        assert_eq!(r("511000").full_name(), "四川省内江市");
        assert_eq!(r("511000").province(), r("510000"));
        assert_eq!(r("210200").full_name(), "辽宁省大连市");
        assert_eq!(r("130100").full_name(), "河北省石家庄市");
        assert_eq!(r("500000").province(), r("500000"));
        assert_eq!(r(" 130100 ").as_str(), "130100");
    }

    #[test]
    fn errors() {
        assert_eq!(RegionCode::parse(" "), Err(RegionCodeError::Empty));
        assert_eq!(
            RegionCode::parse("5110"),
            Err(RegionCodeError::Length { found: 4 })
        );
        assert_eq!(
            RegionCode::parse("51a000"),
            Err(RegionCodeError::Char {
                position: 3,
                found: 'a'
            })
        );
        assert_eq!(
            RegionCode::parse("999999").unwrap_err().code(),
            "REGION_CODE_UNKNOWN"
        );
    }

    #[test]
    fn serde_as_string() {
        let r = RegionCode::parse("511000").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"511000\"");
        assert_eq!(serde_json::from_str::<RegionCode>("\"511000\"").unwrap(), r);
        assert!(serde_json::from_str::<RegionCode>("\"999999\"").is_err());
    }
}
