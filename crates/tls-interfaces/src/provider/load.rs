//! Loading the provider's state: every relation read in full, or incrementally from the index
//! kept in the charm state (only the bag that changed is read), with the warnings found.

use std::sync::Arc;

use charm::{AppName, BagOwner, Databag, Endpoint, Model, RelationId, UnitName};

use super::limits::{Cap, scan_csrs};
use super::memory::{
    BagIndex, Memory, RelationIndex, digest, published_digest, sha256, value_digest,
};
use super::relation::{Candidate, RelationState};
use super::{BAD_CSR_REASON, BadRequest, Limits, ProviderState, key_of_text};
use crate::error::Error;
use crate::wire::tls_certificates::{
    CAPABILITIES_KEY, CERTIFICATES_KEY, CSRS_KEY, CertificateEntry, REQUEST_ERRORS_KEY,
    RequestEntry, RequestErrorEntry,
};
use crate::wire::{Warning, csr_der, read_list, read_value};

/// The index could not be used (it names something unreadable, or a request with no answer to
/// take its text from): read everything instead.
pub(super) struct Suspect;

/// Reads relations into [`RelationState`]s, with the warnings found.
pub(super) struct Loader {
    limits: Limits,
    leader: bool,
    pub(super) relations: Vec<RelationState>,
    warnings: Vec<Warning>,
    /// Digest of each warning with the value it is about.
    keys: Vec<String>,
    bags_read: usize,
}

impl Loader {
    pub(super) fn new(limits: Limits, leader: bool) -> Self {
        Self {
            limits,
            leader,
            relations: Vec::new(),
            warnings: Vec::new(),
            keys: Vec::new(),
            bags_read: 0,
        }
    }

    pub(super) fn finish(self, endpoint: String, memory: Memory, partial: bool) -> ProviderState {
        ProviderState {
            partial,
            endpoint,
            limits: self.limits,
            relations: self.relations,
            warnings: self.warnings,
            warning_keys: self.keys,
            security_events: Vec::new(),
            memory,
            leader: self.leader,
            bags_read: self.bags_read,
        }
    }

    /// Reads only the changed bag and the remote app bag of `changed`, new relations and new
    /// units; the rest comes from `index`. `Ok(Err(Suspect))`: the index cannot be trusted.
    pub(super) fn incremental(
        &mut self,
        model: &mut Model<'_>,
        endpoint: &Endpoint,
        changed: &RelationId,
        changed_unit: Option<&UnitName>,
        index: &std::collections::BTreeMap<String, RelationIndex>,
    ) -> Result<Result<(), Suspect>, Error> {
        for id in model.relation_ids(endpoint)? {
            let Some(known) = index.get(&id.to_string()) else {
                // A relation the index does not know: read it all.
                let relation = model.relation(&id)?;
                let mut state = RelationState::new(id, relation.remote_app.clone());
                self.read_own(model, &mut state)?;
                for unit in &relation.units {
                    self.read_bag(model, &mut state, &BagOwner::Unit(unit.clone()))?;
                }
                if let Some(app) = &relation.remote_app {
                    self.read_bag(model, &mut state, &BagOwner::App(app.clone()))?;
                }
                self.relations.push(state);
                continue;
            };
            if &id == changed {
                let relation = model.relation(&id)?;
                let mut state = RelationState::new(id, relation.remote_app.clone());
                self.read_own(model, &mut state)?;
                if !self.published_as_indexed(&state, known) {
                    return Ok(Err(Suspect));
                }
                for unit in &relation.units {
                    let owner = BagOwner::Unit(unit.clone());
                    match known.units.get(&unit.to_string()) {
                        Some(bag) if Some(unit) != changed_unit => {
                            if from_index(&mut state, &owner, bag).is_err() {
                                return Ok(Err(Suspect));
                            }
                        }
                        _ => self.read_bag(model, &mut state, &owner)?,
                    }
                }
                // The app bag is read in every event of the relation: data an application wrote
                // before this unit was in scope may come with no event of its own.
                if let Some(app) = &relation.remote_app {
                    self.read_bag(model, &mut state, &BagOwner::App(app.clone()))?;
                }
                self.relations.push(state);
                continue;
            }
            let remote_app = match &known.remote_app {
                Some(a) => match a.parse::<AppName>() {
                    Ok(a) => Some(a),
                    Err(_) => return Ok(Err(Suspect)),
                },
                None => None,
            };
            let mut state = RelationState::new(id, remote_app.clone());
            let Some(own) = self.fetch_own(model, &mut state)? else {
                return Ok(Err(Suspect));
            };
            if !self.published_as_indexed(&state, known) {
                return Ok(Err(Suspect));
            }
            self.read_capabilities(&own, &mut state);
            if known.settled && index_is_well_formed(known) {
                // Nothing changed here and nothing was left to do: parsed only if asked.
                state.index = known.clone();
                state.untouched = Some(own);
                self.relations.push(state);
                continue;
            }
            parse_own_lists(&own, &mut state, &mut self.warnings, &mut self.keys);
            for (unit, bag) in &known.units {
                let Ok(unit) = unit.parse::<UnitName>() else {
                    return Ok(Err(Suspect));
                };
                if from_index(&mut state, &BagOwner::Unit(unit), bag).is_err() {
                    return Ok(Err(Suspect));
                }
            }
            if let Some(app) = remote_app {
                if from_index(&mut state, &BagOwner::App(app), &known.app).is_err() {
                    return Ok(Err(Suspect));
                }
            }
            // Nothing of this relation changed since the index was written, so every published
            // certificate answers a request in it; one that does not means another leader
            // served requests this index has not seen.
            if state
                .certificate_index
                .keys()
                .any(|k| !state.wanted.contains_key(k))
            {
                return Ok(Err(Suspect));
            }
            self.relations.push(state);
        }
        Ok(Ok(()))
    }

    /// Whether our bag of the relation holds what it held when the index was written: another
    /// leader in between may have issued, withdrawn or refused requests the index has not seen
    /// (an index without the digest, from an older version, counts as changed).
    pub(super) fn published_as_indexed(
        &self,
        state: &RelationState,
        known: &RelationIndex,
    ) -> bool {
        known.published.as_deref()
            == Some(&published_digest(&state.published_certificates, &state.published_errors)[..])
    }

    pub(super) fn read_own(
        &mut self,
        model: &mut Model<'_>,
        state: &mut RelationState,
    ) -> Result<(), Error> {
        if let Some(bag) = self.fetch_own(model, state)? {
            parse_own_lists(&bag, state, &mut self.warnings, &mut self.keys);
            self.read_capabilities(&bag, state);
        }
        Ok(())
    }

    /// Reads our app bag of the relation (on the leader) and records the digests of what it
    /// publishes; parses nothing.
    pub(super) fn fetch_own(
        &mut self,
        model: &mut Model<'_>,
        state: &mut RelationState,
    ) -> Result<Option<Arc<Databag>>, Error> {
        if !self.leader {
            return Ok(None);
        }
        let own_app = model.own_app_bag();
        let bag = model.relation_data(&state.id, &own_app)?;
        let value = |key: &str| bag.get(key).map_or("", String::as_str).as_bytes();
        state.published_certificates = value_digest(value(CERTIFICATES_KEY));
        state.published_errors = value_digest(value(REQUEST_ERRORS_KEY));
        Ok(Some(bag))
    }

    pub(super) fn read_capabilities(&mut self, bag: &Databag, state: &mut RelationState) {
        let value = bag.get(CAPABILITIES_KEY);
        let from = self.warnings.len();
        let at = format!("relation {}, own app bag, key {CAPABILITIES_KEY}", state.id);
        state.capabilities = read_value(value, &at, &mut self.warnings);
        key_warnings(
            &self.warnings,
            &mut self.keys,
            from,
            value.map_or("", String::as_str),
        );
    }

    pub(super) fn read_bag(
        &mut self,
        model: &mut Model<'_>,
        state: &mut RelationState,
        requester: &BagOwner,
    ) -> Result<(), Error> {
        let bag = model.relation_data(&state.id, requester)?;
        self.bags_read += 1;
        if let Some(value) = bag.get(CSRS_KEY) {
            self.read_requests(requester, value, state);
        }
        Ok(())
    }

    pub(super) fn read_requests(
        &mut self,
        requester: &BagOwner,
        value: &String,
        state: &mut RelationState,
    ) {
        let limits = self.limits;
        let location = format!("relation {}, {requester}, key {CSRS_KEY}", state.id);
        let refuse = |state: &mut RelationState, text: &str, cap: Option<Cap>, reason: String| {
            state.want(requester, key_of_text(text), false);
            state.refused.push(BadRequest {
                relation: state.id.clone(),
                requester: requester.clone(),
                csr_text: text.trim().to_owned(),
                reason,
                cap,
            });
        };
        let from = self.warnings.len();
        if value.len() > limits.max_value_bytes {
            let found = format!(
                "the {CSRS_KEY} value of {requester} is {} bytes",
                value.len()
            );
            let message = Cap::ValueBytes.message(&limits, &found);
            self.warnings.push(Warning {
                location: location.clone(),
                problem: format!("not parsed: {message}"),
            });
            for text in scan_csrs(value, limits.max_requests_per_bag) {
                refuse(state, &text, Some(Cap::ValueBytes), message.clone());
            }
            key_warnings(&self.warnings, &mut self.keys, from, value);
            return;
        }
        let entries: Vec<RequestEntry> = read_list(Some(value), &location, &mut self.warnings);
        let total = entries.len();
        if total > limits.max_requests_per_bag {
            self.warnings.push(Warning {
                location: location.clone(),
                problem: format!(
                    "{total} requests, over the cap of {} ({}): the rest are refused{}",
                    limits.max_requests_per_bag,
                    Cap::RequestsPerBag.name(),
                    if total > 2 * limits.max_requests_per_bag {
                        format!(
                            "; only the first {} of them are answered",
                            limits.max_requests_per_bag
                        )
                    } else {
                        String::new()
                    }
                ),
            });
        }
        for (i, entry) in entries.into_iter().enumerate() {
            let text = entry.certificate_signing_request;
            if i >= 2 * limits.max_requests_per_bag {
                break;
            }
            if i >= limits.max_requests_per_bag {
                let found = format!("{requester} asks for {total} certificates");
                let message = Cap::RequestsPerBag.message(&limits, &found);
                refuse(state, &text, Some(Cap::RequestsPerBag), message);
                continue;
            }
            if text.len() > limits.max_csr_bytes {
                let found = format!("the CSR is {} bytes", text.len());
                let message = Cap::CsrBytes.message(&limits, &found);
                refuse(state, &text, Some(Cap::CsrBytes), message);
                continue;
            }
            match csr_der(&text) {
                Some(der) => {
                    let key = sha256(&der);
                    let is_ca = entry.ca.unwrap_or(false);
                    state.want(requester, key, is_ca);
                    if !state.has_valid_certificate(&key) {
                        state.candidates.push(Candidate {
                            requester: requester.clone(),
                            text: text.trim().to_owned(),
                            key,
                            is_ca,
                        });
                    }
                }
                None => {
                    self.warnings.push(Warning {
                        location: location.clone(),
                        problem: "refusing a request: not a PEM certificate request".into(),
                    });
                    refuse(
                        state,
                        &text,
                        None,
                        "the certificate signing request was refused: not a PEM certificate request"
                            .into(),
                    );
                }
            }
        }
        key_warnings(&self.warnings, &mut self.keys, from, value);
    }
}

/// Keys the warnings pushed since `from` by their text and the value they are about.
pub(super) fn key_warnings(warnings: &[Warning], keys: &mut Vec<String>, from: usize, value: &str) {
    if warnings.len() == from {
        return;
    }
    let value_digest = digest(value.as_bytes());
    for w in &warnings[from..] {
        keys.push(digest(format!("{w}|{value_digest}").as_bytes()));
    }
}

/// Parses the certificates and errors we publish on a relation into `state`.
pub(super) fn parse_own_lists(
    bag: &Databag,
    state: &mut RelationState,
    warnings: &mut Vec<Warning>,
    keys: &mut Vec<String>,
) {
    let relation = state.id.clone();
    let at = |key: &str| format!("relation {relation}, own app bag, key {key}");
    let value = bag.get(CERTIFICATES_KEY);
    let from = warnings.len();
    let (certificates, texts) = read_certificates(value, &at(CERTIFICATES_KEY), warnings);
    let mut texts = texts.into_iter();
    for entry in certificates {
        let text = texts.next();
        match csr_der(&entry.certificate_signing_request) {
            Some(der) => {
                let key = sha256(&der);
                if let Some(i) = state
                    .certificate_index
                    .insert(key, state.certificates.len())
                {
                    // The same CSR twice: the later entry wins.
                    state.certificates[i] = None;
                    state.certificates_changed = true;
                }
                state
                    .certificates_read
                    .resize(state.certificates.len(), None);
                state
                    .certificates_read
                    .push(text.map(|t| (entry.clone(), t)));
                state.certificates.push(Some(entry));
            }
            None => {
                warnings.push(Warning {
                    location: at(CERTIFICATES_KEY),
                    problem: "dropping an entry whose CSR is not PEM".into(),
                });
                state.certificates_changed = true;
            }
        }
    }
    key_warnings(warnings, keys, from, value.map_or("", String::as_str));
    let value = bag.get(REQUEST_ERRORS_KEY);
    let from = warnings.len();
    let errors: Vec<RequestErrorEntry> = read_list(value, &at(REQUEST_ERRORS_KEY), warnings);
    for entry in errors {
        let key = key_of_text(&entry.csr);
        if let Some(i) = state.error_index.insert(key, state.errors.len()) {
            state.errors[i] = None;
            state.errors_changed = true;
        }
        state.errors.push(Some(entry));
    }
    key_warnings(warnings, keys, from, value.map_or("", String::as_str));
}

/// Our certificates list, each entry with its JSON text when every entry parses (the usual
/// case); else as [`read_list`] reads it (bad entries become warnings), without texts.
fn read_certificates(
    value: Option<&String>,
    location: &str,
    warnings: &mut Vec<Warning>,
) -> (Vec<CertificateEntry>, Vec<Box<serde_json::value::RawValue>>) {
    if let Some(text) = value {
        if let Ok(raw) = serde_json::from_str::<Vec<Box<serde_json::value::RawValue>>>(text) {
            let parsed: Result<Vec<CertificateEntry>, _> = raw
                .iter()
                .map(|r| serde_json::from_str::<CertificateEntry>(r.get()))
                .collect();
            if let Ok(entries) = parsed {
                return (entries, raw);
            }
        }
    }
    (read_list(value, location, warnings), Vec::new())
}

/// Whether every key and name of an index entry is well formed (what [`from_index`] needs).
pub(super) fn index_is_well_formed(known: &RelationIndex) -> bool {
    let key_ok = |(k, _): &(String, bool)| k.len() == 64 && hex::decode(k).is_ok();
    known.app.iter().all(key_ok)
        && known
            .units
            .iter()
            .all(|(u, bag)| u.parse::<UnitName>().is_ok() && bag.iter().all(key_ok))
}

/// Takes a bag's requests from the index. A request without a valid certificate needs its text
/// to be judged again: it comes from our error (or revoked certificate) for it; a request
/// refused on read stays refused (its bag did not change).
pub(super) fn from_index(
    state: &mut RelationState,
    requester: &BagOwner,
    bag: &BagIndex,
) -> Result<(), Suspect> {
    for (hex_key, is_ca) in bag {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut key).map_err(|_| Suspect)?;
        state.want(requester, key, *is_ca);
        if state.has_valid_certificate(&key) {
            continue;
        }
        let text = match (state.error_for(&key), state.certificate_for(&key)) {
            (Some(e), _) => {
                let read_time = e.error.reason.as_deref().is_some_and(|r| {
                    [Cap::ValueBytes, Cap::RequestsPerBag, Cap::CsrBytes]
                        .iter()
                        .any(|c| c.name() == r)
                        || (r == BAD_CSR_REASON && csr_der(&e.csr).is_none())
                });
                if read_time {
                    continue;
                }
                e.csr.clone()
            }
            (None, Some(c)) => c.certificate_signing_request.clone(),
            (None, None) => return Err(Suspect),
        };
        state.candidates.push(Candidate {
            requester: requester.clone(),
            text,
            key,
            is_ca: *is_ca,
        });
    }
    Ok(())
}

#[cfg(test)]
mod splice_tests {
    use super::*;
    use crate::json::to_python_json;

    fn entry(n: i64) -> CertificateEntry {
        CertificateEntry {
            ca: format!("-----BEGIN CERTIFICATE-----\nCA{n}\n-----END CERTIFICATE-----"),
            certificate_signing_request: format!("CSR {n}\n\"quoted\" é"),
            certificate: format!("CERT{n}\n"),
            chain: Some(vec![format!("CERT{n}"), format!("CA{n}")]),
            revoked: (n % 2 == 0).then_some(false),
            recommended_expiry_notification_time: Some(n),
        }
    }

    fn state_from(text: &str) -> RelationState {
        let mut warnings = Vec::new();
        let (entries, texts) = read_certificates(Some(&text.to_owned()), "here", &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut st = RelationState::new("certificates:7".parse().expect("id"), None);
        st.certificates_read = entries.iter().cloned().zip(texts).map(Some).collect();
        st.certificates = entries.into_iter().map(Some).collect();
        st
    }

    fn fresh(st: &RelationState) -> String {
        let live: Vec<&CertificateEntry> = st.live_certificates().collect();
        to_python_json(&live)
    }

    #[test]
    fn unchanged_entries_keep_their_text_and_changed_ones_are_serialized() {
        let text = to_python_json(&(1..=4).map(entry).collect::<Vec<_>>());
        let mut st = state_from(&text);
        assert_eq!(st.certificates_json(), text);
        // Revoked, removed, replaced, added: the list is what a fresh serialization gives.
        if let Some(e) = st.certificates[1].as_mut() {
            e.revoked = Some(true);
        }
        st.certificates[0] = None;
        st.certificates[2] = Some(entry(9));
        st.certificates.push(Some(entry(5)));
        assert_eq!(st.certificates_json(), fresh(&st));
    }

    #[test]
    fn text_another_writer_formatted_is_kept_for_its_unchanged_entries() {
        // The Python library's key order differs from ours; unchanged entries stay byte for
        // byte as it wrote them, so moving a charm to our library causes no spurious change.
        let other = r#"[{"certificate": "C", "ca": "A", "certificate_signing_request": "R"}]"#;
        let st = state_from(other);
        assert_eq!(st.certificates_json(), other);
    }

    #[test]
    fn a_bad_entry_falls_back_to_the_checked_reader_without_texts() {
        let text =
            r#"[{"ca": "A", "certificate_signing_request": "R", "certificate": "C"}, {"ca": 1}]"#;
        let mut warnings = Vec::new();
        let (entries, texts) = read_certificates(Some(&text.to_owned()), "here", &mut warnings);
        assert_eq!(entries.len(), 1);
        assert!(texts.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    proptest::proptest! {
        #[test]
        fn the_list_written_is_a_fresh_serialization(
            n in 0usize..6,
            changes in proptest::collection::vec((0usize..8, 0u8..3), 0..6),
            pem in "[ -~\n\u{e9}\u{1F512}]{0,40}",
        ) {
            let mut entries: Vec<CertificateEntry> = (0..n as i64).map(entry).collect();
            for e in &mut entries {
                e.certificate.push_str(&pem);
            }
            let mut st = state_from(&to_python_json(&entries));
            for (i, what) in changes {
                let Some(slot) = st.certificates.get_mut(i) else { continue };
                match what {
                    0 => *slot = None,
                    1 => if let Some(e) = slot.as_mut() { e.certificate.push('x') },
                    _ => *slot = Some(entry(i as i64 + 100)),
                }
            }
            proptest::prop_assert_eq!(st.certificates_json(), fresh(&st));
        }
    }
}
