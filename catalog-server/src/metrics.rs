//! Prometheus metrics, one registry per server instance.
//!
//! - `floe_http_requests_total{method,route,status}` and
//!   `floe_http_request_duration_seconds{method,route}`: every request, by matched route
//!   (the route template, never the raw path, so label cardinality stays bounded).
//! - `floe_commits_total{outcome}`, `floe_commit_conflicts_total` (races lost and retried
//!   by the server), `floe_commit_rebases_total` (stale appends rebased onto a moved
//!   branch), `floe_commit_attempts`, and `floe_commit_phase_seconds{phase}` with
//!   `queue` (waiting for the turn on the table, behind this process's and other replicas'
//!   commits to it), `rebase` (rebasing a stale append), `metadata_write`, `database` (the
//!   pointer swap) and `other` (loading and applying), so a slow commit shows where its time
//!   went.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::service::CommitTiming;

type Labels = Vec<(String, String)>;

fn latency_histogram() -> Histogram {
    // 100 µs to ~13 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<Labels, Counter>,
    durations: Family<Labels, Histogram, fn() -> Histogram>,
    commits: Family<Labels, Counter>,
    conflicts: Counter,
    rebases: Counter,
    attempts: Histogram,
    phases: Family<Labels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let durations =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let commits = Family::<Labels, Counter>::default();
        let conflicts = Counter::default();
        let rebases = Counter::default();
        let attempts = Histogram::new([1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0]);
        let phases =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "floe_http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "floe_http_request_duration_seconds",
            "HTTP request latency by method and route",
            durations.clone(),
        );
        registry.register(
            "floe_commits",
            "Table commits by outcome (committed or failed)",
            commits.clone(),
        );
        registry.register(
            "floe_commit_conflicts",
            "Commit races lost at the pointer swap (each is retried if the requirements still hold)",
            conflicts.clone(),
        );
        registry.register(
            "floe_commit_rebases",
            "Stale pure appends that landed rebased onto their branch's new head",
            rebases.clone(),
        );
        registry.register(
            "floe_commit_attempts",
            "Attempts per commit",
            attempts.clone(),
        );
        registry.register(
            "floe_commit_phase_seconds",
            "Commit time by phase: queue, rebase, metadata_write, database, other",
            phases.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            durations,
            commits,
            conflicts,
            rebases,
            attempts,
            phases,
        }
    }

    /// Count one finished HTTP request.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&vec![
                ("method".into(), method.into()),
                ("route".into(), route.into()),
                ("status".into(), status.to_string()),
            ])
            .inc();
        self.durations
            .get_or_create(&vec![
                ("method".into(), method.into()),
                ("route".into(), route.into()),
            ])
            .observe(seconds);
    }

    /// Count one commit race lost at the swap.
    pub fn commit_conflict(&self) {
        self.conflicts.inc();
    }

    /// Record a finished commit and its phases.
    pub fn commit_finished(&self, ok: bool, t: &CommitTiming) {
        let outcome = if ok { "committed" } else { "failed" };
        self.commits
            .get_or_create(&vec![("outcome".into(), outcome.into())])
            .inc();
        if ok && t.rebased {
            self.rebases.inc();
        }
        self.attempts.observe(f64::from(t.attempts));
        let other = t
            .total
            .saturating_sub(t.queue + t.rebase + t.metadata_write + t.database);
        for (phase, d) in [
            ("queue", t.queue),
            ("rebase", t.rebase),
            ("metadata_write", t.metadata_write),
            ("database", t.database),
            ("other", other),
        ] {
            self.phases
                .get_or_create(&vec![("phase".into(), phase.into())])
                .observe(d.as_secs_f64());
        }
    }

    /// The metrics in the Prometheus/OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self.registry.lock() {
            Ok(r) => {
                if let Err(e) = encode(&mut out, &r) {
                    tracing::error!("cannot encode metrics: {e}");
                }
            }
            Err(_) => tracing::error!("metrics registry lock poisoned"),
        }
        out
    }
}
