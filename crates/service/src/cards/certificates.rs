//! Pickup certificates (领卡凭证).
//!
//! A reissue issues one. Its number — `LK` + region code + 8-digit serial + a check digit, e.g.
//! `LK511000000000125` — is what the holder shows at a designated hospital: until the new card
//! is collected, hospitals accept it as a temporary medical voucher ([`voucher_valid`]). The
//! certificate prints as an A4 PDF ([`pdf`]) in Chinese, with the number, the holder, the ready
//! date and the fee receipt.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sscard_domain::card::CardStatus;
use sscard_domain::clock::to_shanghai;
use sscard_domain::mask::mask_id;
use sscard_store::Tx;
use sscard_store::repo::{aftercare, cards as repo, persons, ts};

use crate::App;
use crate::access::{self, STAFF_ROLES};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// A pickup certificate as channels show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertificateView {
    pub cert_no: String,
    pub holder_name: String,
    /// The holder's document number, masked.
    pub holder_doc_masked: String,
    pub region_code: String,
    /// The card that was lost.
    pub old_card_no: Option<String>,
    /// The day the new card is ready (YYYY-MM-DD).
    pub ready_date: String,
    pub fee_receipt_no: Option<String>,
    /// When it was issued (RFC 3339 UTC).
    pub issued_at: String,
    /// Whether hospitals still accept it as a temporary medical voucher.
    pub voucher_valid: bool,
}

/// The answer to a hospital asking about a certificate number.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VoucherView {
    pub cert_no: String,
    /// Accept it as a medical voucher?
    pub valid: bool,
    /// Why not, when not: `card_collected`, `card_cancelled`, `holder_deceased`.
    pub reason: Option<String>,
    pub holder_name: String,
    pub holder_doc_masked: String,
    pub region_code: String,
    pub ready_date: String,
}

fn check_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .filter(u8::is_ascii_digit)
        .enumerate()
        .map(|(k, b)| u32::from(b - b'0') * (k as u32 % 9 + 2))
        .sum();
    b"0123456789X"[(sum % 11) as usize] as char
}

/// The number of the certificate with row id `id` in `region`.
pub fn cert_number(region: &str, id: i64) -> String {
    let body = format!("LK{region}{id:08}");
    let c = check_digit(&body);
    format!("{body}{c}")
}

fn cert_not_found() -> ServiceError {
    ServiceError::not_found(
        "CERT_NOT_FOUND",
        "无此领卡凭证",
        "No such pickup certificate",
    )
}

/// Normalises a certificate number and checks its form and check digit.
fn parse_cert_no(input: &str) -> Result<String, ServiceError> {
    let s = input.trim().to_ascii_uppercase();
    let ok = s.len() == 17
        && s.starts_with("LK")
        && s[2..16].bytes().all(|b| b.is_ascii_digit())
        && check_digit(&s[..16]) == s.as_bytes()[16] as char;
    if ok {
        Ok(s)
    } else {
        Err(ServiceError::new(
            ErrorKind::BadRequest,
            "CERT_NO_INVALID",
            "领卡凭证号格式或校验位有误",
            "The pickup certificate number is malformed or its check digit is wrong",
        ))
    }
}

/// Issues the certificate of a reissue in the caller's transaction, and audits it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn issue(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    person: &persons::PersonRow,
    old: &repo::CardRow,
    new: &repo::CardRow,
    ready: NaiveDate,
    fee_receipt_no: Option<&str>,
) -> Result<CertificateView, ServiceError> {
    let region = old.region_code.clone();
    let ready_s = ready.to_string();
    let row = aftercare::insert_certificate(
        tx,
        &aftercare::NewCertificate {
            person_id: person.id,
            old_card_id: old.id,
            new_card_id: new.id,
            ready_date: &ready_s,
            fee_receipt_no,
            issued_at: &ts(now),
        },
        &|id| cert_number(&region, id),
    )?;
    audit::record(
        tx,
        now,
        actor,
        Change {
            action: "certificate.issued",
            entity: "pickup_certificate",
            entity_id: &row.cert_no,
            before: serde_json::Value::Null,
            after: serde_json::json!({
                "person_id": person.id,
                "old_card": old.card_no,
                "ready_date": ready_s,
                "fee_receipt_no": fee_receipt_no,
            }),
        },
    )?;
    Ok(CertificateView {
        cert_no: row.cert_no,
        holder_name: person.name.clone(),
        holder_doc_masked: mask_id(&person.doc_number),
        region_code: old.region_code.clone(),
        old_card_no: old.card_no.clone(),
        ready_date: ready_s,
        fee_receipt_no: fee_receipt_no.map(str::to_string),
        issued_at: row.issued_at,
        voucher_valid: true,
    })
}

struct Loaded {
    row: aftercare::CertificateRow,
    person: persons::PersonRow,
    old: repo::CardRow,
    new: repo::CardRow,
}

fn load(tx: &mut dyn Tx, cert_no: &str) -> Result<Loaded, ServiceError> {
    let no = parse_cert_no(cert_no)?;
    let row = aftercare::certificate_by_no(tx, &no)?.ok_or_else(cert_not_found)?;
    let person = persons::person_by_id(tx, row.person_id)?.ok_or_else(cert_not_found)?;
    let old = repo::card_by_id(tx, row.old_card_id)?.ok_or_else(cert_not_found)?;
    let new = repo::card_by_id(tx, row.new_card_id)?.ok_or_else(cert_not_found)?;
    Ok(Loaded {
        row,
        person,
        old,
        new,
    })
}

/// Why the voucher no longer counts, if it does not.
fn invalid_reason(l: &Loaded) -> Option<&'static str> {
    if l.person.life_status == "deceased" {
        return Some("holder_deceased");
    }
    match l.new.status {
        CardStatus::Applied | CardStatus::InProduction | CardStatus::AwaitingCollection => None,
        CardStatus::Cancelled | CardStatus::Expired => Some("card_cancelled"),
        _ => Some("card_collected"),
    }
}

fn view(l: &Loaded) -> CertificateView {
    CertificateView {
        cert_no: l.row.cert_no.clone(),
        holder_name: l.person.name.clone(),
        holder_doc_masked: mask_id(&l.person.doc_number),
        region_code: l.old.region_code.clone(),
        old_card_no: l.old.card_no.clone(),
        ready_date: l.row.ready_date.clone(),
        fee_receipt_no: l.row.fee_receipt_no.clone(),
        issued_at: l.row.issued_at.clone(),
        voucher_valid: invalid_reason(l).is_none(),
    }
}

/// Whether a certificate number is a valid temporary medical voucher now: it exists and the
/// new card has not been collected (nor cancelled), and the holder is alive. For the hospital
/// API (the institution's own authentication is that API's business).
///
/// Errors: `CERT_NO_INVALID` (malformed or wrong check digit), `CERT_NOT_FOUND`.
pub fn voucher_valid(app: &App, cert_no: &str) -> Result<VoucherView, ServiceError> {
    let l = app.store().read(|tx| load(tx, cert_no))?;
    let reason = invalid_reason(&l);
    Ok(VoucherView {
        cert_no: l.row.cert_no.clone(),
        valid: reason.is_none(),
        reason: reason.map(str::to_string),
        holder_name: l.person.name.clone(),
        holder_doc_masked: mask_id(&l.person.doc_number),
        region_code: l.old.region_code.clone(),
        ready_date: l.row.ready_date.clone(),
    })
}

/// A certificate (any staff role). Errors: `FORBIDDEN`, `CERT_NO_INVALID`, `CERT_NOT_FOUND`.
pub fn get(app: &App, actor: &Actor, cert_no: &str) -> Result<CertificateView, ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    let l = app.store().read(|tx| load(tx, cert_no))?;
    Ok(view(&l))
}

/// The certificate as an A4 PDF (any staff role; printing is audited).
/// Errors: those of [`get`].
pub fn pdf(app: &App, actor: &Actor, cert_no: &str) -> Result<Vec<u8>, ServiceError> {
    access::require(actor, &STAFF_ROLES)?;
    let now = app.now();
    let (l, agency) = app.store().write(|tx| {
        let l = load(tx, cert_no)?;
        let agency = aftercare::agency_name_by_code(tx, &actor.agency)?.unwrap_or_default();
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "certificate.printed",
                entity: "pickup_certificate",
                entity_id: &l.row.cert_no,
                before: serde_json::Value::Null,
                after: serde_json::json!({"format": "pdf"}),
            },
        )?;
        Ok::<_, ServiceError>((l, agency))
    })?;
    let v = view(&l);
    let issued = sscard_store::repo::parse_ts(&l.row.issued_at)
        .map(|t| to_shanghai(t).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| l.row.issued_at.clone());
    let lines = vec![
        (20.0, "社会保障卡领卡凭证".to_string()),
        (10.0, "Social Security Card Pickup Certificate".to_string()),
        (12.0, format!("凭证编号:{}", v.cert_no)),
        (12.0, format!("持卡人姓名:{}", v.holder_name)),
        (12.0, format!("证件号码:{}", v.holder_doc_masked)),
        (
            12.0,
            format!(
                "原卡号:{}(已挂失补卡,原卡永久停用)",
                v.old_card_no.clone().unwrap_or_else(|| "—".into())
            ),
        ),
        (
            12.0,
            format!(
                "统筹区:{}({})",
                sscard_domain::divisions::full_name(&v.region_code).unwrap_or_default(),
                v.region_code
            ),
        ),
        (12.0, format!("受理时间:{issued}")),
        (12.0, format!("预计领卡日期:{}", v.ready_date)),
        (
            12.0,
            format!(
                "补卡收费收据号:{}",
                v.fee_receipt_no.clone().unwrap_or_else(|| "免费".into())
            ),
        ),
        (12.0, format!("受理网点:{agency}")),
        (
            11.0,
            "说明:新卡领取前,本凭证可作为临时就医凭证,在定点医疗机构凭凭证编号和本人身份证就医结算。"
                .to_string(),
        ),
        (
            11.0,
            "请于预计领卡日期后持本凭证和本人有效身份证件到受理网点领取新卡。".to_string(),
        ),
        (
            9.0,
            "Until the new card is collected this certificate number serves as a temporary medical voucher."
                .to_string(),
        ),
    ];
    render_pdf("社会保障卡领卡凭证", &lines)
}

/// The vendored CJK font file (Noto Sans Hans Regular, OpenType, SIL OFL 1.1, see
/// `assets/fonts/`): embedded in the PDFs, and served to the pages as a web font.
pub static FONT_OTF: &[u8] = include_bytes!("../../../../assets/fonts/NotoSansHans-Regular.otf");

/// The CJK font, parsed once.
pub(crate) fn font() -> Result<&'static printpdf::ParsedFont, ServiceError> {
    static FONT: OnceLock<Option<printpdf::ParsedFont>> = OnceLock::new();
    FONT.get_or_init(|| printpdf::ParsedFont::from_bytes(FONT_OTF, 0, &mut Vec::new()))
        .as_ref()
        .ok_or_else(|| ServiceError::internal("the CJK font cannot be parsed"))
}

/// Renders lines of text (font size in points, text) top-down on one A4 page. The font is
/// subset into the PDF (only the glyphs used).
fn render_pdf(title: &str, lines: &[(f32, String)]) -> Result<Vec<u8>, ServiceError> {
    use printpdf::{
        Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem,
    };
    let font = font()?;
    let mut doc = PdfDocument::new(title);
    let font_id = doc.add_font(font);
    let mut ops = Vec::new();
    let mut y = 270.0f32;
    for (size, text) in lines {
        ops.push(Op::StartTextSection);
        ops.push(Op::SetTextCursor {
            pos: Point {
                x: Mm(20.0).into(),
                y: Mm(y).into(),
            },
        });
        ops.push(Op::SetFont {
            font: PdfFontHandle::External(font_id.clone()),
            size: Pt(*size),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.clone())],
        });
        ops.push(Op::EndTextSection);
        y -= size * 0.3528 * 1.9;
    }
    let page = PdfPage::new(Mm(210.0), Mm(297.0), ops);
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..Default::default()
    };
    let mut warnings = Vec::new();
    Ok(doc.with_pages(vec![page]).save(&options, &mut warnings))
}
