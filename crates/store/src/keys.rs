//! API keys: how secrets are made and hashed, and what a key grants.
//!
//! A secret is `cs_` followed by 40 hex digits (160 random bits). Only its SHA-256 is
//! stored: the secret has enough entropy that a slow password hash adds nothing, and a fast
//! hash lets every request authenticate with one indexed lookup.

use crate::{Result, StoreError};
use callscope_model::{Scope, Timestamp};
use sha2::{Digest, Sha256};

/// Prefix of every secret, so a leaked key is recognisable in logs and secret scanners.
const SECRET_PREFIX: &str = "cs_";

/// Who is calling: the organization and the grants of the key presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub organization_id: String,
    pub key_id: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Whether the key grants `scope`; `admin` grants everything.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes
            .iter()
            .any(|held| *held == scope || *held == Scope::Admin)
    }
}

/// A key as listed: everything but the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub organization_id: String,
    pub name: Option<String>,
    /// The first characters of the secret, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A freshly created key: the only time the secret is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub info: KeyInfo,
    pub secret: String,
}

/// A signed-in dashboard session: whose key it was opened with and the token its forms
/// carry against cross-site requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub principal: Principal,
    /// What every form that writes must send back (compared in constant time).
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// A session just opened: the only time its token is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The cookie's value; only its SHA-256 is stored.
    pub token: String,
    pub session: Session,
}

/// `bytes` random bytes from the operating system, as hex digits.
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| StoreError::Internal(format!("no randomness: {e}")))?;
    Ok(to_hex(&buffer))
}

/// A new random secret and its public prefix.
pub(crate) fn generate_secret() -> Result<(String, String)> {
    let secret = format!("{SECRET_PREFIX}{}", random_hex(20)?);
    let prefix = secret.chars().take(SECRET_PREFIX.len() + 8).collect();
    Ok((secret, prefix))
}

/// A new key id (`key_` and 12 hex digits).
pub(crate) fn generate_key_id() -> Result<String> {
    Ok(format!("key_{}", random_hex(6)?))
}

/// The stored form of a secret.
pub(crate) fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Scopes as stored: comma-separated wire names.
pub(crate) fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// Scopes from their stored form; an unknown name is corruption, not input.
pub(crate) fn scopes_from_text(text: &str) -> Result<Vec<Scope>> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse()
                .map_err(|e| StoreError::Internal(format!("stored scope: {e}")))
        })
        .collect()
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let (Ok((first, prefix)), Ok((second, _))) = (generate_secret(), generate_secret()) else {
            panic!("randomness is available");
        };
        assert_ne!(first, second);
        assert_eq!(first.len(), 3 + 40);
        assert!(first.starts_with(&prefix) && prefix.starts_with("cs_"));
        assert_eq!(hash_secret(&first).len(), 32);
    }

    #[test]
    fn admin_grants_every_scope() {
        let principal = |scopes: Vec<Scope>| Principal {
            organization_id: "o".into(),
            key_id: "k".into(),
            scopes,
        };
        assert!(principal(vec![Scope::Admin]).allows(Scope::Write));
        assert!(principal(vec![Scope::Read]).allows(Scope::Read));
        assert!(!principal(vec![Scope::Read]).allows(Scope::Write));
    }
}
