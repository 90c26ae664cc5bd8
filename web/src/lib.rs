//! The web app: Leptos, client-side rendered, compiled to wasm32 and served as
//! static files beside (not by) the API. `config.json` next to `index.html`
//! tells it where the API is, so one build serves every deployment.

// The field bundle leaves the office pages out; what only they use is unused there.
#![cfg_attr(not(feature = "office"), allow(dead_code, unused_imports))]

#[cfg(feature = "office")]
mod charts;
mod enums;
mod gql;
mod i18n;
mod idb;
mod outbox;
mod pages;
mod state;

use enums::Role;
use i18n::t;
use leptos::prelude::*;
use state::{ctx, Ctx, Route};

/// A link inside the app: no page reload.
#[component]
pub fn Link(href: String, children: Children, #[prop(optional, into)] class: String) -> impl IntoView {
    let c = ctx();
    let to = href.clone();
    view! {
        <a href=href class=class on:click=move |ev| {
            ev.prevent_default();
            c.go(&to);
        }>{children()}</a>
    }
}

#[component]
fn Nav() -> impl IntoView {
    let c = ctx();
    let ob = outbox::outbox();
    let links = move || -> &'static [(&'static str, &'static str)] {
        match c.role() {
            Some(Role::VERIFIER) => &[("/households", "households"), ("/outbox", "outbox")],
            Some(Role::TOWNSHIP) => {
                &[("/review", "review"), ("/households", "households"), ("/board", "board"), ("/findings", "findings")]
            }
            Some(Role::SUPERVISOR) => &[("/board", "board"), ("/findings", "findings"), ("/households", "households")],
            Some(Role::ADMIN) => &[
                ("/board", "board"),
                ("/findings", "findings"),
                ("/households", "households"),
                ("/review", "review"),
                ("/admin", "admin"),
            ],
            _ => &[],
        }
    };
    let sign_out = move |_| {
        // Unsent entries stay on this phone for this account only; say so first.
        let unsent = ob.waiting();
        if unsent > 0 {
            let text = t("signout_unsent").replace("{n}", &unsent.to_string());
            if !window().confirm_with_message(&text).unwrap_or(false) {
                return;
            }
        }
        let refresh = c.session.get_untracked().map(|s| s.refresh);
        leptos::task::spawn_local(async move {
            if let Some(r) = refresh {
                let _ = gql::call_anonymous::<gql::SignOut>(gql::sign_out::Variables { refresh_token: r }).await;
            }
            gql::clear_cache();
            c.set_session(None);
            c.go("/sign-in");
        });
    };
    view! {
        <header>
            <div class="bar">
                <strong class="brand">{move || t("app")}</strong>
                <button class="link" id="lang" on:click=move |_| c.set_lang(!c.english.get_untracked())>{move || t("language")}</button>
            </div>
            <Show when=move || c.session.with(|s| s.as_ref().is_some_and(|s| !s.must_change))>
                <nav>
                    {move || links().iter().map(|&(href, key)| view! {
                        <Link href=href.to_owned()>
                            {move || t(key)}
                            {(key == "outbox").then(|| view! {
                                <Show when=move || { ob.waiting() > 0 }>
                                    <span class="count">{move || ob.waiting()}</span>
                                </Show>
                            })}
                        </Link>
                    }).collect_view()}
                    <span class="who">{move || c.session.get().map(|s| s.display_name).unwrap_or_default()}</span>
                    <button class="link" id="sign-out" on:click=sign_out>{move || t("sign_out")}</button>
                </nav>
                <Show when=move || matches!(c.role(), Some(Role::VERIFIER))>
                    <label class="switch">
                        <input type="checkbox" id="practice" prop:checked=move || c.practice.get()
                            on:change=move |ev| c.set_practice(event_target_checked(&ev)) />
                        {move || t("practice")}
                    </label>
                </Show>
            </Show>
        </header>
        <Show when=move || !c.online.get()>
            <div class="banner offline" role="status">{move || t("offline")}</div>
        </Show>
        <Show when=move || c.practice.get() && matches!(c.role(), Some(Role::VERIFIER))>
            <div class="banner practice" role="status">{move || t("practice_banner")}</div>
        </Show>
    }
}

#[component]
fn Main() -> impl IntoView {
    let c = ctx();
    move || {
        let route = c.route.get();
        let session = c.session.get();
        let Some(s) = session else {
            let user = match route {
                Route::SignIn(u) => u,
                _ => None,
            };
            return view! { <pages::signin::SignIn user=user /> }.into_any();
        };
        if s.must_change {
            return view! { <pages::signin::ChangePassword /> }.into_any();
        }
        let route = match route {
            Route::Home | Route::SignIn(_) => match s.role {
                Role::VERIFIER => Route::Households(None),
                Role::TOWNSHIP => Route::Review,
                _ => Route::Board(None),
            },
            r => r,
        };
        match route {
            Route::Households(region) => view! { <pages::households::HouseholdList region=region /> }.into_any(),
            Route::Household(id) => view! { <pages::household::HouseholdPage id=id /> }.into_any(),
            Route::Outbox => view! { <outbox::OutboxPage /> }.into_any(),
            r => office_page(r, s),
        }
    }
}

/// Whether the role may use an office page: others are not offered it, and
/// typing its address shows 无权限 without the page (the API refuses anyway).
fn allowed(route: &Route, role: Role) -> bool {
    match route {
        Route::Review => matches!(role, Role::TOWNSHIP | Role::ADMIN),
        Route::Board(_) | Route::Findings => role != Role::VERIFIER,
        Route::Admin => role == Role::ADMIN,
        _ => true,
    }
}

fn forbidden_page() -> AnyView {
    view! {
        <section id="forbidden">
            <h2>{move || t("forbidden_title")}</h2>
            <p class="muted">{move || t("forbidden_text")}</p>
        </section>
    }
    .into_any()
}

/// The office pages (review, boards, findings, admin), in the office bundle.
#[cfg(feature = "office")]
fn office_page(route: Route, s: state::Session) -> AnyView {
    if !allowed(&route, s.role) {
        return forbidden_page();
    }
    match route {
        Route::Review => view! { <pages::review::ReviewPage /> }.into_any(),
        Route::Board(region) => {
            let region = region.unwrap_or(s.region_id);
            view! { <pages::board::BoardPage region=region /> }.into_any()
        }
        Route::Findings => view! { <pages::findings::FindingsPage /> }.into_any(),
        Route::Admin => view! { <pages::admin::AdminPage /> }.into_any(),
        _ => view! { <p class="error">{move || t("page_not_found")}</p> }.into_any(),
    }
}

/// The field bundle has no office pages: an office account (just signed in)
/// reloads, and the loader in index.html picks the office bundle by its role.
#[cfg(not(feature = "office"))]
fn office_page(route: Route, s: state::Session) -> AnyView {
    let office = matches!(route, Route::Review | Route::Board(_) | Route::Findings | Route::Admin);
    if office && !allowed(&route, s.role) {
        return forbidden_page();
    }
    if office {
        let _ = window().location().reload();
        return view! { <p class="muted">{move || t("loading")}</p> }.into_any();
    }
    view! { <p class="error">{move || t("page_not_found")}</p> }.into_any()
}

#[component]
fn App() -> impl IntoView {
    view! {
        <Nav />
        <main>
            <Main />
        </main>
    }
}

/// Where the API is: `config.json` beside the app, else the same host on port 8000.
async fn api_url() -> String {
    let w = web_sys::window().unwrap();
    let fallback = format!(
        "{}//{}:8000",
        w.location().protocol().unwrap_or_default(),
        w.location().hostname().unwrap_or_default()
    );
    let p = w.fetch_with_str("/config.json");
    let Ok(resp) = wasm_bindgen_futures::JsFuture::from(p).await else { return fallback };
    let resp: web_sys::Response = wasm_bindgen::JsCast::unchecked_into(resp);
    if !resp.ok() {
        return fallback;
    }
    let Ok(json) = resp.json() else { return fallback };
    let Ok(v) = wasm_bindgen_futures::JsFuture::from(json).await else { return fallback };
    js_sys::Reflect::get(&v, &"apiUrl".into()).ok().and_then(|v| v.as_string()).unwrap_or(fallback)
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    // Leptos sets up its task executor when mounting; this runs before that.
    wasm_bindgen_futures::spawn_local(async {
        let api = api_url().await;
        leptos::mount::mount_to_body(move || {
            let c = Ctx::new(api);
            state::set_ctx(c);
            let ob = outbox::Outbox::new();
            outbox::set_outbox(ob);
            ob.start();
            let _ = set_interval_with_handle(move || c.now.set(state::now_ms()), std::time::Duration::from_secs(1));
            // Back and forward buttons.
            let pop = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                let loc = web_sys::window().unwrap().location();
                c.route.set(Route::parse(&loc.pathname().unwrap_or_default(), &loc.search().unwrap_or_default()));
            });
            let _ = web_sys::window()
                .unwrap()
                .add_event_listener_with_callback("popstate", wasm_bindgen::JsCast::unchecked_ref(pop.as_ref()));
            pop.forget();
            view! { <App /> }
        });
    });
}
