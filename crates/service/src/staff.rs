//! Staff authentication: argon2id passwords, lockout after repeated failures, forced change at
//! first login, sessions. A session token is random (256 bits), handed to the client once, and
//! stored only as its SHA-256; each session carries its own CSRF token for form posts.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sscard_store::repo::{org, parse_ts, ts};

use crate::App;
use crate::audit::{self, Actor, Change, Channel};
use crate::error::{ErrorKind, ServiceError};
use crate::secrets;

/// Failed logins in a row before the account locks.
pub const LOCK_AFTER_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// A session ends after this long without activity…
pub const IDLE_MINUTES: i64 = 30;
/// …and in any case after this long.
pub const MAX_SESSION_HOURS: i64 = 10;

/// A logged-in staff member.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StaffSession {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub agency: String,
    pub csrf_token: String,
    pub must_change_password: bool,
}

impl StaffSession {
    /// The actor for audit and permission checks, on the given channel.
    pub fn actor(&self, channel: Channel) -> Actor {
        Actor {
            username: self.username.clone(),
            role: self.role.clone(),
            agency: self.agency.clone(),
            channel,
        }
    }
}

/// A new login: the token to hand to the client (cookie or bearer) and the session.
#[derive(Debug, Clone, Serialize)]
pub struct LoginOk {
    pub token: String,
    pub session: StaffSession,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn login_failed(remaining: i64) -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthorized,
        "LOGIN_FAILED",
        format!("用户名或密码错误,还可尝试 {remaining} 次"),
        format!("Wrong username or password: {remaining} tries left"),
    )
}

fn locked(until: DateTime<Utc>) -> ServiceError {
    let local = sscard_domain::clock::to_shanghai(until).format("%H:%M");
    ServiceError::new(
        ErrorKind::Locked,
        "STAFF_LOCKED",
        format!("登录失败次数过多,账号已锁定至 {local},或请管理员解锁"),
        format!(
            "Too many failed logins: the account is locked until {local} (Beijing time) or until an administrator unlocks it"
        ),
    )
}

/// Logs a staff member in. Errors: `LOGIN_FAILED` (with tries left), `STAFF_LOCKED`,
/// `STAFF_DISABLED`. An unknown username fails exactly like a wrong password.
pub fn login(
    app: &App,
    username: &str,
    password: &str,
    channel: Channel,
) -> Result<LoginOk, ServiceError> {
    let now = app.now();
    let username = username.trim();
    let staff = app
        .store()
        .read(|tx| org::staff_by_username(tx, username))?;
    let Some(staff) = staff else {
        // Same work and the same answer as a wrong password.
        let _ = secrets::verify_password(
            "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            password,
        );
        return Err(login_failed(LOCK_AFTER_FAILURES));
    };
    if staff.disabled {
        return Err(ServiceError::new(
            ErrorKind::Forbidden,
            "STAFF_DISABLED",
            "该账号已停用",
            "This account is disabled",
        ));
    }
    if let Some(until) = staff.locked_until.as_deref().and_then(|s| parse_ts(s).ok())
        && until > now
    {
        return Err(locked(until));
    }
    let ok = secrets::verify_password(&staff.password_hash, password);
    let actor = Actor {
        username: staff.username.clone(),
        role: staff.role.clone(),
        agency: String::new(),
        channel,
    };
    if !ok {
        let fails = staff.failed_logins + 1;
        let lock_until =
            (fails >= LOCK_AFTER_FAILURES).then(|| now + Duration::minutes(LOCK_MINUTES));
        app.store().write(|tx| {
            org::record_login_failure(tx, staff.id, lock_until.map(ts).as_deref())?;
            audit::record(
                tx,
                now,
                &actor,
                Change {
                    action: if lock_until.is_some() {
                        "staff.locked"
                    } else {
                        "staff.login_failed"
                    },
                    entity: "staff",
                    entity_id: &staff.username,
                    before: serde_json::json!({"failed_logins": staff.failed_logins}),
                    after: serde_json::json!({"failed_logins": fails}),
                },
            )
        })?;
        return Err(match lock_until {
            Some(until) => locked(until),
            None => login_failed(LOCK_AFTER_FAILURES - fails),
        });
    }
    let token = random_hex(32);
    let csrf = random_hex(16);
    let agency = app.store().write(|tx| {
        org::reset_login_failures(tx, staff.id)?;
        org::insert_session(
            tx,
            &token_hash(&token),
            staff.id,
            &csrf,
            &ts(now),
            &ts(now + Duration::hours(MAX_SESSION_HOURS)),
        )?;
        let agency = match staff.agency_id {
            Some(id) => org::agency_code(tx, id)?.unwrap_or_default(),
            None => String::new(),
        };
        audit::record(
            tx,
            now,
            &Actor {
                agency: agency.clone(),
                ..actor.clone()
            },
            Change {
                action: "staff.login",
                entity: "staff",
                entity_id: &staff.username,
                before: serde_json::Value::Null,
                after: serde_json::json!({"must_change_password": staff.must_change_password}),
            },
        )?;
        Ok::<_, ServiceError>(agency)
    })?;
    Ok(LoginOk {
        token,
        session: StaffSession {
            username: staff.username,
            display_name: staff.display_name,
            role: staff.role,
            agency,
            csrf_token: csrf,
            must_change_password: staff.must_change_password,
        },
    })
}

fn session_expired() -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthorized,
        "SESSION_EXPIRED",
        "登录已过期,请重新登录",
        "Your session has expired: please log in again",
    )
}

/// The session of a token, refreshed. Errors: `SESSION_EXPIRED` (unknown, idle or too old),
/// `STAFF_DISABLED`.
pub fn session(app: &App, token: &str) -> Result<StaffSession, ServiceError> {
    let now = app.now();
    let hash = token_hash(token);
    app.store().write(|tx| {
        let Some(s) = org::session_by_hash(tx, &hash)? else {
            return Err(session_expired());
        };
        let expires = parse_ts(&s.expires_at)?;
        let seen = parse_ts(&s.last_seen_at)?;
        if now >= expires || now - seen > Duration::minutes(IDLE_MINUTES) {
            org::delete_session(tx, &hash)?;
            return Err(session_expired());
        }
        let Some(staff) = org::staff_by_id(tx, s.staff_id)? else {
            return Err(session_expired());
        };
        if staff.disabled {
            org::delete_session(tx, &hash)?;
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                "STAFF_DISABLED",
                "该账号已停用",
                "This account is disabled",
            ));
        }
        org::touch_session(tx, &hash, &ts(now))?;
        let agency = match staff.agency_id {
            Some(id) => org::agency_code(tx, id)?.unwrap_or_default(),
            None => String::new(),
        };
        Ok(StaffSession {
            username: staff.username,
            display_name: staff.display_name,
            role: staff.role,
            agency,
            csrf_token: s.csrf_token,
            must_change_password: staff.must_change_password,
        })
    })
}

/// Ends a session.
pub fn logout(app: &App, token: &str) -> Result<(), ServiceError> {
    let hash = token_hash(token);
    app.store().write(|tx| org::delete_session(tx, &hash))?;
    Ok(())
}

/// Password rule for staff: at least 10 characters with letters and digits.
pub fn check_password_strength(password: &str) -> Result<(), ServiceError> {
    let long = password.chars().count() >= 10;
    let letters = password.chars().any(|c| c.is_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if long && letters && digits {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorKind::BadRequest,
            "PASSWORD_WEAK",
            "密码至少 10 位,且须同时包含字母和数字",
            "The password needs at least 10 characters with both letters and digits",
        ))
    }
}

/// Changes the logged-in user's password (required at first login). Ends the user's other
/// sessions. Errors: `LOGIN_FAILED` (wrong current password), `PASSWORD_WEAK`, `PASSWORD_REUSED`.
pub fn change_password(
    app: &App,
    token: &str,
    current: &str,
    new: &str,
) -> Result<(), ServiceError> {
    let s = session(app, token)?;
    let now = app.now();
    let staff = app
        .store()
        .read(|tx| org::staff_by_username(tx, &s.username))?
        .ok_or_else(session_expired)?;
    if !secrets::verify_password(&staff.password_hash, current) {
        return Err(login_failed(LOCK_AFTER_FAILURES - staff.failed_logins));
    }
    check_password_strength(new)?;
    if new == current {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "PASSWORD_REUSED",
            "新密码不能与原密码相同",
            "The new password must differ from the current one",
        ));
    }
    let hash = secrets::hash_password(new, secrets::random_salt());
    let keep = token_hash(token);
    app.store().write(|tx| {
        org::set_staff_password(tx, staff.id, &hash, false)?;
        tx.execute(
            "DELETE FROM staff_sessions WHERE staff_id = $1 AND token_hash <> $2",
            sscard_store::params![staff.id, keep.as_str()],
        )?;
        audit::record(
            tx,
            now,
            &s.actor(Channel::Counter),
            Change {
                action: "staff.password_changed",
                entity: "staff",
                entity_id: &staff.username,
                before: serde_json::json!({"must_change_password": staff.must_change_password}),
                after: serde_json::json!({"must_change_password": false}),
            },
        )
    })?;
    Ok(())
}
