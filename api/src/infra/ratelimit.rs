//! Request limits beyond depth and complexity: a token bucket per account,
//! per API token and per client address (anonymous callers), kept in memory.
//!
//! Buckets live in each API process: with N processes behind a balancer a
//! caller gets up to N times the rate, which is acceptable for a fairness
//! limit; sign-in throttling, which is a security limit, is in the database.

use std::{collections::HashMap, sync::Mutex, time::Instant};

struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket (`per_minute` capacity, refilled
    /// evenly). Err(seconds until the next request is allowed). 0 = no limit.
    pub fn check(&self, key: &str, per_minute: u32) -> Result<(), i64> {
        if per_minute == 0 {
            return Ok(());
        }
        let cap = per_minute as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut m = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 50_000 {
            // Idle buckets are full again; forgetting them changes nothing.
            m.retain(|_, b| now.duration_since(b.at).as_secs_f64() * rate < cap);
        }
        let b = m.entry(key.to_owned()).or_insert(Bucket { tokens: cap, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as i64)
        }
    }
}
