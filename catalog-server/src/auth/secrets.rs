//! Client credentials: random ids and secrets, argon2id hashes, constant-work verification.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// A new random token of `bytes` random bytes, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    for b in buf.iter_mut() {
        *b = rand::random();
    }
    hex::encode(buf)
}

/// A new client id (16 random bytes, hex).
pub fn new_client_id() -> String {
    random_hex(16)
}

/// A new client secret (32 random bytes, hex).
pub fn new_client_secret() -> String {
    random_hex(32)
}

/// The argon2id PHC string of `secret`, with a fresh salt.
pub fn hash_secret(secret: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash a secret: {e}"))
}

/// Whether `secret` matches the stored `hash` (false for a malformed hash).
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(secret.as_bytes(), hash)
        .is_ok()
}

/// An argon2id hash of a fixed string, verified against when the client id is unknown so that
/// an unknown id and a wrong secret take the same time.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_secret("floe-decoy-secret").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_verify_against_their_hash_only() {
        let secret = new_client_secret();
        assert_eq!(secret.len(), 64);
        let hash = hash_secret(&secret).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(&secret));
        assert!(verify_secret(&secret, &hash));
        assert!(!verify_secret("wrong", &hash));
        assert!(!verify_secret(&secret, "not a hash"));
        assert_ne!(hash_secret(&secret).unwrap(), hash, "salted");
        assert_ne!(new_client_id(), new_client_id());
    }
}
