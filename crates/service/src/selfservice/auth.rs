//! Portal login (网上服务大厅) with the 18-digit citizen ID number and the query password
//! (查询密码), and cardholder sessions.
//!
//! - **Initial password**: the region's [`QueryPasswordRule`](sscard_domain::policy::QueryPasswordRule)
//!   (123456, 111111, or the last six characters of the personal number, i.e. the ID number).
//!   A person whose stored hash is empty still has the initial password; it is computed from
//!   the policy in force at login, so a policy change applies to everyone not yet logged in.
//! - **Forced change**: while the initial password is in use the session is marked
//!   `must_change_password`; channels allow nothing but the change until it is done.
//! - **Lockout**: every wrong password counts on the person's counter (`persons.query_failed`);
//!   reaching the region's `web_lock_threshold` locks the portal account until 00:00 the next
//!   day (Beijing time), or until the counter resets the password. Each refusal says how many
//!   tries are left. A correct password resets the counter. An unknown ID number is refused
//!   exactly like a wrong password.
//! - **Sessions**: a random 256-bit token, stored only as its SHA-256, with its own CSRF token;
//!   it ends after [`IDLE_MINUTES`] without activity and in any case after [`MAX_HOURS`].
//!   Changing the password ends the person's other portal sessions.
//! - **New password**: 6 to 20 characters with both letters and digits (the portal is on the
//!   internet: a 6-digit PIN-like password is too weak), not the initial password, not the
//!   current one, not a part of the ID number.
//!
//! Every state change writes an audit row (`portal.login`, `portal.login_failed`,
//! `portal.locked`, `portal.password_changed`, `portal.password_reset`, `portal.logout`).
//! The counter resets a forgotten or locked query password ([`reset_query_password`]).
//!
//! Refusals: `LOGIN_FAILED`, `QUERY_LOCKED`, `ACCOUNT_CLOSED`, `SESSION_EXPIRED`,
//! `QUERY_PASSWORD_WEAK`, `QUERY_PASSWORD_REUSED`, `RECORD_NOT_YOURS`, `FORBIDDEN`.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sscard_domain::clock::{shanghai, to_shanghai};
use sscard_domain::mask::mask_id;
use sscard_store::Tx;
use sscard_store::repo::selfservice as repo;
use sscard_store::repo::{parse_ts, persons, ts};

use super::{cardholder_actor, records::person_by_citizen_id, require_self};
use crate::App;
use crate::audit::{self, Actor, Change, Channel};
use crate::cards::policy_of;
use crate::error::{ErrorKind, ServiceError};
use crate::secrets;

/// A portal session ends after this long without activity…
pub const IDLE_MINUTES: i64 = 15;
/// …and in any case after this long.
pub const MAX_HOURS: i64 = 4;

/// A logged-in cardholder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardholderSession {
    pub person_id: i64,
    pub name: String,
    /// `5101**********1234`.
    pub doc_number_masked: String,
    pub region_code: String,
    /// `web` or `kiosk`.
    pub channel: String,
    pub csrf_token: String,
    /// The initial query password is still in use: only the change is allowed.
    pub must_change_password: bool,
    /// When the session ends at the latest (RFC 3339 UTC).
    pub expires_at: String,
}

impl CardholderSession {
    /// The cardholder actor of this session.
    pub fn actor(&self) -> Actor {
        cardholder_actor(
            self.person_id,
            if self.channel == "kiosk" {
                Channel::Kiosk
            } else {
                Channel::Web
            },
        )
    }
}

/// A successful login: the token to put in the cookie, and the session.
#[derive(Debug, Clone, Serialize)]
pub struct LoginOk {
    pub token: String,
    pub session: CardholderSession,
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
        format!("证件号码或查询密码错误,还可尝试 {remaining} 次"),
        format!("Wrong ID number or query password: {remaining} tries left"),
    )
}

fn locked(until: DateTime<Utc>, hotline: &str) -> ServiceError {
    let local = to_shanghai(until).format("%Y-%m-%d %H:%M");
    ServiceError::new(
        ErrorKind::Locked,
        "QUERY_LOCKED",
        format!(
            "查询密码错误次数过多,账户已锁定至 {local},或请持本人身份证件到经办机构重置查询密码(咨询电话 {hotline})"
        ),
        format!(
            "Too many wrong query passwords: the account is locked until {local} (Beijing time), or have the password reset at a service counter with your ID (enquiries: {hotline})"
        ),
    )
}

fn session_expired() -> ServiceError {
    ServiceError::new(
        ErrorKind::Unauthorized,
        "SESSION_EXPIRED",
        "登录已超时,请重新登录",
        "Your session has timed out: please log in again",
    )
}

/// 00:00 of the next day in Beijing time.
fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = to_shanghai(now).date_naive() + Duration::days(1);
    shanghai()
        .from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + Duration::hours(24))
}

/// Constant-time comparison of two strings.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Whether `password` is the person's query password (the policy's initial one when the stored
/// hash is empty).
fn password_matches(initial: &str, p: &persons::PersonRow, password: &str) -> bool {
    if p.query_password_hash.is_empty() {
        same(initial, password)
    } else {
        secrets::verify_password(&p.query_password_hash, password)
    }
}

enum Check {
    Ok,
    Wrong { remaining: i64 },
    Locked(DateTime<Utc>, String),
}

/// Checks a password on the person's counter, recording a failure (committed even though the
/// caller's operation then fails).
fn check_password(
    app: &App,
    actor: &Actor,
    person: &persons::PersonRow,
    password: &str,
) -> Result<(), ServiceError> {
    let now = app.now();
    let today = app.today();
    let policy = app
        .store()
        .read(|tx| policy_of(tx, &person.region_code, today))?;
    if let Some(until) = person
        .query_locked_until
        .as_deref()
        .and_then(|s| parse_ts(s).ok())
        && until > now
    {
        return Err(locked(until, &policy.local_hotline));
    }
    let initial = policy.query_password.initial_for(&person.doc_number);
    let outcome = if password_matches(&initial, person, password) {
        if person.query_failed != 0 || person.query_locked_until.is_some() {
            app.store()
                .write(|tx| repo::reset_query_failures(tx, person.id))?;
        }
        Check::Ok
    } else {
        // A lock that has run out starts a fresh count.
        let before = if person.query_locked_until.is_some() {
            0
        } else {
            person.query_failed
        };
        let failed = before + 1;
        let threshold = i64::from(policy.web_lock_threshold);
        let lock_until = (failed >= threshold).then(|| next_midnight(now));
        app.store().write(|tx| {
            repo::record_query_failure(tx, person.id, failed, lock_until.map(ts).as_deref())?;
            audit::record(
                tx,
                now,
                actor,
                Change {
                    action: if lock_until.is_some() {
                        "portal.locked"
                    } else {
                        "portal.login_failed"
                    },
                    entity: "person",
                    entity_id: &person.id.to_string(),
                    before: serde_json::json!({"query_failed": person.query_failed}),
                    after: serde_json::json!({"query_failed": failed, "locked_until": lock_until.map(ts)}),
                },
            )
        })?;
        match lock_until {
            Some(until) => Check::Locked(until, policy.local_hotline.clone()),
            None => Check::Wrong {
                remaining: threshold - failed,
            },
        }
    };
    match outcome {
        Check::Ok => Ok(()),
        Check::Wrong { remaining } => Err(login_failed(remaining)),
        Check::Locked(until, hotline) => Err(locked(until, &hotline)),
    }
}

fn session_of(
    p: &persons::PersonRow,
    channel: Channel,
    csrf: String,
    expires_at: String,
) -> CardholderSession {
    CardholderSession {
        person_id: p.id,
        name: p.name.clone(),
        doc_number_masked: mask_id(&p.doc_number),
        region_code: p.region_code.clone(),
        channel: channel.as_str().to_string(),
        csrf_token: csrf,
        must_change_password: !p.query_password_changed || p.query_password_hash.is_empty(),
        expires_at,
    }
}

/// Opens a session for a person already identified (after the query password here, or after
/// card + PIN at a kiosk). `max` bounds its life; the idle timeout is [`IDLE_MINUTES`].
pub fn start_session(
    app: &App,
    person_id: i64,
    channel: Channel,
    max: Duration,
) -> Result<LoginOk, ServiceError> {
    let now = app.now();
    let token = random_hex(32);
    let csrf = random_hex(16);
    let expires = ts(now + max);
    let p = app.store().write(|tx| {
        let p =
            persons::person_by_id(tx, person_id)?.ok_or_else(crate::persons::person_not_found)?;
        repo::purge_expired_sessions(tx, &ts(now))?;
        repo::insert_session(
            tx,
            &token_hash(&token),
            p.id,
            channel.as_str(),
            &csrf,
            &ts(now),
            &expires,
        )?;
        audit::record(
            tx,
            now,
            &cardholder_actor(p.id, channel),
            Change {
                action: "portal.login",
                entity: "person",
                entity_id: &p.id.to_string(),
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "channel": channel.as_str(),
                    "must_change_password": !p.query_password_changed,
                }),
            },
        )?;
        Ok::<_, ServiceError>(p)
    })?;
    Ok(LoginOk {
        token,
        session: session_of(&p, channel, csrf, expires),
    })
}

/// Logs a cardholder in with the citizen ID number and the query password. Errors:
/// `LOGIN_FAILED` (with the tries left), `QUERY_LOCKED`, `ACCOUNT_CLOSED` (holder deceased or
/// settled abroad).
pub fn login(app: &App, id_number: &str, password: &str) -> Result<LoginOk, ServiceError> {
    let number = id_number.trim().to_ascii_uppercase();
    let person = app.store().read(|tx| person_by_citizen_id(tx, &number))?;
    let Some(person) = person else {
        // The same work and the same answer as a wrong password.
        let _ = secrets::verify_password(
            "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            password,
        );
        let threshold = sscard_domain::policy::RegionPolicy::default().web_lock_threshold;
        return Err(login_failed(i64::from(threshold)));
    };
    let actor = cardholder_actor(person.id, Channel::Web);
    check_password(app, &actor, &person, password)?;
    if matches!(person.life_status.as_str(), "deceased" | "emigrated") {
        return Err(ServiceError::new(
            ErrorKind::Forbidden,
            "ACCOUNT_CLOSED",
            "该参保人已身故或出国定居,网上查询已关闭,请到经办机构办理",
            "The insured person has died or settled abroad: online access is closed; please go to a service counter",
        ));
    }
    start_session(app, person.id, Channel::Web, Duration::hours(MAX_HOURS))
}

/// The session of a token, refreshed. Errors: `SESSION_EXPIRED` (unknown, idle too long, too
/// old, or the person's account closed).
pub fn session(app: &App, token: &str) -> Result<CardholderSession, ServiceError> {
    let now = app.now();
    let hash = token_hash(token);
    app.store().write(|tx| {
        let Some(s) = repo::session_by_hash(tx, &hash)? else {
            return Err(session_expired());
        };
        let expires = parse_ts(&s.expires_at)?;
        let seen = parse_ts(&s.last_seen_at)?;
        if now >= expires || now - seen > Duration::minutes(IDLE_MINUTES) {
            repo::delete_session(tx, &hash)?;
            return Err(session_expired());
        }
        let Some(p) = persons::person_by_id(tx, s.person_id)? else {
            repo::delete_session(tx, &hash)?;
            return Err(session_expired());
        };
        repo::touch_session(tx, &hash, &ts(now))?;
        let channel = if s.channel == "kiosk" {
            Channel::Kiosk
        } else {
            Channel::Web
        };
        Ok(session_of(&p, channel, s.csrf_token, s.expires_at))
    })
}

/// Ends a session (unknown tokens are ignored).
pub fn logout(app: &App, token: &str) -> Result<(), ServiceError> {
    let now = app.now();
    let hash = token_hash(token);
    app.store().write(|tx| {
        if let Some(s) = repo::session_by_hash(tx, &hash)? {
            repo::delete_session(tx, &hash)?;
            let channel = if s.channel == "kiosk" {
                Channel::Kiosk
            } else {
                Channel::Web
            };
            audit::record(
                tx,
                now,
                &cardholder_actor(s.person_id, channel),
                Change {
                    action: "portal.logout",
                    entity: "person",
                    entity_id: &s.person_id.to_string(),
                    before: serde_json::Value::Null,
                    after: serde_json::Value::Null,
                },
            )?;
        }
        Ok::<_, ServiceError>(())
    })
}

fn weak(zh: &str, en: &str) -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "QUERY_PASSWORD_WEAK",
        format!("新查询密码不符合要求:{zh}"),
        format!("The new query password is not acceptable: {en}"),
    )
}

/// Checks a new query password against the rules of the module documentation.
pub fn check_new_password(new: &str, initial: &str, id_number: &str) -> Result<(), ServiceError> {
    let n = new.chars().count();
    if !(6..=20).contains(&n) {
        return Err(weak("长度须为 6 到 20 位", "it must be 6 to 20 characters"));
    }
    if !new.chars().all(|c| c.is_ascii_graphic()) {
        return Err(weak(
            "只能使用字母、数字和常用符号",
            "use letters, digits and common symbols only",
        ));
    }
    let letters = new.chars().any(|c| c.is_ascii_alphabetic());
    let digits = new.chars().any(|c| c.is_ascii_digit());
    if !(letters && digits) {
        return Err(weak(
            "须同时包含字母和数字",
            "it needs both letters and digits",
        ));
    }
    if new == initial {
        return Err(weak(
            "不能使用初始密码",
            "it cannot be the initial password",
        ));
    }
    if id_number
        .to_ascii_uppercase()
        .contains(&new.to_ascii_uppercase())
    {
        return Err(weak(
            "不能是身份证号码的一部分",
            "it cannot be a part of the ID number",
        ));
    }
    Ok(())
}

/// Changes the query password of the cardholder `person_id` (the actor themself; required at
/// first login). The current password is checked on the lockout counter. Ends the person's
/// other portal sessions, keeping `keep_token`'s. Errors: `LOGIN_FAILED`, `QUERY_LOCKED`,
/// `QUERY_PASSWORD_WEAK`, `QUERY_PASSWORD_REUSED`, `RECORD_NOT_YOURS`, `FORBIDDEN`.
pub fn change_query_password(
    app: &App,
    actor: &Actor,
    person_id: i64,
    current: &str,
    new: &str,
    keep_token: Option<&str>,
) -> Result<(), ServiceError> {
    require_self(actor, person_id)?;
    let today = app.today();
    let (person, initial) = app.store().read(|tx| {
        let p =
            persons::person_by_id(tx, person_id)?.ok_or_else(crate::persons::person_not_found)?;
        let policy = policy_of(tx, &p.region_code, today)?;
        let initial = policy.query_password.initial_for(&p.doc_number);
        Ok::<_, ServiceError>((p, initial))
    })?;
    check_password(app, actor, &person, current)?;
    if new == current {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "QUERY_PASSWORD_REUSED",
            "新查询密码不能与原密码相同",
            "The new query password must differ from the current one",
        ));
    }
    check_new_password(new, &initial, &person.doc_number)?;
    let hash = secrets::hash_password(new, secrets::random_salt());
    let now = app.now();
    let keep = keep_token.map(token_hash).unwrap_or_default();
    app.store().write(|tx| {
        repo::set_query_password(tx, person_id, &hash, true)?;
        repo::delete_other_sessions(tx, person_id, Channel::Web.as_str(), &keep)?;
        record_password_change(tx, now, actor, &person)
    })?;
    Ok(())
}

/// Resets a person's query password to the region's initial one at the counter (clerk or
/// supervisor, after checking the holder's ID): clears the wrong-try counter and the lock, ends
/// the person's portal sessions; the holder must change it again at the next login. Errors:
/// `FORBIDDEN`, `ID_MISMATCH`, `PERSON_NOT_FOUND`.
pub fn reset_query_password(
    app: &App,
    actor: &Actor,
    person_id: i64,
    presented_doc_number: &str,
) -> Result<(), ServiceError> {
    crate::access::require(actor, &crate::access::COUNTER)?;
    let now = app.now();
    app.store().write(|tx| {
        let p =
            persons::person_by_id(tx, person_id)?.ok_or_else(crate::persons::person_not_found)?;
        crate::cards::check_holder_document(&p, presented_doc_number)?;
        repo::set_query_password(tx, person_id, "", false)?;
        repo::delete_sessions_of(tx, person_id)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "portal.password_reset",
                entity: "person",
                entity_id: &p.id.to_string(),
                before: serde_json::json!({
                    "query_password_changed": p.query_password_changed,
                    "query_failed": p.query_failed,
                    "locked": p.query_locked_until.is_some(),
                }),
                after: serde_json::json!({"query_password_changed": false, "query_failed": 0}),
            },
        )?;
        Ok::<_, ServiceError>(())
    })
}

fn record_password_change(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    person: &persons::PersonRow,
) -> Result<(), ServiceError> {
    audit::record(
        tx,
        now,
        actor,
        Change {
            action: "portal.password_changed",
            entity: "person",
            entity_id: &person.id.to_string(),
            before: serde_json::json!({"query_password_changed": person.query_password_changed}),
            after: serde_json::json!({"query_password_changed": true}),
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_password_rules() {
        let id = "11010519491231002X";
        assert!(check_new_password("abc12345", "123456", id).is_ok());
        for bad in [
            "ab1", "abcdefgh", "12345678", "abc 1234", "31002x", "1231002X",
        ] {
            assert_eq!(
                check_new_password(bad, "123456", id).unwrap_err().code,
                "QUERY_PASSWORD_WEAK",
                "{bad}"
            );
        }
        assert!(check_new_password("Cx1234", "Cx1234", id).is_err());
    }

    #[test]
    fn locks_run_to_beijing_midnight() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 17, 30, 0).unwrap(); // 01:30 on the 22nd
        assert_eq!(
            next_midnight(now),
            Utc.with_ymd_and_hms(2026, 11, 22, 16, 0, 0).unwrap()
        );
        assert!(same("111111", "111111") && !same("111111", "111112"));
    }
}
