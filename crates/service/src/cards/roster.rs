//! Employer roster import (单位批量申领花名册), CSV or XLSX.
//!
//! The first row is the header. Columns are found by name (Chinese or English), in any order:
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `证件类型` / `doc_type` | no | `citizen_id` (default), or a document type name or its Chinese label |
//! | `证件号码` / `doc_number` | yes | the document number (in XLSX, a **text** cell: 18 digits do not fit a number cell) |
//! | `姓名` / `name` | yes | the name |
//! | `性别` / `gender` | no | 男/女 or male/female; needed only for documents that do not encode it |
//! | `手机号` / `phone` | no | mobile number for notices |
//! | `照片文件名` / `photo` | no | the photo's file name in the photos passed with the import |
//!
//! Every data row is checked and reported (row numbers as in a spreadsheet: the header is row
//! 1). Row errors: the document's codes (`ID_*`, `DOC_*`), `NAME_REQUIRED`, `NAME_MISMATCH`,
//! `GENDER_REQUIRED`, `GENDER_INVALID`, `PHONE_INVALID`, `DUPLICATE_ROW` (the same document
//! earlier in the file), `CARD_LIVE_EXISTS`, `PERSON_*` (life status), `PHOTO_MISSING`,
//! `PHOTO_FORMAT`, `PHOTO_SIZE`, `PHOTO_TOO_LARGE`. A file with any row error imports nothing
//! unless `import_valid_rows` is set; the import itself is all-or-nothing, in one transaction,
//! with an audit row per created card and one for the import.
//!
//! File errors (nothing is read): `ROSTER_FORMAT`, `ROSTER_ENCODING`, `ROSTER_EMPTY`,
//! `ROSTER_HEADER`, `ROSTER_TOO_LARGE`, `EMPLOYER_NOT_FOUND`, plus `FORBIDDEN`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sscard_domain::ids::{DocumentType, RegionCode};
use sscard_domain::mask::mask_id;
use sscard_domain::person::Gender;
use sscard_store::repo::persons;

use super::apply::{self, Application, Prepared};
use crate::App;
use crate::access::{self, COUNTER};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// Most data rows one file may hold.
pub const MAX_ROWS: usize = 5000;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterFormat {
    /// UTF-8 CSV (a BOM is allowed), comma separated, RFC 4180 quoting.
    Csv,
    /// Office Open XML workbook; the first sheet is read.
    Xlsx,
}

impl RosterFormat {
    /// Guesses the format from a file name (`.xlsx` → XLSX, anything else CSV).
    pub fn from_file_name(name: &str) -> RosterFormat {
        if name.to_ascii_lowercase().ends_with(".xlsx") {
            RosterFormat::Xlsx
        } else {
            RosterFormat::Csv
        }
    }
}

/// A roster import request.
#[derive(Debug, Clone)]
pub struct RosterImport {
    pub format: RosterFormat,
    /// The file's bytes.
    pub file: Vec<u8>,
    /// Photos uploaded with the roster, by file name (the roster's `照片文件名` column).
    pub photos: HashMap<String, Vec<u8>>,
    /// Pooling region of persons not yet registered (default: the clerk's agency's region).
    pub region_code: Option<String>,
    /// The employer sending the roster (employer number or credit code), recorded with each
    /// application; must be registered when given.
    pub employer: Option<String>,
    /// Import the valid rows even when some rows have errors.
    pub import_valid_rows: bool,
}

/// The outcome of one data row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RosterRow {
    /// Row number in the file (header = 1).
    pub row: usize,
    pub name: String,
    pub doc_number_masked: String,
    /// `ok` (imported, or would be), `error`.
    pub status: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub message_en: Option<String>,
    /// The created card, when imported.
    pub card_ref: Option<i64>,
}

/// The row-level report of an import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RosterReport {
    pub total_rows: usize,
    pub ok_rows: usize,
    pub error_rows: usize,
    /// Whether anything was written.
    pub imported: bool,
    pub cards_created: usize,
    pub persons_created: usize,
    pub rows: Vec<RosterRow>,
}

fn file_error(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

/// Parses RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn parse_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, ServiceError> {
    use calamine::Reader;
    let unreadable = |e: &dyn std::fmt::Display| {
        file_error(
            "ROSTER_FORMAT",
            format!("无法读取 XLSX 文件:{e}"),
            format!("Cannot read the XLSX file: {e}"),
        )
    };
    let mut book =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).map_err(|e| unreadable(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable(&"no worksheet"))?
        .map_err(|e| unreadable(&e))?;
    Ok(range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect())
}

/// Reads the file into rows of trimmed cells.
pub(crate) fn read_rows(
    format: RosterFormat,
    bytes: &[u8],
) -> Result<Vec<Vec<String>>, ServiceError> {
    let rows = match format {
        RosterFormat::Csv => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                file_error(
                    "ROSTER_ENCODING",
                    "CSV 文件须为 UTF-8 编码(Excel 中请选择“CSV UTF-8”另存)",
                    "The CSV file must be UTF-8 encoded",
                )
            })?;
            parse_csv(text.trim_start_matches('\u{feff}'))
        }
        RosterFormat::Xlsx => parse_xlsx(bytes)?,
    };
    Ok(rows
        .into_iter()
        .map(|r| r.into_iter().map(|c| c.trim().to_string()).collect())
        .collect())
}

#[derive(Debug, Default)]
struct Columns {
    doc_type: Option<usize>,
    doc_number: usize,
    name: usize,
    gender: Option<usize>,
    phone: Option<usize>,
    photo: Option<usize>,
}

fn find_columns(header: &[String]) -> Result<Columns, ServiceError> {
    let find = |names: &[&str]| {
        header.iter().position(|h| {
            let h = h.trim().to_lowercase();
            names.iter().any(|n| h == *n)
        })
    };
    let required = |names: &[&str], zh: &str| {
        find(names).ok_or_else(|| {
            file_error(
                "ROSTER_HEADER",
                format!("花名册缺少“{zh}”列(第1行须为表头)"),
                format!(
                    "The roster has no '{}' column (row 1 must be the header)",
                    names[1]
                ),
            )
        })
    };
    Ok(Columns {
        doc_type: find(&["证件类型", "doc_type"]),
        doc_number: required(
            &["证件号码", "doc_number", "身份证号码", "公民身份号码"],
            "证件号码",
        )?,
        name: required(&["姓名", "name"], "姓名")?,
        gender: find(&["性别", "gender"]),
        phone: find(&["手机号", "phone", "手机号码", "联系电话"]),
        photo: find(&["照片文件名", "photo", "照片"]),
    })
}

fn parse_doc_type(s: &str) -> Option<DocumentType> {
    if s.is_empty() {
        return Some(DocumentType::CitizenId);
    }
    DocumentType::parse(s).or_else(|| {
        DocumentType::ALL
            .into_iter()
            .find(|t| t.label_zh() == s || (s == "身份证" && *t == DocumentType::CitizenId))
    })
}

fn parse_gender(s: &str) -> Result<Option<Gender>, ServiceError> {
    match s {
        "" => Ok(None),
        "男" | "male" | "M" | "m" => Ok(Some(Gender::Male)),
        "女" | "female" | "F" | "f" => Ok(Some(Gender::Female)),
        _ => Err(apply::bad(
            "GENDER_INVALID",
            format!("性别“{s}”无效,应为“男”或“女”"),
            format!("Gender '{s}' is invalid: use 男/女 or male/female"),
        )),
    }
}

struct Candidate {
    row: usize,
    prepared: Prepared,
}

/// Imports a roster (clerk or supervisor). See the module documentation.
pub fn import(app: &App, actor: &Actor, req: &RosterImport) -> Result<RosterReport, ServiceError> {
    access::require(actor, &COUNTER)?;
    let rows = read_rows(req.format, &req.file)?;
    let mut it = rows
        .into_iter()
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()));
    let Some((_, header)) = it.next() else {
        return Err(file_error(
            "ROSTER_EMPTY",
            "花名册为空",
            "The roster is empty",
        ));
    };
    let cols = find_columns(&header)?;
    let data: Vec<(usize, Vec<String>)> = it.map(|(i, r)| (i + 1, r)).collect();
    if data.is_empty() {
        return Err(file_error(
            "ROSTER_EMPTY",
            "花名册没有数据行",
            "The roster has no data rows",
        ));
    }
    if data.len() > MAX_ROWS {
        return Err(file_error(
            "ROSTER_TOO_LARGE",
            format!("花名册超过 {MAX_ROWS} 行,请分批导入"),
            format!("The roster has more than {MAX_ROWS} rows: split it"),
        ));
    }
    let region = match req.region_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(RegionCode::parse(r).map_err(|e| ServiceError::invalid(&e))?),
    };
    let today = app.today();
    let now = app.now();
    let key = app.pin_key().clone();
    let employer = match req.employer.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(crate::employers::find(app, e)?),
    };
    app.store().write(|tx| {
        let mut report_rows = Vec::with_capacity(data.len());
        let mut seen: HashSet<String> = HashSet::new();
        let mut candidates: Vec<(Candidate, apply::Checked)> = Vec::new();
        for (row_no, cells) in &data {
            let get = |i: Option<usize>| i.and_then(|i| cells.get(i)).cloned().unwrap_or_default();
            let name = get(Some(cols.name));
            let number = get(Some(cols.doc_number));
            let mut out = RosterRow {
                row: *row_no,
                name: name.clone(),
                doc_number_masked: mask_id(&number),
                status: "ok".into(),
                code: None,
                message: None,
                message_en: None,
                card_ref: None,
            };
            let checked = (|| -> Result<(Prepared, apply::Checked), ServiceError> {
                let dt_raw = get(cols.doc_type);
                let doc_type = parse_doc_type(&dt_raw).ok_or_else(|| {
                    ServiceError::invalid(&sscard_domain::ids::DocumentError::UnknownType {
                        found: dt_raw.clone(),
                    })
                })?;
                let photo = match get(cols.photo).as_str() {
                    "" => None,
                    file => Some(
                        req.photos
                            .get(file)
                            .cloned()
                            .ok_or_else(super::photo::missing_error)?,
                    ),
                };
                let p = apply::prepare(
                    &Application {
                        doc_type: Some(doc_type),
                        doc_number: number.clone(),
                        name: name.clone(),
                        gender: parse_gender(&get(cols.gender))?,
                        birth_date: None,
                        phone: get(cols.phone),
                        address: String::new(),
                        region_code: region.as_ref().map(|r| r.as_str().to_string()),
                        photo,
                    },
                    today,
                )?;
                if p.name.is_empty() {
                    return Err(apply::bad(
                        "NAME_REQUIRED",
                        "请填写姓名",
                        "The name is required",
                    ));
                }
                if !seen.insert(p.doc.as_key()) {
                    return Err(apply::bad(
                        "DUPLICATE_ROW",
                        "该证件号码在花名册中重复出现",
                        "This document appears earlier in the roster",
                    ));
                }
                let c = apply::check(tx, &p, actor)?;
                Ok((p, c))
            })();
            match checked {
                Ok((prepared, c)) => candidates.push((
                    Candidate {
                        row: *row_no,
                        prepared,
                    },
                    c,
                )),
                Err(e) => {
                    if e.kind == ErrorKind::Internal || e.kind == ErrorKind::Unavailable {
                        return Err(e);
                    }
                    out.status = "error".into();
                    out.code = Some(e.code.to_string());
                    out.message = Some(e.message.clone());
                    out.message_en = Some(e.message_en.clone());
                }
            }
            report_rows.push(out);
        }
        let error_rows = report_rows.iter().filter(|r| r.status == "error").count();
        let mut report = RosterReport {
            total_rows: report_rows.len(),
            ok_rows: report_rows.len() - error_rows,
            error_rows,
            imported: false,
            cards_created: 0,
            persons_created: 0,
            rows: report_rows,
        };
        if (error_rows > 0 && !req.import_valid_rows) || candidates.is_empty() {
            return Ok(report);
        }
        let extra = serde_json::json!({
            "roster": true,
            "employer": employer.as_ref().map(|e| e.employer_no.clone()),
        });
        for (cand, checked) in &candidates {
            // A person registered by an earlier row of this file is looked up again.
            let checked = if checked.existing.is_none() {
                let again = persons::person_by_document(
                    tx,
                    cand.prepared.doc.doc_type().as_str(),
                    cand.prepared.doc.number(),
                )?;
                apply::Checked {
                    existing: again,
                    ..checked.clone()
                }
            } else {
                checked.clone()
            };
            let res = apply::write(
                tx,
                now,
                today,
                &key,
                actor,
                &cand.prepared,
                &checked,
                extra.clone(),
            )?;
            report.cards_created += 1;
            if res.person_created {
                report.persons_created += 1;
            }
            if let Some(r) = report.rows.iter_mut().find(|r| r.row == cand.row) {
                r.card_ref = Some(res.card_ref);
            }
        }
        report.imported = true;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "roster.import",
                entity: "roster",
                entity_id: &employer
                    .as_ref()
                    .map(|e| e.employer_no.clone())
                    .unwrap_or_else(|| "counter".into()),
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "format": req.format,
                    "rows": report.total_rows,
                    "error_rows": report.error_rows,
                    "cards_created": report.cards_created,
                    "persons_created": report.persons_created,
                    "import_valid_rows": req.import_valid_rows,
                }),
            },
        )?;
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        let rows = parse_csv("a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\n1,,3");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], vec!["x,1", "say \"hi\"", "two\nlines"]);
        assert_eq!(rows[2], vec!["1", "", "3"]);
    }

    #[test]
    fn header_by_name() {
        let h: Vec<String> = ["姓名", "证件号码", "照片文件名"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = find_columns(&h).unwrap();
        assert_eq!((c.name, c.doc_number, c.photo), (0, 1, Some(2)));
        let bad: Vec<String> = vec!["姓名".into()];
        assert_eq!(find_columns(&bad).unwrap_err().code, "ROSTER_HEADER");
        assert_eq!(parse_doc_type("居民身份证"), Some(DocumentType::CitizenId));
        assert_eq!(parse_doc_type("passport"), Some(DocumentType::Passport));
        assert_eq!(parse_doc_type("驾驶证"), None);
    }
}
