//! One integration-test binary: every test starts the real server on port 0
//! with its own database and talks GraphQL over HTTP.
//! `TEST_DATABASE=postgres` runs the same tests on PostgreSQL.

mod auth;
mod checks;
mod conventions;
mod exports;
mod failover;
mod foundation;
mod hardening;
mod hostile;
mod imports;
mod levels;
mod limits;
mod lookback;
mod matrix;
mod messages;
mod nested;
mod photos;
mod privacy;
mod progress;
mod protocols;
mod replica;
mod start;
mod tools;
mod undo;
mod webhooks;
mod workflow;
mod xls;
