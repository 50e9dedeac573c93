//! Amounts of money in integer fen (分, 1/100 yuan). No floating point anywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::coded::Coded;

/// An amount in fen (may be negative, e.g. for reversals). Serialises as an integer number of
/// fen. Arithmetic is checked only: there is deliberately no `Add`/`Sub` that could wrap.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

/// Why an amount could not be parsed or computed. Positions are 1-based character positions
/// in the trimmed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing (or only a currency sign) was given.
    #[error("amount is empty")]
    Empty,
    /// A character that cannot appear in an amount.
    #[error("unexpected character '{found}' at position {position} in amount")]
    Char {
        /// 1-based character position.
        position: usize,
        /// What was found.
        found: char,
    },
    /// A thousands separator where it does not belong (groups must have 3 digits).
    #[error("misplaced thousands separator at position {position} in amount")]
    Separator {
        /// 1-based character position.
        position: usize,
    },
    /// Digits expected (before or after the decimal point) but missing.
    #[error("digits missing at position {position} in amount")]
    MissingDigits {
        /// 1-based character position.
        position: usize,
    },
    /// More than two decimals (fen is the smallest unit).
    #[error("amount has {found} decimals, at most 2 allowed")]
    Decimals {
        /// What was found.
        found: usize,
    },
    /// The amount or the result of a computation is out of range.
    #[error("amount out of range")]
    Overflow,
}

impl Coded for MoneyError {
    fn code(&self) -> &'static str {
        match self {
            MoneyError::Empty => "MONEY_EMPTY",
            MoneyError::Char { .. } => "MONEY_CHAR",
            MoneyError::Separator { .. } => "MONEY_SEPARATOR",
            MoneyError::MissingDigits { .. } => "MONEY_MISSING_DIGITS",
            MoneyError::Decimals { .. } => "MONEY_DECIMALS",
            MoneyError::Overflow => "MONEY_OVERFLOW",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            MoneyError::Empty => "金额为空".to_string(),
            MoneyError::Char { position, found } => {
                format!("金额第{position}位的字符“{found}”无效")
            }
            MoneyError::Separator { position } => {
                format!("金额第{position}位的千位分隔符位置不对（每组应为3位数字）")
            }
            MoneyError::MissingDigits { position } => format!("金额第{position}位处缺少数字"),
            MoneyError::Decimals { found } => {
                format!("金额有{found}位小数，最多只能有2位（精确到分）")
            }
            MoneyError::Overflow => "金额超出允许范围".to_string(),
        }
    }

    fn message_en(&self) -> String {
        self.to_string()
    }
}

impl Money {
    /// Zero yuan.
    pub const ZERO: Money = Money(0);

    /// An amount of `fen` fen.
    pub const fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// A whole number of yuan; `None` on overflow.
    pub const fn from_yuan(yuan: i64) -> Option<Money> {
        match yuan.checked_mul(100) {
            Some(f) => Some(Money(f)),
            None => None,
        }
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self + other`, `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self - other`, `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// `self * factor`, `None` on overflow.
    pub fn checked_mul(self, factor: i64) -> Option<Money> {
        self.0.checked_mul(factor).map(Money)
    }

    /// `-self`, `None` for the most negative amount.
    pub fn checked_neg(self) -> Option<Money> {
        self.0.checked_neg().map(Money)
    }

    /// `self + other`, or [`MoneyError::Overflow`].
    pub fn try_add(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(other).ok_or(MoneyError::Overflow)
    }

    /// `self - other`, or [`MoneyError::Overflow`].
    pub fn try_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_sub(other).ok_or(MoneyError::Overflow)
    }

    /// Sum of all amounts, `None` if any partial sum overflows.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(iter: I) -> Option<Money> {
        iter.into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// Parses an amount in yuan: `"12"`, `"12.3"`, `"12.30"`, `"-5.01"`, `"¥1,234.56"`,
    /// `"￥1,234.56"`, `"1,234.56元"`, `"-¥1,234.56"`. Surrounding whitespace is ignored; a
    /// minus sign may stand before or after the currency sign; thousands separators must
    /// separate groups of exactly 3 digits; at most 2 decimals.
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let chars: Vec<char> = input.trim().chars().collect();
        let mut i = 0;
        let mut end = chars.len();
        if chars.get(end.wrapping_sub(1)) == Some(&'元') {
            end -= 1;
        }
        let mut negative = false;
        if chars.first() == Some(&'-') {
            negative = true;
            i += 1;
        }
        if matches!(chars.get(i), Some('¥' | '￥')) {
            i += 1;
        }
        if !negative && chars.get(i) == Some(&'-') {
            negative = true;
            i += 1;
        }
        if i >= end {
            return Err(MoneyError::Empty);
        }
        // Integer part: digits with optional thousands separators.
        let int_start = i;
        let mut int_digits: Vec<u8> = Vec::new();
        let mut first_comma: Option<usize> = None;
        let mut since_comma = 0usize;
        while i < end && chars[i] != '.' {
            let c = chars[i];
            if c.is_ascii_digit() {
                int_digits.push(c as u8 - b'0');
                since_comma += 1;
            } else if c == ',' {
                let group_ok = match first_comma {
                    None => (1..=3).contains(&(i - int_start)),
                    Some(_) => since_comma == 3,
                };
                if !group_ok {
                    return Err(MoneyError::Separator { position: i + 1 });
                }
                first_comma.get_or_insert(i);
                since_comma = 0;
            } else {
                return Err(MoneyError::Char {
                    position: i + 1,
                    found: c,
                });
            }
            i += 1;
        }
        if int_digits.is_empty() {
            return Err(MoneyError::MissingDigits {
                position: int_start + 1,
            });
        }
        if first_comma.is_some() && since_comma != 3 {
            // Last group too short/long (or a trailing comma).
            return Err(MoneyError::Separator {
                position: i - since_comma,
            });
        }
        // Fraction part.
        let mut frac: Vec<u8> = Vec::new();
        if i < end {
            let dot = i;
            i += 1;
            while i < end {
                let c = chars[i];
                if !c.is_ascii_digit() {
                    return Err(MoneyError::Char {
                        position: i + 1,
                        found: c,
                    });
                }
                frac.push(c as u8 - b'0');
                i += 1;
            }
            if frac.is_empty() {
                return Err(MoneyError::MissingDigits { position: dot + 2 });
            }
            if frac.len() > 2 {
                return Err(MoneyError::Decimals { found: frac.len() });
            }
        }
        let mut fen: i128 = 0;
        for d in &int_digits {
            fen = fen * 10 + i128::from(*d);
            if fen > i128::from(i64::MAX) + 1 {
                return Err(MoneyError::Overflow);
            }
        }
        fen *= 100;
        match frac.as_slice() {
            [] => {}
            [a] => fen += i128::from(*a) * 10,
            [a, b] => fen += i128::from(*a) * 10 + i128::from(*b),
            _ => unreachable!("checked above"),
        }
        if negative {
            fen = -fen;
        }
        i64::try_from(fen)
            .map(Money)
            .map_err(|_| MoneyError::Overflow)
    }

    /// `"¥1,234.56"` (with thousands separators; `"-¥5.01"` for negatives).
    pub fn format_yuan(self) -> String {
        let (yuan, fen) = self.split();
        let digits = yuan.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (k, ch) in digits.chars().enumerate() {
            if k > 0 && (digits.len() - k) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}¥{grouped}.{fen:02}")
    }

    /// Spoken form for the phone menu: `1234.56` → `"1234元5角6分"`, `100.00` → `"100元整"`,
    /// `0.05` → `"5分"`, `10.50` → `"10元5角"`, `10.05` → `"10元零5分"`, `0` → `"0元"`;
    /// negatives are prefixed with `负`.
    pub fn to_spoken_zh(self) -> String {
        let (yuan, fen) = self.split();
        let (jiao, fen) = (fen / 10, fen % 10);
        let mut out = String::new();
        if self.0 < 0 {
            out.push('负');
        }
        if yuan > 0 {
            out.push_str(&format!("{yuan}元"));
        }
        match (yuan > 0, jiao, fen) {
            (false, 0, 0) => out.push_str("0元"),
            (true, 0, 0) => out.push('整'),
            (_, j, 0) => out.push_str(&format!("{j}角")),
            (true, 0, f) => out.push_str(&format!("零{f}分")),
            (false, 0, f) => out.push_str(&format!("{f}分")),
            (_, j, f) => out.push_str(&format!("{j}角{f}分")),
        }
        out
    }

    /// Absolute value split into whole yuan and remaining fen (0..=99).
    fn split(self) -> (u64, u64) {
        let abs = self.0.unsigned_abs();
        (abs / 100, abs % 100)
    }
}

/// `"1234.56"`: always two decimals, a minus sign for negatives, no separators.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (yuan, fen) = self.split();
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{yuan}.{fen:02}")
    }
}

impl std::str::FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Money, MoneyError> {
        Money::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<i64, MoneyError> {
        Money::parse(s).map(Money::fen)
    }

    #[test]
    fn parses_accepted_forms() {
        assert_eq!(p("12.3"), Ok(1230));
        assert_eq!(p("12.30"), Ok(1230));
        assert_eq!(p("12"), Ok(1200));
        assert_eq!(p("-5.01"), Ok(-501));
        assert_eq!(p("¥1,234.56"), Ok(123_456));
        assert_eq!(p("￥1,234.56"), Ok(123_456));
        assert_eq!(p("1,234.56元"), Ok(123_456));
        assert_eq!(p("  -¥1,234,567.00 "), Ok(-123_456_700));
        assert_eq!(p("¥-3"), Ok(-300));
        assert_eq!(p("0.05"), Ok(5));
        assert_eq!(p("1234"), Ok(123_400));
        assert_eq!(p("-92233720368547758.08"), Ok(i64::MIN));
        assert_eq!(p("92233720368547758.07"), Ok(i64::MAX));
    }

    #[test]
    fn refuses_bad_forms_with_codes() {
        let code = |s: &str| Money::parse(s).unwrap_err().code();
        assert_eq!(code(""), "MONEY_EMPTY");
        assert_eq!(code("  ¥ "), "MONEY_EMPTY");
        assert_eq!(code("元"), "MONEY_EMPTY");
        assert_eq!(code("abc"), "MONEY_CHAR");
        assert_eq!(code("12.345"), "MONEY_DECIMALS");
        assert_eq!(code("1,23.00"), "MONEY_SEPARATOR");
        assert_eq!(code("1234,567"), "MONEY_SEPARATOR");
        assert_eq!(code("1,2345"), "MONEY_SEPARATOR");
        assert_eq!(code("1,234,"), "MONEY_SEPARATOR");
        assert_eq!(code(",123"), "MONEY_SEPARATOR");
        assert_eq!(code("12."), "MONEY_MISSING_DIGITS");
        assert_eq!(code(".5"), "MONEY_MISSING_DIGITS");
        assert_eq!(code("1.2.3"), "MONEY_CHAR");
        assert_eq!(code("--5"), "MONEY_CHAR");
        assert_eq!(code("1e5"), "MONEY_CHAR");
        assert_eq!(code("１２"), "MONEY_CHAR");
        assert_eq!(code("92233720368547758.08"), "MONEY_OVERFLOW");
        assert_eq!(code("99999999999999999999999"), "MONEY_OVERFLOW");
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(
            Money::parse("12a.00"),
            Err(MoneyError::Char {
                position: 3,
                found: 'a'
            })
        );
        assert_eq!(
            Money::parse("1,23.00"),
            Err(MoneyError::Separator { position: 2 })
        );
        assert_eq!(
            Money::parse("12.3x"),
            Err(MoneyError::Char {
                position: 5,
                found: 'x'
            })
        );
        let e = Money::parse("12.345").unwrap_err();
        assert!(e.message_zh().contains('3'));
        assert!(e.message_en().contains("3 decimals"));
    }

    #[test]
    fn displays_and_formats() {
        assert_eq!(Money::from_fen(123_456).to_string(), "1234.56");
        assert_eq!(Money::from_fen(-501).to_string(), "-5.01");
        assert_eq!(Money::from_fen(5).to_string(), "0.05");
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::from_fen(123_456).format_yuan(), "¥1,234.56");
        assert_eq!(
            Money::from_fen(-123_456_789).format_yuan(),
            "-¥1,234,567.89"
        );
        assert_eq!(Money::from_fen(99_999).format_yuan(), "¥999.99");
        assert_eq!(Money::from_fen(100_000).format_yuan(), "¥1,000.00");
    }

    #[test]
    fn speaks_chinese() {
        let s = |f| Money::from_fen(f).to_spoken_zh();
        assert_eq!(s(123_456), "1234元5角6分");
        assert_eq!(s(10_000), "100元整");
        assert_eq!(s(5), "5分");
        assert_eq!(s(1050), "10元5角");
        assert_eq!(s(1005), "10元零5分");
        assert_eq!(s(56), "5角6分");
        assert_eq!(s(50), "5角");
        assert_eq!(s(0), "0元");
        assert_eq!(s(-250), "负2元5角");
    }

    #[test]
    fn checked_arithmetic() {
        let a = Money::from_fen(i64::MAX);
        assert_eq!(a.checked_add(Money::from_fen(1)), None);
        assert_eq!(a.try_add(Money::from_fen(1)), Err(MoneyError::Overflow));
        assert_eq!(
            Money::from_fen(i64::MIN).try_sub(Money::from_fen(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Money::from_fen(i64::MIN).checked_neg(), None);
        assert_eq!(
            Money::from_fen(300).checked_sub(Money::from_fen(500)),
            Some(Money::from_fen(-200))
        );
        assert_eq!(
            Money::from_fen(250).checked_mul(3),
            Some(Money::from_fen(750))
        );
        assert_eq!(a.checked_mul(2), None);
        assert_eq!(Money::from_yuan(12), Some(Money::from_fen(1200)));
        assert_eq!(Money::from_yuan(i64::MAX / 10), None);
        assert_eq!(
            Money::checked_sum([1, 2, 3].map(Money::from_fen)),
            Some(Money::from_fen(6))
        );
        assert_eq!(Money::checked_sum([a, a, Money::from_fen(i64::MIN)]), None);
        assert_eq!(Money::checked_sum(std::iter::empty()), Some(Money::ZERO));
        assert!(Money::from_fen(-1).is_negative() && Money::ZERO.is_zero());
    }

    #[test]
    fn serde_as_integer_fen() {
        let m = Money::from_fen(123_456);
        assert_eq!(serde_json::to_string(&m).unwrap(), "123456");
        assert_eq!(
            serde_json::from_str::<Money>("-5").unwrap(),
            Money::from_fen(-5)
        );
    }

    proptest! {
        #[test]
        fn display_round_trips(fen in any::<i64>()) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(Money::parse(&m.to_string()), Ok(m));
            prop_assert_eq!(Money::parse(&m.format_yuan()), Ok(m));
        }

        #[test]
        fn small_amounts_round_trip(fen in -10_000_000i64..10_000_000) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(Money::parse(&m.to_string()), Ok(m));
            prop_assert_eq!(Money::parse(&format!("{}元", m)), Ok(m));
        }
    }
}
