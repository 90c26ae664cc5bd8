//! Campaigns and their deadlines on the admin screen: a new campaign (a
//! county's own, or a city's, province's or the nation's), joining a wider
//! campaign, and milestones: edited by the campaign's own region, tightened
//! (never loosened) by a region below it.

use super::{error_view, local_time, show, Loaded, Outcome};
use crate::gql::{self, ApiError, RegionLevel};
use crate::i18n::{label, t};
use leptos::prelude::*;

/// A new campaign for a county (or the city, province or nation above counties,
/// which the counties then join), with the 2020 pilot's milestones or none.
#[component]
fn NewCampaign(tick: RwSignal<u32>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let county = RwSignal::new(String::new());
    let starts = RwSignal::new(String::new());
    let ends = RwSignal::new(String::new());
    let pilot = RwSignal::new(true);
    let result = RwSignal::new(None::<Result<gql::create_campaign::ResponseData, ApiError>>);
    let create = move |_| {
        let template =
            if pilot.get_untracked() { gql::CampaignTemplate::PILOT_2020 } else { gql::CampaignTemplate::NONE };
        let vars = gql::create_campaign::Variables {
            name: name.get_untracked(),
            region_id: county.get_untracked(),
            starts_on: starts.get_untracked(),
            ends_on: ends.get_untracked(),
            template,
        };
        leptos::task::spawn_local(async move {
            let r = gql::call::<gql::CreateCampaign>(vars).await;
            if r.is_ok() {
                tick.update(|t| *t += 1);
            }
            result.set(Some(r));
        });
    };
    let regions = super::admin::region_options();
    let own =
        crate::state::ctx().session.with_untracked(|s| s.as_ref().map(|s| s.region_id.clone())).unwrap_or_default();
    view! {
        <div class="card" id="new-campaign">
            <h3>{move || t("new_campaign")}</h3>
            <label>{move || t("campaign_name")}<input id="campaign-name" on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            <label>{move || t("campaign_region")}
                <select id="campaign-county" on:change=move |ev| county.set(event_target_value(&ev))>
                    <Suspense fallback=|| ()>{move || { let own = own.clone(); Suspend::new(async move {
                        let list: Vec<_> = regions.await.map(|d| d.regions).unwrap_or_default().into_iter().filter(|r| r.level == RegionLevel::COUNTY || r.id == own).collect();
                        // Counties first, as most campaigns are a county's own; then the
                        // viewer's own wider region (a city, province or the nation).
                        let mut list = list;
                        list.sort_by_key(|r| r.level != RegionLevel::COUNTY);
                        if let Some(first) = list.first() { county.set(first.id.clone()); }
                        list.into_iter().map(|r| view! { <option value=r.id.clone()>{r.name.clone()}</option> }).collect_view()
                    })}}</Suspense>
                </select>
            </label>
            <label>{move || t("starts_on")}<input type="date" id="campaign-starts" on:input=move |ev| starts.set(event_target_value(&ev)) /></label>
            <label>{move || t("ends_on")}<input type="date" id="campaign-ends" on:input=move |ev| ends.set(event_target_value(&ev)) /></label>
            <label class="check"><input type="checkbox" id="campaign-pilot" prop:checked=move || pilot.get() on:change=move |ev| pilot.set(event_target_checked(&ev)) />{move || t("template_pilot")}</label>
            <button id="campaign-create" class="primary" on:click=create>{move || t("create")}</button>
            <Outcome>{move || result.get().map(|r| show(r, |d| view! { <p id="campaign-created" class="badge ok">{t("campaign_created")}" "{d.create_campaign.name}</p> }))}</Outcome>
        </div>
    }
}

#[component]
pub fn MilestonesEditor() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let data = LocalResource::new(move || {
        tick.track();
        gql::call::<gql::Campaigns>(gql::campaigns::Variables {})
    });
    view! {
        <NewCampaign tick=tick />
        <Loaded quiet=true>
            {move || Suspend::new(async move {
                show(data.await, |d| d.campaigns.into_iter().map(|c| view! { <CampaignCard c=c tick=tick /> }).collect_view())
            })}
        </Loaded>
    }
}

/// What the viewer does with a campaign's milestones.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The campaign's own region: change them.
    Edit,
    /// A region below: an earlier end or a higher target for this region only.
    Tighten,
    ReadOnly,
}

/// One campaign: its region, joining it (a county below a wider campaign), and its milestones.
#[component]
fn CampaignCard(c: gql::campaigns::CampaignsCampaigns, tick: RwSignal<u32>) -> impl IntoView {
    let mode = match (c.can_edit_milestones, c.can_tighten_milestones) {
        (true, _) => Mode::Edit,
        (_, true) => Mode::Tighten,
        _ => Mode::ReadOnly,
    };
    let region = c.region.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    let wide = c.region.as_ref().is_some_and(|r| r.level != RegionLevel::COUNTY);
    let not_joined = c.joined == Some(false);
    let id = c.id.clone();
    view! {
        <div class="card campaign" data-campaign=c.id.clone() data-mode=match mode { Mode::Edit => "edit", Mode::Tighten => "tighten", Mode::ReadOnly => "read" }>
            <h3>{c.name.clone()}</h3>
            <p class="muted">{move || t("campaign_region")}"："{region.clone()}</p>
            {not_joined.then(|| view! { <JoinButton id=id.clone() tick=tick /> })}
            {(!not_joined).then(|| view! {
                {(wide && mode == Mode::Tighten).then(|| view! { <p class="muted">{move || t("tighten_hint")}</p> })}
                {c.milestones.clone().into_iter().map(|m| view! { <MilestoneRow m=m mode=mode tick=tick /> }).collect_view()}
            })}
        </div>
    }
}

/// A county's ADMIN joins a wider campaign; then it imports and works in it.
#[component]
fn JoinButton(id: String, tick: RwSignal<u32>) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let id = StoredValue::new(id);
    let join = move |_| {
        leptos::task::spawn_local(async move {
            match gql::call::<gql::JoinCampaign>(gql::join_campaign::Variables { campaign_id: id.get_value() }).await {
                Ok(_) => tick.update(|t| *t += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <p>{move || t("not_joined")}</p>
        <button class="primary join-campaign" on:click=join>{move || t("join_campaign")}</button>
        {move || error.get().map(|e| error_view(&e))}
    }
}

/// "2020-05-12T18:00" (what a datetime-local input holds) from an ISO instant, in local time.
fn to_local_input(iso: &str) -> String {
    local_time(iso).replacen(' ', "T", 1)
}

#[component]
fn MilestoneRow(m: gql::campaigns::CampaignsCampaignsMilestones, mode: Mode, tick: RwSignal<u32>) -> impl IntoView {
    let ends = RwSignal::new(to_local_input(&m.ends_at));
    let target = RwSignal::new(m.target_percent.to_string());
    let error = RwSignal::new(None::<ApiError>);
    let id = StoredValue::new(m.id.clone());
    let save = move |_| {
        let iso =
            js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&ends.get_untracked())).to_iso_string().as_string();
        let percent = target.get_untracked().trim().parse().ok();
        leptos::task::spawn_local(async move {
            let done = if mode == Mode::Tighten {
                let vars =
                    gql::tighten_milestone::Variables { id: id.get_value(), ends_at: iso, target_percent: percent };
                gql::call::<gql::TightenMilestone>(vars).await.map(|_| ())
            } else {
                let vars =
                    gql::update_milestone::Variables { id: id.get_value(), ends_at: iso, target_percent: percent };
                gql::call::<gql::UpdateMilestone>(vars).await.map(|_| ())
            };
            match done {
                Ok(()) => {
                    error.set(None);
                    tick.update(|t| *t += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let st = m.state;
    let tightened = m.tightened_in.as_ref().map(|r| r.name.clone());
    let limit = (mode == Mode::Tighten).then(|| (local_time(&m.campaign_ends_at), m.campaign_target_percent));
    view! {
        <div class="milestone" data-kind=m.kind.clone()>
            <div class="row"><strong>{m.title.clone()}</strong><span class="badge">{move || label(st)}</span>
                <span class="muted">{local_time(&m.starts_at)}" – "{local_time(&m.ends_at)}</span>
                {tightened.map(|r| view! { <span class="badge ok tightened">{r}" "{move || t("tightened")}</span> })}</div>
            {limit.map(|(end, pct)| view! { <p class="muted limit">{move || t("campaign_sets")}"："{end.clone()}"，"{pct}"%"</p> })}
            {(mode != Mode::ReadOnly).then(|| view! {
                <div class="row">
                    <label>{move || t("ends_at")}<input type="datetime-local" prop:value=move || ends.get() on:input=move |ev| ends.set(event_target_value(&ev)) /></label>
                    <label>{move || t("target")}" %"<input type="number" prop:value=move || target.get() on:input=move |ev| target.set(event_target_value(&ev)) /></label>
                    <button on:click=save>{move || if mode == Mode::Tighten { t("tighten") } else { t("save") }}</button>
                </div>
            })}
            {move || error.get().map(|e| error_view(&e))}
        </div>
    }
}
