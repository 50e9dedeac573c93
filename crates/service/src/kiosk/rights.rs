//! The personal rights record (个人社会保险权益记录单), printed at the kiosk as an A4 PDF.
//!
//! It summarises the holder's records as the self-service records module computes them
//! ([`person_records`]): basic information (ID number masked), enrolments, pension months and
//! personal account, the medical insurance type and personal-account balance, unemployment
//! contribution months, benefits being paid, and contributions by year. The last page carries
//! the issuing agency's red seal ring and the print time. Printing is audited.

use sscard_domain::clock::to_shanghai;
use sscard_domain::money::Money;

use super::KioskSession;
use crate::App;
use crate::audit::{self, Change};
use crate::error::ServiceError;
use crate::selfservice::records::{PersonRecords, person_records};

/// One line of the document: font size (pt), text, and whether it is a heading.
struct Line {
    size: f32,
    text: String,
    heading: bool,
}

fn line(size: f32, text: impl Into<String>) -> Line {
    Line {
        size,
        text: text.into(),
        heading: false,
    }
}

fn heading(text: impl Into<String>) -> Line {
    Line {
        size: 13.0,
        text: text.into(),
        heading: true,
    }
}

fn yuan(fen: i64) -> String {
    format!("{} 元", Money::from_fen(fen))
}

/// The lines of the record, Chinese first with English headings.
fn lines(r: &PersonRecords, printed_at: &str, terminal: &str) -> Vec<Line> {
    let b = &r.basic;
    let mut out = vec![
        line(18.0, "社会保险个人权益记录单"),
        line(10.0, "Personal social insurance rights record"),
        line(
            10.0,
            format!("打印时间 Printed: {printed_at}    自助终端 Kiosk: {terminal}"),
        ),
        heading("一、基本信息 Basic information"),
        line(
            11.0,
            format!(
                "姓名:{}    性别:{}    出生日期:{}    民族:{}",
                b.name, b.gender_label, b.birth_date, b.ethnicity
            ),
        ),
        line(
            11.0,
            format!(
                "证件号码:{}    参保地:{}({})",
                b.doc_number_masked, b.region_name, b.region_code
            ),
        ),
        heading("二、参保情况 Enrolments"),
    ];
    if r.enrolments.is_empty() {
        out.push(line(11.0, "无参保记录"));
    }
    for e in &r.enrolments {
        out.push(line(
            11.0,
            format!(
                "{}  {}  {}  {} 起{}",
                e.insurance_label,
                e.scheme_label,
                e.status_label,
                e.start_date,
                e.end_date
                    .as_deref()
                    .map(|d| format!(",{d} 止"))
                    .unwrap_or_default()
            ),
        ));
    }
    out.push(heading("三、养老保险 Pension"));
    out.push(line(
        11.0,
        format!(
            "累计缴费月数:{} 个月    个人账户累计:{}{}",
            r.pension.contribution_months,
            yuan(r.pension.personal_account_fen),
            r.pension
                .monthly_pension_fen
                .map(|m| format!("    月养老金:{}", yuan(m)))
                .unwrap_or_default()
        ),
    ));
    out.push(heading("四、医疗保险 Medical insurance"));
    out.push(line(
        11.0,
        format!(
            "险种:{}    个人账户余额:{}",
            r.medical.insurance_type_label,
            r.medical
                .balance_fen
                .map(yuan)
                .unwrap_or_else(|| "无个人账户".into())
        ),
    ));
    out.push(heading(
        "五、失业、工伤、生育保险 Unemployment, work injury, maternity",
    ));
    out.push(line(
        11.0,
        format!(
            "失业保险连续缴费月数:{} 个月{}",
            r.unemployment.continuous_contribution_months,
            r.work_injury
                .disability_grade
                .map(|g| format!("    工伤伤残等级:{g} 级"))
                .unwrap_or_default()
        ),
    ));
    let benefits: Vec<_> = r
        .pension
        .benefits
        .iter()
        .chain(&r.unemployment.benefits)
        .chain(&r.work_injury.benefits)
        .chain(&r.maternity.benefits)
        .chain(&r.assistance.minimum_living)
        .chain(&r.assistance.special_care)
        .collect();
    out.push(heading("六、待遇享受 Benefits"));
    if benefits.is_empty() {
        out.push(line(11.0, "无待遇享受记录"));
    }
    for b in benefits {
        out.push(line(
            11.0,
            format!(
                "{}  {}  {} 起  月发放 {}{}",
                b.kind_label,
                b.status_label,
                b.start_month,
                yuan(b.monthly_fen),
                if b.lump_sum_fen > 0 {
                    format!("  一次性 {}", yuan(b.lump_sum_fen))
                } else {
                    String::new()
                }
            ),
        ));
    }
    out.push(heading("七、历年缴费 Contributions by year"));
    if r.contributions_by_year.is_empty() {
        out.push(line(11.0, "无缴费记录"));
    }
    for y in &r.contributions_by_year {
        out.push(line(
            11.0,
            format!(
                "{} 年:缴费 {} 个月  个人缴纳 {}  单位缴纳 {}",
                y.year,
                y.months,
                yuan(y.personal_fen),
                yuan(y.employer_fen)
            ),
        ));
    }
    out.push(line(
        9.0,
        format!(
            "本记录单数据截至 {},仅供参考,以社会保险经办机构核定为准。咨询电话 12333。",
            r.as_of
        ),
    ));
    out.push(line(
        8.0,
        "For reference only; the social insurance agency's records prevail.",
    ));
    out
}

/// The personal rights record of the session's holder as an A4 PDF (audited).
/// Errors: `KIOSK_PIN_REQUIRED`, those of [`person_records`].
pub fn rights_record_pdf(app: &App, s: &KioskSession) -> Result<Vec<u8>, ServiceError> {
    if !s.ready {
        return Err(super::pin_required());
    }
    let actor = s.actor();
    let records = person_records(app, &actor, s.person_id)?;
    let now = app.now();
    audit::record_alone(
        app,
        &actor,
        Change {
            action: "kiosk.rights_record_printed",
            entity: "person",
            entity_id: &s.person_id.to_string(),
            before: serde_json::Value::Null,
            after: serde_json::json!({"format": "pdf", "terminal": s.terminal_id}),
        },
    )?;
    let printed = to_shanghai(now).format("%Y-%m-%d %H:%M").to_string();
    render(
        "社会保险个人权益记录单",
        &lines(&records, &printed, &s.terminal_id),
    )
}

/// Lays the lines out top-down on as many A4 pages as needed (font subset into the PDF) and
/// draws the red seal ring on the last page.
fn render(title: &str, lines: &[Line]) -> Result<Vec<u8>, ServiceError> {
    use printpdf::{
        Color, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
        Point, Polygon, PolygonRing, Pt, Rgb, TextItem, WindingOrder,
    };
    let font = crate::cards::certificates::font()?;
    let mut doc = PdfDocument::new(title);
    let font_id = doc.add_font(font);
    let red = || Color::Rgb(Rgb::new(0.8, 0.05, 0.05, None));
    let black = || Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None));
    let mut pages = Vec::new();
    let mut ops = Vec::new();
    let mut y = 275.0f32;
    for l in lines {
        let step = l.size * 0.3528 * if l.heading { 2.2 } else { 1.8 };
        if y - step < 20.0 {
            pages.push(PdfPage::new(Mm(210.0), Mm(297.0), std::mem::take(&mut ops)));
            y = 275.0;
        }
        if l.heading {
            y -= l.size * 0.3528 * 0.6;
        }
        ops.push(Op::StartTextSection);
        ops.push(Op::SetFillColor {
            col: if l.heading { red() } else { black() },
        });
        ops.push(Op::SetTextCursor {
            pos: Point {
                x: Mm(18.0).into(),
                y: Mm(y).into(),
            },
        });
        ops.push(Op::SetFont {
            font: PdfFontHandle::External(font_id.clone()),
            size: Pt(l.size),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(l.text.clone())],
        });
        ops.push(Op::EndTextSection);
        y -= step;
    }
    // The seal: a red ring with the agency's words and a star-like centre mark.
    let (cx, cy, r) = (160.0f32, (y - 25.0).max(35.0), 20.0f32);
    let ring: Vec<LinePoint> = (0..72)
        .map(|k| {
            let a = (k as f32) * std::f32::consts::TAU / 72.0;
            LinePoint {
                p: Point {
                    x: Mm(cx + r * a.cos()).into(),
                    y: Mm(cy + r * a.sin()).into(),
                },
                bezier: false,
            }
        })
        .collect();
    ops.push(Op::SetOutlineColor { col: red() });
    ops.push(Op::SetOutlineThickness { pt: Pt(2.0) });
    ops.push(Op::DrawPolygon {
        polygon: Polygon {
            rings: vec![PolygonRing { points: ring }],
            mode: PaintMode::Stroke,
            winding_order: WindingOrder::NonZero,
        },
    });
    for (text, size, dy) in [
        ("社会保险经办机构", 8.0f32, 6.0f32),
        ("★", 14.0, -2.0),
        ("业务专用章", 8.0, -10.0),
    ] {
        let width_mm = text.chars().count() as f32 * size * 0.3528;
        ops.push(Op::StartTextSection);
        ops.push(Op::SetFillColor { col: red() });
        ops.push(Op::SetTextCursor {
            pos: Point {
                x: Mm(cx - width_mm / 2.0).into(),
                y: Mm(cy + dy).into(),
            },
        });
        ops.push(Op::SetFont {
            font: PdfFontHandle::External(font_id.clone()),
            size: Pt(size),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        });
        ops.push(Op::EndTextSection);
    }
    pages.push(PdfPage::new(Mm(210.0), Mm(297.0), ops));
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..Default::default()
    };
    let mut warnings = Vec::new();
    Ok(doc.with_pages(pages).save(&options, &mut warnings))
}
