//! The HTTP server: routes, middleware, per-request viewer, graceful shutdown.

pub mod client_addr;
pub mod files;
pub mod graphiql;
pub mod graphql_handler;
pub mod graphql_http;
pub mod metrics;
pub mod web;
pub mod ws;

use self::{
    files::{export_handler, photo_handler, upload_handler},
    graphql_handler::{graphql_get, graphql_handler},
    ws::ws_handler,
};

use crate::domain::ctx::Lang;
use crate::{
    config::Config,
    domain::auth::jwt,
    graphql::{self, error::request_error_body},
    infra::{db, storage::Storage},
    AppState,
};
use axum::{
    extract::State,
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tower_http::{
    catch_panic::CatchPanicLayer, cors::CorsLayer, limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

#[derive(Clone)]
pub struct Server {
    pub state: AppState,
    pub schema: graphql::AppSchema,
    pub proxies: Arc<client_addr::TrustedProxies>,
}

/// Connects, migrates and assembles everything a server needs.
pub async fn build(cfg: Config) -> anyhow::Result<Server> {
    let proxies = Arc::new(client_addr::TrustedProxies::parse(&cfg.trusted_proxies)?);
    let (db, db_stats) = db::connect(&cfg).await?;
    db::migrate(&db).await?;
    let secret = jwt::load_or_create_secret(cfg.jwt_secret.as_ref(), &cfg.data_dir)?;
    let keys = jwt::JwtKeys::new(&secret, &cfg.jwt_issuer, &cfg.jwt_audience);
    let storage = Storage::from_config(&cfg)?;
    let write_gate = cfg.is_sqlite().then(|| Arc::new(tokio::sync::Mutex::new(())));
    let notifier = crate::infra::notify::Notifier::new(!cfg.is_sqlite());
    notifier.listen(&db);
    let replica = match &cfg.database_read_url {
        Some(url) => {
            let r = crate::infra::replica::Replica::connect(url.expose()).await?;
            r.spawn_probe(db.clone());
            Some(r)
        }
        None => None,
    };
    let photo_slots = Arc::new(tokio::sync::Semaphore::new(2));
    let metrics = storage.metrics.clone();
    let limiter = Arc::new(crate::infra::ratelimit::RateLimiter::default());
    let state = AppState {
        cfg: Arc::new(cfg),
        db,
        replica,
        db_stats,
        jwt: keys,
        storage,
        write_gate,
        notifier,
        photo_slots,
        limiter,
        metrics,
    };
    crate::domain::photos::spawn_sweeper(state.clone());
    crate::domain::webhooks::spawn_worker(state.clone());
    crate::domain::audit::spawn_head_log(state.db.clone());
    let limits = graphql::cost::Limits {
        budget: state.cfg.max_query_complexity as u64,
        max_depth: state.cfg.max_query_depth,
        max_aliases: state.cfg.max_aliases,
        max_directives: state.cfg.max_aliases,
    };
    let schema = graphql::build_schema(Some(state.clone()), limits);
    Ok(Server { state, schema, proxies })
}

pub fn router(server: Server) -> Router {
    let cfg = server.state.cfg.clone();
    let origins: Vec<HeaderValue> = cfg.cors_origins.iter().filter_map(|o| o.parse().ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT_LANGUAGE,
            header::HeaderName::from_static("graphql-preflight"),
        ])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route(
            "/graphql",
            get(graphql_get).post(graphql_handler).fallback(graphql_handler::other_method).layer(
                tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(cfg.request_timeout),
                ),
            ),
        )
        .route("/graphql/ws", get(ws_handler))
        .route("/graphiql", get(|| async { graphiql::page() }))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/uploads/{id}", axum::routing::put(upload_handler))
        .route("/photos/{id}/{variant}", get(photo_handler))
        .route("/exports/{file}", get(export_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::handler))
        .layer(RequestBodyLimitLayer::new(cfg.max_body_bytes))
        // A photo or export is never to be read as HTML or script, whatever it holds.
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(axum::middleware::from_fn_with_state(cfg.max_body_bytes, coded_body_limit))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(request_error_body("INTERNAL", "Internal error."))).into_response()
        }))
        .with_state(server)
}

/// The body limit's own 413 (a declared length over the limit) as a coded
/// error that names the limit the request met: the upload limit for
/// uploads, the GraphQL request limit for anything else. JSON answers get
/// their charset here too.
async fn coded_body_limit(
    State(limit): State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (multipart, lang) = {
        let h = req.headers();
        let get = |name| h.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        let multipart = get(header::CONTENT_TYPE).is_some_and(|c| c.starts_with("multipart/"))
            || req.uri().path().starts_with("/uploads/");
        (multipart, Lang::from_accept_language(get(header::ACCEPT_LANGUAGE)))
    };
    let mut res = next.run(req).await;
    let json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json && res.headers()[header::CONTENT_TYPE] == "application/json" {
        // Messages are Chinese: every JSON answer says its charset.
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    }
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        let limit = if multipart { limit } else { graphql_handler::MAX_JSON_BYTES.min(limit) };
        return graphql_handler::payload_too_large(limit, multipart, lang);
    }
    res
}

async fn readyz(State(s): State<Server>) -> Response {
    if db::ping(&s.state.db).await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
pub async fn serve(server: Server, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let app = router(server).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Starts a server on an already-bound listener in the background (tests use port 0).
pub async fn spawn(
    cfg: Config,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<(Server, tokio::task::JoinHandle<()>)> {
    let server = build(cfg).await?;
    let s2 = server.clone();
    let handle = tokio::spawn(async move {
        let app = router(s2).into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
    Ok((server, handle))
}
