//! Who may do what. Every use case names the roles allowed to call it; channels pass the
//! caller as an [`Actor`](crate::audit::Actor).
//!
//! Staff roles: `clerk`, `supervisor`, `phone_agent`, `admin`, `auditor` (read-only).
//! Other callers: `cardholder` (portal, kiosk, phone self-service), `bank`, `institution`,
//! `system` (scheduled jobs, loaders).

use crate::audit::Actor;
use crate::error::{ErrorKind, ServiceError};

pub const CLERK: &str = "clerk";
pub const SUPERVISOR: &str = "supervisor";
pub const PHONE_AGENT: &str = "phone_agent";
pub const ADMIN: &str = "admin";
pub const AUDITOR: &str = "auditor";
pub const CARDHOLDER: &str = "cardholder";
pub const BANK: &str = "bank";
pub const INSTITUTION: &str = "institution";
pub const SYSTEM: &str = "system";

/// Every staff role.
pub const STAFF_ROLES: [&str; 5] = [CLERK, SUPERVISOR, PHONE_AGENT, ADMIN, AUDITOR];
/// Counter staff who may change card data (clerks and supervisors).
pub const COUNTER: [&str; 2] = [CLERK, SUPERVISOR];

/// Refuses unless the actor has one of `allowed`.
pub fn require(actor: &Actor, allowed: &[&str]) -> Result<(), ServiceError> {
    if allowed.contains(&actor.role.as_str()) {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorKind::Forbidden,
            "FORBIDDEN",
            format!("当前角色({})无权办理此业务", role_label_zh(&actor.role)),
            format!("The role {} may not do this", actor.role),
        ))
    }
}

pub fn role_label_zh(role: &str) -> &'static str {
    match role {
        CLERK => "窗口经办员",
        SUPERVISOR => "业务主管",
        PHONE_AGENT => "12333 坐席",
        ADMIN => "系统管理员",
        AUDITOR => "审计员",
        CARDHOLDER => "持卡人",
        BANK => "合作银行",
        INSTITUTION => "定点医药机构",
        SYSTEM => "系统",
        _ => "未知角色",
    }
}
