//! Supervisor approval at the counter (四眼原则): a supervisor types their own username and
//! password at the clerk's workstation to approve a free replacement or a heir payout.
//!
//! The password is checked like a login (argon2id). Failed approvals count towards the
//! supervisor account's lockout exactly like failed logins, and are audited; a supervisor may
//! not approve their own operation.

use chrono::Duration;
use serde::Serialize;
use sscard_store::repo::{org, parse_ts, ts};

use crate::App;
use crate::access::SUPERVISOR;
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};
use crate::secrets;
use crate::staff::{LOCK_AFTER_FAILURES, LOCK_MINUTES};

/// The credentials a supervisor enters to approve an operation.
#[derive(Debug, Clone, Default)]
pub struct SupervisorApproval {
    pub username: String,
    pub password: String,
}

/// A successful approval: who approved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Approved {
    pub username: String,
    pub display_name: String,
}

fn approval_failed() -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthorized,
        "APPROVAL_FAILED",
        "主管用户名或密码错误,审批未通过",
        "Wrong supervisor username or password: not approved",
    )
}

/// The operation needs a supervisor's approval and none was given.
pub fn approval_required() -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "APPROVAL_REQUIRED",
        "此业务须由业务主管审批(请主管输入用户名和密码)",
        "This operation needs a supervisor's approval (username and password)",
    )
}

/// Checks a supervisor's credentials for an operation done by `actor`.
///
/// Errors: `APPROVAL_REQUIRED` (empty credentials), `APPROVAL_FAILED` (unknown user or wrong
/// password; counts towards the lockout), `APPROVAL_NOT_SUPERVISOR` (the user is not a
/// supervisor), `APPROVAL_SELF` (the actor approving their own operation), `STAFF_LOCKED`,
/// `STAFF_DISABLED`.
pub fn verify_supervisor(
    app: &App,
    actor: &Actor,
    approval: &SupervisorApproval,
) -> Result<Approved, ServiceError> {
    let username = approval.username.trim();
    if username.is_empty() || approval.password.is_empty() {
        return Err(approval_required());
    }
    if username == actor.username {
        return Err(ServiceError::new(
            ErrorKind::Forbidden,
            "APPROVAL_SELF",
            "经办人不能审批自己办理的业务",
            "You cannot approve your own operation",
        ));
    }
    let now = app.now();
    let staff = app
        .store()
        .read(|tx| org::staff_by_username(tx, username))?;
    let Some(staff) = staff else {
        // The same work as a wrong password.
        let _ = secrets::verify_password(
            "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &approval.password,
        );
        return Err(approval_failed());
    };
    if staff.disabled {
        return Err(ServiceError::new(
            ErrorKind::Forbidden,
            "STAFF_DISABLED",
            "审批人账号已停用",
            "The approver's account is disabled",
        ));
    }
    if let Some(until) = staff.locked_until.as_deref().and_then(|s| parse_ts(s).ok())
        && until > now
    {
        return Err(ServiceError::new(
            ErrorKind::Locked,
            "STAFF_LOCKED",
            "审批人账号因多次密码错误已锁定",
            "The approver's account is locked after repeated wrong passwords",
        ));
    }
    if !secrets::verify_password(&staff.password_hash, &approval.password) {
        let fails = staff.failed_logins + 1;
        let lock_until =
            (fails >= LOCK_AFTER_FAILURES).then(|| now + Duration::minutes(LOCK_MINUTES));
        app.store().write(|tx| {
            org::record_login_failure(tx, staff.id, lock_until.map(ts).as_deref())?;
            audit::record(
                tx,
                now,
                actor,
                Change {
                    action: "approval.failed",
                    entity: "staff",
                    entity_id: &staff.username,
                    before: serde_json::json!({"failed_logins": staff.failed_logins}),
                    after: serde_json::json!({"failed_logins": fails}),
                },
            )
        })?;
        return Err(approval_failed());
    }
    if staff.role != SUPERVISOR {
        return Err(ServiceError::new(
            ErrorKind::Forbidden,
            "APPROVAL_NOT_SUPERVISOR",
            "审批人不是业务主管",
            "The approver is not a supervisor",
        ));
    }
    if staff.failed_logins != 0 {
        app.store()
            .write(|tx| org::reset_login_failures(tx, staff.id))?;
    }
    Ok(Approved {
        username: staff.username,
        display_name: staff.display_name,
    })
}
