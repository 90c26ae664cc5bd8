//! A small IndexedDB store for the outbox: each record holds the item as JSON
//! and, for photos, the picture itself as a Blob (too big for localStorage).

use js_sys::{Promise, Reflect};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

const STORE: &str = "outbox";

thread_local! {
    static DB: RefCell<Option<IdbDatabase>> = const { RefCell::new(None) };
}

fn wait(req: &IdbRequest) -> JsFuture {
    let r = req.clone();
    let p = Promise::new(&mut |resolve, reject| {
        let r2 = r.clone();
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &r2.result().unwrap_or(JsValue::UNDEFINED));
        });
        r.set_onsuccess(Some(ok.unchecked_ref()));
        let err = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("IndexedDB request failed"));
        });
        r.set_onerror(Some(err.unchecked_ref()));
    });
    JsFuture::from(p)
}

async fn db() -> Result<IdbDatabase, JsValue> {
    if let Some(d) = DB.with(|d| d.borrow().clone()) {
        return Ok(d);
    }
    let factory = web_sys::window().unwrap().indexed_db()?.ok_or("no IndexedDB")?;
    let open = factory.open_with_u32("hsv", 1)?;
    let up = Closure::once_into_js(move |e: web_sys::Event| {
        let req: IdbRequest = e.target().unwrap().unchecked_into();
        let db: IdbDatabase = req.result().unwrap().unchecked_into();
        let params = web_sys::IdbObjectStoreParameters::new();
        params.set_key_path(&JsValue::from_str("id"));
        let _ = db.create_object_store_with_optional_parameters(STORE, &params);
    });
    open.set_onupgradeneeded(Some(up.unchecked_ref()));
    let d: IdbDatabase = wait(&open).await?.unchecked_into();
    DB.with(|c| *c.borrow_mut() = Some(d.clone()));
    Ok(d)
}

fn store(d: &IdbDatabase, mode: IdbTransactionMode) -> Result<web_sys::IdbObjectStore, JsValue> {
    d.transaction_with_str_and_mode(STORE, mode)?.object_store(STORE)
}

/// Writes a record (replacing one with the same id).
pub async fn put(id: &str, meta: &str, blob: Option<&web_sys::Blob>) -> Result<(), JsValue> {
    let d = db().await?;
    let rec = js_sys::Object::new();
    Reflect::set(&rec, &"id".into(), &id.into())?;
    Reflect::set(&rec, &"meta".into(), &meta.into())?;
    if let Some(b) = blob {
        Reflect::set(&rec, &"blob".into(), b)?;
    }
    let req = store(&d, IdbTransactionMode::Readwrite)?.put(&rec)?;
    wait(&req).await?;
    Ok(())
}

/// Updates only the JSON of a record, keeping its blob.
pub async fn update_meta(id: &str, meta: &str) -> Result<(), JsValue> {
    let blob = get_blob(id).await;
    put(id, meta, blob.as_ref()).await
}

pub async fn get_blob(id: &str) -> Option<web_sys::Blob> {
    let d = db().await.ok()?;
    let req = store(&d, IdbTransactionMode::Readonly).ok()?.get(&id.into()).ok()?;
    let rec = wait(&req).await.ok()?;
    Reflect::get(&rec, &"blob".into()).ok()?.dyn_into().ok()
}

/// Every record's JSON.
pub async fn all() -> Result<Vec<String>, JsValue> {
    let d = db().await?;
    let req = store(&d, IdbTransactionMode::Readonly)?.get_all()?;
    let arr: js_sys::Array = wait(&req).await?.unchecked_into();
    Ok(arr.iter().filter_map(|r| Reflect::get(&r, &"meta".into()).ok()?.as_string()).collect())
}

pub async fn delete(id: &str) -> Result<(), JsValue> {
    let d = db().await?;
    let req = store(&d, IdbTransactionMode::Readwrite)?.delete(&id.into())?;
    wait(&req).await?;
    Ok(())
}
