//! Typed GraphQL: one Rust type per operation in `graphql/*.graphql`,
//! checked at compile time against the committed `schema.graphql` (without its
//! own description, which graphql_client's parser cannot read: see build.rs). Transport is
//! the browser's fetch; the access token is refreshed before it runs out.

use crate::state::{ctx, now_ms, parse_ms};
use graphql_client::GraphQLQuery;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::cell::Cell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub type DateTime = String;
pub type NaiveDate = String;
#[allow(clippy::upper_case_acronyms, dead_code)]
pub type JSON = Value;
pub type Upload = Value;
// The schema's enums, one definition for every operation (see `extern_enums` below).
pub use crate::enums::*;

// One file per operation (with the fragments it uses): graphql_client sends
// the whole file as the document, and keeps a copy of it in the binary.
macro_rules! ops {
    ($($name:ident: $path:literal),* $(,)?) => {$(
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = ".schema.generated.graphql",
            query_path = $path,
            response_derives = "Debug, Clone",
            variables_derives = "Debug, Clone",
            extern_enums(
                "Role", "RegionLevel", "VerificationStatus", "SafetyPath", "RenovationKind", "Arrangement",
                "Severity", "MilestoneState", "MilestoneMetric", "PhotoKind", "ImportKind", "ExportKind",
                "ExportFormat", "CampaignTemplate"
            )
        )]
        pub struct $name;
    )*};
}

ops!(
    SignIn: "graphql/SignIn.graphql",
    Refresh: "graphql/Refresh.graphql",
    SignOut: "graphql/SignOut.graphql",
    ChangePassword: "graphql/ChangePassword.graphql",
    Households: "graphql/Households.graphql",
    Household: "graphql/Household.graphql",
    History: "graphql/History.graphql",
    SaveVerification: "graphql/SaveVerification.graphql",
    SubmitVerification: "graphql/SubmitVerification.graphql",
    ApproveVerification: "graphql/ApproveVerification.graphql",
    ReturnVerification: "graphql/ReturnVerification.graphql",
    AcknowledgeFinding: "graphql/AcknowledgeFinding.graphql",
    RequestPhotoUpload: "graphql/RequestPhotoUpload.graphql",
    ConfirmPhotoUpload: "graphql/ConfirmPhotoUpload.graphql",
    Board: "graphql/Board.graphql",
    ProgressLive: "graphql/ProgressLive.graphql",
    Findings: "graphql/Findings.graphql",
    Milestones: "graphql/Milestones.graphql",
    Campaigns: "graphql/Campaigns.graphql",
    JoinCampaign: "graphql/JoinCampaign.graphql",
    TightenMilestone: "graphql/TightenMilestone.graphql",
    UpdateMilestone: "graphql/UpdateMilestone.graphql",
    ApiTokens: "graphql/ApiTokens.graphql",
    CreateApiToken: "graphql/CreateApiToken.graphql",
    RevokeApiToken: "graphql/RevokeApiToken.graphql",
    IssueAccounts: "graphql/IssueAccounts.graphql",
    Regions: "graphql/Regions.graphql",
    ImportReferenceFile: "graphql/ImportReferenceFile.graphql",
    ExportReport: "graphql/ExportReport.graphql",
    CreateCampaign: "graphql/CreateCampaign.graphql",
    UndoImport: "graphql/UndoImport.graphql",
    AccountsToReset: "graphql/AccountsToReset.graphql",
    ReviewQueue: "graphql/ReviewQueue.graphql",
    CheckRegion: "graphql/CheckRegion.graphql",
    VillageMap: "graphql/VillageMap.graphql",
);

/// An error the app can show: the API's `extensions.code` and its message, or
/// NETWORK when the request never got an answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// The shared catalogue's key (`extensions.reason`): the server already
    /// words the message in the language the app asks for (its texts are not
    /// shipped in the app, whose size is budgeted); the key is for logic.
    pub reason: Option<String>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), reason: None }
    }
    pub fn network() -> Self {
        Self::new("NETWORK", "")
    }
    pub fn is_network(&self) -> bool {
        self.code == "NETWORK"
    }
    /// Worth sending again unchanged: no answer, the API briefly away (a
    /// restart, a failover, a proxy with no backend) or asking to slow down.
    pub fn is_transient(&self) -> bool {
        matches!(self.code.as_str(), "NETWORK" | "UNAVAILABLE" | "RATE_LIMITED")
    }
    fn from_body(body: &Value) -> Option<Self> {
        let e = body.get("errors")?.get(0)?;
        Some(Self {
            code: e["extensions"]["code"].as_str().unwrap_or("INTERNAL").to_owned(),
            message: e["message"].as_str().unwrap_or_default().to_owned(),
            reason: e["extensions"]["reason"].as_str().map(str::to_owned),
        })
    }
}

// Shown by an `ErrorBoundary` (an `Err` in a view is thrown to the nearest one).
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

/// POSTs a body to the API; `None` when the network failed.
pub async fn post(path: &str, body: JsValue, json: bool, token: Option<&str>) -> Result<Value, ApiError> {
    let c = ctx();
    let headers = web_sys::Headers::new().map_err(|_| ApiError::network())?;
    if json {
        let _ = headers.set("content-type", "application/json");
    }
    if let Some(t) = token {
        let _ = headers.set("authorization", &format!("Bearer {t}"));
    }
    let _ = headers.set("accept-language", c.lang_tag());
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&body);
    init.set_headers(&headers);
    let url = format!("{}{}", c.api_url(), path);
    let req = web_sys::Request::new_with_str_and_init(&url, &init).map_err(|_| ApiError::network())?;
    let resp = JsFuture::from(web_sys::window().unwrap().fetch_with_request(&req)).await.map_err(|_| {
        c.online.set(false);
        ApiError::network()
    })?;
    c.online.set(true);
    let resp: web_sys::Response = resp.unchecked_into();
    let text = JsFuture::from(resp.text().map_err(|_| ApiError::network())?).await.map_err(|_| ApiError::network())?;
    let text = text.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|_| {
        // Not the API's JSON: a proxy answered for it. 502–504 mean no backend just now.
        let code = if (502..=504).contains(&resp.status()) { "UNAVAILABLE" } else { "INTERNAL" };
        ApiError::new(code, format!("HTTP {}", resp.status()))
    })
}

thread_local! {
    static REFRESHING: Cell<bool> = const { Cell::new(false) };
}

/// The access token, refreshed first when it ends within a minute. One refresh
/// at a time: a refresh token works once, and reusing it ends the session.
pub async fn access_token() -> Option<String> {
    let c = ctx();
    while REFRESHING.with(Cell::get) {
        sleep(50).await;
    }
    let s = c.session.get_untracked()?;
    if parse_ms(&s.access_expires) - now_ms() > 60_000.0 {
        return Some(s.access);
    }
    REFRESHING.with(|r| r.set(true));
    let body = Refresh::build_query(refresh::Variables { refresh_token: s.refresh.clone() });
    let res = post("/graphql", JsValue::from_str(&serde_json::to_string(&body).unwrap_or_default()), true, None).await;
    REFRESHING.with(|r| r.set(false));
    match res {
        Ok(v) => match decode::<refresh::ResponseData>(v) {
            Ok(d) => {
                let s = crate::state::Session::from_refresh(&d.refresh);
                let tok = s.access.clone();
                c.set_session(Some(s));
                Some(tok)
            }
            Err(_) => {
                // The refresh token was refused: the session is over.
                c.set_session(None);
                None
            }
        },
        // Offline: try with the old token; the queue retries later.
        Err(_) => Some(s.access),
    }
}

fn decode<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    if let Some(e) = ApiError::from_body(&body) {
        return Err(e);
    }
    serde_json::from_value(body.get("data").cloned().unwrap_or(Value::Null))
        .map_err(|e| ApiError::new("INTERNAL", e.to_string()))
}

/// Sends a raw GraphQL body as the signed-in account.
pub async fn send_raw(body: &Value) -> Result<Value, ApiError> {
    let token = access_token().await;
    let v = post("/graphql", JsValue::from_str(&body.to_string()), true, token.as_deref()).await?;
    if let Some(e) = ApiError::from_body(&v) {
        if e.code == "UNAUTHENTICATED" && token.is_some() {
            ctx().set_session(None);
        }
        return Err(e);
    }
    Ok(v)
}

/// Runs one typed operation.
pub async fn call<Q: GraphQLQuery>(vars: Q::Variables) -> Result<Q::ResponseData, ApiError> {
    let body = serde_json::to_value(Q::build_query(vars)).unwrap_or_default();
    decode(send_raw(&body).await?)
}

/// Runs a decision that carries an idempotency key, sending it again while
/// the API is briefly away (after 1, 2, 4 and 8 s): the key makes a resend return
/// the first answer, so a lost answer never turns into a second decision.
pub async fn call_retrying<Q: GraphQLQuery>(vars: Q::Variables) -> Result<Q::ResponseData, ApiError> {
    let body = serde_json::to_value(Q::build_query(vars)).unwrap_or_default();
    let mut wait = 1000;
    loop {
        match send_raw(&body).await {
            Err(e) if e.is_transient() && wait <= 8000 => {
                sleep(wait).await;
                wait *= 2;
            }
            r => return decode(r?),
        }
    }
}

/// Runs an operation without a token (sign-in).
pub async fn call_anonymous<Q: GraphQLQuery>(vars: Q::Variables) -> Result<Q::ResponseData, ApiError> {
    let body = serde_json::to_string(&Q::build_query(vars)).unwrap_or_default();
    decode(post("/graphql", JsValue::from_str(&body), true, None).await?)
}

/// Uploads a file through the GraphQL multipart request spec.
pub async fn call_multipart<Q: GraphQLQuery>(
    vars: Q::Variables,
    file_var: &str,
    file: &web_sys::File,
) -> Result<Q::ResponseData, ApiError> {
    let ops = serde_json::to_string(&Q::build_query(vars)).unwrap_or_default();
    let form = web_sys::FormData::new().map_err(|_| ApiError::network())?;
    let _ = form.append_with_str("operations", &ops);
    let _ = form.append_with_str("map", &format!("{{\"0\":[\"variables.{file_var}\"]}}"));
    let _ = form.append_with_blob_and_filename("0", file, &file.name());
    let token = access_token().await;
    decode(post("/graphql", form.into(), false, token.as_deref()).await?)
}

thread_local! {
    static SOCKETS: std::cell::RefCell<std::collections::HashMap<u32, (web_sys::WebSocket, std::rc::Rc<Cell<bool>>)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    static NEXT_SOCKET: Cell<u32> = const { Cell::new(1) };
}

/// Starts a subscription over graphql-transport-ws (token in connection_init);
/// reconnects after a drop. Returns a handle for [`unsubscribe`].
pub fn subscribe<Q: GraphQLQuery>(vars: Q::Variables, on_data: impl Fn(Q::ResponseData) + 'static) -> u32
where
    Q::Variables: Clone + 'static,
    Q::ResponseData: 'static,
{
    let handle = NEXT_SOCKET.with(|n| {
        let v = n.get();
        n.set(v + 1);
        v
    });
    let alive = std::rc::Rc::new(Cell::new(true));
    connect::<Q>(handle, vars, std::rc::Rc::new(on_data), alive);
    handle
}

fn connect<Q: GraphQLQuery>(
    handle: u32,
    vars: Q::Variables,
    on_data: std::rc::Rc<dyn Fn(Q::ResponseData)>,
    alive: std::rc::Rc<Cell<bool>>,
) where
    Q::Variables: Clone + 'static,
    Q::ResponseData: 'static,
{
    use wasm_bindgen::closure::Closure;
    wasm_bindgen_futures::spawn_local(async move {
        if !alive.get() {
            return;
        }
        let token = access_token().await.unwrap_or_default();
        let url = format!("{}/graphql/ws", ctx().api_url().replacen("http", "ws", 1));
        let Ok(ws) = web_sys::WebSocket::new_with_str(&url, "graphql-transport-ws") else { return };
        let body = serde_json::to_value(Q::build_query(vars.clone())).unwrap_or_default();
        let w = ws.clone();
        let onopen = Closure::<dyn FnMut()>::new(move || {
            let init = serde_json::json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
            let _ = w.send_with_str(&init.to_string());
        });
        let w = ws.clone();
        let cb = on_data.clone();
        let onmessage = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let text = e.data().as_string().unwrap_or_default();
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            match v["type"].as_str() {
                Some("connection_ack") => {
                    let sub = serde_json::json!({ "id": "1", "type": "subscribe", "payload": body });
                    let _ = w.send_with_str(&sub.to_string());
                }
                Some("ping") => {
                    let _ = w.send_with_str(r#"{"type":"pong"}"#);
                }
                Some("next") => {
                    if let Ok(d) = serde_json::from_value(v["payload"]["data"].clone()) {
                        cb(d);
                    }
                }
                _ => {}
            }
        });
        let (a, h) = (alive.clone(), handle);
        let onclose = Closure::<dyn FnMut()>::new(move || {
            if a.get() {
                let (v, d, a) = (vars.clone(), on_data.clone(), a.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    sleep(3000).await;
                    connect::<Q>(h, v, d, a);
                });
            }
        });
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        onopen.forget();
        onmessage.forget();
        onclose.forget();
        SOCKETS.with(|s| s.borrow_mut().insert(handle, (ws, alive)));
    });
}

pub fn unsubscribe(handle: u32) {
    if let Some((ws, alive)) = SOCKETS.with(|s| s.borrow_mut().remove(&handle)) {
        alive.set(false);
        let _ = ws.close();
    }
}

/// Like [`call`], but keeps the last answer on the device (per account) and
/// answers from it when the network is down, so a verifier can reopen a
/// household they looked at before going out of coverage.
pub async fn call_cached<Q: GraphQLQuery>(key: &str, vars: Q::Variables) -> Result<Q::ResponseData, ApiError> {
    let user = ctx().session.get_untracked().map(|s| s.username).unwrap_or_default();
    let key = format!("hsv.cache.{user}.{key}");
    let body = serde_json::to_value(Q::build_query(vars)).unwrap_or_default();
    match send_raw(&body).await {
        Ok(v) => {
            crate::state::save(&key, Some(&v["data"].to_string()));
            decode(v)
        }
        Err(e) if e.is_network() => match crate::state::load(&key) {
            // Through `Value`, like answers from the network: one deserializer per type, not two.
            Some(s) => serde_json::from_str::<Value>(&s).and_then(serde_json::from_value).map_err(|_| e),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// How many bytes the cached answers take on this phone.
pub fn cached_bytes() -> usize {
    let Some(s) = crate::state::storage() else { return 0 };
    (0..s.length().unwrap_or(0))
        .filter_map(|i| s.key(i).ok().flatten())
        .filter(|k| k.starts_with("hsv.cache."))
        .map(|k| k.len() + s.get_item(&k).ok().flatten().map_or(0, |v| v.len()))
        .sum()
}

/// Forgets every cached answer (on sign-out: the next person on this phone must not see them).
pub fn clear_cache() {
    if let Some(s) = crate::state::storage() {
        let keys: Vec<String> = (0..s.length().unwrap_or(0))
            .filter_map(|i| s.key(i).ok().flatten())
            .filter(|k| k.starts_with("hsv.cache."))
            .collect();
        for k in keys {
            let _ = s.remove_item(&k);
        }
    }
}
