//! Infrastructure under the domain: database connection, object store,
//! cross-process notifications, rate-limit buckets, the metrics registry and
//! the optional read replica.

pub mod db;
pub mod metrics;
pub mod notify;
pub mod process;
pub mod ratelimit;
pub mod replica;
pub mod storage;
