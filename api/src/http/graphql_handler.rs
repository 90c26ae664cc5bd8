//! The GraphQL endpoint: POST /graphql (queries, mutations, uploads) and GET
//! /graphql (queries; GraphiQL for browsers), run with the caller's `Ctx` and
//! rate limit, answered as GraphQL over HTTP says (`graphql_http`).

use super::graphql_http::{self, Media, ParamError};
use super::Server;
use crate::domain::error::msg;
use crate::{
    domain::{
        auth::{
            sessions::{self, TokenError},
            Principal, Viewer,
        },
        ctx::{Ctx, Lang},
    },
    graphql::{loaders::Loaders, observe::RequestInfo},
    AppState,
};
use async_graphql::http::MultipartOptions;
use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

/// The caller's address: the peer, or with `trust_forwarded_for` the right-most
/// X-Forwarded-For hop that is not one of our proxies.
pub(super) fn client_addr(s: &Server, headers: &HeaderMap, peer: SocketAddr) -> String {
    if !s.state.cfg.trust_forwarded_for {
        return peer.ip().to_string();
    }
    let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    s.proxies.client(peer.ip(), xff).to_string()
}

/// A GraphQL document with its variables fits in far less; only file uploads
/// (multipart) may use the whole body limit.
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// The body as a reader that fails once more than `limit` bytes arrived,
/// setting `over`, so the caller can answer 413 rather than a parse error.
fn limited_reader(body: Body, limit: usize, over: Arc<AtomicBool>) -> impl futures_util::AsyncRead + Send + Unpin {
    use futures_util::{StreamExt, TryStreamExt};
    let mut seen = 0usize;
    body.into_data_stream()
        .map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            seen += chunk.len();
            if seen > limit {
                over.store(true, Ordering::Relaxed);
                return Err(std::io::Error::other("the request body is over the limit"));
            }
            Ok(chunk)
        })
        .into_async_read()
}

/// HTTP 413 as a coded error that names the limit and what to do.
pub fn payload_too_large(limit: usize, multipart: bool, lang: Lang) -> Response {
    let mb = format!("{:.0}", limit as f64 / (1024.0 * 1024.0));
    let m = if multipart { msg!(UPLOAD_OVER_LIMIT, mb = mb) } else { msg!(REQUEST_OVER_LIMIT, mb = mb) };
    let body = serde_json::json!({ "errors": [ { "message": m.render(lang.english()),
        "extensions": { "code": "PAYLOAD_TOO_LARGE", "reason": m.key, "limitBytes": limit } } ] });
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// Only requests a browser cannot send cross-site without a CORS preflight:
/// JSON, or multipart carrying a non-simple header. `text/plain`, bare forms
/// and a missing type are refused, so no cookie could ever be ridden (CSRF).
fn acceptable_media_type(content_type: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(ct) = content_type else { return false };
    let mut parts = ct.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    // JSON is UTF-8; a body declared in another charset is refused, not misread.
    let utf8 = parts.all(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        !k.trim().eq_ignore_ascii_case("charset") || v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
    });
    match essence.as_str() {
        "application/json" => utf8,
        "multipart/form-data" => {
            ["authorization", "graphql-preflight", "apollo-require-preflight"].iter().any(|h| headers.contains_key(*h))
        }
        _ => false,
    }
}

/// A coded refusal of the whole request, in the caller's language.
fn refuse(status: StatusCode, code: &str, m: crate::domain::error::Msg, lang: Lang) -> Response {
    let body = serde_json::json!({ "errors": [ { "message": m.render(lang.english()),
        "extensions": { "code": code, "reason": m.key } } ] });
    (status, [(header::CONTENT_TYPE, Media::Json.content_type())], body.to_string()).into_response()
}

/// 406 when the client accepts neither JSON media type.
fn not_acceptable(lang: Lang) -> Response {
    refuse(StatusCode::NOT_ACCEPTABLE, "NOT_ACCEPTABLE", msg!(NOT_ACCEPTABLE), lang)
}

/// 400 for parameters that are not a GraphQL request (bad JSON, no `query`, …).
fn bad_params(e: &ParamError, lang: Lang) -> Response {
    refuse(StatusCode::BAD_REQUEST, "VALIDATION", msg!(NOT_GRAPHQL, detail = e.detail()), lang)
}

fn language(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// POST /graphql: a JSON body, or a multipart upload.
pub(super) async fn graphql_handler(
    State(s): State<Server>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let multipart = content_type.as_deref().is_some_and(|c| c.starts_with("multipart/"));
    let lang = language(&headers);
    if !acceptable_media_type(content_type.as_deref(), &headers) {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", msg!(MEDIA_TYPE_REFUSED), lang);
    }
    let Some(media) = Media::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())) else {
        return not_acceptable(lang);
    };
    let limit = if multipart { s.state.cfg.max_body_bytes } else { MAX_JSON_BYTES.min(s.state.cfg.max_body_bytes) };
    // Streamed, not buffered: multipart files go to temporary files as they
    // arrive, so a 32 MB upload is not held in memory by the handler.
    let over = Arc::new(AtomicBool::new(false));
    let reader = limited_reader(body, limit, over.clone());
    let request = if multipart {
        let opts = MultipartOptions::default().max_file_size(s.state.cfg.max_body_bytes);
        match async_graphql::http::receive_body(content_type, reader, opts).await {
            Ok(r) => r,
            Err(_) if over.load(Ordering::Relaxed) => return payload_too_large(limit, multipart, lang),
            Err(e) => return bad_params(&ParamError::Json(e.to_string()), lang),
        }
    } else {
        let mut bytes = Vec::new();
        if futures_util::AsyncReadExt::read_to_end(&mut { reader }, &mut bytes).await.is_err() {
            if over.load(Ordering::Relaxed) {
                return payload_too_large(limit, multipart, lang);
            }
            return bad_params(&ParamError::Json("the body could not be read".into()), lang);
        }
        match graphql_http::from_json_body(&bytes) {
            Ok(r) => r,
            Err(e) => return bad_params(&e, lang),
        }
    };
    execute(&s, &headers, peer, media, request, lang).await
}

/// GET /graphql: GraphiQL for a browser asking for a page; otherwise the query
/// string is a request, run if it is a query (mutations only by POST: 405).
pub(super) async fn graphql_get(
    State(s): State<Server>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let lang = language(&headers);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if accept.is_some_and(|a| graphql_http::Quality::of(a).prefers_html()) {
        return super::graphiql::page().into_response();
    }
    let Some(media) = Media::negotiate(accept) else { return not_acceptable(lang) };
    let pairs = match axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri) {
        Ok(q) => q.0,
        Err(e) => return bad_params(&ParamError::Json(e.to_string()), lang),
    };
    let request = match graphql_http::from_query_pairs(pairs) {
        Ok(r) => r,
        Err(e) => return bad_params(&e, lang),
    };
    if !is_query(&request) {
        let mut r = refuse(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", msg!(GET_QUERIES_ONLY), lang);
        r.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return r;
    }
    execute(&s, &headers, peer, media, request, lang).await
}

/// Any other method on /graphql: a coded 405 naming the two that work.
pub(super) async fn other_method(headers: HeaderMap) -> Response {
    let mut r = refuse(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", msg!(GRAPHQL_METHODS), language(&headers));
    r.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    r
}

/// False when the operation the request names is a mutation or subscription
/// (a document that does not parse is left for the schema to report).
fn is_query(r: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    crate::graphql::observe::operation_type(r).is_none_or(|t| t == OperationType::Query)
}

/// The root fields of a board (the web app's `Board` operation among them): a
/// query asking only for these may be answered a moment behind.
const BOARD_FIELDS: [&str; 3] = ["progress", "region", "milestones"];

/// Read-only work the standby may answer: every query of an API token (they
/// cannot write), and boards.
fn serves_from_replica(viewer: Option<&crate::domain::auth::Viewer>, r: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    let Some(v) = viewer else { return false };
    match crate::graphql::observe::root_fields(r) {
        Some((OperationType::Query, fields)) => {
            v.is_api_token() || fields.iter().all(|f| BOARD_FIELDS.contains(&f.as_str()))
        }
        _ => false,
    }
}

/// 503 with a coded, retryable error: the token could not be checked just now.
fn unavailable(media: Media, lang: Lang) -> Response {
    use crate::domain::error::UNAVAILABLE_RETRY_SECS as SECS;
    let body = serde_json::json!({ "errors": [ {
        "message": msg!(UNAVAILABLE, seconds = SECS).render(lang.english()),
        "extensions": { "code": "UNAVAILABLE", "reason": "UNAVAILABLE", "retryAfterSeconds": SECS },
    } ] });
    let headers = [(header::RETRY_AFTER, SECS.to_string()), (header::CONTENT_TYPE, media.content_type().into())];
    (StatusCode::SERVICE_UNAVAILABLE, headers, body.to_string()).into_response()
}

/// Whether an answer carries an error of ours (a database that failed), not the caller's.
fn failed_inside(resp: &async_graphql::Response) -> bool {
    resp.errors.iter().any(|e| {
        let code = e.extensions.as_ref().and_then(|x| x.get("code"));
        code.is_some_and(|c| {
            c == &async_graphql::Value::from("INTERNAL") || c == &async_graphql::Value::from("UNAVAILABLE")
        })
    })
}

/// Executes a request as `ctx`'s caller, on the read replica's connection when given.
async fn run(
    s: &Server,
    request: async_graphql::Request,
    ctx: Ctx,
    replica: Option<&sea_orm::DatabaseConnection>,
    info: &Arc<RequestInfo>,
) -> async_graphql::Response {
    let mut request = request;
    let loaders = match replica {
        Some(db) => {
            let mut on_replica = s.state.clone();
            on_replica.db = db.clone();
            request = request.data(on_replica);
            Loaders::new(db, ctx.viewer.as_ref())
        }
        None => Loaders::new(&s.state.db, ctx.viewer.as_ref()),
    };
    // The schema is for signed-in callers; anonymous ones see only what signing in needs.
    let request = if ctx.viewer.is_none() { request.disable_introspection() } else { request };
    s.schema.execute(request.data(ctx).data(loaders).data(info.clone())).await
}

/// Runs a request as its caller, within the caller's rate limit, and answers
/// in `media`.
async fn execute(
    s: &Server,
    headers: &HeaderMap,
    peer: SocketAddr,
    media: Media,
    request: async_graphql::Request,
    lang: Lang,
) -> Response {
    let mut ctx = Ctx { client_addr: Some(client_addr(s, headers, peer)), lang, ..Default::default() };
    match viewer_from_headers(&s.state, headers).await {
        Ok(v) => ctx.viewer = v,
        // The token was not refused: the database did not answer. Retry, not sign out.
        Err(TokenError::Unavailable) => return unavailable(media, lang),
        Err(TokenError::Refused(e)) => ctx.token_error = Some(e),
    }
    let started = std::time::Instant::now();
    let requested = request.operation_name.clone();
    let cfg = &s.state.cfg;
    let (key, per_minute) = match ctx.viewer.as_ref().map(|v| &v.principal) {
        Some(Principal::Account { id, .. }) => (format!("account:{id}"), cfg.rate_limit_account),
        Some(Principal::ApiToken { id, .. }) => (format!("token:{id}"), cfg.rate_limit_token),
        None => (format!("addr:{}", ctx.client_addr.clone().unwrap_or_default()), cfg.rate_limit_anonymous),
    };
    if let Err(retry) = s.state.limiter.check(&key, per_minute) {
        s.state.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
        s.state.metrics.request(requested.as_deref(), "RATE_LIMITED", started.elapsed().as_secs_f64());
        let body = serde_json::json!({ "errors": [ {
            "message": msg!(TOO_MANY_REQUESTS, limit = per_minute, seconds = retry).render(lang.english()),
            "extensions": { "code": "RATE_LIMITED", "reason": "TOO_MANY_REQUESTS", "retryAfterSeconds": retry },
        } ] });
        let headers = [(header::RETRY_AFTER, retry.to_string()), (header::CONTENT_TYPE, media.content_type().into())];
        return (StatusCode::TOO_MANY_REQUESTS, headers, body.to_string()).into_response();
    }
    // Dashboard tokens' queries and boards go to the read replica when it is near enough.
    let replica = s.state.replica.as_ref().and_then(|r| r.usable().map(|lag| (r, lag)));
    let replica = replica.filter(|_| serves_from_replica(ctx.viewer.as_ref(), &request));
    let info = Arc::new(RequestInfo::default());
    let mut resp = match replica {
        Some((r, lag)) => {
            let again = (request.query.clone(), request.operation_name.clone(), request.variables.clone());
            let resp = run(s, request, ctx.clone(), Some(&r.db), &info).await;
            if failed_inside(&resp) {
                // A standby that stopped answering: the primary answers this
                // read-only query again, and the next ones until the probe sees
                // the standby back.
                r.mark_down();
                let (query, name, variables) = again;
                let mut retry = async_graphql::Request::new(query).variables(variables);
                if let Some(n) = name {
                    retry = retry.operation_name(n);
                }
                run(s, retry, ctx, None, &info).await
            } else {
                let mut resp = resp;
                // Stated so a dashboard can tell how fresh the figures are.
                resp.extensions.insert("replica".into(), async_graphql::value!({ "lagMs": lag }));
                resp
            }
        }
        None => run(s, request, ctx, None, &info).await,
    };
    cap_errors(&mut resp.errors, lang);
    let outcome = resp
        .errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|x| x.get("code"))
        .map(|c| c.to_string().trim_matches('"').to_owned())
        .unwrap_or_else(|| if resp.errors.is_empty() { "ok".into() } else { "ERROR".into() });
    let operation = info.operation(requested.as_deref());
    s.state.metrics.request(operation.as_deref(), &outcome, started.elapsed().as_secs_f64());
    respond(media, &resp, !info.started(), lang)
}

/// The response as JSON in `media`; a request error (it never reached
/// execution) has no `data` entry.
fn respond(media: Media, resp: &async_graphql::Response, request_error: bool, lang: Lang) -> Response {
    let body = if request_error {
        serde_json::to_value(resp).map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("data");
            }
            v.to_string().into_bytes()
        })
    } else {
        serde_json::to_vec(resp)
    };
    let content_type = [(header::CONTENT_TYPE, media.content_type())];
    match body {
        Ok(body) if body.len() <= MAX_RESPONSE_BYTES => {
            (media.status(request_error), content_type, body).into_response()
        }
        _ => {
            let m = msg!(RESPONSE_TOO_LARGE, mb = MAX_RESPONSE_BYTES >> 20);
            let body = serde_json::json!({ "errors": [ { "message": m.render(lang.english()),
                "extensions": { "code": "QUERY_TOO_COMPLEX", "reason": m.key, "limitBytes": MAX_RESPONSE_BYTES } } ] });
            (content_type, body.to_string()).into_response()
        }
    }
}

/// A backstop behind the cost model: no answer larger than this is sent.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Errors beyond this many say nothing new (10,000 repeated directives once gave 9,999).
const MAX_ERRORS: usize = 20;

fn cap_errors(errors: &mut Vec<async_graphql::ServerError>, lang: Lang) {
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - (MAX_ERRORS - 1);
        errors.truncate(MAX_ERRORS - 1);
        let m = msg!(MORE_ERRORS, count = more);
        let mut e = async_graphql::ServerError::new(m.render(lang.english()), None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "ERRORS_TRUNCATED");
        ext.set("reason", m.key);
        ext.set("omitted", more);
        e.extensions = Some(ext);
        errors.push(e);
    }
}

/// The caller named by `Authorization: Bearer …`: None when there is no header,
/// an error saying why when the token is refused.
pub(super) async fn viewer_from_headers(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, TokenError> {
    let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    match auth.strip_prefix("Bearer ").map(str::trim) {
        Some(token) => sessions::viewer_for_token(state, token).await.map(Some),
        None => Err("expected `Authorization: Bearer <token>`".into()),
    }
}
