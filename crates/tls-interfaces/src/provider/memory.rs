//! What the provider remembers between hooks, in the unit's charm state: the digests of CSRs
//! whose signature verified (never verified again), the fingerprint of what the last answers
//! depended on (CA, policy, validity, limit, caps: when it changes, refusals are judged again),
//! the warnings already given (a malformed entry is warned about when it appears or changes),
//! and the index of what every requirer bag asks for (so a `relation-changed` hook reads only
//! the bags that changed).
//!
//! It is a cache: losing it (a new leader, a removed state file) costs one full read and
//! verification, never a wrong answer.

use std::collections::{BTreeMap, BTreeSet};

use charm::Model;
use serde::{Deserialize, Serialize};

/// SHA-256 of some bytes.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of some bytes, hex.
pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// A fast digest of one of our own bag values (XXH3-128, hex), to tell whether the value is
/// still the one the index was written with. Not a security check: only our application's
/// leader writes that bag; the question is only whether another leader wrote in between, and
/// the values run to megabytes (4.5 MB for 1,000 certificates), read on every hook. XXH3 is
/// not collision-resistant and the bag echoes text requirers chose (refused CSRs in errors):
/// a crafted collision, which also needs a leader change at the right time, would leave the
/// index stale for that relation until the next full read, never issue a wrong certificate.
pub(crate) fn value_digest(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// What one requirer bag asks for: the hex digest of each request's key, and whether it asks
/// for a CA certificate.
pub(crate) type BagIndex = Vec<(String, bool)>;

/// What every requirer bag of one relation asks for.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RelationIndex {
    /// The requirer application.
    pub(crate) remote_app: Option<String>,
    /// Bags of remote units, by unit name.
    pub(crate) units: BTreeMap<String, BagIndex>,
    /// The remote application bag.
    pub(crate) app: BagIndex,
    /// Digest of what our app bag held for this relation (certificates and errors) when the
    /// index was written. Another leader in between changes it: the index is then suspect.
    #[serde(default)]
    pub(crate) published: Option<String>,
    /// Whether, when the index was written, every published certificate and error answered a
    /// request of the index, every request had a valid certificate or an error, and none was
    /// over the per-relation limit: then a hook that finds this relation untouched (same
    /// requirer bags, same published digest) has nothing to do there and does not parse it.
    #[serde(default)]
    pub(crate) settled: bool,
    /// Published, non-revoked certificates (for status, without parsing an untouched relation).
    #[serde(default)]
    pub(crate) issued: usize,
    /// The `ca` of the published, non-revoked certificates, once each.
    #[serde(default)]
    pub(crate) cas: Vec<String>,
}

impl RelationIndex {
    /// The hex key of every request of every bag (a key asked for twice appears twice).
    pub(crate) fn request_keys(&self) -> impl Iterator<Item = &String> {
        self.units
            .values()
            .chain(std::iter::once(&self.app))
            .flatten()
            .map(|(k, _)| k)
    }
}

/// The [`RelationIndex::published`] digest, from the digests of our bag's certificates and
/// errors values.
pub(crate) fn published_digest(certificates: &str, errors: &str) -> String {
    format!("{certificates}:{errors}")
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Memory {
    /// Hex SHA-256 of the DER of every CSR verified and still asked for. Ordered sets: the same
    /// memory serializes to the same bytes, so an unchanged state is not written again.
    #[serde(default)]
    pub(crate) verified: BTreeSet<String>,
    /// Fingerprint of the signer the current answers were given under.
    #[serde(default)]
    pub(crate) answered_under: Option<String>,
    /// Digests of the warnings given in the last hook.
    #[serde(default)]
    pub(crate) warned: BTreeSet<String>,
    /// What each relation's requirer bags ask for, by relation id (`certificates:7`).
    #[serde(default)]
    pub(crate) index: Option<BTreeMap<String, RelationIndex>>,
}

impl Memory {
    pub(crate) fn key(endpoint: &str) -> String {
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
