//! Short-lived caches for the settlement hot path: institutions (keys) and region policies.
//!
//! Both change rarely and only through the admin console; a settlement should not pay a
//! database read for them. Entries live [`TTL`]; a signature that fails against a cached
//! institution re-reads it at once, so a newly issued key works immediately, while a
//! suspension or a policy change takes effect within [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sscard_domain::policy::RegionPolicy;
use sscard_store::repo::medical::InstitutionAuth;

/// How long a cached entry is trusted.
pub const TTL: Duration = Duration::from_secs(5);

/// The caches one [`crate::App`] keeps.
#[derive(Debug, Default)]
pub struct Cache {
    institutions: Mutex<HashMap<String, (Instant, InstitutionAuth)>>,
    policies: Mutex<HashMap<(String, NaiveDate), (Instant, RegionPolicy)>>,
    /// Ledger account ids never change once opened: clearing by institution, pooling fund
    /// by region.
    clearing: Mutex<HashMap<(i64, i64), i64>>,
    pooling: Mutex<HashMap<(String, i64), i64>>,
    /// Sign numbers already checked: sign number → (institution, day). Valid all day.
    signs: Mutex<HashMap<String, (i64, String)>>,
    /// The queue to the writer of prepared settlements (PostgreSQL), once started.
    writer: std::sync::OnceLock<super::batch::Queue<super::settle::Prepared>>,
}

impl Cache {
    /// The queue to the settlement writer on `store`, started on first use.
    pub(crate) fn writer(
        &self,
        store: &sscard_store::Store,
    ) -> Option<&super::batch::Queue<super::settle::Prepared>> {
        if let Some(q) = self.writer.get() {
            return Some(q);
        }
        let queue = super::batch::start(store.clone()).ok()?;
        Some(self.writer.get_or_init(|| queue))
    }

    pub(crate) fn institution(&self, key_id: &str) -> Option<InstitutionAuth> {
        let map = self.institutions.lock().ok()?;
        map.get(key_id)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, i)| i.clone())
    }

    pub(crate) fn put_institution(&self, key_id: &str, inst: &InstitutionAuth) {
        if let Ok(mut map) = self.institutions.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(key_id.to_string(), (Instant::now(), inst.clone()));
        }
    }

    pub(crate) fn forget_institution(&self, key_id: &str) {
        if let Ok(mut map) = self.institutions.lock() {
            map.remove(key_id);
        }
    }

    pub(crate) fn policy(&self, region: &str, day: NaiveDate) -> Option<RegionPolicy> {
        let map = self.policies.lock().ok()?;
        map.get(&(region.to_string(), day))
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, p)| p.clone())
    }

    pub(crate) fn put_policy(&self, region: &str, day: NaiveDate, p: &RegionPolicy) {
        if let Ok(mut map) = self.policies.lock() {
            if map.len() > 1_000 {
                map.clear();
            }
            map.insert((region.to_string(), day), (Instant::now(), p.clone()));
        }
    }
}

impl Cache {
    pub(crate) fn clearing(&self, institution: i64, lane: i64) -> Option<i64> {
        self.clearing
            .lock()
            .ok()?
            .get(&(institution, lane))
            .copied()
    }

    pub(crate) fn put_clearing(&self, institution: i64, lane: i64, account: i64) {
        if let Ok(mut m) = self.clearing.lock() {
            m.insert((institution, lane), account);
        }
    }

    pub(crate) fn pooling(&self, region: &str, lane: i64) -> Option<i64> {
        self.pooling
            .lock()
            .ok()?
            .get(&(region.to_string(), lane))
            .copied()
    }

    pub(crate) fn put_pooling(&self, region: &str, lane: i64, account: i64) {
        if let Ok(mut m) = self.pooling.lock() {
            m.insert((region.to_string(), lane), account);
        }
    }

    pub(crate) fn sign(&self, sign_no: &str) -> Option<(i64, String)> {
        self.signs.lock().ok()?.get(sign_no).cloned()
    }

    pub(crate) fn put_sign(&self, sign_no: &str, institution: i64, day: &str) {
        if let Ok(mut m) = self.signs.lock() {
            if m.len() > 100_000 {
                m.clear();
            }
            m.insert(sign_no.to_string(), (institution, day.to_string()));
        }
    }
}
