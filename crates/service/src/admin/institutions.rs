//! Designated hospitals and pharmacies (定点医药机构): created with an API key, edited,
//! suspended, and their API key rotated. A new secret is shown once; on a rotation the
//! previous secret stays valid for a grace period (`prev_valid_until`), so the institution can
//! switch its systems over without a failed settlement
//! ([`signing::verify`](crate::signing::verify) accepts either while the grace runs).

use serde::Serialize;
use sscard_store::repo::admin::{self as repo, KeyHolder};
use sscard_store::repo::{ledger, org, regions, ts};

use super::{IssuedKey, bad, new_api_secret, require_admin, required};
use crate::App;
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// An institution as the administrator sees it (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InstitutionView {
    pub code: String,
    pub name: String,
    /// `hospital` or `pharmacy`.
    pub kind: String,
    /// Hospital level 1–3; 0 for pharmacies and unrated clinics.
    pub level: i64,
    pub region_code: String,
    pub address: String,
    pub phone: String,
    pub key_id: String,
    pub active: bool,
    /// While a rotated key's previous secret is still accepted (RFC 3339 UTC).
    pub previous_key_valid_until: Option<String>,
}

impl From<repo::InstitutionAdminRow> for InstitutionView {
    fn from(r: repo::InstitutionAdminRow) -> Self {
        InstitutionView {
            code: r.code,
            name: r.name,
            kind: r.kind,
            level: r.level,
            region_code: r.region_code,
            address: r.address,
            phone: r.phone,
            key_id: r.key_id,
            active: r.active,
            previous_key_valid_until: r.prev_valid_until,
        }
    }
}

/// What the administrator enters.
#[derive(Debug, Clone, Default)]
pub struct InstitutionInput {
    /// 12 characters (the national platform's institution code: letter + region + number).
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: i64,
    /// A pooling region served here.
    pub region_code: String,
    pub address: String,
    pub phone: String,
    /// Only for updates: suspended institutions cannot settle.
    pub active: bool,
}

/// `INSTITUTION_NOT_FOUND`.
pub fn not_found(code: &str) -> ServiceError {
    ServiceError::not_found(
        "INSTITUTION_NOT_FOUND",
        format!("没有编号为 {code} 的定点医药机构"),
        format!("No designated institution {code}"),
    )
}

fn check_fields(input: &InstitutionInput) -> Result<(String, String, String), ServiceError> {
    let name = required(
        "INSTITUTION_INVALID",
        "机构名称",
        "The name",
        &input.name,
        100,
    )?;
    let address = required(
        "INSTITUTION_INVALID",
        "地址",
        "The address",
        &input.address,
        200,
    )?;
    let phone = required(
        "INSTITUTION_INVALID",
        "联系电话",
        "The phone",
        &input.phone,
        60,
    )?;
    if !(0..=3).contains(&input.level) {
        return Err(bad(
            "INSTITUTION_INVALID",
            "医院等级须为 0–3(药店为 0)",
            "The level must be 0 to 3 (0 for pharmacies)",
        ));
    }
    Ok((name.into(), address.into(), phone.into()))
}

/// Every institution. Admin only.
pub fn list(app: &App, actor: &Actor) -> Result<Vec<InstitutionView>, ServiceError> {
    require_admin(actor)?;
    Ok(app
        .store()
        .read(|tx| repo::list_institutions_all(tx))?
        .into_iter()
        .map(InstitutionView::from)
        .collect())
}

/// Designates an institution: records it, opens its clearing account in the ledger and issues
/// its API key (`INST-<code>`; the secret is in the answer, once). Errors: `FORBIDDEN`,
/// `INSTITUTION_CODE_INVALID`, `INSTITUTION_INVALID`, `REGION_NOT_SERVED`,
/// `INSTITUTION_CODE_TAKEN`.
pub fn create(
    app: &App,
    actor: &Actor,
    input: &InstitutionInput,
) -> Result<(InstitutionView, IssuedKey), ServiceError> {
    require_admin(actor)?;
    let code = input.code.trim().to_ascii_uppercase();
    if code.len() != 12
        || !code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(bad(
            "INSTITUTION_CODE_INVALID",
            "机构编码须为 12 位大写字母或数字",
            "An institution code is 12 upper-case letters or digits",
        ));
    }
    let (name, address, phone) = check_fields(input)?;
    let kind = input.kind.trim();
    if !["hospital", "pharmacy"].contains(&kind) {
        return Err(bad(
            "INSTITUTION_INVALID",
            "机构类型须为医院(hospital)或药店(pharmacy)",
            "The kind must be hospital or pharmacy",
        ));
    }
    let region = input.region_code.trim().to_string();
    let key_id = format!("INST-{code}");
    let secret = new_api_secret();
    let now = app.now();
    let view = app.store().write(|tx| {
        if !regions::list_regions(tx)?.iter().any(|r| r.code == region) {
            return Err(ServiceError::not_found(
                "REGION_NOT_SERVED",
                format!("{region} 不是本系统的统筹区"),
                format!("{region} is not a pooling region served here"),
            ));
        }
        if repo::institution_by_code(tx, &code)?.is_some() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "INSTITUTION_CODE_TAKEN",
                format!("机构编码 {code} 已存在"),
                format!("The institution code {code} is taken"),
            ));
        }
        let id = org::insert_institution(
            tx,
            &org::NewInstitution {
                code: &code,
                name: &name,
                kind,
                level: input.level,
                region_code: &region,
                address: &address,
                phone: &phone,
                key_id: &key_id,
                secret: &secret,
            },
        )?;
        ledger::open_account(
            tx,
            "institution_clearing",
            None,
            Some(id),
            &region,
            &ts(now),
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.institution_created",
                entity: "institution",
                entity_id: &code,
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "name": name, "kind": kind, "level": input.level, "region_code": region,
                    "key_id": key_id,
                }),
            },
        )?;
        repo::institution_by_code(tx, &code)?
            .map(InstitutionView::from)
            .ok_or_else(|| not_found(&code))
    })?;
    Ok((
        view,
        IssuedKey {
            key_id,
            secret,
            previous_valid_until: None,
        },
    ))
}

/// Changes an institution's name, level, address, phone and whether it is active
/// (`input.code` names it). Errors: `FORBIDDEN`, `INSTITUTION_NOT_FOUND`,
/// `INSTITUTION_INVALID`.
pub fn update(
    app: &App,
    actor: &Actor,
    input: &InstitutionInput,
) -> Result<InstitutionView, ServiceError> {
    require_admin(actor)?;
    let code = input.code.trim().to_ascii_uppercase();
    let (name, address, phone) = check_fields(input)?;
    let now = app.now();
    app.store().write(|tx| {
        let b = repo::institution_by_code(tx, &code)?.ok_or_else(|| not_found(&code))?;
        repo::update_institution(tx, b.id, &name, input.level, &address, &phone, input.active)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.institution_updated",
                entity: "institution",
                entity_id: &code,
                before: serde_json::json!({
                    "name": b.name, "level": b.level, "address": b.address, "phone": b.phone,
                    "active": b.active,
                }),
                after: serde_json::json!({
                    "name": name, "level": input.level, "address": address, "phone": phone,
                    "active": input.active,
                }),
            },
        )?;
        repo::institution_by_code(tx, &code)?
            .map(InstitutionView::from)
            .ok_or_else(|| not_found(&code))
    })
}

/// Issues a new API secret (shown once); the previous one stays valid for `grace_hours`
/// (0: refused at once). Errors: `FORBIDDEN`, `INSTITUTION_NOT_FOUND`, `KEY_GRACE_INVALID`.
pub fn rotate_key(
    app: &App,
    actor: &Actor,
    code: &str,
    grace_hours: i64,
) -> Result<IssuedKey, ServiceError> {
    super::rotate_key_of(
        app,
        actor,
        KeyHolder::Institution,
        "institution",
        code,
        grace_hours,
        |tx, code| {
            let b = repo::institution_by_code(tx, code)?.ok_or_else(|| not_found(code))?;
            Ok((b.id, b.key_id))
        },
    )
}
