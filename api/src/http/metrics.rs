//! Prometheus text for `/metrics` beyond request counters: each campaign's
//! households, submitted and approved (practice never counts), and the pool.

use super::Server;
use crate::{domain::progress::all_campaign_counts, AppState};
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use std::{sync::atomic::Ordering, time::Duration};

/// Progress counters and the database pool for `/metrics`: each campaign's
/// households, submitted and approved (practice never counts).
pub async fn render_metrics(state: &AppState, out: &mut String) {
    use std::fmt::Write;
    let db = &state.db;
    let _ = writeln!(out, "# HELP hsv_campaign_households Households, submitted and approved records per campaign.");
    let _ = writeln!(out, "# TYPE hsv_campaign_households gauge");
    let Ok(all) = all_campaign_counts(db).await else { return };
    for (c, n) in all {
        let name = c.name.replace('"', "'");
        for (figure, value) in [("households", n.households), ("submitted", n.submitted), ("approved", n.approved)] {
            let _ = writeln!(out, "hsv_campaign_households{{campaign=\"{name}\",figure=\"{figure}\"}} {value}");
        }
    }
}

/// The audit chain's head, so a scraper keeps an anchor outside the database
/// (`api audit-verify --expect <seq>:<hash>` checks against it).
async fn render_audit_head(state: &AppState, out: &mut String) {
    use std::fmt::Write;
    let Ok(Some(h)) = crate::domain::audit::head(&state.db).await else { return };
    let _ = writeln!(out, "# HELP hsv_audit_head Newest audit event: its number, with its hash as a label.");
    let _ = writeln!(out, "# TYPE hsv_audit_head gauge");
    let _ = writeln!(out, "hsv_audit_head{{hash=\"{}\"}} {}", h.hash, h.seq);
}

/// The database pool's connections, for `/metrics` (no SQL).
pub fn render_pool(state: &AppState, out: &mut String) {
    use std::fmt::Write;
    let db = &state.db;
    let pool = match db {
        sea_orm::DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let p = db.get_postgres_connection_pool();
            Some((p.size(), p.num_idle()))
        }
        sea_orm::DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let p = db.get_sqlite_connection_pool();
            Some((p.size(), p.num_idle()))
        }
        _ => None,
    };
    if let Some((size, idle)) = pool {
        let _ = writeln!(out, "# HELP hsv_db_pool_connections Database pool connections by state.");
        let _ = writeln!(out, "# TYPE hsv_db_pool_connections gauge");
        let _ = writeln!(out, "hsv_db_pool_connections{{state=\"idle\"}} {idle}");
        let _ = writeln!(out, "hsv_db_pool_connections{{state=\"in_use\"}} {}", size as usize - idle);
    }
    if let Some(r) = &state.replica {
        let _ = writeln!(
            out,
            "# HELP hsv_replica_lag_ms Read replica's lag behind the primary at the last probe; -1 unknown."
        );
        let _ = writeln!(out, "# TYPE hsv_replica_lag_ms gauge");
        let _ = writeln!(out, "hsv_replica_lag_ms {}", r.lag_ms());
    }
}
/// Prometheus text format.
/// Campaign progress is not for anyone on the network: the configured token,
/// or without one, callers on this machine only.
fn may_scrape(s: &Server, peer: std::net::SocketAddr, headers: &axum::http::HeaderMap) -> bool {
    match &s.state.cfg.metrics_token {
        Some(t) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| crate::domain::auth::constant_time_eq(given.trim().as_bytes(), t.expose().as_bytes())),
        // Behind a trusted proxy on this machine the peer is always local: the
        // caller is the one the proxy names.
        None => super::graphql_handler::client_addr(s, headers, peer)
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback()),
    }
}

pub(super) async fn handler(
    State(s): State<Server>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    if !may_scrape(&s, peer, &headers) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "Send the metrics token: Authorization: Bearer <APP_METRICS_TOKEN>\n",
        )
            .into_response();
    }
    // Progress first (cached), so the statement counter below already includes
    // its queries and two scrapes in a row differ only by real traffic.
    let progress = {
        let cached = s.state.metrics.progress_cache.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match cached {
            Some((at, text)) if at.elapsed() < Duration::from_secs(15) => text,
            _ => {
                let mut text = String::new();
                render_metrics(&s.state, &mut text).await;
                render_audit_head(&s.state, &mut text).await;
                *s.state.metrics.progress_cache.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((std::time::Instant::now(), text.clone()));
                text
            }
        }
    };
    let st = &s.state.db_stats;
    let mut body = format!(
        "# HELP hsv_db_statements_total SQL statements executed.\n# TYPE hsv_db_statements_total counter\n\
         hsv_db_statements_total {}\n\
         # HELP hsv_db_statements_failed_total SQL statements that failed.\n# TYPE hsv_db_statements_failed_total counter\n\
         hsv_db_statements_failed_total {}\n\
         # HELP hsv_db_statement_seconds_total Time spent in SQL statements.\n# TYPE hsv_db_statement_seconds_total counter\n\
         hsv_db_statement_seconds_total {:.6}\n",
        st.statements.load(Ordering::Relaxed),
        st.failed.load(Ordering::Relaxed),
        st.micros.load(Ordering::Relaxed) as f64 / 1e6,
    );
    s.state.metrics.render(&mut body);
    body.push_str(&progress);
    render_pool(&s.state, &mut body);
    crate::infra::process::render(&mut body);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
