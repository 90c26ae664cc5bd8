//! App-wide state, provided once as context: the API's address (from
//! `config.json` at run time), the session, language, practice mode, the route.

use crate::gql::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub access: String,
    pub access_expires: String,
    pub refresh: String,
    pub must_change: bool,
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region_id: String,
}

macro_rules! from_fields {
    ($fn:ident, $m:ident) => {
        pub fn $fn(f: &crate::gql::$m::SessionFields) -> Self {
            let a = &f.account;
            Self {
                access: f.access_token.clone(),
                access_expires: f.access_token_expires_at.clone(),
                refresh: f.refresh_token.clone(),
                must_change: f.must_change_password,
                account_id: a.id.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                role: a.role,
                region_id: a.region.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
            }
        }
    };
}

/// From a sign-in, refresh or password change (each operation has its own type).
impl Session {
    from_fields!(from_sign_in, sign_in);
    from_fields!(from_refresh, refresh);
    from_fields!(from_change, change_password);
}

#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    SignIn(Option<String>),
    Home,
    Households(Option<String>),
    Household(String),
    Outbox,
    Review,
    Board(Option<String>),
    Findings,
    Admin,
    NotFound,
}

impl Route {
    pub fn parse(path: &str, query: &str) -> Self {
        let param = |k: &str| {
            query.trim_start_matches('?').split('&').find_map(|kv| {
                let (a, b) = kv.split_once('=')?;
                (a == k).then(|| js_sys::decode_uri_component(b).ok().and_then(|s| s.as_string()).unwrap_or_default())
            })
        };
        let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let seg = |i: usize| {
            parts.get(i).map(|s| js_sys::decode_uri_component(s).ok().and_then(|s| s.as_string()).unwrap_or_default())
        };
        match parts.first().copied() {
            None => Route::Home,
            Some("sign-in") => Route::SignIn(param("u")),
            Some("households") => match seg(1) {
                Some(id) => Route::Household(id),
                None => Route::Households(param("region")),
            },
            Some("outbox") => Route::Outbox,
            Some("review") => Route::Review,
            Some("board") => Route::Board(seg(1)),
            Some("findings") => Route::Findings,
            Some("admin") => Route::Admin,
            _ => Route::NotFound,
        }
    }
}

pub fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).as_string().unwrap_or_default()
}

#[derive(Clone, Copy)]
pub struct Ctx {
    api: StoredValue<String>,
    pub session: RwSignal<Option<Session>>,
    pub english: RwSignal<bool>,
    pub practice: RwSignal<bool>,
    pub route: RwSignal<Route>,
    pub online: RwSignal<bool>,
    /// Bumped whenever the queue delivers something, so pages reload.
    pub revision: RwSignal<u32>,
    pub now: RwSignal<f64>,
}

thread_local! {
    // Not a Leptos context: async tasks (the outbox, token refresh) run outside
    // any reactive owner and still need it.
    static CTX: std::cell::OnceCell<Ctx> = const { std::cell::OnceCell::new() };
}

pub fn ctx() -> Ctx {
    CTX.with(|c| *c.get().expect("app state is set before the first render"))
}

pub fn set_ctx(c: Ctx) {
    CTX.with(|cell| {
        let _ = cell.set(c);
    });
}

pub fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn save(key: &str, value: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn parse_ms(s: &str) -> f64 {
    js_sys::Date::parse(s)
}

impl Ctx {
    pub fn new(api: String) -> Self {
        let loc = web_sys::window().unwrap().location();
        let route = Route::parse(&loc.pathname().unwrap_or_default(), &loc.search().unwrap_or_default());
        let session = load("hsv.session").and_then(|s| serde_json::from_str(&s).ok());
        let english = load("hsv.lang").as_deref() == Some("en");
        let practice = load("hsv.practice").as_deref() == Some("1");
        let online = web_sys::window().unwrap().navigator().on_line();
        let c = Self {
            api: StoredValue::new(api.trim_end_matches('/').to_owned()),
            session: RwSignal::new(session),
            english: RwSignal::new(english),
            practice: RwSignal::new(practice),
            route: RwSignal::new(route),
            online: RwSignal::new(online),
            revision: RwSignal::new(0),
            now: RwSignal::new(now_ms()),
        };
        c.set_lang(english);
        // The banner follows the browser's own idea of the network too, not
        // only the last request's outcome.
        for (event, up) in [("online", true), ("offline", false)] {
            let f = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || c.online.set(up));
            let _ = web_sys::window()
                .unwrap()
                .add_event_listener_with_callback(event, wasm_bindgen::JsCast::unchecked_ref(f.as_ref()));
            f.forget();
        }
        c
    }

    pub fn api_url(&self) -> String {
        self.api.get_value()
    }

    pub fn lang_tag(&self) -> &'static str {
        if self.english.get_untracked() {
            "en"
        } else {
            "zh-CN"
        }
    }

    pub fn set_lang(&self, english: bool) {
        self.english.set(english);
        save("hsv.lang", Some(if english { "en" } else { "zh" }));
        if let Some(el) = document().document_element() {
            let _ = el.set_attribute("lang", if english { "en" } else { "zh-CN" });
        }
    }

    pub fn set_practice(&self, on: bool) {
        self.practice.set(on);
        save("hsv.practice", on.then_some("1"));
    }

    pub fn set_session(&self, s: Option<Session>) {
        save("hsv.session", s.as_ref().and_then(|s| serde_json::to_string(s).ok()).as_deref());
        self.session.set(s);
    }

    /// The signed-in account's role (reactive); none when signed out.
    pub fn role(&self) -> Option<Role> {
        self.session.with(|s| s.as_ref().map(|s| s.role))
    }

    /// Goes to a path inside the app (history.pushState, no reload).
    pub fn go(&self, path: &str) {
        let w = web_sys::window().unwrap();
        if let Ok(h) = w.history() {
            let _ = h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
        }
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        self.route.set(Route::parse(p, q));
        w.scroll_to_with_x_and_y(0.0, 0.0);
    }
}
