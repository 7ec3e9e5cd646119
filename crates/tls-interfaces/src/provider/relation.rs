//! One relation's requests and answers, as the provider's state holds them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use charm::{AppName, BagOwner, Databag, RelationId, UnitName};

use super::load::{from_index, parse_own_lists};
use super::memory::RelationIndex;
use super::{BadRequest, Key, LIMIT_REASON};
use crate::wire::Warning;
use crate::wire::tls_certificates::{Capabilities, CertificateEntry, RequestErrorEntry};

/// A well-formed request without a valid certificate, not yet verified.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) requester: BagOwner,
    pub(super) text: String,
    pub(super) key: Key,
    pub(super) is_ca: bool,
}

#[derive(Debug)]
pub(super) struct RelationState {
    pub(super) id: RelationId,
    pub(super) remote_app: Option<AppName>,
    /// Everything asked for this hook (well-formed or not), by key, with who asked and whether
    /// for a CA certificate.
    pub(super) wanted: HashMap<Key, (BagOwner, bool)>,
    /// What each requirer bag asks for (persisted: the next hook's index).
    pub(super) index: RelationIndex,
    /// Well-formed requests without a valid certificate, in bag order.
    pub(super) candidates: Vec<Candidate>,
    /// Requests refused at read time (caps, not PEM).
    pub(super) refused: Vec<BadRequest>,
    /// Our published certificates; `None` marks one removed this hook.
    pub(super) certificates: Vec<Option<CertificateEntry>>,
    /// Each certificate as read (same index), with its JSON text in our bag: an entry still
    /// equal to what was read is written back as that text, not serialized again (a CA's bag
    /// holds every certificate it issued, and a hook changes one or a few).
    pub(super) certificates_read: Vec<Option<(CertificateEntry, Box<serde_json::value::RawValue>)>>,
    /// Key of each certificate's CSR -> index in `certificates`.
    pub(super) certificate_index: HashMap<Key, usize>,
    /// Our published errors; `None` marks one removed this hook.
    pub(super) errors: Vec<Option<RequestErrorEntry>>,
    /// Key of each error's CSR -> index in `errors`.
    pub(super) error_index: HashMap<Key, usize>,
    pub(super) capabilities: Option<Capabilities>,
    /// Digests of our bag's certificates and errors values (for [`RelationIndex::published`]):
    /// as read, then as written.
    pub(super) published_certificates: String,
    pub(super) published_errors: String,
    pub(super) certificates_changed: bool,
    pub(super) errors_changed: bool,
    pub(super) capabilities_changed: bool,
    /// Our bag, not parsed: the relation is as the index describes it and settled (nothing to
    /// do), so its certificates and errors are parsed only if something asks for them; `index`
    /// then holds the index as read.
    pub(super) untouched: Option<Arc<Databag>>,
}

impl RelationState {
    pub(super) fn new(id: RelationId, remote_app: Option<AppName>) -> Self {
        RelationState {
            index: RelationIndex {
                remote_app: remote_app.as_ref().map(ToString::to_string),
                ..RelationIndex::default()
            },
            id,
            remote_app,
            wanted: HashMap::new(),
            candidates: Vec::new(),
            refused: Vec::new(),
            certificates: Vec::new(),
            certificates_read: Vec::new(),
            certificate_index: HashMap::new(),
            published_certificates: String::new(),
            published_errors: String::new(),
            errors: Vec::new(),
            error_index: HashMap::new(),
            capabilities: None,
            certificates_changed: false,
            errors_changed: false,
            capabilities_changed: false,
            untouched: None,
        }
    }

    /// Parses an untouched relation: our certificates and errors from the bag kept at load,
    /// the requests from the index (validated at load).
    pub(super) fn materialize(&mut self, warnings: &mut Vec<Warning>, keys: &mut Vec<String>) {
        let Some(bag) = self.untouched.take() else {
            return;
        };
        let known = std::mem::replace(
            &mut self.index,
            RelationIndex {
                remote_app: self.remote_app.as_ref().map(ToString::to_string),
                ..RelationIndex::default()
            },
        );
        parse_own_lists(&bag, self, warnings, keys);
        // The index was checked when loaded (settled, keys and names well formed), so every
        // request has its answer here.
        for (unit, bag) in &known.units {
            if let Ok(unit) = unit.parse::<UnitName>() {
                let _ = from_index(self, &BagOwner::Unit(unit), bag);
            }
        }
        if let Some(app) = self.remote_app.clone() {
            let _ = from_index(self, &BagOwner::App(app), &known.app);
        }
    }

    /// Whether the relation is settled (see [`RelationIndex::settled`]).
    pub(super) fn is_settled(&self) -> bool {
        if self.untouched.is_some() {
            return self.index.settled;
        }
        let answered = |key: &Key| self.has_valid_certificate(key) || self.error_for(key).is_some();
        self.certificate_index
            .keys()
            .chain(self.error_index.keys())
            .all(|k| self.wanted.contains_key(k))
            && self.wanted.keys().all(answered)
            && !self
                .errors
                .iter()
                .flatten()
                .any(|e| e.error.reason.as_deref() == Some(LIMIT_REASON))
    }

    /// Published, non-revoked certificates.
    pub(super) fn issued_count(&self) -> usize {
        if self.untouched.is_some() {
            return self.index.issued;
        }
        self.live_certificates()
            .filter(|c| c.revoked != Some(true))
            .count()
    }

    /// The `ca` of the published, non-revoked certificates, once each, in order.
    pub(super) fn issuing_cas(&self) -> Vec<String> {
        if self.untouched.is_some() {
            return self.index.cas.clone();
        }
        let mut seen = BTreeSet::new();
        self.live_certificates()
            .filter(|c| c.revoked != Some(true))
            .map(|c| c.ca.trim())
            .filter(|ca| seen.insert(*ca))
            .map(ToOwned::to_owned)
            .collect()
    }

    pub(super) fn live_certificates(&self) -> impl Iterator<Item = &CertificateEntry> {
        self.certificates.iter().flatten()
    }

    /// The live certificates as the bag's JSON list, exactly what [`to_python_json`] writes:
    /// entries unchanged since they were read keep their text, the others are serialized.
    ///
    /// [`to_python_json`]: crate::json::to_python_json
    pub(super) fn certificates_json(&self) -> String {
        let mut out = String::from("[");
        let mut first = true;
        for (i, entry) in self.certificates.iter().enumerate() {
            let Some(entry) = entry else { continue };
            if !first {
                out.push_str(", ");
            }
            first = false;
            match self.certificates_read.get(i) {
                Some(Some((read, text))) if read == entry => out.push_str(text.get()),
                _ => out.push_str(&crate::json::to_python_json(entry)),
            }
        }
        out.push(']');
        out
    }

    pub(super) fn certificate_for(&self, key: &Key) -> Option<&CertificateEntry> {
        self.certificate_index
            .get(key)
            .and_then(|i| self.certificates[*i].as_ref())
    }

    pub(super) fn error_for(&self, key: &Key) -> Option<&RequestErrorEntry> {
        self.error_index
            .get(key)
            .and_then(|i| self.errors[*i].as_ref())
    }

    pub(super) fn has_valid_certificate(&self, key: &Key) -> bool {
        self.certificate_for(key)
            .is_some_and(|c| c.revoked != Some(true))
    }

    pub(super) fn remove_error(&mut self, key: &Key) {
        if let Some(i) = self.error_index.remove(key) {
            self.errors[i] = None;
            self.errors_changed = true;
        }
    }

    pub(super) fn remove_certificate(&mut self, key: &Key) -> bool {
        match self.certificate_index.remove(key) {
            Some(i) => {
                self.certificates[i] = None;
                self.certificates_changed = true;
                true
            }
            None => false,
        }
    }

    /// Records that `requester` asks for `key` (for the index and the "still wanted" checks).
    pub(super) fn want(&mut self, requester: &BagOwner, key: Key, is_ca: bool) {
        self.wanted.insert(key, (requester.clone(), is_ca));
        let entry = (hex::encode(key), is_ca);
        match requester {
            BagOwner::Unit(u) => self
                .index
                .units
                .entry(u.to_string())
                .or_default()
                .push(entry),
            BagOwner::App(_) => self.index.app.push(entry),
        }
    }
}
