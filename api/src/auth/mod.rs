//! Who is asking (`Viewer`) and what they may see. Every service function takes
//! the viewer, and region scope is applied inside the query itself.

pub mod jwt;
pub mod password;
mod viewer;

pub use viewer::*;

use sha2::{Digest, Sha256};

/// Hex SHA-256, for storing tokens so a database leak does not leak sessions.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random URL-safe token with a recognisable prefix.
pub fn random_token(prefix: &str) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
