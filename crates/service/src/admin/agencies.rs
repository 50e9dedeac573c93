//! Agencies (经办机构): the card centre, service centres, bureaus and counters. Created,
//! edited, closed and reopened; never deleted (cards and staff refer to them).

use serde::Serialize;
use sscard_domain::ids::RegionCode;
use sscard_store::repo::{admin as repo, org};

use super::{bad, require_admin, required};
use crate::App;
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// The kinds of agency.
pub const KINDS: [&str; 4] = ["card_centre", "service_centre", "bureau", "counter"];

/// An agency as the administrator sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgencyView {
    pub code: String,
    pub region_code: String,
    pub name: String,
    pub kind: String,
    pub phone: String,
    pub address: String,
    pub active: bool,
    /// Staff accounts attached to it.
    pub staff: i64,
}

impl From<repo::AgencyAdminRow> for AgencyView {
    fn from(r: repo::AgencyAdminRow) -> Self {
        AgencyView {
            code: r.code,
            region_code: r.region_code,
            name: r.name,
            kind: r.kind,
            phone: r.phone,
            address: r.address,
            active: r.active,
            staff: r.staff,
        }
    }
}

/// What the administrator enters.
#[derive(Debug, Clone, Default)]
pub struct AgencyInput {
    pub code: String,
    /// The agency's own division (a district or county code is fine).
    pub region_code: String,
    pub name: String,
    pub kind: String,
    pub phone: String,
    pub address: String,
}

/// `AGENCY_NOT_FOUND`.
pub fn not_found(code: &str) -> ServiceError {
    ServiceError::not_found(
        "AGENCY_NOT_FOUND",
        format!("没有编号为 {code} 的经办机构"),
        format!("No agency {code}"),
    )
}

struct Checked {
    region: String,
    name: String,
    kind: String,
    phone: String,
    address: String,
}

fn check(input: &AgencyInput) -> Result<Checked, ServiceError> {
    let region =
        RegionCode::parse(input.region_code.trim()).map_err(|e| ServiceError::invalid(&e))?;
    let name = required("AGENCY_INVALID", "机构名称", "The name", &input.name, 100)?;
    let kind = input.kind.trim();
    if !KINDS.contains(&kind) {
        return Err(bad(
            "AGENCY_INVALID",
            format!("机构类型 {kind} 无效"),
            format!("Unknown agency kind {kind} (one of {})", KINDS.join(", ")),
        ));
    }
    let phone = required("AGENCY_INVALID", "联系电话", "The phone", &input.phone, 60)?;
    let address = required("AGENCY_INVALID", "地址", "The address", &input.address, 200)?;
    Ok(Checked {
        region: region.as_str().to_string(),
        name: name.into(),
        kind: kind.into(),
        phone: phone.into(),
        address: address.into(),
    })
}

/// Every agency, open or closed. Admin only.
pub fn list(app: &App, actor: &Actor) -> Result<Vec<AgencyView>, ServiceError> {
    require_admin(actor)?;
    Ok(app
        .store()
        .read(|tx| repo::list_agencies_all(tx))?
        .into_iter()
        .map(AgencyView::from)
        .collect())
}

/// Creates an agency. Errors: `FORBIDDEN`, `AGENCY_CODE_INVALID`, `AGENCY_INVALID`, the
/// division code's errors, `AGENCY_CODE_TAKEN`.
pub fn create(app: &App, actor: &Actor, input: &AgencyInput) -> Result<AgencyView, ServiceError> {
    require_admin(actor)?;
    let code = input.code.trim().to_ascii_uppercase();
    if !(2..=20).contains(&code.len())
        || !code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(bad(
            "AGENCY_CODE_INVALID",
            "机构编号须为 2–20 位大写字母、数字或连字符",
            "An agency code is 2–20 upper-case letters, digits or '-'",
        ));
    }
    let c = check(input)?;
    let now = app.now();
    app.store().write(|tx| {
        if repo::agency_by_code(tx, &code)?.is_some() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "AGENCY_CODE_TAKEN",
                format!("机构编号 {code} 已存在"),
                format!("The agency code {code} is taken"),
            ));
        }
        repo::insert_agency(
            tx,
            &org::NewAgency {
                code: &code,
                region_code: &c.region,
                name: &c.name,
                kind: &c.kind,
                phone: &c.phone,
                address: &c.address,
            },
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.agency_created",
                entity: "agency",
                entity_id: &code,
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "region_code": c.region, "name": c.name, "kind": c.kind,
                    "phone": c.phone, "address": c.address,
                }),
            },
        )?;
        repo::agency_by_code(tx, &code)?
            .map(AgencyView::from)
            .ok_or_else(|| not_found(&code))
    })
}

/// Changes an agency's data (`input.code` names it). Errors: `FORBIDDEN`, `AGENCY_NOT_FOUND`,
/// `AGENCY_INVALID`, the division code's errors.
pub fn update(app: &App, actor: &Actor, input: &AgencyInput) -> Result<AgencyView, ServiceError> {
    require_admin(actor)?;
    let code = input.code.trim().to_ascii_uppercase();
    let c = check(input)?;
    let now = app.now();
    app.store().write(|tx| {
        let before = repo::agency_by_code(tx, &code)?.ok_or_else(|| not_found(&code))?;
        repo::update_agency(
            tx,
            before.id,
            &org::NewAgency {
                code: &code,
                region_code: &c.region,
                name: &c.name,
                kind: &c.kind,
                phone: &c.phone,
                address: &c.address,
            },
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.agency_updated",
                entity: "agency",
                entity_id: &code,
                before: serde_json::json!({
                    "region_code": before.region_code, "name": before.name, "kind": before.kind,
                    "phone": before.phone, "address": before.address,
                }),
                after: serde_json::json!({
                    "region_code": c.region, "name": c.name, "kind": c.kind,
                    "phone": c.phone, "address": c.address,
                }),
            },
        )?;
        repo::agency_by_code(tx, &code)?
            .map(AgencyView::from)
            .ok_or_else(|| not_found(&code))
    })
}

/// Closes (`active = false`) or reopens an agency. A closed agency gets no new staff.
/// Errors: `FORBIDDEN`, `AGENCY_NOT_FOUND`.
pub fn set_active(
    app: &App,
    actor: &Actor,
    code: &str,
    active: bool,
) -> Result<AgencyView, ServiceError> {
    require_admin(actor)?;
    let code = code.trim().to_ascii_uppercase();
    let now = app.now();
    app.store().write(|tx| {
        let before = repo::agency_by_code(tx, &code)?.ok_or_else(|| not_found(&code))?;
        repo::set_agency_active(tx, before.id, active)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: if active {
                    "admin.agency_reopened"
                } else {
                    "admin.agency_closed"
                },
                entity: "agency",
                entity_id: &code,
                before: serde_json::json!({"active": before.active}),
                after: serde_json::json!({"active": active}),
            },
        )?;
        repo::agency_by_code(tx, &code)?
            .map(AgencyView::from)
            .ok_or_else(|| not_found(&code))
    })
}
