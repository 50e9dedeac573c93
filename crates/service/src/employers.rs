//! Employers (参保单位). A unified social credit code whose check character fails is refused,
//! unless a supervisor records an override: some pilot-era codes are real yet fail the checksum.

use serde::Serialize;
use sscard_domain::Coded;
use sscard_domain::ids::{CreditCode, CreditCodeError, RegionCode};
use sscard_store::StoreError;
use sscard_store::repo::persons as repo;

use crate::App;
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// An employer as shown to staff and channels.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmployerView {
    pub employer_no: String,
    pub credit_code: String,
    /// Who accepted a credit code whose check character fails (pilot-era codes), if anyone.
    pub credit_code_override_by: Option<String>,
    pub name: String,
    pub region_code: String,
}

impl From<repo::EmployerRow> for EmployerView {
    fn from(r: repo::EmployerRow) -> Self {
        EmployerView {
            employer_no: r.employer_no,
            credit_code: r.credit_code,
            credit_code_override_by: r.credit_code_override_by,
            name: r.name,
            region_code: r.region_code,
        }
    }
}

/// What registering an employer needs.
#[derive(Debug, Clone)]
pub struct NewEmployer {
    pub credit_code: String,
    pub name: String,
    pub region_code: String,
    pub address: String,
    /// Accept a credit code whose check character fails. Only a supervisor may.
    pub override_checksum: bool,
}

/// Registers an employer. Refusals: an invalid region or credit code (the domain's codes),
/// `CREDIT_CODE_OVERRIDE_FORBIDDEN` when a non-supervisor asks for the checksum override,
/// `EMPLOYER_NAME_REQUIRED`, `EMPLOYER_EXISTS`.
pub fn register(app: &App, actor: &Actor, e: &NewEmployer) -> Result<EmployerView, ServiceError> {
    let region = RegionCode::parse(&e.region_code).map_err(|err| ServiceError::invalid(&err))?;
    let name = e.name.trim();
    if name.is_empty() {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "EMPLOYER_NAME_REQUIRED",
            "请填写单位名称",
            "The employer's name is required",
        ));
    }
    let code = match CreditCode::parse(&e.credit_code) {
        Ok(c) => c,
        Err(err @ CreditCodeError::CheckChar { .. }) => {
            if !e.override_checksum {
                return Err(ServiceError::invalid(&err));
            }
            if actor.role != "supervisor" {
                return Err(ServiceError::new(
                    ErrorKind::Forbidden,
                    "CREDIT_CODE_OVERRIDE_FORBIDDEN",
                    format!(
                        "{}。只有业务主管可以确认校验位不符的试点期代码",
                        err.message_zh()
                    ),
                    format!(
                        "{} Only a supervisor may accept a pilot-era code that fails its checksum",
                        err.message_en()
                    ),
                ));
            }
            CreditCode::parse_with_override(&e.credit_code)
                .map_err(|err| ServiceError::invalid(&err))?
        }
        Err(err) => return Err(ServiceError::invalid(&err)),
    };
    let override_by = (!code.checksum_ok()).then(|| actor.username.clone());
    let now = app.now();
    app.store().write(|tx| {
        let row = repo::insert_employer(
            tx,
            &repo::NewEmployer {
                credit_code: code.as_str(),
                credit_code_override_by: override_by.as_deref(),
                name,
                region_code: region.as_str(),
                address: e.address.trim(),
            },
            now,
        )
        .map_err(|err| match err {
            StoreError::Constraint(_) => ServiceError::new(
                ErrorKind::Conflict,
                "EMPLOYER_EXISTS",
                format!("统一社会信用代码 {} 的单位已登记", code.as_str()),
                format!(
                    "An employer with credit code {} is already registered",
                    code.as_str()
                ),
            ),
            other => other.into(),
        })?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "employer.register",
                entity: "employer",
                entity_id: &row.employer_no,
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "credit_code": row.credit_code,
                    "name": row.name,
                    "region_code": row.region_code,
                    "credit_code_override_by": row.credit_code_override_by,
                }),
            },
        )?;
        Ok(EmployerView::from(row))
    })
}

/// Finds an employer by employer number or credit code.
pub fn find(app: &App, key: &str) -> Result<EmployerView, ServiceError> {
    app.store()
        .read(|tx| repo::employer_by_no(tx, key.trim()))?
        .map(EmployerView::from)
        .ok_or_else(|| {
            ServiceError::not_found(
                "EMPLOYER_NOT_FOUND",
                format!("未找到单位 {}", key.trim()),
                format!("No employer {}", key.trim()),
            )
        })
}
