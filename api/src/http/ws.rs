//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws)
//! for subscriptions, driven here rather than by async-graphql-axum so that
//! the server can end a connection itself: when the token it was opened with
//! expires (4401) or is revoked (4403), with the close codes the protocol
//! names. Only subscriptions run here; queries and mutations go over HTTP,
//! where the rate limit and timeout apply.

use super::{graphql_handler::client_addr, Server};
use crate::{
    domain::{
        auth::sessions,
        ctx::{Ctx, Lang},
        error::msg,
    },
    graphql::{loaders::Loaders, AppSchema},
    AppState,
};
use async_graphql::{
    http::{WebSocket as GqlWebSocket, WebSocketProtocols as Protocols, WsMessage},
    parser::types::OperationType,
    Data, Executor, Request, Response,
};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket},
        ConnectInfo, State,
    },
    http::HeaderMap,
    response::Response as HttpResponse,
};
use futures_util::{stream::BoxStream, SinkExt, StreamExt};
use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

/// Close codes of graphql-transport-ws.
pub mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
}

/// How long a client has to send `connection_init`.
const INIT_WITHIN: Duration = Duration::from_secs(10);

/// Runs subscriptions only; a query or mutation sent here gets an error
/// naming HTTP, so nothing escapes the HTTP rate limit and timeout.
#[derive(Clone)]
struct SubscriptionsOnly(AppSchema);

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        refusal(Lang::Zh)
    }

    fn execute_stream(&self, request: Request, data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let lang = data
            .as_ref()
            .and_then(|d| d.get(&std::any::TypeId::of::<Ctx>()))
            .map_or(Lang::Zh, |c| c.downcast_ref::<Ctx>().map_or(Lang::Zh, |c| c.lang));
        if !is_subscription(&request) {
            return futures_util::stream::once(async move { refusal(lang) }).boxed();
        }
        Executor::execute_stream(&self.0, request, data)
    }
}

fn is_subscription(r: &Request) -> bool {
    crate::graphql::observe::operation_type(r).is_none_or(|t| t == OperationType::Subscription)
}

fn refusal(lang: Lang) -> Response {
    let m = msg!(WS_SUBSCRIPTIONS_ONLY);
    let mut e = async_graphql::ServerError::new(m.render(lang.english()), None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "VALIDATION");
    ext.set("reason", m.key);
    e.extensions = Some(ext);
    Response::from_errors(vec![e])
}

/// What the connection learned: the token it was opened with, the
/// subscription ids in use, whether `connection_init` arrived.
#[derive(Default)]
struct Conn {
    token: Option<String>,
    expires_at: Option<i64>,
    init_seen: bool,
    acked: bool,
    ids: HashSet<String>,
    duplicate: bool,
    /// A message of the right type with the wrong shape: a non-object
    /// `connection_init` payload, a `subscribe` without a query (4400).
    malformed: bool,
    /// Operations that have had a result with data.
    streaming: HashSet<String>,
    /// An operation's first result, when it had errors and no data: held
    /// until the next message for it tells whether the operation ended.
    held: std::collections::HashMap<String, String>,
}

pub(super) async fn ws_handler(
    State(s): State<Server>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: axum::extract::WebSocketUpgrade,
) -> HttpResponse {
    use axum::response::IntoResponse;
    use std::str::FromStr;
    let protocol = headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.split(',').find_map(|p| Protocols::from_str(p.trim()).ok()));
    let Some(protocol) = protocol else {
        return (axum::http::StatusCode::BAD_REQUEST, "Ask for the graphql-transport-ws subprotocol.").into_response();
    };
    let addr = client_addr(&s, &headers, peer);
    let lang = Lang::from_accept_language(headers.get("accept-language").and_then(|v| v.to_str().ok()));
    ws.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, s, protocol, addr, lang))
}

async fn serve(socket: WebSocket, s: Server, protocol: Protocols, addr: String, lang: Lang) {
    let conn = Arc::new(Mutex::new(Conn::default()));
    let (mut sink, source) = socket.split();
    let seen = conn.clone();
    let input =
        source.take_while(|m| std::future::ready(!matches!(m, Ok(Message::Close(_)) | Err(_)))).filter_map(move |m| {
            let bytes = match m {
                Ok(Message::Text(t)) => Some(t.as_bytes().to_vec()),
                Ok(Message::Binary(b)) => Some(b.to_vec()),
                _ => None,
            };
            if let Some(b) = &bytes {
                note_client_message(&mut seen.lock().unwrap_or_else(|e| e.into_inner()), b);
            }
            std::future::ready(bytes)
        });
    let state = s.state.clone();
    let init_conn = conn.clone();
    let transport_ws = matches!(protocol, Protocols::GraphQLWS);
    let mut gql = GqlWebSocket::new(SubscriptionsOnly(s.schema.clone()), input, protocol)
        .on_connection_init(move |payload| async move { connection_init(state, init_conn, payload, addr, lang).await });
    let recheck = Duration::from_secs(s.state.cfg.ws_recheck_secs.max(1));
    let mut ticker = tokio::time::interval(recheck);
    let init_deadline = tokio::time::sleep(INIT_WITHIN);
    tokio::pin!(init_deadline);
    let close_with = 'conn: loop {
        tokio::select! {
            m = gql.next() => match m {
                Some(WsMessage::Text(t)) => {
                    let out = if transport_ws { as_protocol(&mut conn.lock().unwrap_or_else(|e| e.into_inner()), t) } else { vec![t] };
                    for t in out {
                        note_server_message(&mut conn.lock().unwrap_or_else(|e| e.into_inner()), &t);
                        let (duplicate, malformed) = {
                            let c = conn.lock().unwrap_or_else(|e| e.into_inner());
                            (c.duplicate, c.malformed)
                        };
                        if malformed {
                            break 'conn Some((close::BAD_REQUEST, "Invalid message received".to_owned()));
                        }
                        if duplicate {
                            break 'conn Some((close::SUBSCRIBER_EXISTS, "Subscriber for this id already exists".to_owned()));
                        }
                        if sink.send(Message::Text(t.into())).await.is_err() {
                            break 'conn None;
                        }
                    }
                }
                Some(WsMessage::Close(code, reason)) => break Some(protocol_code(&conn, code, reason)),
                None => break None,
            },
            _ = &mut init_deadline, if !conn.lock().unwrap_or_else(|e| e.into_inner()).init_seen => {
                break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".to_owned()));
            }
            _ = ticker.tick() => {
                if let Some(code) = token_gone(&s.state, &conn).await {
                    break Some((code, "The token expired or was revoked; sign in again".to_owned()));
                }
            }
        }
    };
    if let Some((code, reason)) = close_with {
        let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
    let _ = sink.close().await;
}

/// The library's own codes where graphql-transport-ws names others: a
/// refused `connection_init` is 4403, a subscribe before the handshake 4401,
/// an unreadable message 4400.
fn protocol_code(conn: &Mutex<Conn>, code: u16, reason: String) -> (u16, String) {
    let c = conn.lock().unwrap_or_else(|e| e.into_inner());
    match code {
        1002 if c.malformed => (close::BAD_REQUEST, "Invalid message received".into()),
        1002 if c.init_seen && !c.acked => (close::FORBIDDEN, reason),
        1002 => (close::BAD_REQUEST, "Invalid message received".into()),
        1011 => (close::UNAUTHORIZED, "Unauthorized".into()),
        3008 => (close::INIT_TIMEOUT, reason),
        other => (other, reason),
    }
}

fn note_client_message(c: &mut Conn, bytes: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else { return };
    let id = v.get("id").and_then(|i| i.as_str()).map(str::to_owned);
    let payload = v.get("payload");
    match (v.get("type").and_then(|t| t.as_str()), id) {
        (Some("connection_init"), _) => {
            c.init_seen = true;
            c.malformed |= payload.is_some_and(|p| !p.is_object() && !p.is_null());
        }
        (Some("subscribe" | "start"), Some(_))
            if !payload.and_then(|p| p.get("query")).is_some_and(|q| q.is_string()) =>
        {
            c.malformed = true;
        }
        (Some("subscribe" | "start"), Some(id)) if c.acked => {
            if !c.ids.insert(id) {
                c.duplicate = true;
            }
        }
        (Some("complete" | "stop"), Some(id)) => {
            c.ids.remove(&id);
        }
        _ => {}
    }
}

/// graphql-transport-ws answers an operation refused before it yields
/// anything (an invalid document, a region the viewer may not see) with one
/// `error` message carrying the errors, and no `complete`; async-graphql
/// sends `next` with the errors and then `complete`. A first result with
/// errors and no data is held: followed at once by `complete` it becomes
/// that `error`; followed by anything else (a live stream whose first event
/// failed) it is sent as it was, before that message.
fn as_protocol(c: &mut Conn, text: String) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return vec![text] };
    let Some(id) = v.get("id").and_then(|i| i.as_str()).map(str::to_owned) else { return vec![text] };
    match v.get("type").and_then(|t| t.as_str()) {
        Some("next") => {
            let p = &v["payload"];
            let no_data = p.get("data").is_none_or(serde_json::Value::is_null);
            let errors = p.get("errors").and_then(|e| e.as_array()).is_some_and(|e| !e.is_empty());
            if no_data && errors && !c.streaming.contains(&id) && !c.held.contains_key(&id) {
                c.held.insert(id, text);
                return Vec::new();
            }
            let mut out: Vec<String> = c.held.remove(&id).into_iter().collect();
            c.streaming.insert(id);
            out.push(text);
            out
        }
        Some("complete") => {
            c.streaming.remove(&id);
            match c.held.remove(&id).and_then(|h| serde_json::from_str::<serde_json::Value>(&h).ok()) {
                Some(h) => {
                    vec![serde_json::json!({ "id": id, "type": "error", "payload": h["payload"]["errors"] }).to_string()]
                }
                None => vec![text],
            }
        }
        _ => vec![text],
    }
}

fn note_server_message(c: &mut Conn, text: &str) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else { return };
    match (v.get("type").and_then(|t| t.as_str()), v.get("id").and_then(|i| i.as_str())) {
        (Some("connection_ack"), _) => c.acked = true,
        (Some("complete" | "error"), Some(id)) => {
            c.ids.remove(id);
        }
        _ => {}
    }
}

/// Checks the connection's token again: Some(close code) once it has expired
/// (4401) or been revoked, disabled or its session ended (4403).
async fn token_gone(state: &AppState, conn: &Mutex<Conn>) -> Option<u16> {
    let (token, expires_at) = {
        let c = conn.lock().unwrap_or_else(|e| e.into_inner());
        (c.token.clone()?, c.expires_at)
    };
    if expires_at.is_some_and(|exp| exp <= chrono::Utc::now().timestamp()) {
        return Some(close::UNAUTHORIZED);
    }
    match sessions::viewer_for_token(state, &token).await {
        Ok(_) => None,
        // The database did not answer (a restart): not a refusal; checked again next round.
        Err(sessions::TokenError::Unavailable) => None,
        Err(_) => Some(close::FORBIDDEN),
    }
}

/// `connection_init`: the access or API token in the payload
/// (`{"Authorization": "Bearer …"}`); the connection's `Ctx` and loaders.
async fn connection_init(
    state: AppState,
    conn: Arc<Mutex<Conn>>,
    payload: serde_json::Value,
    addr: String,
    lang: Lang,
) -> async_graphql::Result<Data> {
    let token = ["Authorization", "authorization"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
        .map(|v| v.trim_start_matches("Bearer ").trim().to_owned())
        .or_else(|| payload.get("token").and_then(|v| v.as_str()).map(str::to_owned))
        .ok_or_else(|| async_graphql::Error::new("Send {\"Authorization\": \"Bearer <token>\"} in connection_init."))?;
    let viewer = sessions::viewer_for_token(&state, &token)
        .await
        .map_err(|e| async_graphql::Error::new(format!("The token was refused ({e}).")))?;
    if viewer.must_change_password {
        return Err(async_graphql::Error::new("Change the initial password first."));
    }
    {
        let mut c = conn.lock().unwrap_or_else(|e| e.into_inner());
        c.expires_at = state.jwt.verify(&token).ok().map(|claims| claims.exp as i64);
        c.token = Some(token);
    }
    let mut data = Data::default();
    data.insert(Loaders::new(&state.db, Some(&viewer)));
    data.insert(Ctx { viewer: Some(viewer), client_addr: Some(addr), lang, ..Default::default() });
    Ok(data)
}
