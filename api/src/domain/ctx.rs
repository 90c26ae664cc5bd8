//! Who asks, from where, in which language and at what time: the first
//! argument of every service, so no path can skip the viewer's checks or keep
//! a clock of its own.

use crate::domain::{
    audit::Actor,
    auth::Viewer,
    error::msg,
    error::{AppError, AppResult},
};
use chrono::{DateTime, Utc};

/// The language of messages: Chinese first, English when asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// English when the first language asked for is English; zh-CN otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let english = header.is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"));
        if english {
            Lang::En
        } else {
            Lang::Zh
        }
    }
    pub fn english(self) -> bool {
        self == Lang::En
    }
}

/// Where "now" comes from: the system clock, or a fixed instant (tests, replays).
#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(DateTime<Utc>),
}

#[derive(Clone, Debug, Default)]
pub struct Ctx {
    pub viewer: Option<Viewer>,
    /// Why a presented token was refused, told to the caller when they need a viewer.
    pub token_error: Option<String>,
    pub client_addr: Option<String>,
    pub lang: Lang,
    pub clock: Clock,
}

impl Ctx {
    /// A context for work done by the system itself on behalf of `viewer`
    /// (command line, demo loader, background workers).
    pub fn system(viewer: Viewer) -> Self {
        Self { viewer: Some(viewer), ..Self::default() }
    }

    /// An anonymous caller (sign-in, refresh) at `client_addr`.
    pub fn anonymous(client_addr: Option<String>) -> Self {
        Self { client_addr, ..Self::default() }
    }

    /// The viewer, who must have changed an initial password.
    pub fn viewer(&self) -> AppResult<&Viewer> {
        let v = self.viewer_pending_password()?;
        if v.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        Ok(v)
    }

    /// The viewer, even one who still has to change the initial password.
    pub fn viewer_pending_password(&self) -> AppResult<&Viewer> {
        self.viewer.as_ref().ok_or_else(|| {
            AppError::Unauthenticated(match &self.token_error {
                Some(e) => msg!(TOKEN_REFUSED, detail = e),
                None => msg!(SIGN_IN_FIRST),
            })
        })
    }

    pub fn english(&self) -> bool {
        self.lang == Lang::En
    }

    /// Now, at the microsecond precision the audit chain keeps.
    pub fn now(&self) -> DateTime<Utc> {
        match self.clock {
            Clock::System => crate::domain::audit::now(),
            Clock::Fixed(t) => t,
        }
    }

    /// The viewer as recorded in the audit trail.
    pub fn actor(&self) -> AppResult<Actor> {
        Ok(Actor::of(self.viewer_pending_password()?, self.client_addr.clone()))
    }
}
