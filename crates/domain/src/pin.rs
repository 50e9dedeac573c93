//! Rules for the card's social-security PIN (the 6-digit 社保密码).

use chrono::{Datelike, NaiveDate};

use crate::Coded;

/// Why a new PIN is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("the PIN must be exactly 6 digits")]
    Format,
    #[error("the PIN must not be one digit repeated")]
    Repeated,
    #[error("the PIN must not be a straight run of digits")]
    Sequence,
    #[error("the PIN must not be the holder's birth date")]
    BirthDate,
    #[error("the new PIN must differ from the initial PIN")]
    SameAsInitial,
}

impl Coded for PinError {
    fn code(&self) -> &'static str {
        match self {
            PinError::Format => "PIN_FORMAT",
            PinError::Repeated => "PIN_WEAK_REPEATED",
            PinError::Sequence => "PIN_WEAK_SEQUENCE",
            PinError::BirthDate => "PIN_WEAK_BIRTH_DATE",
            PinError::SameAsInitial => "PIN_SAME_AS_INITIAL",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            PinError::Format => "密码必须是 6 位数字".into(),
            PinError::Repeated => "密码过于简单:不能是同一数字重复六次".into(),
            PinError::Sequence => "密码过于简单:不能是连续数字(如 123456、654321)".into(),
            PinError::BirthDate => "密码过于简单:不能使用本人出生日期".into(),
            PinError::SameAsInitial => "新密码不能与初始密码相同".into(),
        }
    }
    fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Whether `pin` has the PIN format (6 ASCII digits).
pub fn is_pin_format(pin: &str) -> bool {
    pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a new PIN: 6 digits, not one digit six times, not a straight run up or down, not the
/// holder's birth date (YYMMDD, MMDD-year forms), not the region's initial PIN.
pub fn validate_new_pin(
    pin: &str,
    birth: Option<NaiveDate>,
    initial_pin: &str,
) -> Result<(), PinError> {
    if !is_pin_format(pin) {
        return Err(PinError::Format);
    }
    let d: Vec<i32> = pin.bytes().map(|b| i32::from(b - b'0')).collect();
    if d.iter().all(|x| *x == d[0]) {
        return Err(PinError::Repeated);
    }
    let steps: Vec<i32> = d.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
        return Err(PinError::Sequence);
    }
    if let Some(b) = birth {
        let forms = [
            format!("{:02}{:02}{:02}", b.year() % 100, b.month(), b.day()),
            format!("{:02}{:02}{:02}", b.month(), b.day(), b.year() % 100),
            format!("{:02}{:02}{:02}", b.day(), b.month(), b.year() % 100),
            format!("{:04}{:02}", b.year(), b.month()),
        ];
        if forms.iter().any(|f| f == pin) {
            return Err(PinError::BirthDate);
        }
    }
    if pin == initial_pin {
        return Err(PinError::SameAsInitial);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn birth() -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(1990, 3, 7)
    }

    #[test]
    fn weak_pins_are_refused() {
        assert_eq!(
            validate_new_pin("12345", birth(), "123456"),
            Err(PinError::Format)
        );
        assert_eq!(
            validate_new_pin("12a456", birth(), "123456"),
            Err(PinError::Format)
        );
        assert_eq!(
            validate_new_pin("888888", birth(), "123456"),
            Err(PinError::Repeated)
        );
        assert_eq!(
            validate_new_pin("234567", birth(), "123456"),
            Err(PinError::Sequence)
        );
        assert_eq!(
            validate_new_pin("987654", birth(), "123456"),
            Err(PinError::Sequence)
        );
        assert_eq!(
            validate_new_pin("900307", birth(), "123456"),
            Err(PinError::BirthDate)
        );
        assert_eq!(
            validate_new_pin("199003", birth(), "123456"),
            Err(PinError::BirthDate)
        );
        assert_eq!(
            validate_new_pin("111112", birth(), "111112"),
            Err(PinError::SameAsInitial)
        );
    }

    #[test]
    fn ordinary_pins_pass() {
        assert_eq!(validate_new_pin("135792", birth(), "123456"), Ok(()));
        assert_eq!(validate_new_pin("024680", None, "123456"), Ok(()));
    }
}
