//! Card numbers (卡号) and card identifiers (卡识别码) of newly produced cards.
//!
//! A card number is the region's letter, a 7-digit serial and a check character (mod 11 over
//! the letter and digits, `X` for 10): `N0000012` + check. Serials are per letter and continue
//! after the highest number of that letter already in the database, so numbers never repeat
//! (the demo population numbers from 1 with the same scheme). The card identifier is the
//! issuing area, `D156000005` and a 16-hex-digit chip serial derived from the same serial.

use sscard_domain::ids::{CardId, RegionCode};
use sscard_store::Tx;
use sscard_store::repo::production;

/// The letter of a pooling region's card numbers: the four seed cities have their own
/// (Chongqing `C`, Neijiang `N`, Dalian `D`, Shijiazhuang `S`); any other region uses `X`.
pub fn region_letter(region_code: &str) -> char {
    match region_code {
        "500000" => 'C',
        "511000" => 'N',
        "210200" => 'D',
        "130100" => 'S',
        _ => 'X',
    }
}

/// The card number of serial `serial` under `letter`: letter, 7 digits, check character.
pub fn card_no(letter: char, serial: u64) -> String {
    let digits = format!("{:07}", serial % 10_000_000);
    let mut sum = u32::from(letter as u8) * 3;
    for (k, ch) in digits.bytes().enumerate() {
        sum += u32::from(ch - b'0') * (k as u32 + 2);
    }
    let check = b"0123456789X"[(sum % 11) as usize] as char;
    format!("{letter}{digits}{check}")
}

/// The chip serial of the card with card-number serial `serial` (distinct for distinct serials).
pub fn chip_serial(serial: u64) -> u64 {
    0x5A00_0000_0000_0000 + serial * 7919
}

/// The card identifier of a card of `region` with card-number serial `serial`.
pub fn card_identifier(region: &RegionCode, serial: u64) -> CardId {
    CardId::new(region, chip_serial(serial))
}

/// Hands out the next card numbers of one letter inside a transaction.
#[derive(Debug, Clone)]
pub struct Numbering {
    letter: char,
    last: u64,
}

impl Numbering {
    /// Starts after the highest serial of `letter` already stored.
    pub fn start(tx: &mut dyn Tx, letter: char) -> Result<Numbering, sscard_store::StoreError> {
        Ok(Numbering {
            letter,
            last: production::max_card_serial(tx, letter)?,
        })
    }

    /// The next (serial, card number).
    pub fn take_next(&mut self) -> (u64, String) {
        self.last += 1;
        (self.last, card_no(self.letter, self.last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_a_check_character() {
        let a = card_no('N', 1);
        assert_eq!(a.len(), 9);
        assert!(a.starts_with("N0000001"));
        assert_ne!(card_no('N', 1), card_no('N', 2));
        assert_eq!(card_no('N', 1), "N00000010");
        assert_eq!(card_no('N', 2), "N00000028");
        sscard_domain::ids::CardNo::parse(&a).unwrap();
        assert_eq!(region_letter("511000"), 'N');
        assert_eq!(region_letter("440300"), 'X');
        assert_ne!(chip_serial(1), chip_serial(2));
    }
}
