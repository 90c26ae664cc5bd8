//! The one error type of the service layer. Each variant has a stable code;
//! `graphql::error` maps it to `extensions.code` in one place.

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
