//! A small Prometheus metrics registry (text exposition format 0.0.4), built on atomics.
//!
//! - `http_requests_total{method,route,status}`: counter; `route` is the matched route
//!   template (`/api/v1/regions/{code}`), or `unmatched`, never the raw path;
//! - `http_request_duration_seconds{method,route}`: histogram;
//! - the gauges of [`render_gauges`] from the service's counts, and on SQLite the counters of
//!   its write path (`sscard_sqlite_{group_commits,wal_syncs,wal_restarts}_total` and
//!   `…_seconds_total`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sscard_service::app::Stats;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

type CounterKey = (String, String, u16);
type HistogramKey = (String, String);

/// The registry one server holds.
#[derive(Debug)]
pub struct Metrics {
    started: SystemTime,
    requests: RwLock<HashMap<CounterKey, Arc<AtomicU64>>>,
    durations: RwLock<HashMap<HistogramKey, Arc<Histogram>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn get_or_insert<K, V>(map: &RwLock<HashMap<K, Arc<V>>>, key: K) -> Arc<V>
where
    K: std::hash::Hash + Eq,
    V: Default,
{
    if let Some(v) = map.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return v.clone();
    }
    map.write()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default()
        .clone()
}

/// Escapes a label value (backslash, double quote, newline).
pub fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started: SystemTime::now(),
            requests: RwLock::default(),
            durations: RwLock::default(),
        }
    }

    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        get_or_insert(
            &self.requests,
            (method.to_string(), route.to_string(), status),
        )
        .fetch_add(1, Ordering::Relaxed);
        get_or_insert(&self.durations, (method.to_string(), route.to_string())).observe(elapsed);
    }

    /// Seconds since the Unix epoch when this registry (the server) started.
    pub fn start_time_seconds(&self) -> f64 {
        self.started
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    /// The HTTP families and the process start time, in the text exposition format.
    pub fn render_http(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP http_requests_total HTTP requests by method, matched route and status.\n",
        );
        out.push_str("# TYPE http_requests_total counter\n");
        let mut counters: Vec<(CounterKey, u64)> = self
            .requests
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .collect();
        counters.sort();
        for ((method, route, status), n) in counters {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape_label(&method),
                escape_label(&route)
            );
        }

        out.push_str("# HELP http_request_duration_seconds HTTP request latency by method and matched route.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        let mut hists: Vec<(HistogramKey, Arc<Histogram>)> = self
            .durations
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        hists.sort_by(|a, b| a.0.cmp(&b.0));
        for ((method, route), h) in hists {
            let labels = format!(
                "method=\"{}\",route=\"{}\"",
                escape_label(&method),
                escape_label(&route)
            );
            let mut cumulative = 0u64;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += h.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
            );
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {cumulative}"
            );
        }

        out.push_str("# HELP process_start_time_seconds Start time of the server since the Unix epoch in seconds.\n");
        out.push_str("# TYPE process_start_time_seconds gauge\n");
        let _ = writeln!(
            out,
            "process_start_time_seconds {}",
            self.start_time_seconds()
        );
        out
    }
}

/// `sscard_up` and, when the database answered, the service's counts.
pub fn render_gauges(stats: Option<&Stats>) -> String {
    let mut out = String::new();
    out.push_str(
        "# HELP sscard_up Whether the database answered the last scrape (1) or not (0).\n",
    );
    out.push_str("# TYPE sscard_up gauge\n");
    let _ = writeln!(out, "sscard_up {}", u8::from(stats.is_some()));
    let Some(stats) = stats else {
        return out;
    };
    out.push_str("# HELP sscard_persons Persons on record.\n");
    out.push_str("# TYPE sscard_persons gauge\n");
    let _ = writeln!(out, "sscard_persons {}", stats.persons);
    out.push_str("# HELP sscard_cards Cards by status.\n");
    out.push_str("# TYPE sscard_cards gauge\n");
    let mut cards = stats.cards_by_status.clone();
    cards.sort();
    for (status, n) in cards {
        let _ = writeln!(
            out,
            "sscard_cards{{status=\"{}\"}} {n}",
            escape_label(&status)
        );
    }
    out.push_str("# HELP sscard_audit_rows Rows in the audit log.\n");
    out.push_str("# TYPE sscard_audit_rows gauge\n");
    let _ = writeln!(out, "sscard_audit_rows {}", stats.audit_rows);
    if let Some(w) = &stats.write_path {
        let series = [
            (
                "group_commits",
                "Group commits run (jobs and commit)",
                w.groups,
                w.group_micros,
            ),
            (
                "wal_syncs",
                "WAL syncs making group commits durable",
                w.wal_syncs,
                w.wal_sync_micros,
            ),
            (
                "wal_restarts",
                "Pauses in which the WAL was checkpointed whole to start over",
                w.wal_restarts,
                w.wal_restart_micros,
            ),
        ];
        for (name, help, count, micros) in series {
            let _ = writeln!(out, "# HELP sscard_sqlite_{name}_total {help}.");
            let _ = writeln!(out, "# TYPE sscard_sqlite_{name}_total counter");
            let _ = writeln!(out, "sscard_sqlite_{name}_total {count}");
            let _ = writeln!(
                out,
                "# HELP sscard_sqlite_{name}_seconds_total Time they took."
            );
            let _ = writeln!(out, "# TYPE sscard_sqlite_{name}_seconds_total counter");
            let secs = micros as f64 / 1e6;
            let _ = writeln!(out, "sscard_sqlite_{name}_seconds_total {secs:.6}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.observe("GET", "/x", 200, Duration::from_millis(1));
        m.observe("GET", "/x", 200, Duration::from_millis(30));
        m.observe("GET", "/x", 500, Duration::from_secs(20));
        let text = m.render_http();
        assert!(
            text.contains("http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("http_requests_total{method=\"GET\",route=\"/x\",status=\"500\"} 1\n")
        );
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",le=\"0.005\"} 1\n"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",le=\"0.05\"} 2\n"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",le=\"10\"} 2\n"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",le=\"+Inf\"} 3\n"
        ));
        assert!(
            text.contains("http_request_duration_seconds_count{method=\"GET\",route=\"/x\"} 3\n")
        );
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn gauges_without_stats_say_down() {
        assert_eq!(render_gauges(None).lines().last(), Some("sscard_up 0"));
        let mut s = Stats {
            persons: 3,
            cards_by_status: vec![("active".into(), 2)],
            audit_rows: 9,
            write_path: None,
        };
        let text = render_gauges(Some(&s));
        assert!(text.contains("sscard_up 1\n"));
        assert!(text.contains("sscard_persons 3\n"));
        assert!(text.contains("sscard_cards{status=\"active\"} 2\n"));
        assert!(text.contains("sscard_audit_rows 9\n"));
        assert!(
            !text.contains("sscard_sqlite_"),
            "no write path on PostgreSQL"
        );
        s.write_path = Some(sscard_store::WritePathStats {
            groups: 10,
            group_micros: 2_500_000,
            wal_syncs: 8,
            wal_sync_micros: 1_250,
            wal_restarts: 1,
            wal_restart_micros: 45_000,
        });
        let text = render_gauges(Some(&s));
        assert!(text.contains("sscard_sqlite_group_commits_total 10\n"));
        assert!(text.contains("sscard_sqlite_group_commits_seconds_total 2.500000\n"));
        assert!(text.contains("sscard_sqlite_wal_syncs_total 8\n"));
        assert!(text.contains("sscard_sqlite_wal_syncs_seconds_total 0.001250\n"));
        assert!(text.contains("sscard_sqlite_wal_restarts_total 1\n"));
        assert!(text.contains("sscard_sqlite_wal_restarts_seconds_total 0.045000\n"));
        assert!(text.contains("# TYPE sscard_sqlite_wal_syncs_total counter\n"));
    }
}
