//! Request metrics for `/metrics` (Prometheus text format): GraphQL requests
//! by operation and outcome, latency histograms per operation, object-store
//! calls, the process and the build. Operation names come from clients, so
//! only the names the web app sends (read off its documents at build time)
//! are labels of their own; `unnamed` is an anonymous operation, and every
//! other name is `other`, so no caller can create series.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    store_calls: Mutex<BTreeMap<&'static str, u64>>,
    pub webhook_deliveries: Mutex<BTreeMap<(String, String), u64>>,
    pub rate_limited: AtomicU64,
    /// Progress gauges, recomputed at most every 15 s (a scrape costs no SQL in between).
    pub progress_cache: Mutex<Option<(std::time::Instant, String)>>,
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', " ")
}

impl Metrics {
    /// The label of an operation name (the document's, not the JSON's).
    fn operation(name: Option<&str>) -> String {
        match name {
            None => "unnamed".to_owned(),
            Some(n) if crate::build::KNOWN_OPERATIONS.binary_search(&n).is_ok() => n.to_owned(),
            Some(_) => "other".to_owned(),
        }
    }

    /// One GraphQL request: its operation name, outcome (`ok` or the first error code), seconds taken.
    pub fn request(&self, operation: Option<&str>, outcome: &str, seconds: f64) {
        let op = Self::operation(operation);
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((op.clone(), outcome.to_owned()))
            .or_default() += 1;
        let mut lat = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = lat.entry(op).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.buckets[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn store_call(&self, op: &'static str) {
        *self.store_calls.lock().unwrap_or_else(|e| e.into_inner()).entry(op).or_default() += 1;
    }

    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP hsv_graphql_requests_total GraphQL requests by operation and outcome.");
        let _ = writeln!(out, "# TYPE hsv_graphql_requests_total counter");
        for ((op, outcome), n) in self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "hsv_graphql_requests_total{{operation=\"{}\",outcome=\"{}\"}} {n}",
                label(op),
                label(outcome)
            );
        }
        let _ = writeln!(out, "# HELP hsv_graphql_request_seconds GraphQL request latency by operation.");
        let _ = writeln!(out, "# TYPE hsv_graphql_request_seconds histogram");
        for (op, h) in self.latency.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let op = label(op);
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "hsv_graphql_request_seconds_bucket{{operation=\"{op}\",le=\"{le}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(out, "hsv_graphql_request_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "hsv_graphql_request_seconds_sum{{operation=\"{op}\"}} {:.6}", h.sum);
            let _ = writeln!(out, "hsv_graphql_request_seconds_count{{operation=\"{op}\"}} {}", h.count);
        }
        let _ = writeln!(out, "# HELP hsv_rate_limited_total Requests refused by a rate limit.");
        let _ = writeln!(out, "# TYPE hsv_rate_limited_total counter");
        let _ = writeln!(out, "hsv_rate_limited_total {}", self.rate_limited.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP hsv_object_store_calls_total Object-store operations by kind.");
        let _ = writeln!(out, "# TYPE hsv_object_store_calls_total counter");
        for (op, n) in self.store_calls.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "hsv_object_store_calls_total{{op=\"{op}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP hsv_webhook_deliveries_total Webhook delivery attempts by event and result.");
        let _ = writeln!(out, "# TYPE hsv_webhook_deliveries_total counter");
        for ((event, result), n) in self.webhook_deliveries.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "hsv_webhook_deliveries_total{{event=\"{}\",result=\"{}\"}} {n}",
                label(event),
                label(result)
            );
        }
    }
}
