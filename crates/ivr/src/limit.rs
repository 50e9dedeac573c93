//! The per-caller rate limit on identity attempts: every PIN keyed on the line (queries, PIN
//! change, loss) and every look-up by somebody else's number (work-injury and work-death
//! benefits by social security number, employer contributions by employer number) takes one
//! attempt from the caller's budget. The card's own wrong-try counter protects one card; this
//! protects all cards from one telephone trying many.
//!
//! Callers are keyed by the keyed hash of their number (never the number); calls without
//! caller ID share one budget.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Attempts per caller in [`DEFAULT_WINDOW`].
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// The sliding window of the default limit.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A sliding-window counter per caller, in memory (one per process).
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
    calls: AtomicU64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(DEFAULT_MAX_ATTEMPTS, DEFAULT_WINDOW)
    }
}

impl RateLimiter {
    /// At most `max` attempts per caller in any `window`.
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
        }
    }

    /// Takes one attempt for `caller`; `false` when the caller has used up the window's budget
    /// (the attempt is then not counted).
    pub fn try_acquire(&self, caller: &str) -> bool {
        self.try_acquire_at(caller, Instant::now())
    }

    /// [`try_acquire`](Self::try_acquire) at a given instant (tests).
    pub fn try_acquire_at(&self, caller: &str, now: Instant) -> bool {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if self.calls.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            let window = self.window;
            hits.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = hits.entry(caller.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.max as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_per_caller_and_slides() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.try_acquire_at("a", t0));
        }
        assert!(!l.try_acquire_at("a", t0 + Duration::from_secs(1)));
        assert!(
            l.try_acquire_at("b", t0),
            "another caller has its own budget"
        );
        assert!(l.try_acquire_at("a", t0 + Duration::from_secs(61)));
    }
}
