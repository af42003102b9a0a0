//! Bearer tokens: the catalog's own (HS256 JWTs signed with keys kept in the catalog
//! database) and, optionally, an external OIDC issuer's (keys from a JWKS file or URL).
//!
//! - [`KeyRing`]: the signing keys, cached; a token naming an unknown key id makes it reload
//!   them (another replica may have rotated), at most once a second.
//! - [`Claims`]: what a catalog token says; [`KeyRing::issue`] / [`KeyRing::verify`].
//! - [`Oidc`]: verification of external tokens; the configured claim names the principal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::secrets::random_hex;
use crate::store::CatalogStore;
use crate::store::access::SigningKey;

/// The `iss` of the catalog's own tokens.
pub const ISSUER: &str = "floe";

/// How long a retired key still verifies tokens it signed (the longest token lifetime the
/// server issues is bounded by the configured TTL; keys retired longer ago than this are
/// ignored).
const RETIRED_KEY_GRACE: Duration = Duration::from_secs(24 * 3600);

/// What a catalog token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer, always [`ISSUER`].
    pub iss: String,
    /// The principal's internal id.
    pub sub: String,
    /// The principal's name (for logs; the id is authoritative).
    pub name: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// Any other defect (bad signature, unknown key, malformed).
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

/// The catalog's signing keys.
#[derive(Debug)]
pub struct KeyRing {
    store: Arc<dyn CatalogStore>,
    keys: RwLock<Vec<SigningKey>>,
    last_reload: std::sync::Mutex<Option<Instant>>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh signing key.
pub fn new_signing_key() -> SigningKey {
    SigningKey {
        kid: random_hex(8),
        secret: random_hex(32),
        created_ms: now_ms(),
        retired_ms: None,
    }
}

impl KeyRing {
    /// Load the keys, creating the first one when the catalog has none.
    pub async fn open(store: Arc<dyn CatalogStore>) -> Result<Self, String> {
        let mut keys = store.signing_keys().await.map_err(|e| e.to_string())?;
        if keys.is_empty() {
            store
                .insert_first_signing_key(&new_signing_key())
                .await
                .map_err(|e| e.to_string())?;
            keys = store.signing_keys().await.map_err(|e| e.to_string())?;
        }
        Ok(Self {
            store,
            keys: RwLock::new(keys),
            last_reload: std::sync::Mutex::new(None),
        })
    }

    /// Make a new key the signing one; the previous keys keep verifying for a grace period.
    /// Returns the new key id.
    pub async fn rotate(&self) -> Result<String, String> {
        let key = new_signing_key();
        self.store
            .rotate_signing_key(&key, now_ms())
            .await
            .map_err(|e| e.to_string())?;
        let keys = self.store.signing_keys().await.map_err(|e| e.to_string())?;
        *self.keys.write().await = keys;
        Ok(key.kid)
    }

    /// A token for the principal, valid for `ttl` (a negative TTL gives an already expired
    /// token, for tests).
    pub async fn issue(
        &self,
        principal_id: &str,
        name: &str,
        ttl: chrono::Duration,
    ) -> Result<String, String> {
        let keys = self.keys.read().await;
        let key = keys
            .iter()
            .find(|k| k.retired_ms.is_none())
            .ok_or("the catalog has no signing key")?;
        let secret = hex::decode(&key.secret).map_err(|e| format!("bad signing key: {e}"))?;
        let now = chrono::Utc::now();
        let claims = Claims {
            iss: ISSUER.to_string(),
            sub: principal_id.to_string(),
            name: name.to_string(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret))
            .map_err(|e| format!("cannot sign a token: {e}"))
    }

    /// Whether `kid` names one of the catalog's keys (reloading once when unknown).
    pub async fn knows(&self, kid: &str) -> bool {
        if self.find(kid).await.is_some() {
            return true;
        }
        self.reload_if_due().await;
        self.find(kid).await.is_some()
    }

    async fn find(&self, kid: &str) -> Option<Vec<u8>> {
        let keys = self.keys.read().await;
        let cutoff = now_ms() - RETIRED_KEY_GRACE.as_millis() as i64;
        keys.iter()
            .find(|k| k.kid == kid && k.retired_ms.is_none_or(|r| r > cutoff))
            .and_then(|k| hex::decode(&k.secret).ok())
    }

    async fn reload_if_due(&self) {
        {
            let Ok(mut last) = self.last_reload.lock() else {
                return;
            };
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                return;
            }
            *last = Some(Instant::now());
        }
        match self.store.signing_keys().await {
            Ok(keys) => *self.keys.write().await = keys,
            Err(e) => tracing::warn!("cannot reload the token signing keys: {e}"),
        }
    }

    /// Check a catalog token's signature, issuer and expiry.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Invalid("the token names no key".into()))?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid("unexpected signing algorithm".into()));
        }
        if !self.knows(&kid).await {
            return Err(TokenError::Invalid("signed with an unknown key".into()));
        }
        let secret = self
            .find(&kid)
            .await
            .ok_or_else(|| TokenError::Invalid("signed with an unknown key".into()))?;
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.validate_aud = false;
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&secret), &v)
            .map(|d| d.claims)
            .map_err(classify)
    }
}

fn classify(e: jsonwebtoken::errors::Error) -> TokenError {
    match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
        _ => TokenError::Invalid(e.to_string()),
    }
}

/// An external OIDC issuer whose tokens the catalog accepts.
#[derive(Debug)]
pub struct Oidc {
    issuer: String,
    audience: Option<String>,
    claim: String,
    source: String,
    keys: RwLock<JwkSet>,
    last_reload: std::sync::Mutex<Option<Instant>>,
}

impl Oidc {
    /// Read the JWKS from `source` (a file path, or an `http(s)://` URL).
    pub async fn open(
        issuer: String,
        source: String,
        audience: Option<String>,
        claim: String,
    ) -> Result<Self, String> {
        let keys = fetch_jwks(&source).await?;
        Ok(Self {
            issuer,
            audience,
            claim,
            source,
            keys: RwLock::new(keys),
            last_reload: std::sync::Mutex::new(None),
        })
    }

    /// The issuer (`iss`) this verifier accepts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verify an external token and return the principal name its claim carries.
    pub async fn verify(&self, token: &str) -> Result<String, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let key = match self.decoding_key(header.kid.as_deref()).await {
            Some(k) => k,
            None => {
                self.reload_if_due().await;
                self.decoding_key(header.kid.as_deref())
                    .await
                    .ok_or_else(|| TokenError::Invalid("signed with an unknown key".into()))?
            }
        };
        let mut v = Validation::new(header.alg);
        v.leeway = 30;
        v.set_issuer(&[&self.issuer]);
        match &self.audience {
            Some(a) => v.set_audience(&[a]),
            None => v.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v).map_err(classify)?;
        data.claims
            .get(&self.claim)
            .and_then(|c| c.as_str())
            .map(str::to_string)
            .ok_or_else(|| TokenError::Invalid(format!("the token has no '{}' claim", self.claim)))
    }

    async fn decoding_key(&self, kid: Option<&str>) -> Option<DecodingKey> {
        let keys = self.keys.read().await;
        let jwk = match kid {
            Some(kid) => keys.find(kid)?,
            None if keys.keys.len() == 1 => keys.keys.first()?,
            None => return None,
        };
        DecodingKey::from_jwk(jwk).ok()
    }

    async fn reload_if_due(&self) {
        {
            let Ok(mut last) = self.last_reload.lock() else {
                return;
            };
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
                return;
            }
            *last = Some(Instant::now());
        }
        match fetch_jwks(&self.source).await {
            Ok(k) => *self.keys.write().await = k,
            Err(e) => tracing::warn!("cannot reload the OIDC keys: {e}"),
        }
    }
}

async fn fetch_jwks(source: &str) -> Result<JwkSet, String> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        let resp = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?
            .get(source)
            .send()
            .await
            .map_err(|e| format!("cannot fetch the JWKS {source}: {e}"))?;
        resp.text()
            .await
            .map_err(|e| format!("cannot read the JWKS {source}: {e}"))?
    } else {
        tokio::fs::read_to_string(source)
            .await
            .map_err(|e| format!("cannot read the JWKS file {source}: {e}"))?
    };
    serde_json::from_str(&text).map_err(|e| format!("invalid JWKS {source}: {e}"))
}
