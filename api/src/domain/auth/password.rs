//! Argon2id password hashing (run off the async threads) and the password policy.

use crate::domain::error::msg;
use crate::domain::error::{AppError, AppResult};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

fn hasher() -> Argon2<'static> {
    // Argon2id, v0x13, the crate's defaults (19 MiB, 2 passes, 1 lane): OWASP's minimum.
    Argon2::default()
}

pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Each Argon2 run holds 19 MiB while it works: at most one per core runs at
/// once, and a sign-in storm queues here instead of allocating (546 accounts
/// at 8 a.m. once meant gigabytes).
fn slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

async fn on_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _slot = slots().acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

pub async fn hash(password: String) -> AppResult<String> {
    on_pool(move || hash_blocking(&password))
        .await
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("hashing task failed")))?
        .map_err(AppError::Internal)
}

pub async fn verify(password: String, phc: String) -> bool {
    on_pool(move || {
        PasswordHash::new(&phc).map(|h| hasher().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the account does not
/// exist, so the response time does not tell whether it does.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // An empty string never verifies, which is the right answer either way.
    DUMMY.get_or_init(|| hash_blocking(&crate::domain::auth::random_token("")).unwrap_or_default())
}

/// Password policy: 10–128 characters, at least two kinds of character
/// (letters, digits, others), not the username, not the current password.
pub fn check_policy(new: &str, username: &str, current: Option<&str>) -> AppResult<()> {
    let n = new.chars().count();
    if n < 10 {
        return Err(AppError::validation("new", msg!(PASSWORD_TOO_SHORT)));
    }
    if n > 128 {
        return Err(AppError::validation("new", msg!(PASSWORD_TOO_LONG)));
    }
    let kinds = [
        new.chars().any(|c| c.is_alphabetic()),
        new.chars().any(|c| c.is_ascii_digit()),
        new.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if kinds < 2 {
        return Err(AppError::validation("new", msg!(PASSWORD_TOO_SIMPLE)));
    }
    if new.to_lowercase().contains(&username.to_lowercase()) {
        return Err(AppError::validation("new", msg!(PASSWORD_HAS_USERNAME)));
    }
    if current == Some(new) {
        return Err(AppError::validation("new", msg!(PASSWORD_UNCHANGED)));
    }
    Ok(())
}
