//! A household: what the three offices hold side by side, the entry form for
//! the chosen path, the front photo, findings, and (for reviewers) history.

use super::{error_view, local_time};
use crate::gql::{self, household as q, name};
use crate::i18n::{label, t};
use crate::outbox::{draft_key, new_id, outbox, Item, QueueRow};
use crate::pages::households::status_class;
use crate::state::{ctx, load, now_ms, save};
use graphql_client::GraphQLQuery;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

/// What the verifier has typed; kept in localStorage on every change so a
/// reload or a dead battery loses nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Draft {
    path: String,
    confirmed: bool,
    ren_kind: String,
    new_address: String,
    arrangement: String,
    address: String,
    with_whom: String,
    description: String,
    structure: String,
    floors: String,
    floor_area: String,
    year_built: String,
    occupants: String,
    notes: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn from_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

impl Draft {
    fn from_verification(v: &q::HouseholdHouseholdVerification) -> Self {
        let f = &v.house_facts;
        let e = &v.evidence;
        Self {
            path: v.path.as_ref().map(name).unwrap_or_default(),
            confirmed: e.appraisal.as_ref().is_some_and(|a| a.confirmed_on_site),
            ren_kind: e.renovation.as_ref().map(|r| name(&r.kind)).unwrap_or_default(),
            new_address: e.renovation.as_ref().and_then(|r| r.new_address.clone()).unwrap_or_default(),
            arrangement: e.secured.as_ref().map(|s| name(&s.arrangement)).unwrap_or_default(),
            address: e.secured.as_ref().map(|s| s.address.clone()).unwrap_or_default(),
            with_whom: e.secured.as_ref().and_then(|s| s.with_whom.clone()).unwrap_or_default(),
            description: e.secured.as_ref().and_then(|s| s.description.clone()).unwrap_or_default(),
            structure: f.structure.clone().unwrap_or_default(),
            floors: f.floors.map(|v| v.to_string()).unwrap_or_default(),
            floor_area: f.floor_area.map(|v| v.to_string()).unwrap_or_default(),
            year_built: f.year_built.map(|v| v.to_string()).unwrap_or_default(),
            occupants: f.occupants.map(|v| v.to_string()).unwrap_or_default(),
            notes: v.notes.clone().unwrap_or_default(),
        }
    }

    fn to_input(
        &self,
        household_id: &str,
        practice: bool,
        version: i64,
    ) -> gql::save_verification::SaveVerificationInput {
        use gql::save_verification as s;
        let path: Option<s::SafetyPath> = from_name(&self.path);
        s::SaveVerificationInput {
            household_id: household_id.to_owned(),
            practice,
            version,
            idempotency_key: None,
            appraisal: (self.path == "APPRAISED")
                .then(|| s::AppraisalEvidenceInput { confirmed_on_site: self.confirmed }),
            renovation: (self.path == "RENOVATED")
                .then(|| from_name(&self.ren_kind))
                .flatten()
                .map(|kind| s::RenovationEvidenceInput { kind, new_address: opt(&self.new_address) }),
            secured: (self.path == "SECURED").then(|| from_name(&self.arrangement)).flatten().map(|arrangement| {
                s::SecuredEvidenceInput {
                    arrangement,
                    address: self.address.trim().to_owned(),
                    with_whom: opt(&self.with_whom),
                    description: opt(&self.description),
                }
            }),
            path,
            house_facts: Some(s::HouseFactsInput {
                structure: opt(&self.structure),
                floors: self.floors.trim().parse().ok(),
                floor_area: self.floor_area.trim().parse().ok(),
                year_built: self.year_built.trim().parse().ok(),
                occupants: self.occupants.trim().parse().ok(),
            }),
            latitude: None,
            longitude: None,
            notes: opt(&self.notes),
        }
    }
}

async fn fetch(id: String, practice: bool) -> Result<q::HouseholdHousehold, gql::ApiError> {
    let key = format!("household.{id}.{practice}");
    gql::call_cached::<gql::Household>(&key, q::Variables { id, practice })
        .await?
        .household
        .ok_or(gql::ApiError::new("NOT_FOUND", ""))
}

#[component]
pub fn HouseholdPage(id: String) -> impl IntoView {
    let c = ctx();
    let id = StoredValue::new(id);
    // The first load builds the form; later loads (after each delivery) refresh status, findings, photos.
    let base = LocalResource::new(move || fetch(id.get_value(), c.practice.get()));
    view! {
        <Suspense fallback=move || view! { <p class="muted">{t("loading")}</p> }>
            {move || Suspend::new(async move {
                match base.await {
                    Err(e) => view! { <section id="household-error">{error_view(&e)}</section> }.into_any(),
                    Ok(h) => view! { <HouseholdView h=h /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn HouseholdView(h: q::HouseholdHousehold) -> impl IntoView {
    let c = ctx();
    let id = h.id.clone();
    let id_live = id.clone();
    let live = LocalResource::new(move || {
        c.revision.track();
        fetch(id_live.clone(), c.practice.get_untracked())
    });
    let village = h.village.as_ref().map(|v| v.name.clone()).unwrap_or_default();
    let refs = h.references.clone();
    let reviewer = c.role() != "VERIFIER";
    view! {
        <section id="household" data-code=h.code.clone()>
            <h2>{h.head_name.clone()}" "<small class="muted">{h.code.clone()}</small></h2>
            <p class="muted">{h.township.name.clone()}" · "{village}" · "{h.id_number.clone()}
                {h.size.map(|s| format!(" · {s}人"))}</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match live.await {
                        Ok(l) => view! { <Status h=l /> }.into_any(),
                        Err(e) => error_view(&e),
                    }
                })}
            </Transition>
            <References refs=refs />
            <EntryForm h=h.clone() />
            {reviewer.then(|| view! { <HistoryView id=id.clone() /> })}
        </section>
    }
}

#[component]
fn Status(h: q::HouseholdHousehold) -> impl IntoView {
    let c = ctx();
    let v = h.verification.clone();
    let status = v.as_ref().map(|v| name(&v.status)).unwrap_or_else(|| "NOT_STARTED".into());
    let st = status.clone();
    let editable = c.role() == "VERIFIER";
    view! {
        <div class="card" id="status">
            <div class="row">
                <span id="status-badge" class=status_class(&status) data-status=status.clone()>{move || label(&st)}</span>
                {v.as_ref().and_then(|v| v.verified_by.clone()).map(|a| view! { <span class="muted">{move || t("verified_by")}": "{a.display_name.clone()}</span> })}
                {v.as_ref().and_then(|v| v.approved_by.clone()).map(|a| view! { <span class="muted">{move || t("approved_by")}": "{a.display_name.clone()}</span> })}
            </div>
            {v.as_ref().and_then(|v| v.return_reason.clone()).filter(|_| status == "RETURNED").map(|r| view! {
                <p class="error">{move || t("returned_reason")}": "{r.clone()}</p>
            })}
            <ul class="findings" id="findings">
                {h.findings.into_iter().map(|f| view! { <FindingRow f=f editable=editable /> }).collect_view()}
            </ul>
            <div class="photos" id="photos">
                {h.photos.into_iter().filter(|p| p.practice == c.practice.get_untracked()).map(|p| view! {
                    <a href=p.url.clone() target="_blank" rel="noopener">
                        <img src=p.thumbnail_url.clone() alt=move || t("front_photo") width="160" height="120" />
                    </a>
                }).collect_view()}
            </div>
        </div>
    }
}

#[component]
fn FindingRow(f: q::HouseholdHouseholdFindings, editable: bool) -> impl IntoView {
    let c = ctx();
    let sev = name(&f.severity);
    let can_ack = editable && sev == "WARNING" && !f.acknowledged;
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let id = StoredValue::new(f.id.clone());
    let ack = move |_| {
        leptos::task::spawn_local(async move {
            let vars = gql::acknowledge_finding::Variables { id: id.get_value(), reason: reason.get_untracked() };
            match gql::call::<gql::AcknowledgeFinding>(vars).await {
                Ok(_) => c.revision.update(|r| *r += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let s2 = sev.clone();
    view! {
        <li class=if sev == "ERROR" { "finding err" } else { "finding warn" } data-rule=f.rule.clone()>
            <span class=if sev == "ERROR" { "badge err" } else { "badge warn" }>{move || label(&s2)}</span>
            " "{f.message.clone()}
            {f.acknowledged.then(|| view! { <span class="muted">" ("{move || t("acknowledged")}": "{f.ack_reason.clone().unwrap_or_default()}")"</span> })}
            {can_ack.then(|| view! {
                <div class="row">
                    <input aria-label=move || t("ack_reason") placeholder=move || t("ack_reason")
                        on:input=move |ev| reason.set(event_target_value(&ev)) />
                    <button class="secondary" on:click=ack>{move || t("acknowledge")}</button>
                </div>
            })}
            {move || error.get().map(|e| error_view(&e))}
        </li>
    }
}

#[component]
fn References(refs: q::HouseholdHouseholdReferences) -> impl IntoView {
    let cols = [refs.poverty, refs.appraisal, refs.renovation];
    type Get = fn(&q::RefFields) -> Option<String>;
    let rows: [(&str, Get, bool); 11] = [
        ("f_head", |r| Some(r.head_name.clone()), true),
        ("f_id", |r| Some(r.id_number.clone()), true),
        ("f_township", |r| r.township_name.clone(), true),
        ("f_village", |r| r.village_name.clone(), true),
        ("f_size", |r| r.household_size.map(|v| v.to_string()), true),
        ("f_exit_year", |r| r.exit_year.map(|v| v.to_string()), false),
        ("f_grade", |r| r.grade.clone(), false),
        ("f_appraised_on", |r| r.appraised_on.clone(), false),
        ("f_ren_year", |r| r.renovation_year.map(|v| v.to_string()), false),
        ("f_ren_kind", |r| r.renovation_kind.clone(), false),
        ("f_subsidy", |r| r.subsidy_yuan.map(|v| v.to_string()), false),
    ];
    let body = rows
        .into_iter()
        .map(|(key, get, compare)| {
            let values: Vec<Option<String>> = cols.iter().map(|c| c.as_ref().and_then(get)).collect();
            let present: Vec<&String> = values.iter().flatten().collect();
            let differs = compare && present.windows(2).any(|w| w[0] != w[1]);
            let cells = values
                .into_iter()
                .map(|v| view! { <td>{v.unwrap_or_else(|| "—".into())}</td> })
                .collect_view();
            view! {
                <tr class:differs=differs>
                    <th scope="row">{move || t(key)}{differs.then(|| view! { <span class="badge err">{move || t("differs")}</span> })}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="card" open>
            <summary><h3>{move || t("three_offices")}</h3></summary>
            <div class="scroll">
                <table class="refs" id="references">
                    <thead><tr><th></th><th>{move || t("src_poverty")}</th><th>{move || t("src_appraisal")}</th><th>{move || t("src_renovation")}</th></tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </details>
    }
}

fn text(
    draft: RwSignal<Draft>,
    key: &'static str,
    id: &'static str,
    get: fn(&Draft) -> String,
    set: fn(&mut Draft, String),
    kind: &'static str,
    edit: impl Fn(Box<dyn FnOnce(&mut Draft)>) + Copy + 'static,
    disabled: bool,
) -> impl IntoView {
    view! {
        <label>{move || t(key)}
            <input id=id type=kind inputmode=if kind == "number" { "decimal" } else { "text" } disabled=disabled
                prop:value=move || draft.with(get)
                on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| set(d, v))) } />
        </label>
    }
}

fn select(
    draft: RwSignal<Draft>,
    key: &'static str,
    id: &'static str,
    options: &'static [&'static str],
    get: fn(&Draft) -> String,
    set: fn(&mut Draft, String),
    edit: impl Fn(Box<dyn FnOnce(&mut Draft)>) + Copy + 'static,
    disabled: bool,
) -> impl IntoView {
    view! {
        <label>{move || t(key)}
            <select id=id disabled=disabled on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| set(d, v))) }>
                <option value="" selected=move || draft.with(get).is_empty()>"—"</option>
                {options.iter().map(|o| view! { <option value=*o selected=move || draft.with(get) == *o>{move || label(o)}</option> }).collect_view()}
            </select>
        </label>
    }
}

#[component]
fn EntryForm(h: q::HouseholdHousehold) -> impl IntoView {
    let c = ctx();
    let ob = outbox();
    let practice = c.practice.get_untracked();
    let hid = h.id.clone();
    let key = draft_key(&hid, practice);
    let v = h.verification.clone();
    let status = v.as_ref().map(|v| name(&v.status)).unwrap_or_else(|| "NOT_STARTED".into());
    let can_edit =
        c.role() == "VERIFIER" && matches!(status.as_str(), "NOT_STARTED" | "DRAFT" | "RETURNED" | "REOPENED");
    let disabled = !can_edit;
    let initial = load(&key)
        .and_then(|s| serde_json::from_str::<Draft>(&s).ok())
        .or_else(|| v.as_ref().map(Draft::from_verification))
        .unwrap_or_default();
    let draft = RwSignal::new(initial);
    let key2 = StoredValue::new(key.clone());
    let edit = move |f: Box<dyn FnOnce(&mut Draft)>| {
        draft.update(|d| f(d));
        save(&key2.get_value(), serde_json::to_string(&draft.get_untracked()).ok().as_deref());
    };
    let label_text = format!("{} {}", h.code, h.head_name);
    let (vid, version) = (v.as_ref().map(|v| v.id.clone()), v.as_ref().map(|v| v.version).unwrap_or(0));
    let message = RwSignal::new(None::<String>);
    let enqueue = {
        let (hid, label_text, vid) = (hid.clone(), label_text.clone(), vid.clone());
        move |submit: bool| {
            let input = draft.get_untracked().to_input(&hid, practice, version);
            let body =
                serde_json::to_value(gql::SaveVerification::build_query(gql::save_verification::Variables { input }))
                    .ok();
            let seq = now_ms();
            let base = Item {
                id: new_id(),
                seq,
                kind: "save".into(),
                household_id: hid.clone(),
                label: label_text.clone(),
                practice,
                input: body,
                verification_id: vid.clone(),
                version: Some(version),
                content_type: None,
                size: None,
                state: "waiting".into(),
                error: None,
                progress: 0.0,
                thumb: None,
            };
            let sub = submit.then(|| Item {
                id: new_id(),
                seq: seq + 0.5,
                kind: "submit".into(),
                input: None,
                ..base.clone()
            });
            leptos::task::spawn_local(async move {
                let r = match ob.enqueue(base, None).await {
                    Ok(()) => match sub {
                        Some(s) => ob.enqueue(s, None).await,
                        None => Ok(()),
                    },
                    e => e,
                };
                message.set(Some(r.err().unwrap_or_else(|| t("queued").to_owned())));
            });
        }
    };
    let enqueue2 = enqueue.clone();
    let preview = RwSignal::new(None::<String>);
    let (hid_photo, label_photo) = (hid.clone(), label_text.clone());
    let on_photo = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        if let Ok(url) = web_sys::Url::create_object_url_with_blob(&file) {
            preview.set(Some(url));
        }
        let item = Item {
            id: new_id(),
            seq: now_ms(),
            kind: "photo".into(),
            household_id: hid_photo.clone(),
            label: label_photo.clone(),
            practice,
            input: None,
            verification_id: None,
            version: None,
            content_type: Some(file.type_()).filter(|s| !s.is_empty()),
            size: Some(file.size()),
            state: "waiting".into(),
            error: None,
            progress: 0.0,
            thumb: None,
        };
        let blob: web_sys::Blob = file.unchecked_into();
        leptos::task::spawn_local(async move {
            if let Err(e) = ob.enqueue(item, Some(blob)).await {
                message.set(Some(e));
            }
        });
    };
    let hid_q = hid.clone();
    let mine = move || {
        ob.items.with(|v| {
            v.iter().filter(|i| i.household_id == hid_q && i.practice == practice).cloned().collect::<Vec<_>>()
        })
    };
    let path = move || draft.with(|d| d.path.clone());
    view! {
        <form class="card" id="entry" on:submit=|ev| ev.prevent_default()>
            <h3>{move || t("entry")}</h3>
            <fieldset disabled=disabled>
                <legend>{move || t("choose_path")}</legend>
                {["APPRAISED", "RENOVATED", "SECURED"].into_iter().map(|p| view! {
                    <label class="choice">
                        <input type="radio" name="path" value=p prop:checked=move || path() == p
                            on:change=move |_| edit(Box::new(move |d| d.path = p.to_owned())) />
                        {move || label(p)}
                    </label>
                }).collect_view()}
            </fieldset>
            <Show when=move || path() == "APPRAISED">
                <label class="choice">
                    <input type="checkbox" id="confirmed" disabled=disabled prop:checked=move || draft.with(|d| d.confirmed)
                        on:change=move |ev| { let v = event_target_checked(&ev); edit(Box::new(move |d| d.confirmed = v)) } />
                    {move || t("confirmed_on_site")}
                </label>
            </Show>
            <Show when=move || path() == "RENOVATED">
                {select(draft, "ren_kind", "ren-kind", &["REBUILT", "REINFORCED", "RELOCATED", "RESETTLED"], |d| d.ren_kind.clone(), |d, v| d.ren_kind = v, edit, disabled)}
                {text(draft, "new_address", "new-address", |d| d.new_address.clone(), |d, v| d.new_address = v, "text", edit, disabled)}
            </Show>
            <Show when=move || path() == "SECURED">
                {select(draft, "arrangement", "arrangement", &["PUBLIC_RENTAL", "ELDERLY_HOME", "RENTED_FARMHOUSE", "RELATIVES", "OTHER"], |d| d.arrangement.clone(), |d, v| d.arrangement = v, edit, disabled)}
                {text(draft, "address", "address", |d| d.address.clone(), |d, v| d.address = v, "text", edit, disabled)}
                {text(draft, "with_whom", "with-whom", |d| d.with_whom.clone(), |d, v| d.with_whom = v, "text", edit, disabled)}
                {text(draft, "description", "description", |d| d.description.clone(), |d, v| d.description = v, "text", edit, disabled)}
            </Show>
            <details>
                <summary>{move || t("house_facts")}</summary>
                {text(draft, "structure", "structure", |d| d.structure.clone(), |d, v| d.structure = v, "text", edit, disabled)}
                {text(draft, "floors", "floors", |d| d.floors.clone(), |d, v| d.floors = v, "number", edit, disabled)}
                {text(draft, "floor_area", "floor-area", |d| d.floor_area.clone(), |d, v| d.floor_area = v, "number", edit, disabled)}
                {text(draft, "year_built", "year-built", |d| d.year_built.clone(), |d, v| d.year_built = v, "number", edit, disabled)}
                {text(draft, "occupants", "occupants", |d| d.occupants.clone(), |d, v| d.occupants = v, "number", edit, disabled)}
            </details>
            <label>{move || t("notes")}
                <textarea id="notes" disabled=disabled prop:value=move || draft.with(|d| d.notes.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |d| d.notes = v)) }></textarea>
            </label>
            {can_edit.then(|| view! {
                <div class="photo-input">
                    <label class="button secondary">{move || t("take_photo")}
                        <input type="file" id="photo" accept="image/*" capture="environment" class="visually-hidden" on:change=on_photo />
                    </label>
                    <span class="muted">{move || t("front_photo")}</span>
                    {move || preview.get().map(|u| view! { <img id="preview" src=u alt=t("front_photo") width="160" /> })}
                </div>
                <div class="actions">
                    <button type="button" class="secondary" id="save-draft" on:click=move |_| enqueue(false)>{move || t("save_draft")}</button>
                    <button type="button" id="submit" on:click=move |_| enqueue2(true)>{move || t("submit")}</button>
                </div>
            })}
            {move || message.get().map(|m| view! { <p class="muted" role="status">{m}</p> })}
            <ul class="queue" id="household-queue">
                <For each=mine key=|i| i.id.clone() children=|i| view! { <QueueRow item=i /> } />
            </ul>
        </form>
    }
}

#[component]
fn HistoryView(id: String) -> impl IntoView {
    let c = ctx();
    let id = StoredValue::new(id);
    let data = LocalResource::new(move || {
        c.revision.track();
        gql::call::<gql::History>(gql::history::Variables { id: id.get_value() })
    });
    view! {
        <details class="card" id="history">
            <summary><h3>{move || t("history")}</h3></summary>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => error_view(&e),
                        Ok(d) => view! {
                            <ol class="history">
                                {d.household.map(|h| h.history.nodes).unwrap_or_default().into_iter().map(|e| view! {
                                    <li><span class="muted">{local_time(&e.occurred_at)}</span>" "{e.action}" · "{e.actor_name.unwrap_or_default()}</li>
                                }).collect_view()}
                            </ol>
                        }.into_any(),
                    }
                })}
            </Transition>
        </details>
    }
}
