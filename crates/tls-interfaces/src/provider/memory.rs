//! What the provider remembers between hooks, in the unit's charm state: the digests of CSRs
//! whose signature verified (never verified again), the fingerprint of what the last answers
//! depended on (CA, policy, validity, limit: when it changes, refusals are judged again), and
//! the warnings already given (a malformed entry is warned about when it appears or changes).
//!
//! It is a cache: losing it (a new leader, a removed state file) costs one full verification,
//! never a wrong answer.

use std::collections::HashSet;

use charm::Model;
use serde::{Deserialize, Serialize};

/// SHA-256 of some bytes, hex.
pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Memory {
    /// SHA-256 of the DER of every CSR verified and still asked for.
    #[serde(default)]
    pub(crate) verified: HashSet<String>,
    /// Fingerprint of the signer the current answers were given under.
    #[serde(default)]
    pub(crate) answered_under: Option<String>,
    /// Digests of the warnings given in the last hook.
    #[serde(default)]
    pub(crate) warned: HashSet<String>,
}

impl Memory {
    fn key(endpoint: &str) -> String {
        format!("tls-certificates-provider/{endpoint}")
    }

    /// Reads the memory; an unreadable one is treated as none (it is only a cache).
    pub(crate) fn load(model: &Model<'_>, endpoint: &str) -> Memory {
        model
            .stored::<Memory>(&Self::key(endpoint))
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub(crate) fn save(&self, model: &mut Model<'_>, endpoint: &str) -> Result<(), charm::Error> {
        model.store(&Self::key(endpoint), self)
    }
}
