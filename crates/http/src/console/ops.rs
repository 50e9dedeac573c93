//! The operation forms of the person page and the new applicant's form. Each handler checks
//! the CSRF token, calls one service function on the blocking pool and either redirects back
//! to the person page (303, with what was done) or shows the page again with the service's
//! error next to the form.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use sscard_domain::ids::DocumentType;
use sscard_domain::person::Gender;
use sscard_service::cards::approval::SupervisorApproval;
use sscard_service::cards::cancel::{self, CancelReason, CancelRequest};
use sscard_service::cards::collect::{self, Collection, Proxy};
use sscard_service::cards::death::{self, DeathRecord, HeirRequest, HeirStatement};
use sscard_service::cards::loss::{self, LiftRequest, LossKind, LossRequest};
use sscard_service::cards::replace::{self, CorrectionRequest, ReplaceRequest};
use sscard_service::cards::temporary::{self, TemporaryCardRequest};
use sscard_service::cards::{apply, certificates, pin, reissue};
use sscard_service::{App, ErrorKind, ServiceError};

use super::pages::{ApplyPage, FormError, HeirView, doc_types, load_person, person_page, regions};
use super::views::{ErrorView, local_time, yuan};
use super::{Msg, Posted, Staff, error_page, render, see_other};
use crate::AppState;
use crate::api::blocking;

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn bad(code: &'static str, zh: &str, en: &str) -> ServiceError {
    ServiceError::new(ErrorKind::BadRequest, code, zh, en)
}

fn parse_date(raw: &str) -> Result<Option<NaiveDate>, ServiceError> {
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            bad(
                "DATE_INVALID",
                "日期格式应为 YYYY-MM-DD",
                "Dates are written YYYY-MM-DD",
            )
        })
}

fn approval(f: &super::Fields) -> SupervisorApproval {
    SupervisorApproval {
        username: f.get("sup_username").to_string(),
        password: f
            .0
            .iter()
            .rev()
            .find(|(k, _)| k == "sup_password")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    }
}

/// What a successful operation leads to.
#[derive(Default)]
struct Outcome {
    /// A line for the success banner.
    info: Option<String>,
    /// A pickup certificate to link to.
    cert: Option<String>,
    /// A heir's statement to show (no redirect).
    heir: Option<HeirStatement>,
}

fn fee_text(m: Msg, fee: Option<(i64, String)>) -> String {
    match fee {
        Some((fen, receipt)) if fen > 0 => {
            if m.en {
                format!("Fee {} yuan, receipt {receipt}.", yuan(fen))
            } else {
                format!("收费 {} 元,收据号 {receipt}。", yuan(fen))
            }
        }
        _ => m.pick("免费。", "Free of charge.").to_string(),
    }
}

/// Runs one operation of the person page.
fn run(
    app: &App,
    staff: &Staff,
    person_ref: i64,
    action: &str,
    posted: &Posted,
) -> Result<Outcome, ServiceError> {
    let m = staff.m;
    let actor = staff.actor();
    let f = &posted.fields;
    let card_no = f.get("card_no");
    let doc = f.get("presented_doc_number").to_string();
    let person = sscard_service::persons::detail_by_ref(app, &actor, person_ref)?.person;
    let mut out = Outcome::default();
    match action {
        "apply" => {
            let r = apply::apply(
                app,
                &actor,
                &apply::Application {
                    doc_type: DocumentType::parse(&person.doc_type),
                    doc_number: person.doc_number.clone(),
                    name: person.name.clone(),
                    phone: f.get("phone").to_string(),
                    address: f.get("address").to_string(),
                    photo: posted.file("photo").map(|p| p.bytes.clone()),
                    ..Default::default()
                },
            )?;
            out.info = Some(fee_text(m, r.receipt_no.map(|no| (r.fee_fen, no))));
        }
        "temporary" => {
            let r = temporary::issue(
                app,
                &actor,
                &TemporaryCardRequest {
                    doc_number: person.doc_number.clone(),
                    presented_doc_number: Some(doc.to_string()),
                    reason: f.get("reason").to_string(),
                    proof_ref: f.get("proof_ref").to_string(),
                },
            )?;
            let no = r.card.card_no.unwrap_or_default();
            out.info = Some(if m.en {
                format!("Temporary card {no}, valid until {}.", r.expires_on)
            } else {
                format!("临时卡 {no},有效期至 {}。", r.expires_on)
            });
        }
        "death" => {
            let died_on = parse_date(f.get("died_on"))?.ok_or_else(|| {
                bad(
                    "DEATH_DATE_INVALID",
                    "请填写死亡日期",
                    "Enter the date of death",
                )
            })?;
            death::record_death(
                app,
                &actor,
                &DeathRecord {
                    doc_number: person.doc_number.clone(),
                    died_on,
                    death_certificate_no: f.get("death_certificate_no").to_string(),
                },
            )?;
        }
        "heir" => {
            out.heir = Some(death::heir_statement(
                app,
                &actor,
                &HeirRequest {
                    deceased_doc_number: person.doc_number.clone(),
                    heir_name: f.get("heir_name").to_string(),
                    heir_doc_type: f.get("heir_doc_type").to_string(),
                    heir_doc_number: f.get("heir_doc_number").to_string(),
                    relationship: f.get("relationship").to_string(),
                    death_certificate_no: f.get("death_certificate_no").to_string(),
                },
            )?);
        }
        "heir_pay" => {
            let claim: i64 = f.get("claim_id").parse().map_err(|_| {
                ServiceError::not_found(
                    "HEIR_CLAIM_NOT_FOUND",
                    "无此继承申请",
                    "No such heir claim",
                )
            })?;
            let r = death::pay_heir(app, &actor, claim, &approval(f))?;
            out.info = Some(if m.en {
                format!(
                    "{} yuan paid to {}, approved by {}.",
                    yuan(r.amount_fen),
                    r.heir_name,
                    r.approved_by
                )
            } else {
                format!(
                    "已向 {} 支付 {} 元,审批人 {}。",
                    r.heir_name,
                    yuan(r.amount_fen),
                    r.approved_by
                )
            });
        }
        "collect" => {
            let proxy = f.checked("proxy").then(|| Proxy {
                name: f.get("proxy_name").to_string(),
                doc_type: None,
                doc_number: f.get("proxy_doc_number").to_string(),
                authorisation_ref: f.get("authorisation_ref").to_string(),
            });
            collect::collect(
                app,
                &actor,
                card_no,
                &Collection {
                    presented_doc_number: doc,
                    proxy,
                },
            )?;
        }
        "loss_temporary" | "loss_written" => {
            let kind = if action == "loss_written" {
                LossKind::Written
            } else {
                LossKind::Temporary
            };
            let r = loss::report(
                app,
                &actor,
                card_no,
                &LossRequest {
                    kind,
                    pin: None,
                    presented_doc_number: Some(doc),
                },
            )?;
            if let Some(until) = r.expires_at {
                let until = local_time(&until);
                out.info = Some(if m.en {
                    format!("The report lapses at {until} unless made written.")
                } else {
                    format!("临时挂失有效至 {until},逾期未办理书面挂失自动失效。")
                });
            }
        }
        "lift_loss" => {
            loss::lift(
                app,
                &actor,
                card_no,
                &LiftRequest {
                    presented_doc_number: doc,
                    presented_card_no: f.get("presented_card_no").to_string(),
                },
            )?;
        }
        "pin_reset" => {
            let r = pin::reset(app, &actor, card_no, &doc, f.opt("new_pin"))?;
            if !r.pin_changed {
                out.info = Some(
                    m.pick(
                        "密码已恢复为初始密码。",
                        "The PIN is back to the initial PIN.",
                    )
                    .to_string(),
                );
            }
        }
        "pin_unlock" => pin::unlock(app, &actor, card_no, &doc)?,
        "query_password_reset" => {
            sscard_service::selfservice::auth::reset_query_password(
                app,
                &actor,
                person.person_ref,
                &doc,
            )?;
            out.info = Some(
                m.pick(
                    "网上查询密码已恢复为初始密码,本人下次登录时须修改。",
                    "The online query password is back to the initial one; the holder must change it at the next login.",
                )
                .to_string(),
            );
        }
        "reissue" => {
            let r = reissue::reissue(
                app,
                &actor,
                &reissue::ReissueRequest {
                    card_no: card_no.to_string(),
                    presented_doc_number: doc,
                },
            )?;
            let fee = fee_text(m, r.fee.map(|f| (f.amount_fen, f.receipt_no)));
            out.info = Some(if m.en {
                format!(
                    "The new card will be ready on {}. {fee}",
                    r.certificate.ready_date
                )
            } else {
                format!("新卡预计 {} 可领取。{fee}", r.certificate.ready_date)
            });
            out.cert = Some(r.certificate.cert_no);
        }
        "replace" => {
            let quality = f.get("fault") == "quality";
            let r = replace::replace_damaged(
                app,
                &actor,
                &ReplaceRequest {
                    card_no: card_no.to_string(),
                    presented_doc_number: doc,
                    quality_fault: quality,
                    damage: f.get("damage").to_string(),
                    approval: quality.then(|| approval(f)),
                },
            )?;
            out.info = Some(fee_text(m, r.fee.map(|f| (f.amount_fen, f.receipt_no))));
        }
        "correct" => {
            replace::correct(
                app,
                &actor,
                &CorrectionRequest {
                    card_no: card_no.to_string(),
                    presented_doc_number: doc,
                    name: f.opt("name").map(str::to_string),
                    gender: f.opt("gender").map(str::to_string),
                    birth_date: parse_date(f.get("birth_date"))?,
                    ethnicity: f.opt("ethnicity").map(str::to_string),
                },
            )?;
        }
        "cancel" => {
            let r = cancel::cancel(
                app,
                &actor,
                &CancelRequest {
                    card_no: card_no.to_string(),
                    reason: CancelReason::parse(f.get("reason"))?,
                    presented_doc_number: doc,
                    card_returned: f.checked("card_returned"),
                },
            )?;
            if !r.also_cancelled.is_empty() {
                out.info = Some(r.also_cancelled.join(", "));
            }
        }
        _ => {
            return Err(ServiceError::not_found(
                "ACTION_UNKNOWN",
                "没有这项业务",
                "No such operation",
            ));
        }
    }
    Ok(out)
}

fn heir_view(m: Msg, h: HeirStatement) -> HeirView {
    HeirView {
        claim_id: h.claim_id,
        claim_status: h.claim_status,
        deceased: format!("{} {}", h.deceased_name, h.deceased_doc_masked),
        died_on: h.died_on.unwrap_or_default(),
        medical_balance: yuan(h.medical_balance_fen),
        pension: yuan(h.pension_accumulation_fen),
        already_paid: h.already_paid,
        cards: h
            .cards
            .into_iter()
            .map(|c| {
                (
                    c.card_no.unwrap_or_default(),
                    m.pick(&c.status_label, &c.status_label_en).to_string(),
                )
            })
            .collect(),
        recent: h
            .medical_recent
            .into_iter()
            .map(|e| (local_time(&e.at), e.kind, yuan(e.amount_fen)))
            .collect(),
    }
}

/// `POST /console/persons/{id}/{action}`: one operation of the person page (URL-encoded, or
/// multipart for the application's photo). Card operations name the card in `card_no`.
pub async fn person_action(
    State(s): State<AppState>,
    staff: Staff,
    Path((id, action)): Path<(i64, String)>,
    posted: Posted,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&posted.fields) {
        return r;
    }
    let m = staff.m;
    let card_no = posted.fields.get("card_no").to_string();
    let (st, act) = (staff.clone(), action.clone());
    let result = blocking(&s.app, move |app| run(app, &st, id, &act, &posted)).await;
    match result {
        Ok(out) => {
            if let Some(h) = out.heir {
                let (d, f) = match load_person(&s, &staff, id).await {
                    Ok(x) => x,
                    Err(r) => return r,
                };
                let mut page = person_page(&staff, d, f, None, None);
                page.heir = Some(heir_view(m, h));
                return render(StatusCode::OK, &page);
            }
            let mut to = format!("/console/persons/{id}?done={}", enc(&action));
            if let Some(info) = out.info {
                to.push_str(&format!("&info={}", enc(&info)));
            }
            if let Some(cert) = out.cert {
                to.push_str(&format!("&cert={}", enc(&cert)));
            }
            see_other(&to)
        }
        Err(e) => {
            if e.0.code == "ACTION_UNKNOWN" {
                return error_page(m, Some(&staff), &e.0);
            }
            let (d, f) = match load_person(&s, &staff, id).await {
                Ok(x) => x,
                Err(r) => return r,
            };
            let mut page = person_page(&staff, d, f, None, None);
            page.error = Some(FormError {
                action,
                card_no,
                error: ErrorView::of(m, &e.0),
            });
            render(crate::error::status_of(e.0.kind), &page)
        }
    }
}

/// `POST /console/apply`: registers a new person and applies for their card (multipart with
/// the photo).
pub async fn apply_new(State(s): State<AppState>, staff: Staff, posted: Posted) -> Response {
    if let Some(r) = staff.csrf_refusal(&posted.fields) {
        return r;
    }
    let m = staff.m;
    let f = posted.fields.clone();
    let actor = staff.actor();
    let req = (|| -> Result<apply::Application, ServiceError> {
        Ok(apply::Application {
            doc_type: Some(
                DocumentType::parse(f.get("doc_type")).unwrap_or(DocumentType::CitizenId),
            ),
            doc_number: f.get("doc_number").to_string(),
            name: f.get("name").to_string(),
            gender: f.opt("gender").and_then(Gender::parse),
            birth_date: parse_date(f.get("birth_date"))?,
            phone: f.get("phone").to_string(),
            address: f.get("address").to_string(),
            region_code: f.opt("region_code").map(str::to_string),
            photo: posted.file("photo").map(|p| p.bytes.clone()),
        })
    })();
    let result = match req {
        Ok(req) => blocking(&s.app, move |app| apply::apply(app, &actor, &req))
            .await
            .map_err(|e| e.0),
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => {
            let info = fee_text(m, r.receipt_no.map(|no| (r.fee_fen, no)));
            see_other(&format!(
                "/console/persons/{}?done=apply&info={}",
                r.person_ref,
                enc(&info)
            ))
        }
        Err(e) => {
            let page = ApplyPage {
                c: staff.chrome(m.t("apply.title"), "search", "/console/apply"),
                doc_types: doc_types(m),
                regions: regions(&s).await,
                doc_type: f.get("doc_type").to_string(),
                doc_number: f.get("doc_number").to_string(),
                name: f.get("name").to_string(),
                gender: f.get("gender").to_string(),
                birth_date: f.get("birth_date").to_string(),
                phone: f.get("phone").to_string(),
                address: f.get("address").to_string(),
                region: f.get("region_code").to_string(),
                error: Some(ErrorView::of(m, &e)),
            };
            render(crate::error::status_of(e.kind), &page)
        }
    }
}

/// `GET /console/certificates/{cert_no}`: the pickup certificate as a PDF (printing is
/// audited by the service).
pub async fn certificate_pdf(
    State(s): State<AppState>,
    staff: Staff,
    Path(cert): Path<String>,
) -> Response {
    let actor = staff.actor();
    let c = cert.clone();
    match blocking(&s.app, move |app| certificates::pdf(app, &actor, &c)).await {
        Ok(bytes) => {
            let name: String = cert
                .chars()
                .filter(|ch| ch.is_ascii_alphanumeric())
                .collect();
            let mut resp = (StatusCode::OK, bytes).into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}.pdf\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(e) => error_page(staff.m, Some(&staff), &e.0),
    }
}
