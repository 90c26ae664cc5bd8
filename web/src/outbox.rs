//! The outbox: every save, submit and photo goes through here, online or not.
//! Items are written to IndexedDB first, then sent in order; a network failure
//! leaves them waiting (retried every few seconds and when the browser says it
//! is online), an API refusal marks them refused with the reason. Each item's
//! id is its idempotency key, so an item sent twice is applied once.

use crate::enums::{Kind, State, StrEnum};
use crate::gql::{self, ApiError};
use crate::i18n::{error_text, label, t};
use crate::state::{ctx, now_ms, save};
use graphql_client::GraphQLQuery;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::Cell;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

/// One queued change, as kept in IndexedDB (field names and the kind and
/// state words are what older versions stored: their items still send).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: String,
    pub seq: f64,
    pub kind: Kind,
    pub household_id: String,
    pub label: String,
    pub practice: bool,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub verification_id: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size: Option<f64>,
    pub state: State,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub progress: f64,
    #[serde(default)]
    pub thumb: Option<String>,
    /// The account that queued it: only that account sends or sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// A photo's upload ticket once its bytes are stored: a resend confirms
    /// that ticket again instead of uploading a second copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_ticket: Option<String>,
}

impl OutboxItem {
    fn new(kind: Kind, household_id: &str, label: &str, practice: bool) -> Self {
        Self {
            id: new_id(),
            seq: now_ms(),
            kind,
            household_id: household_id.to_owned(),
            label: label.to_owned(),
            practice,
            input: None,
            verification_id: None,
            version: None,
            content_type: None,
            size: None,
            state: State::Waiting,
            error: None,
            progress: 0.0,
            thumb: None,
            account: current_account(),
            uploaded_ticket: None,
        }
    }

    /// A draft save: the whole SaveVerification request, sent later with the
    /// newest version of the record and this item's id as idempotency key.
    pub fn save(
        input: gql::save_verification::SaveVerificationInput,
        label: &str,
        verification_id: Option<String>,
    ) -> Self {
        let (household, practice, version) = (input.household_id.clone(), input.practice, input.version);
        let vars = gql::save_verification::Variables { input };
        Self {
            input: serde_json::to_value(gql::SaveVerification::build_query(vars)).ok(),
            verification_id,
            version: Some(version),
            ..Self::new(Kind::Save, &household, label, practice)
        }
    }

    /// Submitting the record right after `save` (it goes on from the version that save produces).
    pub fn submit(save: &Self) -> Self {
        Self { id: new_id(), seq: save.seq + 0.5, kind: Kind::Submit, input: None, ..save.clone() }
    }

    /// The front photo; the picture itself is stored beside the item.
    pub fn photo(household_id: &str, label: &str, practice: bool, file: &web_sys::File) -> Self {
        Self {
            content_type: Some(file.type_()).filter(|s| !s.is_empty()),
            size: Some(file.size()),
            ..Self::new(Kind::Photo, household_id, label, practice)
        }
    }
}

#[derive(Clone, Copy)]
pub struct Outbox {
    pub items: RwSignal<Vec<OutboxItem>>,
    /// The newest record and version each delivered save or submit produced,
    /// by household and mode, so a page's next save starts from it.
    known: RwSignal<std::collections::HashMap<(String, bool), (String, i64)>>,
}

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static OUTBOX: std::cell::OnceCell<Outbox> = const { std::cell::OnceCell::new() };
}

pub fn outbox() -> Outbox {
    OUTBOX.with(|o| *o.get().expect("outbox is set before the first render"))
}

pub fn set_outbox(o: Outbox) {
    OUTBOX.with(|cell| {
        let _ = cell.set(o);
    });
}

/// The signed-in account's id, if any.
fn current_account() -> Option<String> {
    ctx().session.with_untracked(|s| s.as_ref().map(|s| s.account_id.clone()))
}

/// Whether an item belongs to the account signed in now (tracked, for views).
pub fn is_mine(item: &OutboxItem) -> bool {
    let me = ctx().session.with(|s| s.as_ref().map(|s| s.account_id.clone()));
    me.is_some() && item.account == me
}

pub fn new_id() -> String {
    let r = || (js_sys::Math::random() * 4294967296.0) as u64;
    format!("{:x}-{:08x}{:08x}{:08x}", now_ms() as u64, r(), r(), r())
}

pub fn draft_key(household: &str, practice: bool) -> String {
    format!("hsv.draft.{}.{household}", if practice { "p" } else { "r" })
}

impl Outbox {
    pub fn new() -> Self {
        Self { items: RwSignal::new(Vec::new()), known: RwSignal::new(Default::default()) }
    }

    /// Loads what a previous page left, drops old sent items, starts sending.
    pub fn start(self) {
        leptos::task::spawn_local(async move {
            let mut items: Vec<OutboxItem> = crate::idb::all()
                .await
                .unwrap_or_default()
                .iter()
                .filter_map(|m| serde_json::from_str(m).ok())
                .collect();
            let day_ago = now_ms() - 86_400_000.0;
            for it in items.iter_mut() {
                if it.state == State::Sending {
                    // The page closed mid-send; the idempotency key makes a resend safe.
                    it.state = State::Waiting;
                }
            }
            for old in items.iter().filter(|i| i.state == State::Sent && i.seq < day_ago) {
                let _ = crate::idb::delete(&old.id).await;
            }
            items.retain(|i| !(i.state == State::Sent && i.seq < day_ago));
            items.sort_by(|a, b| a.seq.total_cmp(&b.seq));
            // Items from before outboxes had owners belong to whoever is signed in on this phone now.
            if let Some(me) = current_account() {
                for it in items.iter_mut().filter(|i| i.account.is_none()) {
                    it.account = Some(me.clone());
                    let _ = crate::idb::update_meta(&it.id, &serde_json::to_string(&it).unwrap_or_default()).await;
                }
            }
            self.items.set(items);
            self.kick();
        });
        let on_online = Closure::<dyn FnMut()>::new(move || self.kick());
        let w = web_sys::window().unwrap();
        let _ = w.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        on_online.forget();
        let _ = set_interval_with_handle(move || self.kick(), std::time::Duration::from_secs(4));
    }

    /// The record and version a new save of this household starts from: the
    /// newest of what the page loaded and what this outbox delivered since.
    pub fn latest(&self, household: &str, practice: bool, vid: Option<String>, version: i64) -> (Option<String>, i64) {
        match self.known.with_untracked(|k| k.get(&(household.to_owned(), practice)).cloned()) {
            Some((id, v)) if v > version => (Some(id), v),
            _ => (vid, version),
        }
    }

    fn learn(&self, item: &OutboxItem, vid: String, version: i64) {
        self.known.update(|k| {
            let e = k.entry((item.household_id.clone(), item.practice)).or_insert((vid.clone(), version));
            if version >= e.1 {
                *e = (vid, version);
            }
        });
    }

    pub fn waiting(&self) -> usize {
        self.items
            .with(|v| v.iter().filter(|i| matches!(i.state, State::Waiting | State::Sending) && is_mine(i)).count())
    }

    /// Keeps an item (and its photo) on the device, then tries to send it.
    pub async fn enqueue(self, item: OutboxItem, blob: Option<web_sys::Blob>) -> Result<(), String> {
        let meta = serde_json::to_string(&item).map_err(|e| e.to_string())?;
        crate::idb::put(&item.id, &meta, blob.as_ref()).await.map_err(|e| format!("{e:?}"))?;
        self.items.update(|v| v.push(item));
        self.kick();
        Ok(())
    }

    pub fn retry(self, id: &str) {
        let id = id.to_owned();
        leptos::task::spawn_local(async move {
            self.set(&id, |i| {
                i.state = State::Waiting;
                i.error = None;
                i.progress = 0.0;
            })
            .await;
            self.kick();
        });
    }

    pub fn remove(self, id: &str) {
        let id = id.to_owned();
        self.items.update(|v| v.retain(|i| i.id != id));
        leptos::task::spawn_local(async move {
            let _ = crate::idb::delete(&id).await;
        });
    }

    async fn set(self, id: &str, f: impl FnOnce(&mut OutboxItem)) {
        let mut changed = None;
        self.items.update(|v| {
            if let Some(i) = v.iter_mut().find(|i| i.id == id) {
                f(i);
                changed = Some(i.clone());
            }
        });
        if let Some(i) = changed {
            let _ = crate::idb::update_meta(&i.id, &serde_json::to_string(&i).unwrap_or_default()).await;
        }
    }

    pub fn kick(self) {
        if RUNNING.with(Cell::get) {
            return;
        }
        RUNNING.with(|r| r.set(true));
        leptos::task::spawn_local(async move {
            self.run().await;
            RUNNING.with(|r| r.set(false));
        });
    }

    async fn run(self) {
        loop {
            let c = ctx();
            if c.session.with_untracked(|s| s.as_ref().is_none_or(|s| s.must_change)) {
                return;
            }
            // Only the signed-in account's items: another account's wait for its owner.
            let me = current_account();
            let next =
                self.items.with_untracked(|v| v.iter().find(|i| i.state == State::Waiting && i.account == me).cloned());
            let Some(item) = next else { return };
            self.set(&item.id, |i| i.state = State::Sending).await;
            match self.send(&item).await {
                Ok(()) => {
                    self.set(&item.id, |i| {
                        i.state = State::Sent;
                        i.progress = 1.0;
                    })
                    .await;
                    c.revision.update(|r| *r += 1);
                }
                // Sent again on the next kick (every 4 s, or when the phone is
                // back online) with the same key, so nothing is done twice.
                Err(e) if e.is_transient() => {
                    self.set(&item.id, |i| i.state = State::Waiting).await;
                    return;
                }
                Err(e) => {
                    let msg = format!("{} ({})", error_text(&e), e.code);
                    self.set(&item.id, |i| {
                        i.state = State::Refused;
                        i.error = Some(msg);
                    })
                    .await;
                }
            }
        }
    }

    async fn send(self, item: &OutboxItem) -> Result<(), ApiError> {
        match item.kind {
            Kind::Save => {
                // The typed SaveVerification body, with the newest version and this item's key.
                let mut body = item.input.clone().unwrap_or_default();
                if let Some(v) = item.version {
                    body["variables"]["input"]["version"] = v.into();
                }
                body["variables"]["input"]["idempotencyKey"] = item.id.clone().into();
                let v = gql::send_raw(&body).await?;
                let saved = &v["data"]["saveVerification"];
                let (vid, ver) = (saved["id"].as_str().unwrap_or_default().to_owned(), saved["version"].as_i64());
                save(&draft_key(&item.household_id, item.practice), None);
                if let Some(v) = ver {
                    self.learn(item, vid.clone(), v);
                }
                // Later items of the same record continue from the version this save produced.
                let later: Vec<String> = self.items.with_untracked(|v| {
                    v.iter()
                        .filter(|i| {
                            i.seq > item.seq && i.household_id == item.household_id && i.state == State::Waiting
                        })
                        .filter(|i| i.practice == item.practice)
                        .map(|i| i.id.clone())
                        .collect()
                });
                for id in later {
                    let vid = vid.clone();
                    self.set(&id, |i| {
                        i.verification_id = Some(vid);
                        i.version = ver;
                    })
                    .await;
                }
                Ok(())
            }
            Kind::Submit => {
                let (Some(id), Some(version)) = (item.verification_id.clone(), item.version) else {
                    return Err(ApiError::new("VALIDATION", t("err_save_first")));
                };
                let r = gql::call::<gql::SubmitVerification>(gql::submit_verification::Variables {
                    id,
                    version,
                    idempotency_key: Some(item.id.clone()),
                })
                .await?;
                let s = r.submit_verification;
                self.learn(item, s.id, s.version);
                Ok(())
            }
            Kind::Photo => self.send_photo(item).await,
        }
    }

    async fn send_photo(self, item: &OutboxItem) -> Result<(), ApiError> {
        let Some(blob) = crate::idb::get_blob(&item.id).await else {
            return Err(ApiError::new("VALIDATION", t("err_photo_missing")));
        };
        let ticket_id = match item.uploaded_ticket.clone() {
            Some(t) => t,
            None => self.upload(item, blob).await?,
        };
        let vars = gql::confirm_photo_upload::Variables { ticket_id };
        match gql::call::<gql::ConfirmPhotoUpload>(vars).await {
            Ok(r) => self.set(&item.id, |i| i.thumb = Some(r.confirm_photo_upload.thumbnail_url)).await,
            // The first confirmation went through; only its answer was lost.
            Err(e) if e.reason.as_deref() == Some("UPLOAD_CONFIRMED") => {}
            Err(e) => {
                if !e.is_transient() {
                    // Expired or refused: a manual retry starts with a new upload.
                    self.set(&item.id, |i| i.uploaded_ticket = None).await;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Asks for a ticket and stores the bytes under it; the ticket's id.
    async fn upload(self, item: &OutboxItem, blob: web_sys::Blob) -> Result<String, ApiError> {
        let ct = item.content_type.clone().unwrap_or_else(|| "image/jpeg".into());
        let ticket = gql::call::<gql::RequestPhotoUpload>(gql::request_photo_upload::Variables {
            household_id: item.household_id.clone(),
            content_type: ct.clone(),
            size: blob.size() as i64,
            practice: item.practice,
        })
        .await?
        .request_photo_upload;
        let api = ctx().api_url();
        // Through the API the upload needs the token; a presigned S3 URL carries its own signature.
        let token = if ticket.upload_url.starts_with(&api) { gql::access_token().await } else { None };
        let id = item.id.clone();
        let status = put_with_progress(&ticket.upload_url, &ticket.method, &ct, &blob, token, move |p| {
            self.items.update(|v| {
                if let Some(i) = v.iter_mut().find(|i| i.id == id) {
                    i.progress = p;
                }
            })
        })
        .await?;
        if !(200..300).contains(&status) {
            // No answer (0), or the store briefly away: worth sending again.
            let code = if status == 0 || status == 429 || status >= 500 { "UNAVAILABLE" } else { "UPLOAD" };
            return Err(ApiError::new(code, format!("HTTP {status}")));
        }
        let id = ticket.id;
        self.set(&item.id, |i| i.uploaded_ticket = Some(id.clone())).await;
        Ok(id)
    }
}

/// PUTs a blob with XMLHttpRequest, which (unlike fetch) reports upload progress.
async fn put_with_progress(
    url: &str,
    method: &str,
    content_type: &str,
    blob: &web_sys::Blob,
    token: Option<String>,
    on_progress: impl Fn(f64) + 'static,
) -> Result<u16, ApiError> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| ApiError::network())?;
    xhr.open(method, url).map_err(|_| ApiError::network())?;
    let _ = xhr.set_request_header("content-type", content_type);
    if let Some(t) = token {
        let _ = xhr.set_request_header("authorization", &format!("Bearer {t}"));
    }
    let progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            on_progress(e.loaded() / e.total());
        }
    });
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let x = xhr.clone();
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        let x2 = x.clone();
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from(x2.status().unwrap_or(0)));
        });
        x.set_onload(Some(ok.unchecked_ref()));
        let r2 = reject.clone();
        let err = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = r2.call0(&JsValue::NULL);
        });
        x.set_onerror(Some(err.unchecked_ref()));
        let abort = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call0(&JsValue::NULL);
        });
        x.set_onabort(Some(abort.unchecked_ref()));
    });
    xhr.send_with_opt_blob(Some(blob)).map_err(|_| ApiError::network())?;
    let res = wasm_bindgen_futures::JsFuture::from(done).await;
    drop(progress);
    match res {
        Ok(s) => Ok(s.as_f64().unwrap_or(0.0) as u16),
        Err(_) => {
            ctx().online.set(false);
            Err(ApiError::network())
        }
    }
}

fn state_class(s: State) -> &'static str {
    match s {
        State::Sent => "badge ok",
        State::Refused => "badge err",
        State::Sending => "badge info",
        State::Waiting => "badge warn",
    }
}

/// One queue entry, as the outbox page and the entry form show it.
#[component]
pub fn QueueRow(item: OutboxItem) -> impl IntoView {
    let ob = outbox();
    let id = item.id.clone();
    let id2 = item.id.clone();
    let live = Memo::new(move |_| ob.items.with(|v| v.iter().find(|i| i.id == id).cloned()));
    let state = move || live.with(|i| i.as_ref().map_or(State::Waiting, |i| i.state));
    let kind = item.kind;
    view! {
        <li class="queue-item" data-state=move || state().as_str()>
            <div class="row">
                <span class=move || state_class(state())>{move || label(state())}</span>
                <span>{move || label(kind)}</span>
                <span class="muted">{item.label.clone()}</span>
                {item.practice.then(|| view! { <span class="badge warn">{move || t("practice")}</span> })}
            </div>
            {move || live.get().filter(|i| i.kind == Kind::Photo && i.state != State::Refused).map(|i| view! {
                <progress max="100" value=(i.progress * 100.0).round() aria-label=label(Kind::Photo)></progress>
            })}
            {move || live.get().and_then(|i| i.error).map(|e| view! { <p class="error">{e}</p> })}
            {move || (state() == State::Refused).then(|| {
                let (a, b) = (id2.clone(), id2.clone());
                view! {
                    <button on:click=move |_| ob.retry(&a)>{t("retry")}</button>
                    <button class="secondary" on:click=move |_| ob.remove(&b)>{t("remove")}</button>
                }
            })}
        </li>
    }
}

#[component]
pub fn OutboxPage() -> impl IntoView {
    let ob = outbox();
    let list = move || {
        let mut v: Vec<OutboxItem> = ob.items.get().into_iter().filter(is_mine).collect();
        v.sort_by(|a, b| b.seq.total_cmp(&a.seq));
        v
    };
    // "Send all": try every waiting or refused entry again now, rather than at the next tick.
    let send_all = move |_| {
        let again: Vec<String> = ob.items.with_untracked(|v| {
            v.iter().filter(|i| is_mine(i) && i.state == State::Refused).map(|i| i.id.clone()).collect()
        });
        for id in again {
            ob.retry(&id);
        }
        ob.kick();
    };
    view! {
        <section>
            <h2>{move || t("outbox")}</h2>
            <button class="secondary" id="send-all" on:click=send_all>{move || t("send_all")}</button>
            <Show when=move || ob.items.with(|v| v.iter().any(is_mine)) fallback=|| view! { <p class="muted">{move || t("outbox_empty")}</p> }>
                <ul class="queue">
                    <For each=list key=|i| i.id.clone() children=|i| view! { <QueueRow item=i /> } />
                </ul>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items queued by the version before typed kinds and states (strings
    /// then) are read, sent and written back unchanged.
    #[test]
    fn items_stored_by_the_previous_version_still_read() {
        let old = [
            r#"{"id":"a","seq":1.0,"kind":"save","household_id":"h","label":"L","practice":false,"input":{"query":"q","variables":{"input":{"version":0}}},"verification_id":null,"version":0,"content_type":null,"size":null,"state":"waiting","error":null,"progress":0.0,"thumb":null}"#,
            r#"{"id":"b","seq":1.5,"kind":"submit","household_id":"h","label":"L","practice":true,"input":null,"verification_id":"v","version":3,"content_type":null,"size":null,"state":"sending","error":null,"progress":0.0,"thumb":null}"#,
            r#"{"id":"c","seq":2.0,"kind":"photo","household_id":"h","label":"L","practice":false,"input":null,"verification_id":null,"version":null,"content_type":"image/jpeg","size":1000.0,"state":"refused","error":"x (UPLOAD)","progress":0.5,"thumb":null}"#,
        ];
        for json in old {
            let item: OutboxItem = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&item).unwrap(), json);
        }
        let sent: OutboxItem = serde_json::from_str(&old[0].replace("waiting", "sent")).unwrap();
        assert_eq!((sent.kind, sent.state), (Kind::Save, State::Sent));
    }
}
