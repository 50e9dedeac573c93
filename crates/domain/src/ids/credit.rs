//! Unified social credit code (统一社会信用代码, GB 32100-2015) identifying an employer.

use std::fmt;

use crate::coded::Coded;

use super::serde_as_str;

/// The 31 characters a credit code may use (no I, O, S, V, Z), in value order.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|v| v as u32)
}

/// Check character of the first 17 characters (all from the charset).
fn compute_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| value(c).expect("charset checked") * w)
        .sum();
    CHARSET[((31 - sum % 31) % 31) as usize]
}

/// A unified social credit code: 18 upper-case characters. Either the checksum is right, or
/// it was accepted on a supervisor's override ([`CreditCode::parse_with_override`]; some
/// early pilot codes are real but fail the checksum) and [`CreditCode::checksum_ok`] is false.
/// Serialises as the string; deserialising accepts a checksum failure (the override was
/// decided when the code was first recorded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode {
    code: String,
    checksum_ok: bool,
}

/// Why a credit code was refused. Positions are 1-based in the trimmed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Nothing given.
    #[error("credit code is empty")]
    Empty,
    /// Not 18 characters.
    #[error("credit code has {found} characters, expected 18")]
    Length {
        /// What was found.
        found: usize,
    },
    /// A character outside `0-9 A-Z` without I, O, S, V, Z.
    #[error(
        "credit code: invalid character '{found}' at position {position} (allowed: digits and upper-case letters except I, O, S, V, Z)"
    )]
    Char {
        /// 1-based character position.
        position: usize,
        /// What was found.
        found: char,
    },
    /// The 18th character does not match the checksum of the first 17.
    #[error("credit code: check character at position 18 is {found}, expected {expected}")]
    CheckChar {
        /// What was expected.
        expected: char,
        /// What was found.
        found: char,
    },
}

impl Coded for CreditCodeError {
    fn code(&self) -> &'static str {
        match self {
            CreditCodeError::Empty => "CREDIT_CODE_EMPTY",
            CreditCodeError::Length { .. } => "CREDIT_CODE_LENGTH",
            CreditCodeError::Char { .. } => "CREDIT_CODE_CHAR",
            CreditCodeError::CheckChar { .. } => "CREDIT_CODE_CHECK_CHAR",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CreditCodeError::Empty => "请输入统一社会信用代码".to_string(),
            CreditCodeError::Length { found } => {
                format!("统一社会信用代码为{found}位，应为18位")
            }
            CreditCodeError::Char { position, found } => format!(
                "统一社会信用代码第{position}位“{found}”无效（只允许数字和除I、O、S、V、Z以外的大写字母）"
            ),
            CreditCodeError::CheckChar { expected, found } => format!(
                "统一社会信用代码第18位校验码应为{expected}，实际为{found}；如确认代码真实，需主管授权后录入"
            ),
        }
    }

    fn message_en(&self) -> String {
        self.to_string()
    }
}

impl CreditCode {
    /// Parses a credit code: trims, upper-cases, checks length (18), characters and the
    /// check character (position 18).
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let code = Self::parse_with_override(input)?;
        if code.checksum_ok {
            Ok(code)
        } else {
            let b = code.code.as_bytes();
            Err(CreditCodeError::CheckChar {
                expected: compute_check(&b[..17]) as char,
                found: b[17] as char,
            })
        }
    }

    /// Like [`CreditCode::parse`] but accepts a wrong check character, marking the code
    /// ([`CreditCode::checksum_ok`] = false). Length and character errors are still refused.
    /// Call only when a supervisor override is recorded.
    pub fn parse_with_override(input: &str) -> Result<CreditCode, CreditCodeError> {
        let chars: Vec<char> = input.trim().chars().collect();
        match chars.len() {
            0 => return Err(CreditCodeError::Empty),
            18 => {}
            n => return Err(CreditCodeError::Length { found: n }),
        }
        let mut code = String::with_capacity(18);
        for (i, &c) in chars.iter().enumerate() {
            let up = c.to_ascii_uppercase();
            if !up.is_ascii() || value(up as u8).is_none() {
                return Err(CreditCodeError::Char {
                    position: i + 1,
                    found: c,
                });
            }
            code.push(up);
        }
        let b = code.as_bytes();
        let checksum_ok = compute_check(&b[..17]) == b[17];
        Ok(CreditCode { code, checksum_ok })
    }

    /// Builds a code from its first 17 characters, computing the check character
    /// (synthetic data).
    ///
    /// # Panics
    /// If `first17` is not 17 characters of the credit-code charset (upper case).
    pub fn from_body(first17: &str) -> CreditCode {
        let b = first17.as_bytes();
        assert!(
            b.len() == 17 && b.iter().all(|&c| value(c).is_some()),
            "credit code body must be 17 charset characters, got {first17:?}"
        );
        let mut code = first17.to_string();
        code.push(compute_check(b) as char);
        CreditCode {
            code,
            checksum_ok: true,
        }
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Whether the check character is right (false only after an override).
    pub fn checksum_ok(&self) -> bool {
        self.checksum_ok
    }

    /// Registration authority code (position 1, e.g. `9` = administration for industry and
    /// commerce).
    pub fn registration_authority(&self) -> char {
        self.code.as_bytes()[0] as char
    }

    /// Organisation type code within the authority (position 2, e.g. `1` = enterprise).
    pub fn org_type(&self) -> char {
        self.code.as_bytes()[1] as char
    }

    /// Division code of the registering authority (positions 3-8).
    pub fn division_code(&self) -> &str {
        &self.code[2..8]
    }

    /// Organisation code body (positions 9-17).
    pub fn org_code(&self) -> &str {
        &self.code[8..17]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl std::str::FromStr for CreditCode {
    type Err = CreditCodeError;
    fn from_str(s: &str) -> Result<CreditCode, CreditCodeError> {
        CreditCode::parse(s)
    }
}

serde_as_str!(CreditCode, |s| CreditCode::parse_with_override(s));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domain_example() {
        let c = CreditCode::parse("91350100M000100Y43").unwrap();
        assert!(c.checksum_ok());
        assert_eq!(c.registration_authority(), '9');
        assert_eq!(c.org_type(), '1');
        assert_eq!(c.division_code(), "350100");
        assert_eq!(c.org_code(), "M000100Y4");
        assert_eq!(c.to_string(), "91350100M000100Y43");
        assert_eq!(CreditCode::from_body("91350100M000100Y4"), c);
        assert_eq!(CreditCode::parse(" 91350100m000100y43 ").unwrap(), c);
    }

    #[test]
    fn errors() {
        assert_eq!(CreditCode::parse(""), Err(CreditCodeError::Empty));
        assert_eq!(
            CreditCode::parse("91350100M000100Y4"),
            Err(CreditCodeError::Length { found: 17 })
        );
        assert_eq!(
            CreditCode::parse("91350100M0001O0Y43"),
            Err(CreditCodeError::Char {
                position: 14,
                found: 'O'
            })
        );
        let e = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(
            e,
            CreditCodeError::CheckChar {
                expected: '3',
                found: '4'
            }
        );
        assert_eq!(e.code(), "CREDIT_CODE_CHECK_CHAR");
        assert!(e.message_zh().contains("第18位"));
    }

    #[test]
    fn override_accepts_checksum_failures_only() {
        let c = CreditCode::parse_with_override("91350100M000100Y44").unwrap();
        assert!(!c.checksum_ok());
        assert_eq!(c.as_str(), "91350100M000100Y44");
        assert_eq!(
            CreditCode::parse_with_override("91350100M000100Y4S")
                .unwrap_err()
                .code(),
            "CREDIT_CODE_CHAR"
        );
        assert_eq!(
            CreditCode::parse_with_override("9135").unwrap_err().code(),
            "CREDIT_CODE_LENGTH"
        );
        let j = serde_json::to_string(&c).unwrap();
        let back: CreditCode = serde_json::from_str(&j).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<CreditCode>("\"123\"").is_err());
    }

    fn body() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(CHARSET.to_vec()), 17)
            .prop_map(|v| String::from_utf8(v).unwrap())
    }

    proptest! {
        #[test]
        fn generated_codes_round_trip(b in body()) {
            let c = CreditCode::from_body(&b);
            prop_assert_eq!(CreditCode::parse(&c.to_string()), Ok(c.clone()));
            prop_assert_eq!(CreditCode::parse(&c.to_string().to_lowercase()), Ok(c));
        }

        #[test]
        fn single_substitution_detected(b in body(), pos in 0usize..18, k in 1usize..31) {
            let c = CreditCode::from_body(&b);
            let mut bytes = c.as_str().as_bytes().to_vec();
            let cur = value(bytes[pos]).unwrap() as usize;
            bytes[pos] = CHARSET[(cur + k) % 31];
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(CreditCode::parse(&changed).unwrap_err().code(), "CREDIT_CODE_CHECK_CHAR");
        }
    }
}
