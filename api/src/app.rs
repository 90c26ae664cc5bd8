//! The HTTP server: routes, middleware, per-request viewer, graceful shutdown.

use crate::{
    accounts, auth::jwt, config::Config, db, error::request_error_body, graphql, loaders::Loaders, storage::Storage,
    AppState,
};
use async_graphql::http::{GraphiQLSource, MultipartOptions};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Json, Router,
};
use std::{net::SocketAddr, sync::atomic::Ordering, sync::Arc, time::Duration};
use tower_http::{catch_panic::CatchPanicLayer, cors::CorsLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};

#[derive(Clone)]
pub struct Server {
    pub state: AppState,
    pub schema: graphql::AppSchema,
}

/// Connects, migrates and assembles everything a server needs.
pub async fn build(cfg: Config) -> anyhow::Result<Server> {
    let (db, db_stats) = db::connect(&cfg).await?;
    db::migrate(&db).await?;
    let secret = jwt::load_or_create_secret(cfg.jwt_secret.as_ref(), &cfg.data_dir)?;
    let keys = jwt::JwtKeys::new(&secret, &cfg.jwt_issuer, &cfg.jwt_audience);
    let storage = Storage::from_config(&cfg)?;
    let write_gate = cfg.is_sqlite().then(|| Arc::new(tokio::sync::Mutex::new(())));
    let notifier = crate::notify::Notifier::new(!cfg.is_sqlite());
    notifier.listen(&db);
    let photo_slots = Arc::new(tokio::sync::Semaphore::new(2));
    let metrics = storage.metrics.clone();
    let limiter = Arc::new(crate::limits::RateLimiter::default());
    let state = AppState {
        cfg: Arc::new(cfg),
        db,
        db_stats,
        jwt: keys,
        storage,
        write_gate,
        notifier,
        photo_slots,
        limiter,
        metrics,
    };
    crate::photos::spawn_sweeper(state.clone());
    crate::webhooks::spawn_worker(state.clone());
    let schema = graphql::build_schema(
        Some(state.clone()),
        state.cfg.max_query_depth,
        state.cfg.max_query_complexity,
        state.cfg.max_aliases,
    );
    Ok(Server { state, schema })
}

pub fn router(server: Server) -> Router {
    let cfg = server.state.cfg.clone();
    let origins: Vec<HeaderValue> = cfg.cors_origins.iter().filter_map(|o| o.parse().ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT_LANGUAGE])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route(
            "/graphql",
            get(graphiql).post(graphql_handler).layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(cfg.request_timeout),
            )),
        )
        .route("/graphql/ws", get(ws_handler))
        .route("/uploads/{id}", axum::routing::put(upload_handler))
        .route("/photos/{id}/{variant}", get(photo_handler))
        .route("/exports/{file}", get(export_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(RequestBodyLimitLayer::new(cfg.max_body_bytes))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(request_error_body("INTERNAL", "Internal error."))).into_response()
        }))
        .with_state(server)
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("住房安全核验 GraphQL")
            .finish(),
    )
}

async fn readyz(State(s): State<Server>) -> Response {
    if db::ping(&s.state.db).await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// Prometheus text format.
async fn metrics(State(s): State<Server>) -> Response {
    // Progress first (cached), so the statement counter below already includes
    // its queries and two scrapes in a row differ only by real traffic.
    let progress = {
        let cached = s.state.metrics.progress_cache.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match cached {
            Some((at, text)) if at.elapsed() < Duration::from_secs(15) => text,
            _ => {
                let mut text = String::new();
                crate::progress::render_metrics(&s.state, &mut text).await;
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
    crate::progress::render_pool(&s.state, &mut body);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn client_addr(cfg: &Config, headers: &HeaderMap, peer: SocketAddr) -> String {
    if cfg.trust_forwarded_for {
        if let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return first.to_owned();
        }
    }
    peer.ip().to_string()
}

async fn graphql_handler(
    State(s): State<Server>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request = match async_graphql::http::receive_body(
        content_type,
        futures_util::io::Cursor::new(body),
        MultipartOptions::default().max_file_size(s.state.cfg.max_body_bytes),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("The request is not a GraphQL request: {e}");
            return (StatusCode::BAD_REQUEST, Json(request_error_body("VALIDATION", &msg))).into_response();
        }
    };
    let mut ctx = graphql::RequestCtx {
        client_addr: Some(client_addr(&s.state.cfg, &headers, peer)),
        english: headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en")),
        ..Default::default()
    };
    match viewer_from_headers(&s.state, &headers).await {
        Ok(v) => ctx.viewer = v,
        Err(e) => ctx.token_error = Some(e),
    }
    let started = std::time::Instant::now();
    let operation = request.operation_name.clone();
    let cfg = &s.state.cfg;
    let (key, per_minute) = match ctx.viewer.as_ref().map(|v| &v.principal) {
        Some(crate::auth::Principal::Account { id, .. }) => (format!("account:{id}"), cfg.rate_limit_account),
        Some(crate::auth::Principal::ApiToken { id, .. }) => (format!("token:{id}"), cfg.rate_limit_token),
        None => (format!("addr:{}", ctx.client_addr.clone().unwrap_or_default()), cfg.rate_limit_anonymous),
    };
    if let Err(retry) = s.state.limiter.check(&key, per_minute) {
        s.state.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
        s.state.metrics.request(operation.as_deref(), "RATE_LIMITED", started.elapsed().as_secs_f64());
        let body = serde_json::json!({ "errors": [ {
            "message": format!("Too many requests: at most {per_minute} a minute. Try again in {retry} s."),
            "extensions": { "code": "RATE_LIMITED", "retryAfterSeconds": retry },
        } ] });
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry.to_string())], Json(body)).into_response();
    }
    let loaders = Loaders::new(&s.state.db, ctx.viewer.as_ref());
    let request = request.data(ctx).data(loaders);
    let resp = s.schema.execute(request).await;
    let outcome = resp
        .errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|x| x.get("code"))
        .map(|c| c.to_string().trim_matches('"').to_owned())
        .unwrap_or_else(|| if resp.errors.is_empty() { "ok".into() } else { "ERROR".into() });
    s.state.metrics.request(operation.as_deref(), &outcome, started.elapsed().as_secs_f64());
    Json(resp).into_response()
}

/// GraphQL over WebSocket (graphql-transport-ws or graphql-ws) for subscriptions.
/// The access or API token goes in the `connection_init` payload:
/// `{"Authorization": "Bearer …"}`; a connection without a valid one is refused.
async fn ws_handler(
    State(s): State<Server>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    protocol: async_graphql_axum::GraphQLProtocol,
    ws: axum::extract::WebSocketUpgrade,
) -> Response {
    let schema = s.schema.clone();
    let state = s.state.clone();
    ws.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        async_graphql_axum::GraphQLWebSocket::new(socket, schema, protocol)
            .on_connection_init(move |payload| async move {
                let token = ["Authorization", "authorization"]
                    .iter()
                    .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
                    .map(|v| v.trim_start_matches("Bearer ").trim().to_owned())
                    .or_else(|| payload.get("token").and_then(|v| v.as_str()).map(str::to_owned))
                    .ok_or_else(|| {
                        async_graphql::Error::new("Send {\"Authorization\": \"Bearer <token>\"} in connection_init.")
                    })?;
                let viewer = accounts::viewer_for_token(&state, &token)
                    .await
                    .map_err(|e| async_graphql::Error::new(format!("The token was refused ({e}).")))?;
                if viewer.must_change_password {
                    return Err(async_graphql::Error::new("Change the initial password first."));
                }
                let mut data = async_graphql::Data::default();
                data.insert(Loaders::new(&state.db, Some(&viewer)));
                data.insert(graphql::RequestCtx {
                    viewer: Some(viewer),
                    client_addr: Some(peer.ip().to_string()),
                    ..Default::default()
                });
                Ok(data)
            })
            .serve()
            .await
    })
}

/// The caller named by `Authorization: Bearer …`: None when there is no header,
/// an error saying why when the token is refused.
async fn viewer_from_headers(state: &AppState, headers: &HeaderMap) -> Result<Option<crate::auth::Viewer>, String> {
    let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    match auth.strip_prefix("Bearer ").map(str::trim) {
        Some(token) => accounts::viewer_for_token(state, token).await.map(Some),
        None => Err("expected `Authorization: Bearer <token>`".into()),
    }
}

/// `PUT /uploads/{ticket}`: the photo's bytes, streamed to storage (local store).
async fn upload_handler(
    State(s): State<Server>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let fail = |status: StatusCode, e: crate::error::AppError| {
        if let crate::error::AppError::Internal(inner) = &e {
            tracing::error!(error = ?inner, "upload failed");
            return (status, Json(request_error_body("INTERNAL", "Internal error; it has been logged.")))
                .into_response();
        }
        (status, Json(request_error_body(e.code(), &e.to_string()))).into_response()
    };
    let viewer = match viewer_from_headers(&s.state, &headers).await {
        Ok(Some(v)) if !v.must_change_password => v,
        Ok(Some(_)) => return fail(StatusCode::FORBIDDEN, crate::error::AppError::PasswordChangeRequired),
        Ok(None) => {
            return fail(StatusCode::UNAUTHORIZED, crate::error::AppError::Unauthenticated("Sign in first.".into()))
        }
        Err(e) => return fail(StatusCode::UNAUTHORIZED, crate::error::AppError::Unauthenticated(e)),
    };
    let Ok(ticket) = uuid::Uuid::parse_str(&id) else {
        return fail(StatusCode::NOT_FOUND, crate::error::AppError::not_found("upload ticket"));
    };
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match crate::photos::receive(&s.state, &viewer, ticket, ct, body).await {
        Ok(n) => Json(serde_json::json!({ "received": n })).into_response(),
        Err(e) => {
            let status = match &e {
                crate::error::AppError::NotFound(_) => StatusCode::NOT_FOUND,
                crate::error::AppError::Conflict(_) => StatusCode::CONFLICT,
                crate::error::AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            fail(status, e)
        }
    }
}

#[derive(serde::Deserialize)]
struct PhotoLink {
    exp: i64,
    sig: String,
}

/// `GET /photos/{id}/{file|thumb}?exp=…&sig=…`: a signed, expiring link (local store).
async fn photo_handler(
    State(s): State<Server>,
    axum::extract::Path((id, variant)): axum::extract::Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<PhotoLink>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else { return StatusCode::NOT_FOUND.into_response() };
    match crate::photos::serve(&s.state, id, &variant, q.exp, &q.sig).await {
        Ok((ct, bytes)) => {
            ([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "private, max-age=300".into())], bytes)
                .into_response()
        }
        Err(e) => link_error(e, "photo serving failed"),
    }
}

/// A signed link that did not work: 403 (bad or expired), 404, or a logged 500.
fn link_error(e: crate::error::AppError, what: &str) -> Response {
    let status = match &e {
        crate::error::AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        crate::error::AppError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => {
            tracing::error!(error = %e, "{what}");
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(request_error_body("INTERNAL", "Internal error.")))
                .into_response();
        }
    };
    (status, Json(request_error_body(e.code(), &e.to_string()))).into_response()
}

#[derive(serde::Deserialize)]
struct ExportLink {
    exp: i64,
    name: String,
    sig: String,
}

/// `GET /exports/{id}.{xlsx|csv}?exp=…&name=…&sig=…`: a signed, expiring download (local store).
async fn export_handler(
    State(s): State<Server>,
    axum::extract::Path(file): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<ExportLink>,
) -> Response {
    match crate::exports::serve(&s.state, &file, q.exp, &q.name, &q.sig).await {
        Ok(bytes) => {
            let ct = if file.ends_with(".csv") {
                "text/csv; charset=utf-8"
            } else {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            };
            // RFC 6266/5987: the Chinese file name survives in every browser.
            let encoded = crate::exports::urlencode(&q.name);
            let disposition = format!(
                "attachment; filename=\"export.{}\"; filename*=UTF-8''{encoded}",
                if file.ends_with(".csv") { "csv" } else { "xlsx" }
            );
            ([(header::CONTENT_TYPE, ct.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
        }
        Err(e) => link_error(e, "export download failed"),
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
