//! Staff accounts: create (with a one-time initial password that must be changed at first
//! login), change name/role/agency, disable and re-enable, reset the password (unlocks the
//! account too), force a password change at the next request.
//!
//! Guards: an administrator cannot disable or demote themselves, and the last active
//! administrator cannot be disabled or demoted (`STAFF_SELF`, `LAST_ADMIN`).

use rand::Rng;
use serde::Serialize;
use sscard_store::Tx;
use sscard_store::repo::{admin as repo, org};

use super::{bad, require_admin, required};
use crate::access::{self, ADMIN, STAFF_ROLES};
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};
use crate::{App, secrets};

/// A staff account as the administrator sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StaffView {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub role_label: String,
    pub agency: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub created_at: String,
}

impl From<repo::StaffListRow> for StaffView {
    fn from(r: repo::StaffListRow) -> Self {
        StaffView {
            role_label: access::role_label_zh(&r.role).to_string(),
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            agency: r.agency_code,
            disabled: r.disabled,
            must_change_password: r.must_change_password,
            failed_logins: r.failed_logins,
            locked_until: r.locked_until,
            created_at: r.created_at,
        }
    }
}

/// What the administrator enters for a new account or a change.
#[derive(Debug, Clone, Default)]
pub struct StaffInput {
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// The agency's code; `None` for staff of no agency (administrators, auditors).
    pub agency_code: Option<String>,
}

/// A one-time password handed to the member (shown once; must be changed at first login).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TemporaryPassword {
    pub username: String,
    pub password: String,
}

fn not_found(username: &str) -> ServiceError {
    ServiceError::not_found(
        "STAFF_NOT_FOUND",
        format!("没有用户名为 {username} 的经办人员"),
        format!("No staff account {username}"),
    )
}

fn load(tx: &mut dyn Tx, username: &str) -> Result<org::StaffRow, ServiceError> {
    org::staff_by_username(tx, username.trim())?.ok_or_else(|| not_found(username.trim()))
}

fn check_role(role: &str) -> Result<&str, ServiceError> {
    STAFF_ROLES
        .iter()
        .copied()
        .find(|r| *r == role)
        .ok_or_else(|| {
            bad(
                "STAFF_ROLE_INVALID",
                format!("角色 {role} 不存在(可选:{})", STAFF_ROLES.join("、")),
                format!("Unknown role {role} (one of {})", STAFF_ROLES.join(", ")),
            )
        })
}

fn agency_id(tx: &mut dyn Tx, code: Option<&str>) -> Result<Option<i64>, ServiceError> {
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    match repo::agency_by_code(tx, code)? {
        Some(a) if a.active => Ok(Some(a.id)),
        Some(_) => Err(ServiceError::new(
            ErrorKind::Conflict,
            "AGENCY_CLOSED",
            format!("经办机构 {code} 已撤销,不能再分配人员"),
            format!("The agency {code} is closed: no staff can be assigned to it"),
        )),
        None => Err(super::agencies::not_found(code)),
    }
}

/// A random password that meets the staff password rule (12 characters, letters and digits).
fn temporary_password() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::rng();
    let mut p = String::with_capacity(12);
    for i in 0..12 {
        let set = if i % 3 == 2 { DIGITS } else { LETTERS };
        p.push(set[rng.random_range(0..set.len())] as char);
    }
    p
}

/// Refuses to take the last active administrator away (`LAST_ADMIN`) or an administrator's
/// own admin rights (`STAFF_SELF`).
fn guard_admin_loss(
    tx: &mut dyn Tx,
    actor: &Actor,
    target: &org::StaffRow,
) -> Result<(), ServiceError> {
    if target.username == actor.username {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            "STAFF_SELF",
            "不能停用本人账号或取消本人的管理员角色",
            "You cannot disable your own account or take away your own administrator role",
        ));
    }
    if target.role == ADMIN && !target.disabled && repo::other_active_admins(tx, target.id)? == 0 {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            "LAST_ADMIN",
            "这是最后一个有效的系统管理员账号,不能停用或改为其他角色",
            "This is the last active administrator: it cannot be disabled or given another role",
        ));
    }
    Ok(())
}

/// Every staff account. Admin only.
pub fn list(app: &App, actor: &Actor) -> Result<Vec<StaffView>, ServiceError> {
    require_admin(actor)?;
    Ok(app
        .store()
        .read(|tx| repo::list_staff(tx))?
        .into_iter()
        .map(StaffView::from)
        .collect())
}

/// Creates an account with a one-time password (to be changed at first login). Errors:
/// `FORBIDDEN`, `STAFF_USERNAME_INVALID`, `STAFF_NAME_REQUIRED`, `STAFF_ROLE_INVALID`,
/// `AGENCY_NOT_FOUND`, `AGENCY_CLOSED`, `STAFF_USERNAME_TAKEN`.
pub fn create(
    app: &App,
    actor: &Actor,
    input: &StaffInput,
) -> Result<TemporaryPassword, ServiceError> {
    require_admin(actor)?;
    let username = input.username.trim();
    let valid = (3..=32).contains(&username.len())
        && username.starts_with(|c: char| c.is_ascii_lowercase())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !valid {
        return Err(bad(
            "STAFF_USERNAME_INVALID",
            "用户名须为 3–32 位小写字母、数字、下划线或点,以字母开头",
            "A username is 3–32 lower-case letters, digits, '_' or '.', starting with a letter",
        ));
    }
    let display = required(
        "STAFF_NAME_REQUIRED",
        "姓名",
        "The name",
        &input.display_name,
        40,
    )?;
    let role = check_role(input.role.trim())?;
    let password = temporary_password();
    let hash = secrets::hash_password(&password, secrets::random_salt());
    let now = app.now();
    app.store().write(|tx| {
        let agency_id = agency_id(tx, input.agency_code.as_deref())?;
        if org::staff_by_username(tx, username)?.is_some() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "STAFF_USERNAME_TAKEN",
                format!("用户名 {username} 已被使用"),
                format!("The username {username} is taken"),
            ));
        }
        org::insert_staff(
            tx,
            &org::NewStaff {
                username,
                display_name: display,
                password_hash: &hash,
                role,
                agency_id,
                must_change_password: true,
            },
            now,
        )?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.staff_created",
                entity: "staff",
                entity_id: username,
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "display_name": display, "role": role,
                    "agency": input.agency_code.as_deref().map(str::trim),
                }),
            },
        )?;
        Ok::<_, ServiceError>(())
    })?;
    Ok(TemporaryPassword {
        username: username.to_string(),
        password,
    })
}

/// Changes an account's name, role and agency (`input.username` names it). Errors:
/// `FORBIDDEN`, `STAFF_NOT_FOUND`, `STAFF_NAME_REQUIRED`, `STAFF_ROLE_INVALID`,
/// `AGENCY_NOT_FOUND`, `AGENCY_CLOSED`, `STAFF_SELF`, `LAST_ADMIN`.
pub fn update(app: &App, actor: &Actor, input: &StaffInput) -> Result<StaffView, ServiceError> {
    require_admin(actor)?;
    let display = required(
        "STAFF_NAME_REQUIRED",
        "姓名",
        "The name",
        &input.display_name,
        40,
    )?;
    let role = check_role(input.role.trim())?;
    let now = app.now();
    app.store().write(|tx| {
        let s = load(tx, &input.username)?;
        if s.role == ADMIN && role != ADMIN {
            guard_admin_loss(tx, actor, &s)?;
        }
        let agency_id = agency_id(tx, input.agency_code.as_deref())?;
        repo::update_staff(tx, s.id, display, role, agency_id)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.staff_updated",
                entity: "staff",
                entity_id: &s.username,
                before: serde_json::json!({
                    "display_name": s.display_name, "role": s.role, "agency_id": s.agency_id,
                }),
                after: serde_json::json!({
                    "display_name": display, "role": role, "agency_id": agency_id,
                }),
            },
        )?;
        find(tx, &s.username)
    })
}

fn find(tx: &mut dyn Tx, username: &str) -> Result<StaffView, ServiceError> {
    repo::list_staff(tx)?
        .into_iter()
        .find(|r| r.username == username)
        .map(StaffView::from)
        .ok_or_else(|| not_found(username))
}

/// Disables (`disabled`) or re-enables an account. Disabling ends its sessions at once.
/// Errors: `FORBIDDEN`, `STAFF_NOT_FOUND`, `STAFF_SELF`, `LAST_ADMIN`.
pub fn set_disabled(
    app: &App,
    actor: &Actor,
    username: &str,
    disabled: bool,
) -> Result<StaffView, ServiceError> {
    require_admin(actor)?;
    let now = app.now();
    app.store().write(|tx| {
        let s = load(tx, username)?;
        if disabled {
            guard_admin_loss(tx, actor, &s)?;
            org::delete_sessions_of(tx, s.id)?;
        }
        repo::set_staff_disabled(tx, s.id, disabled)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: if disabled {
                    "admin.staff_disabled"
                } else {
                    "admin.staff_enabled"
                },
                entity: "staff",
                entity_id: &s.username,
                before: serde_json::json!({"disabled": s.disabled}),
                after: serde_json::json!({"disabled": disabled}),
            },
        )?;
        find(tx, &s.username)
    })
}

/// Gives the account a new one-time password (shown once), unlocks it and ends its sessions;
/// the member must change it at the next login. Errors: `FORBIDDEN`, `STAFF_NOT_FOUND`.
pub fn reset_password(
    app: &App,
    actor: &Actor,
    username: &str,
) -> Result<TemporaryPassword, ServiceError> {
    require_admin(actor)?;
    let password = temporary_password();
    let hash = secrets::hash_password(&password, secrets::random_salt());
    let now = app.now();
    let username = app.store().write(|tx| {
        let s = load(tx, username)?;
        org::set_staff_password(tx, s.id, &hash, true)?;
        org::reset_login_failures(tx, s.id)?;
        org::delete_sessions_of(tx, s.id)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.staff_password_reset",
                entity: "staff",
                entity_id: &s.username,
                before: serde_json::json!({
                    "failed_logins": s.failed_logins, "locked_until": s.locked_until,
                }),
                after: serde_json::json!({"must_change_password": true, "failed_logins": 0}),
            },
        )?;
        Ok::<_, ServiceError>(s.username)
    })?;
    Ok(TemporaryPassword { username, password })
}

/// Makes the member change the password before anything else at the next request (their
/// sessions stay, but every console page leads to the password form). Errors: `FORBIDDEN`,
/// `STAFF_NOT_FOUND`.
pub fn force_password_change(
    app: &App,
    actor: &Actor,
    username: &str,
) -> Result<StaffView, ServiceError> {
    require_admin(actor)?;
    let now = app.now();
    app.store().write(|tx| {
        let s = load(tx, username)?;
        repo::set_must_change_password(tx, s.id, true)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.staff_password_change_forced",
                entity: "staff",
                entity_id: &s.username,
                before: serde_json::json!({"must_change_password": s.must_change_password}),
                after: serde_json::json!({"must_change_password": true}),
            },
        )?;
        find(tx, &s.username)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn temporary_passwords_meet_the_rule() {
        for _ in 0..50 {
            let p = super::temporary_password();
            assert_eq!(p.len(), 12);
            crate::staff::check_password_strength(&p).unwrap();
        }
    }
}
