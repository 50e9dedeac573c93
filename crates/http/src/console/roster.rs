//! Employer roster import (CSV/XLSX, with photos) and its row-level report. A file with row
//! errors imports nothing unless the clerk ticks "import the valid rows".

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sscard_service::cards::roster::{self, RosterFormat, RosterImport, RosterReport};
use sscard_service::{ErrorKind, ServiceError};

use super::pages::regions;
use super::views::{Chrome, ErrorView};
use super::{Msg, Posted, Staff, render};
use crate::AppState;
use crate::api::blocking;

/// A report row as shown.
pub struct RowView {
    pub row: usize,
    pub name: String,
    pub doc: String,
    pub ok: bool,
    pub code: String,
    pub message: String,
}

/// The report as shown.
pub struct ReportView {
    pub total: usize,
    pub ok: usize,
    pub errors: usize,
    pub imported: bool,
    pub cards: usize,
    pub persons: usize,
    pub rows: Vec<RowView>,
}

fn report_view(m: Msg, r: RosterReport) -> ReportView {
    ReportView {
        total: r.total_rows,
        ok: r.ok_rows,
        errors: r.error_rows,
        imported: r.imported,
        cards: r.cards_created,
        persons: r.persons_created,
        rows: r
            .rows
            .into_iter()
            .map(|x| RowView {
                row: x.row,
                name: x.name,
                doc: x.doc_number_masked,
                ok: x.status == "ok",
                code: x.code.unwrap_or_default(),
                message: (if m.en { x.message_en } else { x.message }).unwrap_or_default(),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "console/roster.html")]
struct RosterPage {
    c: Chrome,
    regions: Vec<(String, String)>,
    region: String,
    employer: String,
    import_valid: bool,
    report: Option<ReportView>,
    error: Option<ErrorView>,
}

async fn page_of(
    s: &AppState,
    staff: &Staff,
    form: (&str, &str, bool),
    report: Option<ReportView>,
    error: Option<ErrorView>,
    status: StatusCode,
) -> Response {
    let page = RosterPage {
        c: staff.chrome(staff.m.t("roster.title"), "roster", "/console/roster"),
        regions: regions(s).await,
        region: form.0.to_string(),
        employer: form.1.to_string(),
        import_valid: form.2,
        report,
        error,
    };
    render(status, &page)
}

/// `GET /console/roster`.
pub async fn page(State(s): State<AppState>, staff: Staff) -> Response {
    page_of(&s, &staff, ("", "", false), None, None, StatusCode::OK).await
}

/// `POST /console/roster` (multipart: `file`, `photos`…, `employer`, `region_code`,
/// `import_valid_rows`).
pub async fn upload(State(s): State<AppState>, staff: Staff, posted: Posted) -> Response {
    if let Some(r) = staff.csrf_refusal(&posted.fields) {
        return r;
    }
    let m = staff.m;
    let f = &posted.fields;
    let form = (
        f.get("region_code").to_string(),
        f.get("employer").to_string(),
        f.checked("import_valid_rows"),
    );
    let form_ref = (form.0.as_str(), form.1.as_str(), form.2);
    let Some(file) = posted.file("file") else {
        let e = ServiceError::new(
            ErrorKind::BadRequest,
            "FILE_REQUIRED",
            "请选择要上传的文件",
            "Choose a file to upload",
        );
        let err = Some(ErrorView::of(m, &e));
        return page_of(&s, &staff, form_ref, None, err, StatusCode::BAD_REQUEST).await;
    };
    let photos: HashMap<String, Vec<u8>> = posted
        .files
        .iter()
        .filter(|p| p.field == "photos")
        .map(|p| (p.file_name.clone(), p.bytes.clone()))
        .collect();
    let req = RosterImport {
        format: RosterFormat::from_file_name(&file.file_name),
        file: file.bytes.clone(),
        photos,
        region_code: f.opt("region_code").map(str::to_string),
        employer: f.opt("employer").map(str::to_string),
        import_valid_rows: form.2,
    };
    let actor = staff.actor();
    match blocking(&s.app, move |app| roster::import(app, &actor, &req)).await {
        Ok(r) => {
            let report = Some(report_view(m, r));
            page_of(&s, &staff, form_ref, report, None, StatusCode::OK).await
        }
        Err(e) => {
            let status = crate::error::status_of(e.0.kind);
            let err = Some(ErrorView::of(m, &e.0));
            page_of(&s, &staff, form_ref, None, err, status).await
        }
    }
}
