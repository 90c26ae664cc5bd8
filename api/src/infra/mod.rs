//! Infrastructure under the domain: database connection, object store,
//! cross-process notifications, rate-limit buckets and the metrics registry.

pub mod db;
pub mod metrics;
pub mod notify;
pub mod process;
pub mod ratelimit;
pub mod storage;
