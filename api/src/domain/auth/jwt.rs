//! Access tokens: HS256 JWTs with explicit issuer, audience, expiry and key id.
//! Anything else (another algorithm, `none`, a bad signature) is refused.

use crate::config::Secret;
use entity::{RegionLevel, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    /// Username, for audit labels.
    pub usr: String,
    pub role: Role,
    /// Region scope: id, level and materialised path.
    pub rgn: Uuid,
    pub lvl: RegionLevel,
    pub rpath: String,
    /// The initial password must be changed before anything else.
    pub pwc: bool,
    /// The account's session epoch when the token was issued: a token from
    /// before its sessions were ended is refused.
    #[serde(default)]
    pub ep: i32,
    /// The sign-in (refresh token family) it belongs to: once that session
    /// is signed out, its access tokens are refused too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

#[derive(Clone)]
pub struct JwtKeys {
    /// Key for signing photo links (derived from the secret, never the same bytes).
    url_key: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Key id: a fingerprint of the secret, so a rotated key is told apart.
    pub kid: String,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwtKeys(kid={})", self.kid)
    }
}

impl JwtKeys {
    pub fn new(secret: &Secret, issuer: &str, audience: &str) -> Self {
        let bytes = secret.expose().as_bytes();
        let mut h = Sha256::new();
        h.update(b"photo-links:");
        h.update(bytes);
        Self {
            url_key: h.finalize().to_vec(),
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            kid: hex::encode(&Sha256::digest(bytes)[..8]),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// HMAC-SHA256 (RFC 2104) of a message with the link key, hex.
    pub fn mac(&self, msg: &str) -> String {
        super::hmac_sha256_hex(&self.url_key[..32], msg.as_bytes())
    }

    /// Constant-time check of a link signature.
    pub fn verify_mac(&self, msg: &str, sig: &str) -> bool {
        let want = self.mac(msg);
        want.len() == sig.len() && want.bytes().zip(sig.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token".to_string())?;
        if header.alg != Algorithm::HS256 {
            return Err("unexpected algorithm".into());
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err("unknown key id".into());
        }
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| refusal(e.kind()).to_owned())
    }
}

/// Why a token was refused, in fixed words: the decoder's own errors can quote
/// the token's content (serde parse errors), which is not for echoing back.
fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "expired token",
        K::ImmatureSignature => "token not yet valid",
        K::InvalidSignature => "bad signature",
        K::InvalidIssuer | K::InvalidAudience | K::InvalidSubject => "token not for this service",
        K::MissingRequiredClaim(_) => "token lacks a required claim",
        _ => "malformed token",
    }
}

/// The signing secret: from configuration, or generated once and kept in the
/// data dir (mode 0600) so tokens survive restarts.
pub fn load_or_create_secret(configured: Option<&Secret>, data_dir: &std::path::Path) -> anyhow::Result<Secret> {
    if let Some(s) = configured {
        if s.expose().len() < 32 {
            anyhow::bail!("APP_JWT_SECRET must be at least 32 characters");
        }
        return Ok(s.clone());
    }
    let path = data_dir.join("jwt-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_owned();
        if s.len() >= 32 {
            return Ok(Secret::new(s));
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let secret = crate::domain::auth::random_token("");
    std::fs::write(&path, &secret)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(Secret::new(secret))
}
