//! Production batches: create a batch, download the bank's account-opening file, upload the
//! bank's return file (row-level report).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sscard_service::cards::batches::{self, BatchView, NewBatch, ReturnReport};
use sscard_service::reference::BANKS;

use super::ops::enc;
use super::pages::{region_name, regions};
use super::views::{Chrome, ErrorView, local_time};
use super::{Fields, Msg, Params, Posted, Staff, error_page, render, see_other};
use crate::AppState;
use crate::api::blocking;

/// A batch as listed.
pub struct BatchRow {
    pub batch_no: String,
    pub href: String,
    pub region: String,
    pub bank: String,
    pub status: String,
    pub status_label: String,
    pub cards: usize,
    pub in_production: usize,
    pub created_at: String,
    pub created_by: String,
}

fn bank_name(m: Msg, code: &Option<String>) -> String {
    match code {
        Some(c) => BANKS
            .iter()
            .find(|(k, _, _)| k == c)
            .map(|(k, zh, _)| if m.en { k.to_string() } else { zh.to_string() })
            .unwrap_or_else(|| c.clone()),
        None => String::new(),
    }
}

fn row(m: Msg, b: BatchView) -> BatchRow {
    BatchRow {
        href: format!("/console/batches/{}", enc(&b.batch_no)),
        region: region_name(&b.region_code),
        bank: bank_name(m, &b.bank_code),
        status_label: m.label("batchst", &b.status),
        status: b.status,
        cards: b.cards,
        in_production: b.in_production,
        created_at: local_time(&b.created_at),
        created_by: b.created_by,
        batch_no: b.batch_no,
    }
}

#[derive(Template)]
#[template(path = "console/batches.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<BatchRow>,
    regions: Vec<(String, String)>,
    banks: Vec<(String, String)>,
    error: Option<ErrorView>,
}

async fn list_page(s: &AppState, staff: &Staff, error: Option<ErrorView>) -> Response {
    let m = staff.m;
    let actor = staff.actor();
    let rows = match blocking(&s.app, move |app| batches::list(app, &actor, None)).await {
        Ok(v) => v,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = ListPage {
        c: staff.chrome(m.t("batch.title"), "batches", "/console/batches"),
        rows: rows.into_iter().map(|b| row(m, b)).collect(),
        regions: regions(s).await,
        banks: BANKS
            .iter()
            .map(|(code, zh, _)| (code.to_string(), format!("{zh}({code})")))
            .collect(),
        error,
    };
    render(status, &page)
}

/// `GET /console/batches`: the latest batches and the form to create one.
pub async fn list(State(s): State<AppState>, staff: Staff) -> Response {
    list_page(&s, &staff, None).await
}

/// `POST /console/batches`: creates a batch of every applied card of a region.
pub async fn create(State(s): State<AppState>, staff: Staff, f: Fields) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let actor = staff.actor();
    let req = NewBatch {
        region_code: f.get("region_code").to_string(),
        card_refs: None,
        bank_code: f.opt("bank_code").map(str::to_string),
    };
    match blocking(&s.app, move |app| batches::create(app, &actor, &req)).await {
        Ok(b) => see_other(&format!("/console/batches/{}?created=1", enc(&b.batch_no))),
        Err(e) => {
            let err = ErrorView::of(staff.m, &e.0);
            let mut r = list_page(&s, &staff, Some(err)).await;
            *r.status_mut() = crate::error::status_of(e.0.kind);
            r
        }
    }
}

/// A return file row as shown.
pub struct ReturnRowView {
    pub row: usize,
    pub doc: String,
    pub ok: bool,
    pub card_no: String,
    pub problem: String,
}

#[derive(Template)]
#[template(path = "console/batch.html")]
struct DetailPage {
    c: Chrome,
    b: BatchRow,
    created: bool,
    report: Option<(usize, usize, String)>,
    report_rows: Vec<ReturnRowView>,
    error: Option<ErrorView>,
}

async fn detail_page(
    s: &AppState,
    staff: &Staff,
    batch_no: String,
    created: bool,
    report: Option<ReturnReport>,
    error: Option<ErrorView>,
    status: StatusCode,
) -> Response {
    let m = staff.m;
    let actor = staff.actor();
    let b = match blocking(&s.app, move |app| batches::get(app, &actor, &batch_no)).await {
        Ok(b) => b,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let path = format!("/console/batches/{}", enc(&b.batch_no));
    let (summary, report_rows) = match report {
        Some(r) => (
            Some((
                r.produced,
                r.error_rows,
                m.label("batchst", &r.batch_status),
            )),
            r.rows
                .into_iter()
                .map(|x| ReturnRowView {
                    row: x.row,
                    doc: x.doc_number_masked,
                    ok: x.status == "ok",
                    card_no: x.card_no.unwrap_or_default(),
                    problem: match (x.code, x.message, x.message_en) {
                        (Some(code), zh, en) => {
                            let msg = if m.en { en } else { zh };
                            format!("{code} {}", msg.unwrap_or_default())
                        }
                        _ => String::new(),
                    },
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    let page = DetailPage {
        c: staff.chrome(&b.batch_no, "batches", &path),
        b: row(m, b),
        created,
        report: summary,
        report_rows,
        error,
    };
    render(status, &page)
}

/// `GET /console/batches/{batch_no}`.
pub async fn detail(
    State(s): State<AppState>,
    staff: Staff,
    Path(batch_no): Path<String>,
    Params(q): Params,
) -> Response {
    let created = q.opt("created").is_some();
    detail_page(&s, &staff, batch_no, created, None, None, StatusCode::OK).await
}

/// `GET /console/batches/{batch_no}/bank-file`: the account-opening CSV for the bank.
pub async fn bank_file(
    State(s): State<AppState>,
    staff: Staff,
    Path(batch_no): Path<String>,
) -> Response {
    let actor = staff.actor();
    match blocking(&s.app, move |app| {
        batches::bank_file(app, &actor, &batch_no)
    })
    .await
    {
        Ok(f) => {
            let name: String = f
                .file_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            let mut resp = (StatusCode::OK, f.content).into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(e) => error_page(staff.m, Some(&staff), &e.0),
    }
}

/// `POST /console/batches/{batch_no}/bank-return` (multipart, field `file`): imports the
/// bank's return file and shows the row-level report.
pub async fn bank_return(
    State(s): State<AppState>,
    staff: Staff,
    Path(batch_no): Path<String>,
    posted: Posted,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&posted.fields) {
        return r;
    }
    let m = staff.m;
    let Some(file) = posted.file("file").map(|f| f.bytes.clone()) else {
        let e = sscard_service::ServiceError::new(
            sscard_service::ErrorKind::BadRequest,
            "FILE_REQUIRED",
            "请选择要上传的文件",
            "Choose a file to upload",
        );
        let err = Some(ErrorView::of(m, &e));
        return detail_page(
            &s,
            &staff,
            batch_no,
            false,
            None,
            err,
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let actor = staff.actor();
    let no = batch_no.clone();
    match blocking(&s.app, move |app| {
        batches::bank_return(app, &actor, &no, &file)
    })
    .await
    {
        Ok(report) => {
            detail_page(
                &s,
                &staff,
                batch_no,
                false,
                Some(report),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let status = crate::error::status_of(e.0.kind);
            let err = Some(ErrorView::of(m, &e.0));
            detail_page(&s, &staff, batch_no, false, None, err, status).await
        }
    }
}
