//! The statistics dashboard at `/console/stats` (administrators and auditors): card activity
//! per month, settlements per day, PIN locks per day, 12333 calls by menu, each as a chart
//! (server-rendered SVG drawn with plotters' SVG backend, embedded in the page: no script, no
//! external resource) and a table; every table exports as CSV and XLSX
//! (`/console/stats/export/{table}.csv|.xlsx`, same `?region=` as the page).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plotters::prelude::*;
use sscard_service::ServiceError;
use sscard_service::stats::{self, CARD_MEASURES, Cell, Dashboard, Table};

use super::admin::L;
use super::pages::{region_name, regions};
use super::views::Chrome;
use super::{Msg, Params, Staff, error_page, render};
use crate::AppState;
use crate::api::blocking;

/// Chart colours (the console's palette).
const COLOURS: [RGBColor; 6] = [
    RGBColor(0xb3, 0x1b, 0x1b),
    RGBColor(0x0b, 0x57, 0xd0),
    RGBColor(0x2e, 0x7d, 0x32),
    RGBColor(0xe6, 0x8a, 0x00),
    RGBColor(0x6a, 0x1b, 0x9a),
    RGBColor(0x55, 0x5f, 0x6b),
];

const FONT: &str = "sans-serif";

/// Yuan with two decimals in XLSX cells.
const MONEY_FORMAT: &str = "0.00";

/// A line chart of several series over labelled points, as SVG text.
pub fn line_chart(title: &str, labels: &[String], series: &[(String, Vec<i64>)]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 300)).into_drawing_area();
        let _ = draw_lines(&root, title, labels, series);
        let _ = root.present();
    }
    svg
}

fn draw_lines(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    labels: &[String],
    series: &[(String, Vec<i64>)],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = labels.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 16))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(
            0f64..((n as f64) - 1.0).max(1.0),
            0f64..(max as f64 * 1.1 + 1.0),
        )?;
    chart
        .configure_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            labels.get(i as usize).cloned().unwrap_or_default()
        })
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_labels(6)
        .light_line_style(RGBColor(0xee, 0xf1, 0xf4))
        .label_style((FONT, 11))
        .draw()?;
    for (k, (name, values)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64, *v as f64)),
                colour.stroke_width(2),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xd8, 0xdd, 0xe3))
        .label_font((FONT, 11))
        .draw()?;
    Ok(())
}

/// A bar chart of one value per labelled bar, as SVG text; `yuan` shows fen as yuan.
pub fn bar_chart(title: &str, bars: &[(String, i64)], colour: usize, yuan: bool) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 300)).into_drawing_area();
        let _ = draw_bars(&root, title, bars, COLOURS[colour % COLOURS.len()], yuan);
        let _ = root.present();
    }
    svg
}

fn draw_bars(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    bars: &[(String, i64)],
    colour: RGBColor,
    yuan: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 16))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n - 0.5), 0f64..(max as f64 * 1.1 + 1.0))?;
    let step = (bars.len() / 10).max(1);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len() + 1)
        .x_label_formatter(&|x| {
            // Bar i is centred on x = i.
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 || !(i as usize).is_multiple_of(step) {
                return String::new();
            }
            bars.get(i as usize)
                .map(|b| b.0.clone())
                .unwrap_or_default()
        })
        .y_labels(6)
        .y_label_formatter(&|v| {
            if yuan {
                format!("{:.0}", v / 100.0)
            } else {
                format!("{v:.0}")
            }
        })
        .light_line_style(RGBColor(0xee, 0xf1, 0xf4))
        .label_style((FONT, 11))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
        let i = i as f64;
        Rectangle::new([(i - 0.4, 0.0), (i + 0.4, *v as f64)], colour.filled())
    }))?;
    Ok(())
}

/// A table as the page shows it.
pub struct TableView {
    pub name: &'static str,
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    /// Cells as text, and whether the column is numeric.
    pub rows: Vec<Vec<(String, bool)>>,
    pub csv_href: String,
    pub xlsx_href: String,
}

fn table_view(m: Msg, t: &Table, region_q: &str) -> TableView {
    TableView {
        name: t.name,
        title: if m.en { t.title_en } else { t.title_zh },
        headers: t
            .columns
            .iter()
            .map(|(_, zh, en)| if m.en { *en } else { *zh })
            .collect(),
        rows: t
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| (c.text(), !matches!(c, Cell::Text(_))))
                    .collect()
            })
            .collect(),
        csv_href: format!("/console/stats/export/{}.csv{region_q}", t.name),
        xlsx_href: format!("/console/stats/export/{}.xlsx{region_q}", t.name),
    }
}

#[derive(Template)]
#[template(path = "admin/stats.html")]
struct StatsPage {
    c: Chrome,
    a: L,
    regions: Vec<(String, String)>,
    region: String,
    charts: Vec<(String, String)>,
    tables: Vec<TableView>,
}

fn short_day(d: &str) -> String {
    d.get(5..).unwrap_or(d).to_string()
}

fn charts(m: Msg, a: L, d: &Dashboard) -> Vec<(String, String)> {
    let months: Vec<String> = d.months.iter().map(|x| short_day(x)).collect();
    let totals = d.card_totals();
    let series: Vec<(String, Vec<i64>)> = CARD_MEASURES
        .iter()
        .enumerate()
        .map(|(k, (_, _, zh, en))| {
            (
                (if m.en { *en } else { *zh }).to_string(),
                totals.iter().map(|(_, c)| c[k]).collect(),
            )
        })
        .collect();
    let settled: Vec<(String, i64)> = d
        .settlement_totals()
        .into_iter()
        .map(|(day, fen, _)| (short_day(&day), fen))
        .collect();
    let locks: Vec<(String, i64)> = d
        .pin_lock_totals()
        .into_iter()
        .map(|(day, n)| (short_day(&day), n))
        .collect();
    let ivr: Vec<(String, i64)> = d
        .ivr_totals()
        .into_iter()
        .take(12)
        .map(|(menu, n)| (if menu.is_empty() { "-".into() } else { menu }, n))
        .collect();
    vec![
        (
            "chart-cards".into(),
            line_chart(a.l("stats.chart_cards"), &months, &series),
        ),
        (
            "chart-settlements".into(),
            bar_chart(a.l("stats.chart_settlements"), &settled, 1, true),
        ),
        (
            "chart-pin-locks".into(),
            bar_chart(a.l("stats.chart_pin_locks"), &locks, 3, false),
        ),
        (
            "chart-ivr".into(),
            bar_chart(a.l("stats.chart_ivr"), &ivr, 2, false),
        ),
    ]
}

/// `GET /console/stats?region=…`: the dashboard.
pub async fn dashboard(State(s): State<AppState>, staff: Staff, Params(q): Params) -> Response {
    let m = staff.m;
    let a = L(m);
    let actor = staff.actor();
    let region = q.get("region").to_string();
    let r = region.clone();
    let d = match blocking(&s.app, move |app| {
        stats::dashboard(app, &actor, Some(r.as_str()).filter(|r| !r.is_empty()))
    })
    .await
    {
        Ok(d) => d,
        Err(e) => return error_page(m, Some(&staff), &e.0),
    };
    let region_q = if region.is_empty() {
        String::new()
    } else {
        format!("?region={region}")
    };
    let page = StatsPage {
        c: staff.chrome(a.l("stats.title"), "stats", "/console/stats"),
        a,
        regions: regions(&s)
            .await
            .into_iter()
            .map(|(code, _)| (code.clone(), region_name(&code)))
            .collect(),
        charts: charts(m, a, &d),
        tables: stats::TABLES
            .iter()
            .filter_map(|n| d.table(n))
            .map(|t| table_view(m, &t, &region_q))
            .collect(),
        region,
    };
    render(StatusCode::OK, &page)
}

/// Quotes a CSV field when needed (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The table as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese
/// right): a header of column keys, then the rows; money in yuan.
pub fn to_csv(t: &Table) -> String {
    let mut out = String::from("\u{feff}");
    let header: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for r in &t.rows {
        let cells: Vec<String> = r.iter().map(|c| csv_field(&c.text())).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The table as an XLSX workbook: one sheet, a header row of labels in the language asked
/// for, numbers as numbers (money in yuan with two decimals).
pub fn to_xlsx(t: &Table, m: Msg) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format(MONEY_FORMAT);
    let ws = wb.add_worksheet();
    ws.set_name(t.name)?;
    for (j, (_, zh, en)) in t.columns.iter().enumerate() {
        ws.write_string_with_format(0, j as u16, if m.en { *en } else { *zh }, &bold)?;
        ws.set_column_width(j as u16, 16)?;
    }
    for (i, r) in t.rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (j, c) in r.iter().enumerate() {
            let col = j as u16;
            match c {
                Cell::Text(s) => ws.write_string(row, col, s)?,
                Cell::Int(n) => ws.write_number(row, col, *n as f64)?,
                Cell::Fen(f) => ws.write_number_with_format(row, col, *f as f64 / 100.0, &money)?,
            };
        }
    }
    wb.save_to_buffer()
}

/// `GET /console/stats/export/{table}.{csv|xlsx}?region=…`.
pub async fn export(
    State(s): State<AppState>,
    staff: Staff,
    Path(file): Path<String>,
    Params(q): Params,
) -> Response {
    let m = staff.m;
    let (name, ext) = file.rsplit_once('.').unwrap_or((file.as_str(), ""));
    if !matches!(ext, "csv" | "xlsx") {
        return error_page(
            m,
            Some(&staff),
            &ServiceError::not_found(
                "EXPORT_FORMAT_UNKNOWN",
                "导出格式只能是 csv 或 xlsx",
                "Exports are .csv or .xlsx",
            ),
        );
    }
    let (name, ext) = (name.to_string(), ext.to_string());
    let actor = staff.actor();
    let region = q.get("region").to_string();
    let n = name.clone();
    let t = match blocking(&s.app, move |app| {
        stats::table(
            app,
            &actor,
            &n,
            Some(region.as_str()).filter(|r| !r.is_empty()),
        )
    })
    .await
    {
        Ok(t) => t,
        Err(e) => return error_page(m, Some(&staff), &e.0),
    };
    let (body, ctype) = if ext == "csv" {
        (to_csv(&t).into_bytes(), "text/csv; charset=utf-8")
    } else {
        match to_xlsx(&t, m) {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            Err(e) => {
                return error_page(m, Some(&staff), &ServiceError::internal(e));
            }
        }
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"sscard-{name}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_without_external_resources() {
        let svg = line_chart(
            "x",
            &["01".into(), "02".into()],
            &[("a".into(), vec![1, 5]), ("b".into(), vec![0, 2])],
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<polyline") || svg.contains("<path"), "{svg}");
        assert!(
            !svg.contains("http://") || !svg.contains("href"),
            "no external links"
        );
        let bars = bar_chart("y", &[("a".into(), 100), ("b".into(), 250)], 0, true);
        assert!(bars.matches("<rect").count() >= 2, "{bars}");
        // No data at all still draws an empty chart.
        assert!(bar_chart("z", &[], 0, false).starts_with("<svg"));
    }

    #[test]
    fn csv_quotes_and_has_a_bom() {
        let t = Table {
            name: "t",
            title_zh: "",
            title_en: "",
            columns: vec![("a", "甲", "A"), ("b", "乙", "B")],
            rows: vec![vec![Cell::Text("x,\"y\"".into()), Cell::Fen(1234)]],
        };
        assert_eq!(to_csv(&t), "\u{feff}a,b\r\n\"x,\"\"y\"\"\",12.34\r\n");
    }
}
