//! Region policies with an effective-from date and their whole history.
//!
//! Rules:
//! - a new version is validated ([`RegionPolicy::validate`]) and takes effect on its date; the
//!   version in force on a day is the one with the latest `effective_from` on or before it
//!   ([`cards::policy_of`](crate::cards::policy_of) for every use case);
//! - history is never rewritten: a version cannot start before today (`POLICY_BACKDATED`), and
//!   a version that has already taken effect (date today or earlier) cannot be replaced
//!   (`POLICY_VERSION_IN_FORCE`); a future version may be replaced until its date comes.

use chrono::NaiveDate;
use serde::Serialize;
use sscard_domain::policy::RegionPolicy;
use sscard_store::repo::{admin as repo, regions};

use super::{bad, require_admin};
use crate::App;
use crate::audit::{self, Actor, Change};
use crate::error::{ErrorKind, ServiceError};

/// One version of a region's policy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicyVersion {
    pub region_code: String,
    pub effective_from: String,
    pub policy: RegionPolicy,
    pub created_at: String,
    pub created_by: String,
    /// The version in force today.
    pub in_force: bool,
    /// Not yet in force.
    pub future: bool,
}

fn region_not_served(region: &str) -> ServiceError {
    ServiceError::not_found(
        "REGION_NOT_SERVED",
        format!("{region} 不是本系统的统筹区"),
        format!("{region} is not a pooling region served here"),
    )
}

/// Every version of a region's policy, newest date first, marking the one in force today.
/// Errors: `FORBIDDEN`, `REGION_NOT_SERVED`.
pub fn history(app: &App, actor: &Actor, region: &str) -> Result<Vec<PolicyVersion>, ServiceError> {
    require_admin(actor)?;
    let region = region.trim();
    let today = app.today().to_string();
    let rows = app.store().read(|tx| {
        if !regions::list_regions(tx)?.iter().any(|r| r.code == region) {
            return Err(region_not_served(region));
        }
        Ok::<_, ServiceError>(repo::policy_history(tx, region)?)
    })?;
    let mut seen_in_force = false;
    rows.into_iter()
        .map(|r| {
            let policy: RegionPolicy = serde_json::from_str(&r.policy_json)
                .map_err(|e| ServiceError::internal(format!("stored policy of {region}: {e}")))?;
            let future = r.effective_from > today;
            let in_force = !future && !seen_in_force;
            seen_in_force |= in_force;
            Ok(PolicyVersion {
                region_code: r.region_code,
                effective_from: r.effective_from,
                policy,
                created_at: r.created_at,
                created_by: r.created_by,
                in_force,
                future,
            })
        })
        .collect()
}

/// Parses a policy from its JSON form (missing keys take the defaults, unknown keys are
/// refused). Errors: `POLICY_JSON_INVALID`.
pub fn parse_json(text: &str) -> Result<RegionPolicy, ServiceError> {
    serde_json::from_str(text).map_err(|e| {
        bad(
            "POLICY_JSON_INVALID",
            format!("政策参数格式错误:{e}"),
            format!("The policy is not valid JSON for a region policy: {e}"),
        )
    })
}

/// Records a new policy version for `region` taking effect on `effective_from`. Errors:
/// `FORBIDDEN`, `REGION_NOT_SERVED`, `POLICY_INVALID`, `POLICY_BACKDATED`,
/// `POLICY_VERSION_IN_FORCE`.
pub fn set(
    app: &App,
    actor: &Actor,
    region: &str,
    effective_from: NaiveDate,
    policy: &RegionPolicy,
) -> Result<PolicyVersion, ServiceError> {
    require_admin(actor)?;
    policy.validate().map_err(|e| ServiceError::invalid(&e))?;
    let region = region.trim();
    let today = app.today();
    if effective_from < today {
        return Err(bad(
            "POLICY_BACKDATED",
            format!("生效日期 {effective_from} 早于今天({today}),不能改写历史政策"),
            format!(
                "The effective date {effective_from} is before today ({today}): history cannot be rewritten"
            ),
        ));
    }
    let now = app.now();
    app.store().write(|tx| {
        if !regions::list_regions(tx)?.iter().any(|r| r.code == region) {
            return Err(region_not_served(region));
        }
        let date = effective_from.to_string();
        let existing = repo::policy_history(tx, region)?
            .into_iter()
            .find(|r| r.effective_from == date);
        if existing.is_some() && effective_from <= today {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "POLICY_VERSION_IN_FORCE",
                format!("{date} 起生效的政策版本已经生效,不能修改;请以明天或以后的日期新增版本"),
                format!("The version effective from {date} is already in force and cannot be changed: add a version from tomorrow on"),
            ));
        }
        let before = match &existing {
            Some(r) => serde_json::from_str(&r.policy_json).unwrap_or(serde_json::Value::Null),
            None => match regions::policy_in_force(tx, region, effective_from)? {
                Some(p) => serde_json::to_value(p).unwrap_or(serde_json::Value::Null),
                None => serde_json::Value::Null,
            },
        };
        regions::insert_policy(tx, region, effective_from, policy, now, &actor.username)?;
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "admin.policy_set",
                entity: "region_policy",
                entity_id: &format!("{region}@{date}"),
                before,
                after: serde_json::to_value(policy).unwrap_or(serde_json::Value::Null),
            },
        )?;
        Ok::<_, ServiceError>(())
    })?;
    history(app, actor, region)?
        .into_iter()
        .find(|v| v.effective_from == effective_from.to_string())
        .ok_or_else(|| ServiceError::internal("the policy version just written is missing"))
}
