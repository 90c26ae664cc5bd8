//! Signing in (the QR sheet's link fills in the username) and the forced
//! change of an initial password before anything else.

use super::error_view;
use crate::gql::{self, ApiError};
use crate::i18n::t;
use crate::state::{ctx, Session};
use leptos::prelude::*;

#[component]
pub fn SignIn(user: Option<String>) -> impl IntoView {
    let c = ctx();
    let username = RwSignal::new(user.unwrap_or_default());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let vars =
                gql::sign_in::Variables { username: username.get_untracked(), password: password.get_untracked() };
            match gql::call_anonymous::<gql::SignIn>(vars).await {
                Ok(d) => {
                    c.set_session(Some(Session::from_sign_in(&d.sign_in)));
                    c.go("/");
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card narrow">
            <h1>{move || t("app")}</h1>
            <form on:submit=submit>
                <label>{move || t("username")}
                    <input id="username" name="username" autocomplete="username" required
                        prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev)) />
                </label>
                <label>{move || t("password")}
                    <input id="password" name="password" type="password" autocomplete="current-password" required
                        prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                </label>
                {move || error.get().map(|e| error_view(&e))}
                <button type="submit" id="sign-in" disabled=move || busy.get()>
                    {move || if busy.get() { t("signing_in") } else { t("sign_in") }}
                </button>
            </form>
        </section>
    }
}

#[component]
pub fn ChangePassword() -> impl IntoView {
    let c = ctx();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if new.get_untracked() != repeat.get_untracked() {
            error.set(Some(ApiError::new("VALIDATION", t("pw_mismatch"))));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let vars = gql::change_password::Variables { current: current.get_untracked(), new: new.get_untracked() };
            match gql::call::<gql::ChangePassword>(vars).await {
                Ok(d) => {
                    c.set_session(Some(Session::from_change(&d.change_password)));
                    c.go("/");
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card narrow">
            <h1>{move || t("change_pw_title")}</h1>
            <p class="muted">{move || t("change_pw_hint")}</p>
            <form on:submit=submit>
                <label>{move || t("current_pw")}
                    <input id="current-password" type="password" autocomplete="current-password" required
                        on:input=move |ev| current.set(event_target_value(&ev)) />
                </label>
                <label>{move || t("new_pw")}
                    <input id="new-password" type="password" autocomplete="new-password" required
                        on:input=move |ev| new.set(event_target_value(&ev)) />
                </label>
                <label>{move || t("repeat_pw")}
                    <input id="repeat-password" type="password" autocomplete="new-password" required
                        on:input=move |ev| repeat.set(event_target_value(&ev)) />
                </label>
                {move || error.get().map(|e| error_view(&e))}
                <button type="submit" id="save-password" disabled=move || busy.get()>{move || t("save_pw")}</button>
            </form>
        </section>
    }
}
