//! The entry form: what the verifier types for the chosen path, checked
//! beside each field, kept on the phone on every keystroke, and queued in the
//! outbox as save and submit; the photo and the position go with it.

use super::local_time;
use crate::enums::{blank, StrEnum};
use crate::gql::{self, household as q, Arrangement, RenovationKind, Role, SafetyPath, VerificationStatus};
use crate::i18n::{label, t, Label};
use crate::outbox::{draft_key, is_mine, outbox, OutboxItem, QueueRow};
use crate::state::{ctx, load, save};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

/// What the verifier has typed; kept in localStorage on every change so a
/// reload or a dead battery loses nothing. (Unchosen enums are stored as "",
/// as they always were.)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Draft {
    #[serde(with = "blank")]
    path: Option<SafetyPath>,
    confirmed: bool,
    #[serde(with = "blank")]
    ren_kind: Option<RenovationKind>,
    new_address: String,
    #[serde(with = "blank")]
    arrangement: Option<Arrangement>,
    address: String,
    with_whom: String,
    description: String,
    structure: String,
    floors: String,
    floor_area: String,
    year_built: String,
    occupants: String,
    notes: String,
    /// Where the verifier stood, from the phone's location (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    longitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    accuracy: Option<f64>,
}

/// A floor area: empty, or 1 to 2000 m² with at most two decimals, typed as
/// people type it (85.5, 85,5 is not accepted: the decimal point is a dot).
fn decimal_ok(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() {
        return true;
    }
    let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
    decimals <= 2 && s.parse::<f64>().is_ok_and(|a| (1.0..=2000.0).contains(&a))
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Draft {
    fn from_verification(v: &q::HouseholdHouseholdVerification) -> Self {
        let f = &v.house_facts;
        let e = &v.evidence;
        Self {
            path: v.path,
            confirmed: e.appraisal.as_ref().is_some_and(|a| a.confirmed_on_site),
            ren_kind: e.renovation.as_ref().map(|r| r.kind),
            new_address: e.renovation.as_ref().and_then(|r| r.new_address.clone()).unwrap_or_default(),
            arrangement: e.secured.as_ref().map(|s| s.arrangement),
            address: e.secured.as_ref().map(|s| s.address.clone()).unwrap_or_default(),
            with_whom: e.secured.as_ref().and_then(|s| s.with_whom.clone()).unwrap_or_default(),
            description: e.secured.as_ref().and_then(|s| s.description.clone()).unwrap_or_default(),
            structure: f.structure.clone().unwrap_or_default(),
            floors: f.floors.map(|v| v.to_string()).unwrap_or_default(),
            floor_area: f.floor_area.map(|v| v.to_string()).unwrap_or_default(),
            year_built: f.year_built.map(|v| v.to_string()).unwrap_or_default(),
            occupants: f.occupants.map(|v| v.to_string()).unwrap_or_default(),
            notes: v.notes.clone().unwrap_or_default(),
            latitude: v.latitude,
            longitude: v.longitude,
            accuracy: None,
        }
    }

    /// What is wrong or missing, by field id, as i18n keys; `submit` adds what
    /// a submission needs (a path and its evidence). Checked before anything
    /// is queued, so the verifier sees it next to the field.
    fn problems(&self, submit: bool, this_year: i64) -> Vec<(&'static str, &'static str)> {
        let mut p = Vec::new();
        let whole = |s: &str, lo: i64, hi: i64| {
            s.trim().is_empty() || s.trim().parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n))
        };
        if !whole(&self.floors, 1, 10) {
            p.push(("floors", "err_floors"));
        }
        if !decimal_ok(&self.floor_area) {
            p.push(("floor-area", "err_floor_area"));
        }
        if !whole(&self.year_built, 1900, this_year) {
            p.push(("year-built", "err_year_built"));
        }
        if !whole(&self.occupants, 0, 50) {
            p.push(("occupants", "err_occupants"));
        }
        if !submit {
            return p;
        }
        match self.path {
            None => p.push(("path", "err_path")),
            Some(SafetyPath::RENOVATED) if self.ren_kind.is_none() => p.push(("ren-kind", "err_ren_kind")),
            Some(SafetyPath::SECURED) => {
                if self.arrangement.is_none() {
                    p.push(("arrangement", "err_arrangement"));
                }
                if self.address.trim().is_empty() {
                    p.push(("address", "err_address"));
                }
            }
            _ => {}
        }
        p
    }

    fn to_input(
        &self,
        household_id: &str,
        practice: bool,
        version: i64,
    ) -> gql::save_verification::SaveVerificationInput {
        use gql::save_verification as s;
        let on = |p: SafetyPath| self.path == Some(p);
        s::SaveVerificationInput {
            household_id: household_id.to_owned(),
            practice,
            version,
            idempotency_key: None,
            appraisal: on(SafetyPath::APPRAISED)
                .then_some(s::AppraisalEvidenceInput { confirmed_on_site: self.confirmed }),
            renovation: self
                .ren_kind
                .filter(|_| on(SafetyPath::RENOVATED))
                .map(|kind| s::RenovationEvidenceInput { kind, new_address: opt(&self.new_address) }),
            secured: self.arrangement.filter(|_| on(SafetyPath::SECURED)).map(|arrangement| s::SecuredEvidenceInput {
                arrangement,
                address: self.address.trim().to_owned(),
                with_whom: opt(&self.with_whom),
                description: opt(&self.description),
            }),
            path: self.path,
            house_facts: Some(s::HouseFactsInput {
                structure: opt(&self.structure),
                floors: self.floors.trim().parse().ok(),
                floor_area: self.floor_area.trim().parse().ok(),
                year_built: self.year_built.trim().parse().ok(),
                occupants: self.occupants.trim().parse().ok(),
            }),
            latitude: self.latitude,
            longitude: self.longitude,
            notes: opt(&self.notes),
        }
    }
}

/// The entry form's state, shared by its parts.
#[derive(Clone, Copy)]
struct Form {
    draft: RwSignal<Draft>,
    key: StoredValue<String>,
    /// Read-only: not the verifier's, not in an editable state, or just submitted.
    disabled: RwSignal<bool>,
    /// What is wrong, by field id (i18n keys), shown next to each field.
    problems: RwSignal<Vec<(&'static str, &'static str)>>,
}

/// The problem shown under a field, if it has one.
fn problem(form: Form, id: &'static str) -> impl IntoView {
    move || {
        form.problems.with(|p| p.iter().find(|(f, _)| *f == id).map(|(_, k)| *k)).map(|k| {
            view! { <span class="field-error" role="alert" id=format!("{id}-error")>{move || t(k)}</span> }
        })
    }
}

impl Form {
    /// Changes the draft and keeps it on the device at once.
    fn edit(self, f: Box<dyn FnOnce(&mut Draft)>) {
        self.draft.update(|d| f(d));
        save(&self.key.get_value(), serde_json::to_string(&self.draft.get_untracked()).ok().as_deref());
    }
}

/// The record the form's outbox items are about.
#[derive(Clone)]
struct Record {
    household_id: String,
    label: String,
    practice: bool,
    verification_id: Option<String>,
    version: i64,
}

fn text(
    form: Form,
    key: &'static str,
    id: &'static str,
    get: fn(&Draft) -> String,
    set: fn(&mut Draft, String),
    mode: &'static str,
) -> impl IntoView {
    // Numbers are text inputs with a number keypad: a number input's value
    // reads empty while "85." is half typed, and writing that back ate digits.
    view! {
        <label>{move || t(key)}
            <input id=id type="text" inputmode=mode disabled=move || form.disabled.get()
                aria-invalid=move || form.problems.with(|p| p.iter().any(|(f, _)| *f == id)).to_string()
                prop:value=move || form.draft.with(get)
                on:input=move |ev| { let v = event_target_value(&ev); form.edit(Box::new(move |d| set(d, v))) } />
            {problem(form, id)}
        </label>
    }
}

fn select<T: StrEnum + Label + PartialEq>(
    form: Form,
    key: &'static str,
    id: &'static str,
    get: fn(&Draft) -> Option<T>,
    set: fn(&mut Draft, Option<T>),
) -> impl IntoView {
    view! {
        <label>{move || t(key)}
            <select id=id disabled=move || form.disabled.get() on:change=move |ev| { let v = T::parse(&event_target_value(&ev)); form.edit(Box::new(move |d| set(d, v))) }>
                <option value="" selected=move || form.draft.with(get).is_none()>"—"</option>
                {T::ALL.iter().map(|&o| view! { <option value=o.as_str() selected=move || form.draft.with(get) == Some(o)>{move || label(o)}</option> }).collect_view()}
            </select>
            {problem(form, id)}
        </label>
    }
}

#[component]
pub fn EntryForm(h: q::HouseholdHousehold) -> impl IntoView {
    use VerificationStatus::*;
    let c = ctx();
    let ob = outbox();
    let practice = c.practice.get_untracked();
    let key = draft_key(&h.id, practice);
    let v = h.verification.as_ref();
    let can_edit = matches!(c.role(), Some(Role::VERIFIER))
        && matches!(VerificationStatus::of(v.map(|v| v.status)), NOT_STARTED | DRAFT | RETURNED | REOPENED);
    let initial = load(&key)
        .and_then(|s| serde_json::from_str::<Draft>(&s).ok())
        .or_else(|| v.map(Draft::from_verification))
        .unwrap_or_default();
    let form = Form {
        draft: RwSignal::new(initial),
        key: StoredValue::new(key),
        disabled: RwSignal::new(!can_edit),
        problems: RwSignal::new(Vec::new()),
    };
    let record = StoredValue::new(Record {
        household_id: h.id.clone(),
        label: format!("{} {}", h.code, h.head_name),
        practice,
        verification_id: v.map(|v| v.id.clone()),
        version: v.map_or(0, |v| v.version),
    });
    let message = RwSignal::new(None::<String>);
    let closed = RwSignal::new(None::<String>);
    if can_edit && !practice {
        watch_window(closed);
    }
    let hid = h.id;
    let mine = move || {
        ob.items.with(|v| {
            v.iter()
                .filter(|i| i.household_id == hid && i.practice == practice && is_mine(i))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <form class="card" id="entry" on:submit=|ev| ev.prevent_default()>
            <h3>{move || t("entry")}</h3>
            {move || closed.get().map(|end| view! {
                <p class="banner closed" id="submissions-closed" role="status">{move || t("submissions_closed")}" "{end.clone()}</p>
            })}
            <PathFields form=form />
            <details>
                <summary>{move || t("house_facts")}</summary>
                {text(form, "structure", "structure", |d| d.structure.clone(), |d, v| d.structure = v, "text")}
                {text(form, "floors", "floors", |d| d.floors.clone(), |d, v| d.floors = v, "numeric")}
                {text(form, "floor_area", "floor-area", |d| d.floor_area.clone(), |d, v| d.floor_area = v, "decimal")}
                {text(form, "year_built", "year-built", |d| d.year_built.clone(), |d, v| d.year_built = v, "numeric")}
                {text(form, "occupants", "occupants", |d| d.occupants.clone(), |d, v| d.occupants = v, "numeric")}
            </details>
            <label>{move || t("notes")}
                <textarea id="notes" disabled=move || form.disabled.get() prop:value=move || form.draft.with(|d| d.notes.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); form.edit(Box::new(move |d| d.notes = v)) }></textarea>
            </label>
            {can_edit.then(|| view! { <Location form=form /> })}
            {can_edit.then(|| view! { <Actions form=form record=record message=message closed=closed /> })}
            {move || message.get().map(|m| view! { <p class="muted" role="status">{m}</p> })}
            <ul class="queue" id="household-queue">
                <For each=mine key=|i| i.id.clone() children=|i| view! { <QueueRow item=i /> } />
            </ul>
        </form>
    }
}

/// Sets `closed` to the end of the look-back review when it is over: then a
/// record can be saved but not submitted, and the page says so up front.
fn watch_window(closed: RwSignal<Option<String>>) {
    leptos::task::spawn_local(async move {
        let Ok(d) = gql::call::<gql::Milestones>(gql::milestones::Variables {}).await else { return };
        let now = js_sys::Date::now();
        let end = d.milestones.into_iter().find(|m| m.kind == "LOOK_BACK").map(|m| m.ends_at);
        if let Some(end) = end.filter(|e| js_sys::Date::parse(e) < now) {
            closed.set(Some(local_time(&end)));
        }
    });
}

/// The safety path, and the evidence the chosen path asks for.
#[component]
fn PathFields(form: Form) -> impl IntoView {
    let path = move || form.draft.with(|d| d.path);
    view! {
        <fieldset id="path" disabled=move || form.disabled.get()>
            <legend>{move || t("choose_path")}<span class="required" aria-hidden="true">" *"</span></legend>
            {SafetyPath::ALL.iter().map(|&p| view! {
                <label class="choice">
                    <input type="radio" name="path" value=p.as_str() prop:checked=move || path() == Some(p)
                        on:change=move |_| form.edit(Box::new(move |d| d.path = Some(p))) />
                    {move || label(p)}
                </label>
            }).collect_view()}
            {problem(form, "path")}
        </fieldset>
        <Show when=move || path() == Some(SafetyPath::APPRAISED)>
            <label class="choice">
                <input type="checkbox" id="confirmed" disabled=move || form.disabled.get() prop:checked=move || form.draft.with(|d| d.confirmed)
                    on:change=move |ev| { let v = event_target_checked(&ev); form.edit(Box::new(move |d| d.confirmed = v)) } />
                {move || t("confirmed_on_site")}
            </label>
        </Show>
        <Show when=move || path() == Some(SafetyPath::RENOVATED)>
            {select(form, "ren_kind", "ren-kind", |d| d.ren_kind, |d, v| d.ren_kind = v)}
            {text(form, "new_address", "new-address", |d| d.new_address.clone(), |d, v| d.new_address = v, "text")}
        </Show>
        <Show when=move || path() == Some(SafetyPath::SECURED)>
            {select(form, "arrangement", "arrangement", |d| d.arrangement, |d, v| d.arrangement = v)}
            {text(form, "address", "address", |d| d.address.clone(), |d, v| d.address = v, "text")}
            {text(form, "with_whom", "with-whom", |d| d.with_whom.clone(), |d, v| d.with_whom = v, "text")}
            {text(form, "description", "description", |d| d.description.clone(), |d, v| d.description = v, "text")}
        </Show>
    }
}

/// The photo input and the save and submit buttons: each puts items in the outbox.
#[component]
fn Actions(
    form: Form,
    record: StoredValue<Record>,
    message: RwSignal<Option<String>>,
    closed: RwSignal<Option<String>>,
) -> impl IntoView {
    let ob = outbox();
    let enqueue = move |submit: bool| {
        let this_year = js_sys::Date::new_0().get_full_year() as i64;
        let problems = form.draft.with_untracked(|d| d.problems(submit, this_year));
        form.problems.set(problems.clone());
        if let Some((first, _)) = problems.first() {
            // Nothing is queued; the verifier is taken to the first field to fix.
            message.set(Some(t("fix_fields").to_owned()));
            focus(first);
            return;
        }
        let r = record.get_value();
        // The newest version this page knows: its own earlier saves count.
        let (vid, version) = ob.latest(&r.household_id, r.practice, r.verification_id.clone(), r.version);
        let input = form.draft.get_untracked().to_input(&r.household_id, r.practice, version);
        let save = OutboxItem::save(input, &r.label, vid);
        let then = submit.then(|| OutboxItem::submit(&save));
        leptos::task::spawn_local(async move {
            let mut res = ob.enqueue(save, None).await;
            if let (Ok(()), Some(s)) = (&res, then) {
                res = ob.enqueue(s, None).await;
                if res.is_ok() {
                    // Submitted: the record now waits for review and is no longer edited here.
                    form.disabled.set(true);
                }
            }
            let done = if submit { t("queued_submit") } else { t("queued") };
            message.set(Some(res.err().unwrap_or_else(|| done.to_owned())));
        });
    };
    let preview = RwSignal::new(None::<String>);
    let on_photo = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        if let Ok(url) = web_sys::Url::create_object_url_with_blob(&file) {
            preview.set(Some(url));
        }
        let item = record.with_value(|r| OutboxItem::photo(&r.household_id, &r.label, r.practice, &file));
        let blob: web_sys::Blob = file.unchecked_into();
        leptos::task::spawn_local(async move {
            if let Err(e) = ob.enqueue(item, Some(blob)).await {
                message.set(Some(e));
            }
        });
    };
    view! {
        <div class="photo-input">
            <label class="button secondary">{move || t("take_photo")}
                <input type="file" id="photo" accept="image/*" capture="environment" class="visually-hidden" on:change=on_photo />
            </label>
            <span class="muted">{move || t("front_photo")}</span>
            {move || preview.get().map(|u| view! { <img id="preview" src=u alt=t("front_photo") width="160" /> })}
        </div>
        <div class="actions">
            <button type="button" class="secondary" id="save-draft" disabled=move || form.disabled.get() on:click=move |_| enqueue(false)>{move || t("save_draft")}</button>
            <button type="button" id="submit" disabled=move || form.disabled.get() || closed.get().is_some() on:click=move |_| enqueue(true)>{move || t("submit")}</button>
        </div>
    }
}

/// "Record location": the phone's position, sent with the entry (the photo
/// checks use it when the photo carries none). Optional; a refusal is said.
#[component]
fn Location(form: Form) -> impl IntoView {
    let problem = RwSignal::new(None::<&'static str>);
    let busy = RwSignal::new(false);
    let shown = move || {
        form.draft.with(|d| {
            d.latitude.zip(d.longitude).map(|(la, lo)| {
                let acc = d.accuracy.map(|a| format!(" · ±{} m", a.round())).unwrap_or_default();
                format!("{la:.5}, {lo:.5}{acc}")
            })
        })
    };
    view! {
        <div class="row location">
            <button type="button" class="secondary" id="record-location" disabled=move || form.disabled.get() || busy.get()
                on:click=move |_| { busy.set(true); locate(form, problem, busy) }>{move || t("record_location")}</button>
            {move || shown().map(|s| view! { <span id="location" class="muted">{move || t("location_recorded")}" "{s.clone()}</span> })}
            {move || problem.get().map(|k| view! { <span id="location-error" class="field-error" role="alert">{move || t(k)}</span> })}
        </div>
    }
}

/// Asks the browser for the position (Geolocation API) and keeps it in the draft.
fn locate(form: Form, problem: RwSignal<Option<&'static str>>, busy: RwSignal<bool>) {
    use js_sys::Reflect;
    use wasm_bindgen::{closure::Closure, JsValue};
    let geo = Reflect::get(&window().navigator(), &"geolocation".into()).ok().filter(|g| !g.is_undefined());
    let Some(geo) = geo else {
        problem.set(Some("gps_unavailable"));
        busy.set(false);
        return;
    };
    let ok = Closure::once_into_js(move |pos: JsValue| {
        let coords = Reflect::get(&pos, &"coords".into()).unwrap_or_default();
        let num = |k: &str| Reflect::get(&coords, &k.into()).ok().and_then(|v| v.as_f64());
        if let (Some(la), Some(lo)) = (num("latitude"), num("longitude")) {
            let acc = num("accuracy");
            form.edit(Box::new(move |d| {
                d.latitude = Some(la);
                d.longitude = Some(lo);
                d.accuracy = acc;
            }));
            problem.set(None);
        }
        busy.set(false);
    });
    let failed = Closure::once_into_js(move |e: JsValue| {
        let code = Reflect::get(&e, &"code".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        problem.set(Some(if code == 1.0 { "gps_denied" } else { "gps_failed" }));
        busy.set(false);
    });
    let opts = js_sys::Object::new();
    let _ = Reflect::set(&opts, &"enableHighAccuracy".into(), &true.into());
    let _ = Reflect::set(&opts, &"timeout".into(), &20_000.into());
    if let Ok(f) = Reflect::get(&geo, &"getCurrentPosition".into()).and_then(|f| f.dyn_into::<js_sys::Function>()) {
        let _ = f.call3(&geo, &ok, &failed, &opts);
    }
}

/// Scrolls to a field and puts the cursor in it.
fn focus(id: &str) {
    let el = document().get_element_by_id(id).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = el {
        // A field inside the closed house-facts section: open it first.
        if let Ok(Some(d)) = el.closest("details") {
            let _ = d.set_attribute("open", "");
        }
        el.scroll_into_view();
        let _ = el.focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A draft kept by the previous version (enums as strings, "" for none) reads and is kept the same way.
    #[test]
    fn drafts_stored_by_the_previous_version_still_read() {
        let old = r#"{"path":"RENOVATED","confirmed":false,"ren_kind":"REBUILT","new_address":"","arrangement":"","address":"","with_whom":"","description":"","structure":"砖混","floors":"2","floor_area":"","year_built":"","occupants":"","notes":"n"}"#;
        let d: Draft = serde_json::from_str(old).unwrap();
        assert_eq!(
            (d.path, d.ren_kind, d.arrangement),
            (Some(SafetyPath::RENOVATED), Some(RenovationKind::REBUILT), None)
        );
        assert_eq!(serde_json::to_string(&d).unwrap(), old);
        let input = d.to_input("h", false, 0);
        assert!(input.renovation.is_some() && input.secured.is_none() && input.appraisal.is_none());
    }
}
