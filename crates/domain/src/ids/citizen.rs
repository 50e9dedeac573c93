//! Citizen ID number (公民身份号码, GB 11643-1999) and the shared 18-character validator used
//! by the residence permits and the 2023 foreign permanent residence ID.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::coded::Coded;
use crate::divisions;
use crate::mask::mask_id;
use crate::person::Gender;

use super::serde_as_str;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Check character (`b'0'..=b'9'` or `b'X'`) of a GB 11643 number from its first 17 digits.
///
/// # Panics
/// If `first17` is not exactly 17 ASCII digits.
pub fn check_char(first17: &[u8]) -> u8 {
    assert!(
        first17.len() == 17 && first17.iter().all(u8::is_ascii_digit),
        "check_char needs exactly 17 ASCII digits"
    );
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Earliest birth date accepted.
fn earliest_birth() -> NaiveDate {
    NaiveDate::from_ymd_opt(1880, 1, 1).expect("valid date")
}

/// A citizen ID number, normalised to 18 characters (upper-case `X`). Also the person's social
/// security number. Serialises as the string; deserialising runs every check of
/// [`IdNumber::parse`] except "birth date not after today" (no clock in serde).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

/// Why an ID number was refused. Positions are 1-based in the trimmed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Nothing given.
    #[error("ID number is empty")]
    Empty,
    /// Neither 18 characters nor a legacy 15-digit number.
    #[error("ID number has {found} characters, expected 18 (or 15 for a legacy number)")]
    Length {
        /// What was found.
        found: usize,
    },
    /// A character that is not allowed at this position (digits only; `X` only as the 18th).
    #[error("ID number: invalid character '{found}' at position {position} (expected {})",
        if *position == 18 { "a digit or X" } else { "a digit" })]
    Char {
        /// 1-based character position.
        position: usize,
        /// What was found.
        found: char,
    },
    /// The province code is not a known province.
    #[error("ID number: unknown province code {code} at positions {position}-{}", position + 1)]
    UnknownProvince {
        /// The offending code.
        code: String,
        /// 1-based character position.
        position: usize,
    },
    /// The number does not start as its document type requires (residence permits,
    /// foreign permanent residence ID).
    #[error("ID number must start with {expected}, found {found}")]
    WrongPrefix {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// The birth date digits are not a real date.
    #[error("ID number: birth date {digits} at positions {from}-{to} is not a real date")]
    BirthDateInvalid {
        /// The date digits as given.
        digits: String,
        /// First 1-based position of the date.
        from: usize,
        /// Last 1-based position of the date.
        to: usize,
    },
    /// The birth date lies after today.
    #[error("ID number: birth date {date} at positions {from}-{to} is after today ({today})")]
    BirthDateInFuture {
        /// The birth date.
        date: NaiveDate,
        /// The reference date (today).
        today: NaiveDate,
        /// First 1-based position of the date.
        from: usize,
        /// Last 1-based position of the date.
        to: usize,
    },
    /// The birth date lies before 1880-01-01.
    #[error("ID number: birth date {date} at positions {from}-{to} is before 1880-01-01")]
    BirthDateTooEarly {
        /// The birth date.
        date: NaiveDate,
        /// First 1-based position of the date.
        from: usize,
        /// Last 1-based position of the date.
        to: usize,
    },
    /// The 18th character does not match the checksum of the first 17.
    #[error("ID number: check character at position 18 is {found}, expected {expected}")]
    CheckChar {
        /// What was expected.
        expected: char,
        /// What was found.
        found: char,
    },
}

impl Coded for IdNumberError {
    fn code(&self) -> &'static str {
        match self {
            IdNumberError::Empty => "ID_EMPTY",
            IdNumberError::Length { .. } => "ID_LENGTH",
            IdNumberError::Char { .. } => "ID_CHAR",
            IdNumberError::UnknownProvince { .. } => "ID_PROVINCE",
            IdNumberError::WrongPrefix { .. } => "ID_PREFIX",
            IdNumberError::BirthDateInvalid { .. } => "ID_BIRTH_DATE_INVALID",
            IdNumberError::BirthDateInFuture { .. } => "ID_BIRTH_DATE_FUTURE",
            IdNumberError::BirthDateTooEarly { .. } => "ID_BIRTH_DATE_TOO_EARLY",
            IdNumberError::CheckChar { .. } => "ID_CHECK_CHAR",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            IdNumberError::Empty => "请输入身份证号码".to_string(),
            IdNumberError::Length { found } => {
                format!("身份证号码为{found}位，应为18位（或15位旧号码）")
            }
            IdNumberError::Char { position, found } => {
                let want = if *position == 18 {
                    "数字或X"
                } else {
                    "数字"
                };
                format!("身份证号码第{position}位“{found}”无效，应为{want}")
            }
            IdNumberError::UnknownProvince { code, position } => format!(
                "身份证号码第{position}–{}位的省份代码{code}不存在",
                position + 1
            ),
            IdNumberError::WrongPrefix { expected, found } => {
                format!("号码应以{expected}开头，实际为{found}")
            }
            IdNumberError::BirthDateInvalid { digits, from, to } => {
                format!("身份证号码第{from}–{to}位的出生日期{digits}不是有效日期")
            }
            IdNumberError::BirthDateInFuture {
                date,
                today,
                from,
                to,
            } => format!("身份证号码第{from}–{to}位的出生日期{date}晚于今天（{today}）"),
            IdNumberError::BirthDateTooEarly { date, from, to } => {
                format!("身份证号码第{from}–{to}位的出生日期{date}早于1880年1月1日")
            }
            IdNumberError::CheckChar { expected, found } => {
                format!("身份证号码第18位校验码应为{expected}，实际为{found}，请核对号码")
            }
        }
    }

    fn message_en(&self) -> String {
        self.to_string()
    }
}

/// A non-blocking remark about a valid ID number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdWarning {
    /// The 6-digit division code is not in the current table (historical codes stay valid).
    DivisionUnknown {
        /// The offending code.
        code: String,
    },
}

impl fmt::Display for IdWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl Coded for IdWarning {
    fn code(&self) -> &'static str {
        match self {
            IdWarning::DivisionUnknown { .. } => "ID_DIVISION_UNKNOWN",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            IdWarning::DivisionUnknown { code } => {
                format!("身份证号码前6位行政区划代码{code}不在现行区划表中（可能是已撤销的旧代码）")
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            IdWarning::DivisionUnknown { code } => format!(
                "division code {code} (positions 1-6) is not in the current table (maybe a historical code)"
            ),
        }
    }
}

/// What the leading characters of an 18-character GB 11643 style number must be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Prefix {
    /// Citizen ID: positions 1-2 a known province.
    Province,
    /// Residence permits: the first six characters exactly (e.g. `810000`).
    Exact(&'static str),
    /// 2023 foreign permanent residence ID: `9`, then a known province at positions 2-3.
    ForeignPermanent,
}

/// Validates an 18-character GB 11643 style number (characters, prefix, birth date at
/// positions 7-14, check character) and returns it normalised. `legacy` marks a number
/// upgraded from 15 digits: date positions are then reported as 7-12 and the (computed)
/// check character is not compared.
pub(crate) fn validate18(
    chars: &[char],
    today: NaiveDate,
    prefix: Prefix,
    legacy: bool,
) -> Result<String, IdNumberError> {
    debug_assert_eq!(chars.len(), 18);
    for (i, &c) in chars.iter().enumerate() {
        let ok = c.is_ascii_digit() || (i == 17 && (c == 'X' || c == 'x'));
        if !ok {
            return Err(IdNumberError::Char {
                position: i + 1,
                found: c,
            });
        }
    }
    let s: String = chars.iter().map(|c| c.to_ascii_uppercase()).collect();
    match prefix {
        Prefix::Province => check_province(&s, 0)?,
        Prefix::Exact(p) => {
            if !s.starts_with(p) {
                return Err(IdNumberError::WrongPrefix {
                    expected: p,
                    found: s[..p.len()].to_string(),
                });
            }
        }
        Prefix::ForeignPermanent => {
            if !s.starts_with('9') {
                return Err(IdNumberError::WrongPrefix {
                    expected: "9",
                    found: s[..1].to_string(),
                });
            }
            check_province(&s, 1)?;
        }
    }
    let (from, to) = if legacy { (7, 12) } else { (7, 14) };
    let digits = &s[6..14];
    let num = |r: std::ops::Range<usize>| digits[r].parse::<u32>().expect("digits");
    let date =
        NaiveDate::from_ymd_opt(num(0..4) as i32, num(4..6), num(6..8)).ok_or_else(|| {
            IdNumberError::BirthDateInvalid {
                digits: if legacy {
                    digits[2..].to_string()
                } else {
                    digits.to_string()
                },
                from,
                to,
            }
        })?;
    if date > today {
        return Err(IdNumberError::BirthDateInFuture {
            date,
            today,
            from,
            to,
        });
    }
    if date < earliest_birth() {
        return Err(IdNumberError::BirthDateTooEarly { date, from, to });
    }
    if !legacy {
        let expected = check_char(&s.as_bytes()[..17]) as char;
        let found = s.as_bytes()[17] as char;
        if expected != found {
            return Err(IdNumberError::CheckChar { expected, found });
        }
    }
    Ok(s)
}

fn check_province(s: &str, start: usize) -> Result<(), IdNumberError> {
    let code = &s[start..start + 2];
    if divisions::province_exists(code) {
        Ok(())
    } else {
        Err(IdNumberError::UnknownProvince {
            code: code.to_string(),
            position: start + 1,
        })
    }
}

/// Birth date at positions 7-14 of a validated 18-character number.
pub(crate) fn birth_date_of(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").expect("validated birth date")
}

/// Gender from the 17th digit of a validated 18-character number (odd = male).
pub(crate) fn gender_of(s: &str) -> Gender {
    if (s.as_bytes()[16] - b'0') % 2 == 1 {
        Gender::Male
    } else {
        Gender::Female
    }
}

impl IdNumber {
    /// Parses a citizen ID number given on a form or a keypad.
    ///
    /// Trims; accepts 18 characters (17 digits + digit or `X`/`x`) and legacy 15-digit
    /// numbers (upgraded by inserting `19` before the year and computing the check char).
    /// Checks in order: length, characters, province (positions 1-2 must be a known
    /// province), birth date (real, not after `today`, not before 1880-01-01), check char.
    /// An unknown full division code is only a warning, see [`IdNumber::warnings`].
    pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let chars: Vec<char> = input.trim().chars().collect();
        match chars.len() {
            0 => Err(IdNumberError::Empty),
            18 => validate18(&chars, today, Prefix::Province, false).map(IdNumber),
            15 => {
                if let Some(i) = chars.iter().position(|c| !c.is_ascii_digit()) {
                    return Err(IdNumberError::Char {
                        position: i + 1,
                        found: chars[i],
                    });
                }
                let mut up: Vec<char> = Vec::with_capacity(18);
                up.extend(&chars[..6]);
                up.extend(['1', '9']);
                up.extend(&chars[6..]);
                let first17: Vec<u8> = up.iter().map(|&c| c as u8).collect();
                up.push(check_char(&first17) as char);
                validate18(&up, today, Prefix::Province, true).map(IdNumber)
            }
            n => Err(IdNumberError::Length { found: n }),
        }
    }

    /// Builds a number from its parts, computing the check character (synthetic data).
    /// Does not check that the division exists or that the date is in the past.
    ///
    /// # Panics
    /// If `division` is not 6 ASCII digits, `seq > 999`, or the birth year is outside
    /// 1000..=9999.
    pub fn from_parts(division: &str, birth: NaiveDate, seq: u16) -> IdNumber {
        assert!(
            division.len() == 6 && division.bytes().all(|b| b.is_ascii_digit()),
            "division must be 6 digits, got {division:?}"
        );
        assert!(seq <= 999, "sequence must be 0..=999, got {seq}");
        assert!(
            (1000..=9999).contains(&birth.year()),
            "birth year must have 4 digits"
        );
        let mut s = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
        let c = check_char(s.as_bytes());
        s.push(c as char);
        IdNumber(s)
    }

    /// Check character of the first 17 digits; see [`check_char`].
    pub fn check_char(first17: &[u8]) -> u8 {
        check_char(first17)
    }

    /// The normalised 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Birth date (positions 7-14).
    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(&self.0)
    }

    /// Gender (17th digit odd = male).
    pub fn gender(&self) -> Gender {
        gender_of(&self.0)
    }

    /// The 6-digit division code (positions 1-6), possibly historical.
    pub fn division_code(&self) -> &str {
        &self.0[..6]
    }

    /// Remarks that do not make the number invalid.
    pub fn warnings(&self) -> Vec<IdWarning> {
        let code = self.division_code();
        if divisions::is_known(code) {
            Vec::new()
        } else {
            vec![IdWarning::DivisionUnknown {
                code: code.to_string(),
            }]
        }
    }

    /// Masked for display and logs: first 4 + stars + last 4.
    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

serde_as_str!(IdNumber, |s| IdNumber::parse(s, NaiveDate::MAX));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn err(s: &str) -> IdNumberError {
        IdNumber::parse(s, today()).unwrap_err()
    }

    #[test]
    fn domain_examples() {
        let a = IdNumber::parse("11010519491231002X", today()).unwrap();
        assert_eq!(a.birth_date(), d(1949, 12, 31));
        assert_eq!(a.gender(), Gender::Female);
        assert_eq!(a.division_code(), "110105");
        assert!(a.warnings().is_empty());
        let b = IdNumber::parse("440524188001010014", today()).unwrap();
        assert_eq!(b.birth_date(), d(1880, 1, 1));
        assert_eq!(b.gender(), Gender::Male);
        assert_eq!(
            b.warnings(),
            vec![IdWarning::DivisionUnknown {
                code: "440524".into()
            }]
        );
        assert_eq!(b.warnings()[0].code(), "ID_DIVISION_UNKNOWN");
        assert_eq!(
            err("110105194912310021"),
            IdNumberError::CheckChar {
                expected: 'X',
                found: '1'
            }
        );
        assert_eq!(err("110105194912310021").code(), "ID_CHECK_CHAR");
    }

    #[test]
    fn normalises_and_displays() {
        let a = IdNumber::parse("  11010519491231002x ", today()).unwrap();
        assert_eq!(a.as_str(), "11010519491231002X");
        assert_eq!(a.to_string(), "11010519491231002X");
        assert_eq!(a.masked(), "1101**********002X");
        assert_eq!(IdNumber::check_char(b"11010519491231002"), b'X');
    }

    #[test]
    fn errors_in_order_with_positions() {
        assert_eq!(err("   "), IdNumberError::Empty);
        assert_eq!(err("1101051949"), IdNumberError::Length { found: 10 });
        assert_eq!(
            err("1101051949123100X2"),
            IdNumberError::Char {
                position: 17,
                found: 'X'
            }
        );
        assert_eq!(
            err("11010519491231002Y"),
            IdNumberError::Char {
                position: 18,
                found: 'Y'
            }
        );
        assert_eq!(err("99010519491231002X").code(), "ID_PROVINCE");
        assert_eq!(
            err("99010519491231002X"),
            IdNumberError::UnknownProvince {
                code: "99".into(),
                position: 1
            }
        );
        let bad_date = IdNumber::from_parts("110105", d(1949, 2, 28), 2)
            .as_str()
            .replace("19490228", "19490230");
        assert_eq!(
            err(&bad_date),
            IdNumberError::BirthDateInvalid {
                digits: "19490230".into(),
                from: 7,
                to: 14
            }
        );
        let future = IdNumber::from_parts("110105", d(2025, 6, 2), 1);
        assert_eq!(err(future.as_str()).code(), "ID_BIRTH_DATE_FUTURE");
        assert!(IdNumber::parse(future.as_str(), d(2025, 6, 2)).is_ok());
        let early = IdNumber::from_parts("110105", d(1879, 12, 31), 1);
        assert_eq!(err(early.as_str()).code(), "ID_BIRTH_DATE_TOO_EARLY");
    }

    #[test]
    fn messages_are_bilingual_and_located() {
        let e = err("1101051949a23100X2");
        assert!(e.message_zh().contains("第11位"), "{}", e.message_zh());
        assert!(e.message_en().contains("position 11"), "{}", e.message_en());
        let e = err("110105194912310021");
        assert!(e.message_zh().contains('X') && e.message_zh().contains("第18位"));
    }

    #[test]
    fn legacy_15_digits_upgrade() {
        let id = IdNumber::parse("110105491231002", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            err("110105490230002"),
            IdNumberError::BirthDateInvalid {
                digits: "490230".into(),
                from: 7,
                to: 12
            }
        );
        assert_eq!(
            err("1101054912a1002"),
            IdNumberError::Char {
                position: 11,
                found: 'a'
            }
        );
    }

    #[test]
    fn serde_round_trip() {
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        let j = serde_json::to_string(&id).unwrap();
        assert_eq!(j, "\"11010519491231002X\"");
        assert_eq!(serde_json::from_str::<IdNumber>(&j).unwrap(), id);
        let e = serde_json::from_str::<IdNumber>("\"110105194912310021\"").unwrap_err();
        assert!(e.to_string().contains("ID_CHECK_CHAR"));
    }

    fn known_county() -> impl Strategy<Value = &'static str> {
        let codes: Vec<&'static str> = divisions::all()
            .map(|(c, _)| c)
            .filter(|c| !c.ends_with("00"))
            .collect();
        proptest::sample::select(codes)
    }

    fn birth(from: NaiveDate, to: NaiveDate) -> impl Strategy<Value = NaiveDate> {
        let span = (to - from).num_days();
        (0..=span).prop_map(move |n| from + chrono::Duration::days(n))
    }

    proptest! {
        #[test]
        fn generated_ids_round_trip(div in known_county(), b in birth(d(1880,1,1), d(2025,6,1)), seq in 0u16..1000) {
            let id = IdNumber::from_parts(div, b, seq);
            let back = IdNumber::parse(&id.to_string(), today()).unwrap();
            prop_assert_eq!(&back, &id);
            prop_assert_eq!(back.birth_date(), b);
            prop_assert_eq!(back.gender() == Gender::Male, seq % 2 == 1);
            prop_assert!(back.warnings().is_empty());
        }

        #[test]
        fn single_substitution_detected(div in known_county(), b in birth(d(1880,1,1), d(2025,6,1)),
                                        seq in 0u16..1000, pos in 0usize..18, k in 1usize..10) {
            let id = IdNumber::from_parts(div, b, seq);
            let alphabet: &[u8] = if pos == 17 { b"0123456789X" } else { b"0123456789" };
            let mut bytes = id.as_str().as_bytes().to_vec();
            let cur = alphabet.iter().position(|&c| c == bytes[pos]).unwrap();
            bytes[pos] = alphabet[(cur + k) % alphabet.len()];
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(IdNumber::parse(&changed, today()).is_err(), "{} accepted", changed);
        }

        #[test]
        fn legacy_upgrade_matches_from_parts(div in known_county(), b in birth(d(1900,1,1), d(1999,12,31)), seq in 0u16..1000) {
            let legacy = format!("{div}{}{seq:03}", b.format("%y%m%d"));
            let id = IdNumber::parse(&legacy, today()).unwrap();
            prop_assert_eq!(id, IdNumber::from_parts(div, b, seq));
        }
    }
}
