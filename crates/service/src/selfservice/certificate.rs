//! Certificates of insurance (社会保险个人参保证明).
//!
//! A cardholder downloads one from the portal (or prints it at a kiosk): an A4 PDF in Chinese
//! (the embedded Noto Sans SC font, subset) with the person, the pooling region, the
//! enrolments and their start dates, a contribution summary (span, months, latest base,
//! personal and employer totals, by year), the issue date, a **verification code** and a red
//! seal drawn as vector graphics (circle, star, the agency's name around the rim).
//!
//! The code (`XXXX-XXXX-XXXX`, 12 characters of an alphabet without 0/O/1/I: 60 random bits) is
//! stored with the SHA-256 of the certificate's content and the content itself, so anyone can
//! check a printed certificate on the public verify page ([`verify_code`]), which shows the
//! masked holder and the figures to compare. The PDF can be rendered again from the stored
//! content ([`certificate_pdf`]).
//!
//! At most [`DAILY_LIMIT`] certificates per person and day.
//!
//! Refusals: `CERT_CODE_INVALID`, `CERT_CODE_NOT_FOUND`, `CERT_RATE_LIMITED`,
//! `PERSON_NOT_FOUND`, `RECORD_NOT_YOURS`, `FORBIDDEN`.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sscard_domain::clock::{shanghai, to_shanghai};
use sscard_domain::mask::mask_id;
use sscard_domain::money::Money;
use sscard_store::repo::selfservice as repo;
use sscard_store::repo::{parse_ts, ts};

use super::records::{self, ContributionYear};
use super::require_reader;
use crate::App;
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// Certificates a person may be issued per day (Beijing time).
pub const DAILY_LIMIT: i64 = 20;

const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// One insurance on the certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertInsurance {
    pub insurance_label: String,
    pub scheme_label: String,
    pub status_label: String,
    pub start_date: String,
}

/// What a certificate says. Stored as issued; its SHA-256 is the content hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertificateContent {
    pub code: String,
    pub name: String,
    pub gender_label: String,
    pub birth_date: String,
    /// The full ID number (it is the holder's own certificate).
    pub doc_number: String,
    pub region_code: String,
    pub region_name: String,
    /// The agency named on the seal.
    pub agency_name: String,
    /// RFC 3339 UTC.
    pub issued_at: String,
    pub insurances: Vec<CertInsurance>,
    pub employer_name: Option<String>,
    pub first_month: Option<String>,
    pub last_month: Option<String>,
    pub months: i64,
    pub latest_base_fen: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
    pub years: Vec<ContributionYear>,
    pub pension_months: i64,
    pub medical_type_label: String,
}

/// An issued certificate: its code and the PDF.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    pub code: String,
    pub pdf: Vec<u8>,
    pub content: CertificateContent,
}

/// The public answer to a code check: enough to compare with the paper, nothing more.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertificateCheck {
    pub code: String,
    pub valid: bool,
    /// `张*明`.
    pub holder_name_masked: String,
    pub doc_number_masked: String,
    pub region_code: String,
    pub region_name: String,
    pub issued_at: String,
    pub first_month: Option<String>,
    pub last_month: Option<String>,
    pub months: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
    pub content_hash: String,
}

fn code_invalid() -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "CERT_CODE_INVALID",
        "验证码格式不正确(12 位字母数字,如 ABCD-EFGH-JKLM)",
        "The verification code is malformed (12 letters and digits, e.g. ABCD-EFGH-JKLM)",
    )
}

fn code_not_found() -> ServiceError {
    ServiceError::not_found(
        "CERT_CODE_NOT_FOUND",
        "未查询到该验证码对应的参保证明,证明可能是伪造的",
        "No certificate has this verification code: the certificate may be forged",
    )
}

fn new_code() -> String {
    let mut rng = rand::rng();
    let raw: String = (0..12)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format_code(&raw)
}

fn format_code(raw: &str) -> String {
    format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..12])
}

/// Normalises a typed code: case, spaces and dashes do not matter; `O`→`0` style confusions are
/// refused (the alphabet has neither).
pub fn parse_code(input: &str) -> Result<String, ServiceError> {
    let raw: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if raw.len() != 12 || !raw.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return Err(code_invalid());
    }
    Ok(format_code(&raw))
}

fn content_hash(c: &CertificateContent) -> String {
    let json = serde_json::to_string(c).unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))
}

fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    shanghai()
        .from_local_datetime(&to_shanghai(now).date_naive().and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now - Duration::hours(24))
}

/// The agency named on the seal: the region's card centre, or its social insurance agency.
fn agency_for(region_name: &str) -> String {
    let city = region_name
        .rsplit_once('省')
        .map(|(_, c)| c)
        .unwrap_or(region_name);
    format!("{city}社会保险事业管理局")
}

/// Issues a certificate of insurance for `person_id` (the cardholder themself, or reading
/// staff on their behalf) and renders it. Errors: `CERT_RATE_LIMITED`, and those of
/// [`records::person_records`].
pub fn issue_insurance_certificate(
    app: &App,
    actor: &Actor,
    person_id: i64,
) -> Result<IssuedCertificate, ServiceError> {
    require_reader(actor, person_id)?;
    let now = app.now();
    let r = records::person_records(app, actor, person_id)?;
    let since = ts(start_of_day(now));
    let today_count = app
        .store()
        .read(|tx| repo::certificates_since(tx, person_id, &since))?;
    if today_count >= DAILY_LIMIT {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            "CERT_RATE_LIMITED",
            format!("每人每天最多开具 {DAILY_LIMIT} 份参保证明,请明天再试"),
            format!("At most {DAILY_LIMIT} certificates per person and day: please try tomorrow"),
        ));
    }
    let history = records::contributions(app, actor, person_id, None)?;
    let doc_number = app
        .store()
        .read(|tx| sscard_store::repo::persons::person_by_id(tx, person_id))?
        .map(|p| p.doc_number)
        .unwrap_or_default();
    let code = new_code();
    let content = CertificateContent {
        code: code.clone(),
        name: r.basic.name.clone(),
        gender_label: r.basic.gender_label.clone(),
        birth_date: r.basic.birth_date.clone(),
        doc_number,
        region_code: r.basic.region_code.clone(),
        region_name: r.basic.region_name.clone(),
        agency_name: agency_for(&r.basic.region_name),
        issued_at: ts(now),
        insurances: r
            .enrolments
            .iter()
            .map(|e| CertInsurance {
                insurance_label: e.insurance_label.clone(),
                scheme_label: e.scheme_label.clone(),
                status_label: e.status_label.clone(),
                start_date: e.start_date.clone(),
            })
            .collect(),
        employer_name: r
            .employment
            .iter()
            .find(|e| e.current)
            .map(|e| e.employer_name.clone()),
        first_month: history.months.first().map(|m| m.month.clone()),
        last_month: history.months.last().map(|m| m.month.clone()),
        months: history.months.len() as i64,
        latest_base_fen: history.months.last().map(|m| m.base_fen).unwrap_or(0),
        personal_fen: history.personal_fen,
        employer_fen: history.employer_fen,
        years: r.contributions_by_year.clone(),
        pension_months: r.pension.contribution_months,
        medical_type_label: r.medical.insurance_type_label.clone(),
    };
    let hash = content_hash(&content);
    let pdf = render(&content)?;
    let summary = serde_json::to_string(&content).map_err(ServiceError::internal)?;
    app.store().write(|tx| {
        repo::insert_certificate(
            tx,
            &repo::InsuranceCertificateRow {
                code: code.clone(),
                person_id,
                region_code: content.region_code.clone(),
                channel: actor.channel.as_str().to_string(),
                issued_at: content.issued_at.clone(),
                content_hash: hash.clone(),
                summary_json: summary,
            },
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "insurance_certificate.issued",
                entity: "insurance_certificate",
                entity_id: &code,
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "person_id": person_id,
                    "content_hash": hash,
                    "months": content.months,
                }),
            },
        )
    })?;
    Ok(IssuedCertificate { code, pdf, content })
}

fn load(
    app: &App,
    code: &str,
) -> Result<(repo::InsuranceCertificateRow, CertificateContent), ServiceError> {
    let code = parse_code(code)?;
    let row = app
        .store()
        .read(|tx| repo::certificate_by_code(tx, &code))?
        .ok_or_else(code_not_found)?;
    let content: CertificateContent =
        serde_json::from_str(&row.summary_json).map_err(ServiceError::internal)?;
    Ok((row, content))
}

/// Checks a certificate's verification code (public, no login). `valid` is false when the
/// stored content no longer matches its hash. Errors: `CERT_CODE_INVALID`,
/// `CERT_CODE_NOT_FOUND`.
pub fn verify_code(app: &App, code: &str) -> Result<CertificateCheck, ServiceError> {
    let (row, c) = load(app, code)?;
    Ok(CertificateCheck {
        valid: content_hash(&c) == row.content_hash,
        code: row.code,
        holder_name_masked: mask_name(&c.name),
        doc_number_masked: mask_id(&c.doc_number),
        region_code: c.region_code,
        region_name: c.region_name,
        issued_at: row.issued_at,
        first_month: c.first_month,
        last_month: c.last_month,
        months: c.months,
        personal_fen: c.personal_fen,
        employer_fen: c.employer_fen,
        content_hash: row.content_hash,
    })
}

/// Renders an issued certificate again (its holder or reading staff). Errors: those of
/// [`verify_code`], `RECORD_NOT_YOURS`, `FORBIDDEN`.
pub fn certificate_pdf(app: &App, actor: &Actor, code: &str) -> Result<Vec<u8>, ServiceError> {
    let (row, c) = load(app, code)?;
    require_reader(actor, row.person_id)?;
    render(&c)
}

fn yuan(fen: i64) -> String {
    Money::from_fen(fen).format_yuan()
}

fn local(ts_: &str) -> String {
    parse_ts(ts_)
        .map(|t| to_shanghai(t).format("%Y年%m月%d日").to_string())
        .unwrap_or_else(|_| ts_.to_string())
}

/// Renders the certificate on one A4 page.
fn render(c: &CertificateContent) -> Result<Vec<u8>, ServiceError> {
    use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};
    let font = crate::cards::certificates::font()?;
    let mut doc = PdfDocument::new("社会保险个人参保证明");
    let font_id = doc.add_font(font);
    let mut p = Painter {
        ops: Vec::new(),
        font: font_id,
    };
    let mut y = 272.0f32;
    p.text_centered(105.0, y, 20.0, "社会保险个人参保证明");
    y -= 8.0;
    p.text_centered(
        105.0,
        y,
        9.0,
        "Certificate of Social Insurance Participation",
    );
    y -= 10.0;
    p.text(20.0, y, 10.0, &format!("验证码:{}", c.code));
    p.text(120.0, y, 10.0, &format!("开具日期:{}", local(&c.issued_at)));
    y -= 10.0;
    let lines = [
        format!(
            "姓名:{}    性别:{}    出生日期:{}",
            c.name, c.gender_label, c.birth_date
        ),
        format!("公民身份号码(社会保障号码):{}", c.doc_number),
        format!("参保地:{}(行政区划代码 {})", c.region_name, c.region_code),
        format!(
            "现工作单位:{}",
            c.employer_name
                .clone()
                .unwrap_or_else(|| "无(灵活就业或城乡居民)".into())
        ),
        format!("医疗保险类型:{}", c.medical_type_label),
    ];
    for l in &lines {
        p.text(20.0, y, 11.0, l);
        y -= 7.5;
    }
    y -= 3.0;
    p.text(20.0, y, 12.0, "一、参保险种");
    y -= 8.0;
    p.text(24.0, y, 10.0, "险种");
    p.text(64.0, y, 10.0, "参保类别");
    p.text(104.0, y, 10.0, "参保状态");
    p.text(144.0, y, 10.0, "参保起始日期");
    y -= 2.0;
    p.rule(20.0, 190.0, y);
    y -= 6.0;
    if c.insurances.is_empty() {
        p.text(24.0, y, 10.0, "无参保记录");
        y -= 6.5;
    }
    for i in &c.insurances {
        p.text(24.0, y, 10.0, &i.insurance_label);
        p.text(64.0, y, 10.0, &i.scheme_label);
        p.text(104.0, y, 10.0, &i.status_label);
        p.text(144.0, y, 10.0, &i.start_date);
        y -= 6.5;
    }
    y -= 4.0;
    p.text(20.0, y, 12.0, "二、缴费情况");
    y -= 8.0;
    let span = match (&c.first_month, &c.last_month) {
        (Some(a), Some(b)) => format!("{a} 至 {b}"),
        _ => "无缴费记录".into(),
    };
    for l in [
        format!("缴费记录期间:{span},共 {} 个月", c.months),
        format!("养老保险累计缴费月数:{} 个月", c.pension_months),
        format!(
            "最近缴费基数:{}    个人缴费合计:{}    单位缴费合计:{}",
            yuan(c.latest_base_fen),
            yuan(c.personal_fen),
            yuan(c.employer_fen)
        ),
    ] {
        p.text(24.0, y, 10.0, &l);
        y -= 6.5;
    }
    y -= 2.0;
    p.text(24.0, y, 10.0, "年度");
    p.text(54.0, y, 10.0, "缴费月数");
    p.text(94.0, y, 10.0, "个人缴费");
    p.text(144.0, y, 10.0, "单位缴费");
    y -= 2.0;
    p.rule(20.0, 190.0, y);
    y -= 6.0;
    for yr in c.years.iter().take(8) {
        p.text(24.0, y, 10.0, &yr.year.to_string());
        p.text(54.0, y, 10.0, &yr.months.to_string());
        p.text(94.0, y, 10.0, &yuan(yr.personal_fen));
        p.text(144.0, y, 10.0, &yuan(yr.employer_fen));
        y -= 6.5;
    }
    y -= 6.0;
    p.text(
        20.0,
        y,
        10.0,
        "特此证明。本证明依据社会保险信息系统记录出具,仅证明开具日之前的参保缴费情况。",
    );
    y -= 6.5;
    p.text(
        20.0,
        y,
        10.0,
        &format!(
            "真伪核验:登录网上服务大厅“参保证明核验”页面(/portal/verify),输入验证码 {}。",
            c.code
        ),
    );
    y -= 6.5;
    p.text(
        20.0,
        y,
        8.0,
        "Verify this certificate on the portal's public page /portal/verify with the code above.",
    );
    p.signature(y.min(80.0) - 28.0, &c.agency_name, &local(&c.issued_at));
    let page = PdfPage::new(Mm(210.0), Mm(297.0), p.ops);
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..Default::default()
    };
    let mut warnings = Vec::new();
    Ok(doc.with_pages(vec![page]).save(&options, &mut warnings))
}

const MM: f32 = 72.0 / 25.4;

struct Painter {
    ops: Vec<printpdf::Op>,
    font: printpdf::FontId,
}

impl Painter {
    fn black(&mut self) {
        use printpdf::{Color, Op, Rgb};
        self.ops.push(Op::SetFillColor {
            col: Color::Rgb(Rgb {
                r: 0.0,
                g: 0.0,
                b: 0.0,
                icc_profile: None,
            }),
        });
    }

    /// Text at (x, y) mm, rotated by `deg` counter-clockwise.
    fn text_at(&mut self, x: f32, y: f32, size: f32, deg: f32, s: &str) {
        use printpdf::{Op, PdfFontHandle, Pt, TextItem, TextMatrix};
        let (sin, cos) = deg.to_radians().sin_cos();
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::External(self.font.clone()),
            size: Pt(size),
        });
        self.ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Raw([cos, sin, -sin, cos, x * MM, y * MM]),
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(s.to_string())],
        });
        self.ops.push(Op::EndTextSection);
    }

    fn text(&mut self, x: f32, y: f32, size: f32, s: &str) {
        self.text_at(x, y, size, 0.0, s);
    }

    /// Centred text; CJK glyphs are one em wide, Latin ones about half.
    fn text_centered(&mut self, cx: f32, y: f32, size: f32, s: &str) {
        let ems: f32 = s
            .chars()
            .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
            .sum();
        let width_mm = ems * size / MM;
        self.text(cx - width_mm / 2.0, y, size, s);
    }

    fn rule(&mut self, x0: f32, x1: f32, y: f32) {
        use printpdf::{Color, Line, LinePoint, Op, Point, Pt, Rgb};
        self.ops.push(Op::SetOutlineColor {
            col: Color::Rgb(Rgb {
                r: 0.4,
                g: 0.4,
                b: 0.4,
                icc_profile: None,
            }),
        });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint {
                        p: Point {
                            x: Pt(x0 * MM),
                            y: Pt(y * MM),
                        },
                        bezier: false,
                    },
                    LinePoint {
                        p: Point {
                            x: Pt(x1 * MM),
                            y: Pt(y * MM),
                        },
                        bezier: false,
                    },
                ],
                is_closed: false,
            },
        });
    }

    /// The agency's name and the issue date, bottom right, stamped with the seal. The seal is
    /// painted first: its red is opaque in the PDF, and a stamp's ink lets the words under it
    /// show, so they go on top.
    fn signature(&mut self, seal_y: f32, agency: &str, issued: &str) {
        self.seal(150.0, seal_y + 2.0, 21.0, agency);
        self.text(118.0, seal_y + 4.0, 11.0, agency);
        self.text(130.0, seal_y - 4.0, 11.0, issued);
    }

    /// The red seal: a ring, a five-pointed star, the agency's name along the upper rim and
    /// "参保证明专用章" under the star. Centre (cx, cy) and radius r in mm.
    fn seal(&mut self, cx: f32, cy: f32, r: f32, name: &str) {
        use printpdf::{
            Color, LinePoint, Op, PaintMode, Point, Polygon, PolygonRing, Pt, Rgb, WindingOrder,
        };
        let red = Color::Rgb(Rgb {
            r: 0.85,
            g: 0.08,
            b: 0.08,
            icc_profile: None,
        });
        let pt = |x: f32, y: f32| LinePoint {
            p: Point {
                x: Pt(x * MM),
                y: Pt(y * MM),
            },
            bezier: false,
        };
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetOutlineColor { col: red.clone() });
        self.ops.push(Op::SetFillColor { col: red.clone() });
        // The ring: two concentric circles filled even-odd.
        let circle = |radius: f32| PolygonRing {
            points: (0..120)
                .map(|k| {
                    let a = (k as f32) * std::f32::consts::TAU / 120.0;
                    pt(cx + radius * a.cos(), cy + radius * a.sin())
                })
                .collect(),
        };
        self.ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![circle(r), circle(r - 1.1)],
                mode: PaintMode::Fill,
                winding_order: WindingOrder::EvenOdd,
            },
        });
        // The star.
        let star_r = r * 0.30;
        let star = PolygonRing {
            points: (0..10)
                .map(|k| {
                    let a = std::f32::consts::FRAC_PI_2 + (k as f32) * std::f32::consts::PI / 5.0;
                    let rr = if k % 2 == 0 { star_r } else { star_r * 0.382 };
                    pt(cx + rr * a.cos(), cy + rr * a.sin())
                })
                .collect(),
        };
        self.ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![star],
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        });
        // The name along the upper rim, left to right, each glyph upright towards the rim.
        let chars: Vec<char> = name.chars().collect();
        let n = chars.len().max(1) as f32;
        let size = (r * 0.36 * MM).min(13.0);
        let glyph_mm = size / MM;
        let text_r = r - 1.8 - glyph_mm;
        let spread = 230.0f32.min(n * 24.0);
        for (k, ch) in chars.iter().enumerate() {
            let phi = 90.0 + spread / 2.0 - spread * (k as f32 + 0.5) / n;
            let rad = phi.to_radians();
            let rot = phi - 90.0;
            let (bx, by) = (cx + text_r * rad.cos(), cy + text_r * rad.sin());
            // Shift back by half a glyph along the baseline so the glyph is centred on phi.
            let (s, c) = rot.to_radians().sin_cos();
            let (x, y) = (bx - glyph_mm / 2.0 * c, by - glyph_mm / 2.0 * s);
            self.text_at(x, y, size, rot, &ch.to_string());
        }
        let label = "参保证明专用章";
        let lsize = size * 0.75;
        let lw = label.chars().count() as f32 * lsize / MM;
        self.text(cx - lw / 2.0, cy - r * 0.62, lsize, label);
        self.ops.push(Op::RestoreGraphicsState);
        self.black();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_under_the_seal_are_painted_over_it() {
        use printpdf::Op;
        let mut p = Painter {
            ops: Vec::new(),
            font: printpdf::FontId::new(),
        };
        p.signature(50.0, "内江市社会保险事业管理局", "2026-12-05 10:00");
        let last = |f: fn(&Op) -> bool| p.ops.iter().rposition(f).unwrap();
        let seal_ends = last(|o| matches!(o, Op::RestoreGraphicsState));
        let seal_fills = last(|o| matches!(o, Op::DrawPolygon { .. }));
        let date = last(|o| matches!(o, Op::ShowText { .. }));
        assert!(
            seal_fills < seal_ends && seal_ends < date,
            "{:?}",
            &p.ops[seal_ends..]
        );
        // The words are black again after the seal's red.
        let black = p.ops[seal_ends..]
            .iter()
            .any(|o| matches!(o, Op::SetFillColor { .. }));
        assert!(black);
    }

    #[test]
    fn codes_normalise_and_refuse_confusables() {
        let c = new_code();
        assert_eq!(c.len(), 14);
        assert_eq!(parse_code(&c.to_lowercase().replace('-', " ")).unwrap(), c);
        assert_eq!(
            parse_code("ABCD-EFGH-JKL0").unwrap_err().code,
            "CERT_CODE_INVALID"
        );
        assert_eq!(
            parse_code("ABCD-EFGH").unwrap_err().code,
            "CERT_CODE_INVALID"
        );
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(agency_for("四川省内江市"), "内江市社会保险事业管理局");
        assert_eq!(agency_for("重庆市"), "重庆市社会保险事业管理局");
    }
}
