//! Identity documents a person can be keyed by: citizen ID, residence permits for Hong Kong,
//! Macao and Taiwan residents, the foreign permanent residence ID, and passports.
//!
//! A person is keyed by `(doc_type, number)`; see [`Document::as_key`].

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::coded::Coded;
use crate::person::Gender;

use super::citizen::{IdNumber, IdNumberError, Prefix, birth_date_of, gender_of, validate18};

/// Kind of identity document. Serde: snake_case (`citizen_id`, `passport`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// 居民身份证 (GB 11643; number = [`IdNumber`]).
    CitizenId,
    /// 港澳居民居住证 for Hong Kong residents: 18 chars starting `810000`, GB 11643 layout.
    HkResidencePermit,
    /// 港澳居民居住证 for Macao residents: 18 chars starting `820000`, GB 11643 layout.
    MacauResidencePermit,
    /// 台湾居民居住证: 18 chars starting `830000`, GB 11643 layout.
    TaiwanResidencePermit,
    /// 外国人永久居留身份证. 2023 format: 18 chars = `9` + issuing province (2) + nationality
    /// (3, ISO 3166 numeric) + birth date (8) + sequence (3, odd = male) + GB 11643 check
    /// char. Older format: 15 chars = 3 letters (nationality) + 12 digits, structure only.
    ForeignPermanentResidence,
    /// Passport: number `COUNTRY:NUMBER`, ISO 3166 alpha-3 issuing country + 5-20 of
    /// `[A-Z0-9]` (e.g. `CHN:E12345678`).
    Passport,
}

impl DocumentType {
    /// All document types.
    pub const ALL: [DocumentType; 6] = [
        DocumentType::CitizenId,
        DocumentType::HkResidencePermit,
        DocumentType::MacauResidencePermit,
        DocumentType::TaiwanResidencePermit,
        DocumentType::ForeignPermanentResidence,
        DocumentType::Passport,
    ];

    /// Stable snake_case name (same as serde).
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::CitizenId => "citizen_id",
            DocumentType::HkResidencePermit => "hk_residence_permit",
            DocumentType::MacauResidencePermit => "macau_residence_permit",
            DocumentType::TaiwanResidencePermit => "taiwan_residence_permit",
            DocumentType::ForeignPermanentResidence => "foreign_permanent_residence",
            DocumentType::Passport => "passport",
        }
    }

    /// Inverse of [`DocumentType::as_str`].
    pub fn parse(s: &str) -> Option<DocumentType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            DocumentType::CitizenId => "居民身份证",
            DocumentType::HkResidencePermit => "港澳居民居住证（香港）",
            DocumentType::MacauResidencePermit => "港澳居民居住证（澳门）",
            DocumentType::TaiwanResidencePermit => "台湾居民居住证",
            DocumentType::ForeignPermanentResidence => "外国人永久居留身份证",
            DocumentType::Passport => "护照",
        }
    }

    fn label_en(self) -> &'static str {
        match self {
            DocumentType::CitizenId => "citizen ID",
            DocumentType::HkResidencePermit => "Hong Kong residence permit",
            DocumentType::MacauResidencePermit => "Macao residence permit",
            DocumentType::TaiwanResidencePermit => "Taiwan residence permit",
            DocumentType::ForeignPermanentResidence => "foreign permanent residence ID",
            DocumentType::Passport => "passport",
        }
    }

    /// Expected lengths, for messages.
    fn lengths(self) -> (&'static str, &'static str) {
        match self {
            DocumentType::ForeignPermanentResidence => ("15或18位", "15 or 18"),
            DocumentType::Passport => ("5–20位", "5-20"),
            _ => ("18位", "18"),
        }
    }

    /// What a character at `position` must be, for messages (zh, en).
    fn expected_char(self, position: usize) -> (&'static str, &'static str) {
        match self {
            DocumentType::ForeignPermanentResidence if position <= 3 => ("字母", "a letter"),
            DocumentType::Passport => ("字母或数字", "a letter or digit"),
            _ => ("数字", "a digit"),
        }
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated identity document. The number is normalised (upper case, 15-digit citizen IDs
/// upgraded to 18; passports as `COUNTRY:NUMBER`). Serde: `{"doc_type": …, "number": …}`;
/// deserialising re-validates except the "birth date not after today" check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Document {
    doc_type: DocumentType,
    number: String,
}

/// Why a document number was refused. Positions are 1-based in the trimmed number (for
/// passports: in the part after `:`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// No number given.
    #[error("{} number is empty", .doc_type.label_en())]
    Empty {
        /// Document type.
        doc_type: DocumentType,
    },
    /// Wrong number of characters.
    #[error("{} number has {found} characters, expected {}", .doc_type.label_en(), .doc_type.lengths().1)]
    Length {
        /// Document type.
        doc_type: DocumentType,
        /// What was found.
        found: usize,
    },
    /// A character not allowed at this position.
    #[error("{} number: invalid character '{found}' at position {position} (expected {})",
        .doc_type.label_en(), .doc_type.expected_char(*position).1)]
    Char {
        /// Document type.
        doc_type: DocumentType,
        /// 1-based character position.
        position: usize,
        /// What was found.
        found: char,
    },
    /// A GB 11643 style number failed validation (its code is the inner `ID_*` code).
    #[error("{} number: {source}", .doc_type.label_en())]
    Number {
        /// Document type.
        doc_type: DocumentType,
        /// The underlying ID number error.
        source: IdNumberError,
    },
    /// A passport given without the `COUNTRY:` prefix.
    #[error("passport must be given as COUNTRY:NUMBER, e.g. CHN:E12345678")]
    PassportFormat,
    /// The passport's issuing country is not 3 letters (ISO 3166 alpha-3).
    #[error("passport issuing country '{found}' is not an ISO 3166 alpha-3 code (3 letters)")]
    PassportCountry {
        /// What was found.
        found: String,
    },
    /// A document key with an unknown type name.
    #[error("unknown document type '{found}'")]
    UnknownType {
        /// What was found.
        found: String,
    },
}

impl Coded for DocumentError {
    fn code(&self) -> &'static str {
        match self {
            DocumentError::Empty { .. } => "DOC_EMPTY",
            DocumentError::Length { .. } => "DOC_LENGTH",
            DocumentError::Char { .. } => "DOC_CHAR",
            DocumentError::Number { source, .. } => source.code(),
            DocumentError::PassportFormat => "DOC_PASSPORT_FORMAT",
            DocumentError::PassportCountry { .. } => "DOC_PASSPORT_COUNTRY",
            DocumentError::UnknownType { .. } => "DOC_TYPE_UNKNOWN",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            DocumentError::Empty { doc_type } => format!("请输入{}号码", doc_type.label_zh()),
            DocumentError::Length { doc_type, found } => format!(
                "{}号码为{found}位，应为{}",
                doc_type.label_zh(),
                doc_type.lengths().0
            ),
            DocumentError::Char {
                doc_type,
                position,
                found,
            } => format!(
                "{}号码第{position}位“{found}”无效，应为{}",
                doc_type.label_zh(),
                doc_type.expected_char(*position).0
            ),
            DocumentError::Number { doc_type, source } => {
                let inner = source.message_zh().replace("身份证号码", "");
                format!("{}号码有误：{inner}", doc_type.label_zh())
            }
            DocumentError::PassportFormat => {
                "护照须按“国家代码:护照号”填写，例如 CHN:E12345678".to_string()
            }
            DocumentError::PassportCountry { found } => {
                format!("护照签发国代码“{found}”无效，应为3位字母（ISO 3166）")
            }
            DocumentError::UnknownType { found } => format!("未知的证件类型“{found}”"),
        }
    }

    fn message_en(&self) -> String {
        self.to_string()
    }
}

impl Document {
    /// Validates a document number of the given type.
    ///
    /// - citizen ID: as [`IdNumber::parse`] (15-digit numbers are upgraded);
    /// - residence permits: 18 chars, prefix `810000` / `820000` / `830000`, birth date and
    ///   check char as in the citizen ID;
    /// - foreign permanent residence ID: 18 chars starting `9` (province at positions 2-3,
    ///   birth date, check char) or the older 15 chars (3 letters + 12 digits);
    /// - passport: `number` is `COUNTRY:NUMBER` (e.g. `CHN:E12345678`), both parts trimmed
    ///   and upper-cased; country 3 letters, number 5-20 of `[A-Z0-9]`.
    pub fn parse(
        doc_type: DocumentType,
        number: &str,
        today: NaiveDate,
    ) -> Result<Document, DocumentError> {
        let wrap = |source| DocumentError::Number { doc_type, source };
        let trimmed = number.trim();
        if trimmed.is_empty() {
            return Err(DocumentError::Empty { doc_type });
        }
        let chars: Vec<char> = trimmed.chars().collect();
        let number = match doc_type {
            DocumentType::CitizenId => IdNumber::parse(trimmed, today)
                .map_err(wrap)?
                .as_str()
                .to_string(),
            DocumentType::HkResidencePermit
            | DocumentType::MacauResidencePermit
            | DocumentType::TaiwanResidencePermit => {
                let prefix = match doc_type {
                    DocumentType::HkResidencePermit => "810000",
                    DocumentType::MacauResidencePermit => "820000",
                    _ => "830000",
                };
                if chars.len() != 18 {
                    return Err(DocumentError::Length {
                        doc_type,
                        found: chars.len(),
                    });
                }
                validate18(&chars, today, Prefix::Exact(prefix), false).map_err(wrap)?
            }
            DocumentType::ForeignPermanentResidence => match chars.len() {
                18 => validate18(&chars, today, Prefix::ForeignPermanent, false).map_err(wrap)?,
                15 => {
                    for (i, c) in chars.iter().enumerate() {
                        let ok = if i < 3 {
                            c.is_ascii_alphabetic()
                        } else {
                            c.is_ascii_digit()
                        };
                        if !ok {
                            return Err(DocumentError::Char {
                                doc_type,
                                position: i + 1,
                                found: *c,
                            });
                        }
                    }
                    trimmed.to_ascii_uppercase()
                }
                n => return Err(DocumentError::Length { doc_type, found: n }),
            },
            DocumentType::Passport => parse_passport(trimmed)?,
        };
        Ok(Document { doc_type, number })
    }

    /// Parses a key made by [`Document::as_key`] (`type:number`).
    pub fn from_key(key: &str, today: NaiveDate) -> Result<Document, DocumentError> {
        let (t, n) = key.trim().split_once(':').unwrap_or((key.trim(), ""));
        let doc_type = DocumentType::parse(t).ok_or_else(|| DocumentError::UnknownType {
            found: t.to_string(),
        })?;
        Document::parse(doc_type, n, today)
    }

    /// Document type.
    pub fn doc_type(&self) -> DocumentType {
        self.doc_type
    }

    /// Normalised number (`COUNTRY:NUMBER` for passports).
    pub fn number(&self) -> &str {
        &self.number
    }

    /// Unique key `type:number`, e.g. `citizen_id:11010519491231002X`,
    /// `passport:CHN:E12345678`. Same as `Display`.
    pub fn as_key(&self) -> String {
        format!("{}:{}", self.doc_type.as_str(), self.number)
    }

    /// The citizen ID number, if this is a citizen ID.
    pub fn id_number(&self) -> Option<IdNumber> {
        match self.doc_type {
            DocumentType::CitizenId => {
                Some(IdNumber::parse(&self.number, NaiveDate::MAX).expect("validated"))
            }
            _ => None,
        }
    }

    /// Whether the number carries a GB 11643 style birth date and gender.
    fn has_gb11643_layout(&self) -> bool {
        match self.doc_type {
            DocumentType::Passport => false,
            DocumentType::ForeignPermanentResidence => self.number.len() == 18,
            _ => true,
        }
    }

    /// Birth date when the number encodes it (all 18-character documents).
    pub fn birth_date(&self) -> Option<NaiveDate> {
        self.has_gb11643_layout()
            .then(|| birth_date_of(&self.number))
    }

    /// Gender when the number encodes it (all 18-character documents).
    pub fn gender(&self) -> Option<Gender> {
        self.has_gb11643_layout().then(|| gender_of(&self.number))
    }
}

fn parse_passport(trimmed: &str) -> Result<String, DocumentError> {
    let doc_type = DocumentType::Passport;
    let (country, num) = trimmed
        .split_once(':')
        .ok_or(DocumentError::PassportFormat)?;
    let country = country.trim().to_ascii_uppercase();
    if country.chars().count() != 3 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(DocumentError::PassportCountry { found: country });
    }
    let chars: Vec<char> = num.trim().chars().collect();
    if chars.is_empty() {
        return Err(DocumentError::Empty { doc_type });
    }
    if !(5..=20).contains(&chars.len()) {
        return Err(DocumentError::Length {
            doc_type,
            found: chars.len(),
        });
    }
    if let Some(i) = chars.iter().position(|c| !c.is_ascii_alphanumeric()) {
        return Err(DocumentError::Char {
            doc_type,
            position: i + 1,
            found: chars[i],
        });
    }
    let num: String = chars.iter().map(char::to_ascii_uppercase).collect();
    Ok(format!("{country}:{num}"))
}

impl From<IdNumber> for Document {
    fn from(id: IdNumber) -> Document {
        Document {
            doc_type: DocumentType::CitizenId,
            number: id.as_str().to_string(),
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.doc_type.as_str(), self.number)
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Document, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            doc_type: DocumentType,
            number: String,
        }
        let raw = Raw::deserialize(de)?;
        Document::parse(raw.doc_type, &raw.number, NaiveDate::MAX)
            .map_err(|e| serde::de::Error::custom(format!("{}: {}", e.code(), e.message_en())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::citizen::check_char;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    /// Appends the GB 11643 check char to 17 digits.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", check_char(first17.as_bytes()) as char)
    }

    fn parse(t: DocumentType, n: &str) -> Result<Document, DocumentError> {
        Document::parse(t, n, today())
    }

    #[test]
    fn type_names() {
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            assert!(!t.label_zh().is_empty());
        }
        assert_eq!(DocumentType::parse("nope"), None);
    }

    #[test]
    fn citizen_id() {
        let d = parse(DocumentType::CitizenId, "11010519491231002x").unwrap();
        assert_eq!(d.as_key(), "citizen_id:11010519491231002X");
        assert_eq!(d.to_string(), d.as_key());
        assert_eq!(d.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(d.gender(), Some(Gender::Female));
        assert_eq!(d.id_number().unwrap().as_str(), "11010519491231002X");
        let e = parse(DocumentType::CitizenId, "110105194912310021").unwrap_err();
        assert_eq!(e.code(), "ID_CHECK_CHAR");
        assert!(
            e.message_zh().starts_with("居民身份证号码有误"),
            "{}",
            e.message_zh()
        );
        assert_eq!(
            parse(DocumentType::CitizenId, " ").unwrap_err().code(),
            "DOC_EMPTY"
        );
    }

    #[test]
    fn residence_permits() {
        let hk = with_check("81000019900101001");
        let d = parse(DocumentType::HkResidencePermit, &hk).unwrap();
        assert_eq!(d.gender(), Some(Gender::Male));
        assert_eq!(d.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1));
        let e = parse(DocumentType::MacauResidencePermit, &hk).unwrap_err();
        assert_eq!(
            e,
            DocumentError::Number {
                doc_type: DocumentType::MacauResidencePermit,
                source: IdNumberError::WrongPrefix {
                    expected: "820000",
                    found: "810000".into()
                }
            }
        );
        assert_eq!(e.code(), "ID_PREFIX");
        let tw = with_check("83000019851231002");
        assert_eq!(
            parse(DocumentType::TaiwanResidencePermit, &tw)
                .unwrap()
                .gender(),
            Some(Gender::Female)
        );
        assert_eq!(
            parse(DocumentType::TaiwanResidencePermit, "8300001985")
                .unwrap_err()
                .code(),
            "DOC_LENGTH"
        );
        let mut bad = tw.clone();
        bad.replace_range(17..18, if tw.ends_with('0') { "1" } else { "0" });
        assert_eq!(
            parse(DocumentType::TaiwanResidencePermit, &bad)
                .unwrap_err()
                .code(),
            "ID_CHECK_CHAR"
        );
        // A permit number is not a citizen ID (81 is no mainland province).
        assert_eq!(
            parse(DocumentType::CitizenId, &hk).unwrap_err().code(),
            "ID_PROVINCE"
        );
    }

    #[test]
    fn foreign_permanent_residence() {
        // 9 + Beijing (11) + USA (840) + 1985-03-15 + 001.
        let n = with_check("91184019850315001");
        let d = parse(DocumentType::ForeignPermanentResidence, &n).unwrap();
        assert_eq!(d.birth_date(), NaiveDate::from_ymd_opt(1985, 3, 15));
        assert_eq!(d.gender(), Some(Gender::Male));
        let wrong_start = with_check("81184019850315001");
        assert_eq!(
            parse(DocumentType::ForeignPermanentResidence, &wrong_start)
                .unwrap_err()
                .code(),
            "ID_PREFIX"
        );
        let bad_prov = with_check("99984019850315001");
        assert_eq!(
            parse(DocumentType::ForeignPermanentResidence, &bad_prov).unwrap_err(),
            DocumentError::Number {
                doc_type: DocumentType::ForeignPermanentResidence,
                source: IdNumberError::UnknownProvince {
                    code: "99".into(),
                    position: 2
                }
            }
        );
        let old = parse(DocumentType::ForeignPermanentResidence, "usa110085031501").unwrap();
        assert_eq!(old.number(), "USA110085031501");
        assert_eq!(old.birth_date(), None);
        assert_eq!(old.gender(), None);
        assert_eq!(
            parse(DocumentType::ForeignPermanentResidence, "US1110085031501"),
            Err(DocumentError::Char {
                doc_type: DocumentType::ForeignPermanentResidence,
                position: 3,
                found: '1'
            })
        );
        let e = parse(DocumentType::ForeignPermanentResidence, "USA1100850315").unwrap_err();
        assert_eq!(e.code(), "DOC_LENGTH");
        assert!(e.message_zh().contains("15或18位"));
    }

    #[test]
    fn passports() {
        let d = parse(DocumentType::Passport, " chn : e12345678 ").unwrap();
        assert_eq!(d.number(), "CHN:E12345678");
        assert_eq!(d.as_key(), "passport:CHN:E12345678");
        assert_eq!(d.birth_date(), None);
        assert_eq!(d.gender(), None);
        assert_eq!(
            Document::from_key("passport:CHN:E12345678", today()).unwrap(),
            d
        );
        assert_eq!(
            parse(DocumentType::Passport, "E12345678")
                .unwrap_err()
                .code(),
            "DOC_PASSPORT_FORMAT"
        );
        assert_eq!(
            parse(DocumentType::Passport, "CN:E12345678")
                .unwrap_err()
                .code(),
            "DOC_PASSPORT_COUNTRY"
        );
        assert_eq!(
            parse(DocumentType::Passport, "CHN:E12").unwrap_err().code(),
            "DOC_LENGTH"
        );
        assert_eq!(
            parse(DocumentType::Passport, "CHN:E123-5678"),
            Err(DocumentError::Char {
                doc_type: DocumentType::Passport,
                position: 5,
                found: '-'
            })
        );
        assert_eq!(
            parse(DocumentType::Passport, "CHN:").unwrap_err().code(),
            "DOC_EMPTY"
        );
    }

    #[test]
    fn keys_and_serde() {
        let d = parse(DocumentType::CitizenId, "11010519491231002X").unwrap();
        assert_eq!(Document::from_key(&d.as_key(), today()).unwrap(), d);
        assert_eq!(
            Document::from_key("visa:123", today()).unwrap_err().code(),
            "DOC_TYPE_UNKNOWN"
        );
        let j = serde_json::to_string(&d).unwrap();
        assert_eq!(
            j,
            r#"{"doc_type":"citizen_id","number":"11010519491231002X"}"#
        );
        assert_eq!(serde_json::from_str::<Document>(&j).unwrap(), d);
        let bad = r#"{"doc_type":"citizen_id","number":"110105194912310021"}"#;
        assert!(
            serde_json::from_str::<Document>(bad)
                .unwrap_err()
                .to_string()
                .contains("ID_CHECK_CHAR")
        );
        let id = d.id_number().unwrap();
        assert_eq!(Document::from(id), d);
    }
}
