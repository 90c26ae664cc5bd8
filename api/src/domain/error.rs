//! The one error type of the service layer. Each variant has a stable code;
//! `graphql::error` maps it to `extensions.code` in one place. Every message
//! a person reads is a key of the shared catalogue (`messages`) with its
//! arguments, rendered in the caller's language only when it is sent.

pub use messages::key;

/// A catalogue message: its key and the values of its placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub key: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

/// A placeholder's value: text as given, or another catalogue entry (a
/// thing's name) rendered in the same language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Key(&'static str),
}

impl Msg {
    pub fn new(key: &'static str) -> Self {
        Self { key, args: Vec::new() }
    }
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, Arg::Text(value.to_string())));
        self
    }
    /// A placeholder filled by another catalogue entry, e.g. the name of a thing.
    pub fn arg_key(mut self, name: &'static str, key: &'static str) -> Self {
        self.args.push((name, Arg::Key(key)));
        self
    }
    /// The placeholders' values in one language.
    pub fn args(&self, english: bool) -> Vec<(&'static str, String)> {
        let one = |a: &Arg| match a {
            Arg::Text(t) => t.clone(),
            Arg::Key(k) => messages::template(k, english).unwrap_or(k).to_owned(),
        };
        self.args.iter().map(|(n, a)| (*n, one(a))).collect()
    }
    /// The text in zh-CN, or in English when `english`.
    pub fn render(&self, english: bool) -> String {
        let args = self.args(english);
        let pairs = args.iter().map(|(n, v)| (*n, v.as_str()));
        messages::render(self.key, pairs, english).unwrap_or_else(|| self.key.to_owned())
    }
}

/// zh-CN, the default language; `render(true)` gives English.
impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// `msg!(KEY, name = value, …)`: a catalogue message; an unknown key does not compile.
#[macro_export]
macro_rules! msg {
    ($key:ident $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::domain::error::Msg::new(::messages::key::$key)$(.arg(stringify!($name), $value))*
    };
}
pub use crate::msg;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(Msg),
    #[error("{}", msg!(PASSWORD_CHANGE_REQUIRED))]
    PasswordChangeRequired,
    #[error("{0}")]
    Forbidden(Msg),
    #[error("{0}")]
    NotFound(Msg),
    #[error("{message}")]
    Validation { message: Msg, field: Option<String> },
    #[error("{0}")]
    Conflict(Msg),
    #[error("{message}")]
    InvalidTransition { message: Msg, current: String },
    /// A step refused because checks found open problems (code VALIDATION, `extensions.rules`).
    #[error("{message}")]
    Blocked { message: Msg, rules: Vec<String> },
    #[error("{}", msg!(RATE_LIMITED, seconds = retry_after_secs))]
    RateLimited { retry_after_secs: i64 },
    /// The database or the photo store cannot be reached for a moment (a
    /// restart, a failover): the caller retries after `retryAfterSeconds`,
    /// with the same idempotency key; nothing was changed.
    #[error("{}", msg!(UNAVAILABLE, seconds = UNAVAILABLE_RETRY_SECS))]
    Unavailable,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// How long a caller waits before retrying an UNAVAILABLE answer.
pub const UNAVAILABLE_RETRY_SECS: i64 = 3;

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: &str, message: Msg) -> Self {
        Self::Validation { message, field: Some(field.into()) }
    }
    /// Nothing with that ID that the viewer may see; `what` is a catalogue key naming the thing.
    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound(msg!(NOT_FOUND).arg_key("what", what))
    }
    pub fn forbidden(message: Msg) -> Self {
        Self::Forbidden(message)
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::PasswordChangeRequired => "PASSWORD_CHANGE_REQUIRED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Validation { .. } | Self::Blocked { .. } => "VALIDATION",
            Self::Conflict(_) => "CONFLICT",
            Self::InvalidTransition { .. } => "INVALID_TRANSITION",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The catalogue message a person reads, when the error has one (not for internal errors).
    pub fn msg(&self) -> Option<Msg> {
        Some(match self {
            Self::Unauthenticated(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Conflict(m) => m.clone(),
            Self::Validation { message, .. }
            | Self::InvalidTransition { message, .. }
            | Self::Blocked { message, .. } => message.clone(),
            Self::PasswordChangeRequired => msg!(PASSWORD_CHANGE_REQUIRED),
            Self::RateLimited { retry_after_secs } => msg!(RATE_LIMITED, seconds = retry_after_secs),
            Self::Unavailable => msg!(UNAVAILABLE, seconds = UNAVAILABLE_RETRY_SECS),
            Self::Internal(_) => return None,
        })
    }

    /// The message in one language; internal details are never shown.
    pub fn message(&self, english: bool) -> String {
        self.msg().unwrap_or_else(|| msg!(INTERNAL)).render(english)
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        // Constraint violations are the caller's business; everything else is ours.
        match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(msg!(UNIQUE_TAKEN)),
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::Validation { message: msg!(REFERENCE_MISSING), field: None }
            }
            _ if db_unreachable(&e) => {
                tracing::warn!(error = %e, "database unreachable");
                Self::Unavailable
            }
            _ => Self::Internal(anyhow::Error::new(e)),
        }
    }
}

impl AppError {
    /// A photo store failure: unreachable for now (the caller retries), logged here.
    pub fn storage(e: object_store::Error) -> Self {
        tracing::warn!(error = %e, "object store unreachable");
        Self::Unavailable
    }
}

/// A connection that failed or was cut (a restart, a failover, a full pool),
/// as opposed to a statement the database refused.
pub fn db_unreachable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{sqlx, DbErr, RuntimeErr};
    let inner = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(s))
        | DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s)) => s,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match inner {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        // 08: connection exception; 57P0x: the server is shutting down or starting; 53300: too many connections.
        sqlx::Error::Database(d) => {
            d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300")
        }
        _ => false,
    }
}
