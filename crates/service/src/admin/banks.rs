//! Cooperating banks (合作银行): added with an API key (`BANK-<code>`), name and hotline
//! edited, API key rotated with a grace period for the previous secret, exactly like the
//! designated institutions' keys.

use serde::Serialize;
use sscard_store::repo::admin::{self as repo, KeyHolder};
use sscard_store::repo::org;

use super::{IssuedKey, bad, new_api_secret, require_admin, required};
use crate::App;
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// A bank as the administrator sees it (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BankView {
    pub code: String,
    pub name: String,
    pub hotline: String,
    pub key_id: String,
    pub previous_key_valid_until: Option<String>,
}

impl From<repo::BankAdminRow> for BankView {
    fn from(r: repo::BankAdminRow) -> Self {
        BankView {
            code: r.code,
            name: r.name,
            hotline: r.hotline,
            key_id: r.key_id,
            previous_key_valid_until: r.prev_valid_until,
        }
    }
}

/// `BANK_NOT_FOUND`.
pub fn not_found(code: &str) -> ServiceError {
    ServiceError::not_found(
        "BANK_NOT_FOUND",
        format!("没有编号为 {code} 的合作银行"),
        format!("No cooperating bank {code}"),
    )
}

/// Every bank. Admin only.
pub fn list(app: &App, actor: &Actor) -> Result<Vec<BankView>, ServiceError> {
    require_admin(actor)?;
    Ok(app
        .store()
        .read(|tx| repo::list_banks_all(tx))?
        .into_iter()
        .map(BankView::from)
        .collect())
}

/// Adds a bank and issues its API key (the secret is in the answer, once). Errors:
/// `FORBIDDEN`, `BANK_CODE_INVALID`, `BANK_INVALID`, `BANK_CODE_TAKEN`.
pub fn create(
    app: &App,
    actor: &Actor,
    code: &str,
    name: &str,
    hotline: &str,
) -> Result<(BankView, IssuedKey), ServiceError> {
    require_admin(actor)?;
    let code = code.trim().to_ascii_uppercase();
    if !(2..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad(
            "BANK_CODE_INVALID",
            "银行编号须为 2–10 位大写字母(如 ICBC)",
            "A bank code is 2–10 upper-case letters (e.g. ICBC)",
        ));
    }
    let name = required("BANK_INVALID", "银行名称", "The name", name, 60)?;
    let hotline = required("BANK_INVALID", "客服电话", "The hotline", hotline, 30)?;
    let key_id = format!("BANK-{code}");
    let secret = new_api_secret();
    let now = app.now();
    let view = app.store().write(|tx| {
        if repo::bank_by_code(tx, &code)?.is_some() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "BANK_CODE_TAKEN",
                format!("银行编号 {code} 已存在"),
                format!("The bank code {code} is taken"),
            ));
        }
        org::insert_bank(tx, &code, name, hotline, &key_id, &secret)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.bank_created",
                entity: "bank",
                entity_id: &code,
                before: serde_json::Value::Null,
                after: serde_json::json!({"name": name, "hotline": hotline, "key_id": key_id}),
            },
        )?;
        repo::bank_by_code(tx, &code)?
            .map(BankView::from)
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

/// Changes a bank's name and hotline. Errors: `FORBIDDEN`, `BANK_NOT_FOUND`, `BANK_INVALID`.
pub fn update(
    app: &App,
    actor: &Actor,
    code: &str,
    name: &str,
    hotline: &str,
) -> Result<BankView, ServiceError> {
    require_admin(actor)?;
    let code = code.trim().to_ascii_uppercase();
    let name = required("BANK_INVALID", "银行名称", "The name", name, 60)?;
    let hotline = required("BANK_INVALID", "客服电话", "The hotline", hotline, 30)?;
    let now = app.now();
    app.store().write(|tx| {
        let b = repo::bank_by_code(tx, &code)?.ok_or_else(|| not_found(&code))?;
        repo::update_bank(tx, b.id, name, hotline)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.bank_updated",
                entity: "bank",
                entity_id: &code,
                before: serde_json::json!({"name": b.name, "hotline": b.hotline}),
                after: serde_json::json!({"name": name, "hotline": hotline}),
            },
        )?;
        repo::bank_by_code(tx, &code)?
            .map(BankView::from)
            .ok_or_else(|| not_found(&code))
    })
}

/// Issues a new API secret (shown once); the previous one stays valid for `grace_hours`.
/// Errors: `FORBIDDEN`, `BANK_NOT_FOUND`, `KEY_GRACE_INVALID`.
pub fn rotate_key(
    app: &App,
    actor: &Actor,
    code: &str,
    grace_hours: i64,
) -> Result<IssuedKey, ServiceError> {
    super::rotate_key_of(
        app,
        actor,
        KeyHolder::Bank,
        "bank",
        code,
        grace_hours,
        |tx, code| {
            let b = repo::bank_by_code(tx, code)?.ok_or_else(|| not_found(code))?;
            Ok((b.id, b.key_id))
        },
    )
}
