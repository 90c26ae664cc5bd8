//! The one error type of the service layer, and its single mapping to
//! GraphQL errors with a stable `extensions.code`.

use async_graphql::{ServerError, Value};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("This account must change its initial password before doing anything else.")]
    PasswordChangeRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Validation { message: String, field: Option<String> },
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    InvalidTransition { message: String, current: String },
    /// A step refused because checks found open problems (code VALIDATION, `extensions.rules`).
    #[error("{message}")]
    Blocked { message: String, rules: Vec<String> },
    #[error("Too many attempts; try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: i64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation { message: message.into(), field: Some(field.into()) }
    }
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("No {what} with that ID exists, or it is outside your region."))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
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
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        // Constraint violations are the caller's business; everything else is ours.
        match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("That record already exists (a unique value is taken).".into())
            }
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => Self::Validation {
                message: "A referenced record does not exist or is still in use.".into(),
                field: None,
            },
            _ => Self::Internal(anyhow::Error::new(e)),
        }
    }
}

/// The code an error without an `AppError` source gets: these come from the
/// GraphQL engine itself (parse, validation, limits, argument coercion).
fn engine_code(message: &str) -> &'static str {
    if message.contains("nested too deep") || message.contains("too complex") || message.contains("too many") {
        "QUERY_TOO_COMPLEX"
    } else {
        "VALIDATION"
    }
}

/// Gives every error in a response its `extensions.code`, in one place.
/// Internal details are logged here and replaced by a neutral message.
pub fn classify(err: &mut ServerError) {
    if err.extensions.as_ref().is_some_and(|e| e.get("code").is_some()) {
        return;
    }
    let mut ext = err.extensions.take().unwrap_or_default();
    let mut hide = false;
    let code = if let Some(app) = err.source::<AppError>() {
        match app {
            AppError::Internal(inner) => {
                tracing::error!(error = ?inner, path = ?err.path, "internal error");
                hide = true;
            }
            AppError::Validation { field: Some(f), .. } => ext.set("field", f.clone()),
            AppError::InvalidTransition { current, .. } => ext.set("currentState", current.clone()),
            AppError::Blocked { rules, .. } => ext.set("rules", rules.clone()),
            AppError::RateLimited { retry_after_secs } => ext.set("retryAfterSeconds", *retry_after_secs),
            _ => {}
        }
        app.code()
    } else if err.source.is_some() {
        tracing::error!(message = %err.message, path = ?err.path, "unclassified error");
        hide = true;
        "INTERNAL"
    } else {
        engine_code(&err.message)
    };
    if hide {
        err.message = "Internal error; it has been logged. Please try again later.".into();
    }
    ext.set("code", Value::String(code.into()));
    err.extensions = Some(ext);
}

/// An error body for requests that never reached the GraphQL engine.
pub fn request_error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [ { "message": message, "extensions": { "code": code } } ] })
}
