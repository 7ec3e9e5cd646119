//! Signing everything outstanding with a `pki` CA under an issuing policy, in parallel.

use std::collections::HashSet;
use std::sync::Mutex;

use charm::{LogLevel, RelationId};
use pki::{
    Certificate, CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy,
    NamePolicy, NameRule,
};
use time::{Duration, OffsetDateTime};

use super::limits::Cap;
use super::memory::digest;
use super::{BAD_CSR_REASON, BadRequest, Key, LIMIT_REASON, ProviderState, SignReport};
use crate::error::Error;
use crate::security_log::SecurityEvent;
use crate::wire::Warning;
use crate::wire::tls_certificates::{ErrorBody, ErrorCode};

/// How to sign: the issuing CA, the certificates above it, the policy and the validity.
#[derive(Debug)]
pub struct Signer<'a> {
    /// The CA that signs.
    pub ca: &'a CertificateAuthority,
    /// The CA's issuers, from its parent up to the root (empty for a root CA). The chain we
    /// publish is the leaf, the CA, then these; `ca` on the wire is the last of them (the root).
    pub issuers: &'a [Certificate],
    /// What the certificates may contain.
    pub policy: &'a IssuingPolicy,
    /// Which names may be certified (`None`: any). A refused request is answered with the
    /// library's code for the rule: 101 IP, 102 domain, 103 wildcard.
    pub names: Option<&'a NamePolicy>,
    /// Validity of issued certificates.
    pub validity: Duration,
    /// The time of issuance (the virtual clock under the local model).
    pub now: OffsetDateTime,
    /// Name put in request errors (`provider` field).
    pub provider_name: &'a str,
    /// Most certificates published per relation (`None`: no limit). Requests beyond it get an
    /// error saying so, with `limit_hint` (how an operator raises it).
    pub limit_per_relation: Option<usize>,
    /// How to raise the limit, quoted in the error.
    pub limit_hint: &'a str,
}

impl Signer<'_> {
    /// What the answers depend on, besides the CSR: when it changes, refusals are judged again.
    fn fingerprint(&self) -> String {
        let mut text = Vec::new();
        text.extend_from_slice(self.ca.certificate().der());
        for c in self.issuers {
            text.extend_from_slice(c.der());
        }
        text.extend_from_slice(
            format!(
                "|{:?}|{:?}|{}|{:?}|{}",
                self.policy,
                self.names,
                self.validity.whole_seconds(),
                self.limit_per_relation,
                self.provider_name
            )
            .as_bytes(),
        );
        digest(&text)
    }
}

impl ProviderState {
    /// Answers every request that needs an answer: refusals found on read get an error naming
    /// the cap; requests without a valid certificate are verified (once: the digests of
    /// verified CSRs are remembered), checked against the SAN cap and the per-relation limit,
    /// and signed in parallel. A request already answered with an error is left alone unless
    /// the signer changed (CA, policy, validity, limit) or, for a request over the limit, room
    /// freed up.
    pub fn sign_outstanding(&mut self, signer: &Signer<'_>) -> Result<SignReport, Error> {
        let mut report = SignReport::default();
        let fingerprint = digest(format!("{}|{:?}", signer.fingerprint(), self.limits).as_bytes());
        let stale = self.memory.answered_under.as_deref() != Some(fingerprint.as_str());
        self.memory.answered_under = Some(fingerprint);
        if stale {
            // Every answer is judged again, also on relations nothing touched.
            self.materialize_all();
        }
        let limits = self.limits;
        let error = |message: String, reason: Option<String>| {
            let mut body = ErrorCode::Other.body(message);
            body.provider = Some(signer.provider_name.to_owned());
            body.reason = reason;
            body
        };

        // Refusals found on read: the same answer again is a no-op.
        let refused: Vec<BadRequest> = self
            .relations
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.refused))
            .collect();
        for b in &refused {
            let reason = b.cap.map_or(BAD_CSR_REASON, Cap::name).to_owned();
            let body = error(b.reason.clone(), Some(reason));
            if self.answer_with_error(&b.relation, &b.csr_text, body)? {
                report.refused += 1;
            }
        }

        let mut jobs: Vec<(RelationId, Csr, bool)> = Vec::new();
        let mut answers: Vec<(RelationId, String, ErrorBody)> = Vec::new();
        let limit_message = |limit: usize| {
            format!(
                "certificate limit reached: at most {limit} certificates per relation ({})",
                signer.limit_hint
            )
        };
        for r in &mut self.relations {
            let mut room = signer.limit_per_relation.map(|limit| {
                let issued = r
                    .live_certificates()
                    .filter(|c| c.revoked != Some(true))
                    .count();
                limit.saturating_sub(issued)
            });
            // A CSR asked for twice (by two units, or twice in one bag) is one request.
            let mut seen: HashSet<Key> = HashSet::new();
            for c in &r.candidates {
                if r.has_valid_certificate(&c.key) || !seen.insert(c.key) {
                    continue;
                }
                let previous = r.error_for(&c.key);
                let over_limit_before =
                    previous.is_some_and(|e| e.error.reason.as_deref() == Some(LIMIT_REASON));
                if previous.is_some() && !stale && !over_limit_before {
                    continue; // answered, and nothing that decided it changed
                }
                if room == Some(0) {
                    if !over_limit_before || stale {
                        let limit = signer.limit_per_relation.unwrap_or_default();
                        answers.push((
                            r.id.clone(),
                            c.text.clone(),
                            error(limit_message(limit), Some(LIMIT_REASON.to_owned())),
                        ));
                    }
                    continue;
                }
                let d = hex::encode(c.key);
                let cached = self.memory.verified.contains(&d);
                let csr = match Csr::from_pem_verified_before(&c.text, |_| cached) {
                    Ok(csr) => csr,
                    Err(e) => {
                        report.verified += 1;
                        self.warnings.push(Warning {
                            location: format!("relation {}, {}", r.id, c.requester),
                            problem: format!("refusing a CSR: {e}"),
                        });
                        self.warning_keys
                            .push(digest(format!("bad|{d}|{e}").as_bytes()));
                        answers.push((
                            r.id.clone(),
                            c.text.clone(),
                            error(
                                format!("the certificate signing request was refused: {e}"),
                                Some(BAD_CSR_REASON.into()),
                            ),
                        ));
                        continue;
                    }
                };
                if !cached {
                    report.verified += 1;
                    self.memory.verified.insert(d);
                }
                let sans = csr.sans();
                let san_count = sans.dns.len()
                    + sans.ip.len()
                    + sans.oid.len()
                    + sans.email.len()
                    + csr.ignored_sans().len();
                if san_count > limits.max_sans {
                    let found = format!("the CSR has {san_count} subject alternative names");
                    answers.push((
                        r.id.clone(),
                        c.text.clone(),
                        error(
                            Cap::Sans.message(&limits, &found),
                            Some(Cap::Sans.name().to_owned()),
                        ),
                    ));
                    continue;
                }
                if let Some(refused) = signer.names.and_then(|p| p.check_csr(&csr).err()) {
                    let code = match refused.rule {
                        NameRule::IpSans => ErrorCode::IpNotAllowed,
                        NameRule::Domains => ErrorCode::DomainNotAllowed,
                        NameRule::Wildcards => ErrorCode::WildcardNotAllowed,
                    };
                    let mut body = code.body(refused.to_string());
                    body.provider = Some(signer.provider_name.to_owned());
                    body.reason = Some(NAME_POLICY_REASON.to_owned());
                    answers.push((r.id.clone(), c.text.clone(), body));
                    continue;
                }
                if let Some(n) = &mut room {
                    *n -= 1;
                }
                jobs.push((r.id.clone(), csr, c.is_ca));
            }
        }
        for (relation, text, body) in answers {
            if self.answer_with_error(&relation, &text, body)? {
                report.refused += 1;
            }
        }
        let results = issue_all(signer, &jobs);
        let ca_cert = signer.ca.certificate();
        let root = signer.issuers.last().unwrap_or(ca_cert);
        let mut chain_tail = vec![ca_cert.clone()];
        chain_tail.extend(signer.issuers.iter().cloned());
        for ((relation, csr, is_ca), result) in jobs.iter().zip(results) {
            match result {
                Ok(cert) => {
                    self.security_events
                        .push(certificate_generated(csr, *is_ca, signer.validity));
                    let mut chain = Vec::with_capacity(chain_tail.len() + 1);
                    chain.push(cert.clone());
                    chain.extend(chain_tail.iter().cloned());
                    self.set_certificate(relation, csr, &cert, root, &chain)?;
                    report.issued += 1;
                }
                Err(e) => {
                    let body = error(format!("certificate not issued: {e}"), Some(e.to_string()));
                    if self.answer_with_error(relation, csr.pem(), body)? {
                        report.refused += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}

/// `reason` of a request refused by the signer's [`NamePolicy`].
pub const NAME_POLICY_REASON: &str = "signing policy";

/// The Python library's `certificate_generated` event (its `generate_certificate` logs it).
fn certificate_generated(csr: &Csr, is_ca: bool, validity: Duration) -> SecurityEvent {
    SecurityEvent {
        event: "certificate_generated",
        level: LogLevel::Info,
        description: "Certificate generated from CSR",
        labels: vec![
            (
                "common_name",
                csr.subject().common_name().unwrap_or_default().to_owned(),
            ),
            ("is_ca", python_bool(is_ca).to_owned()),
            ("validity_days", validity.whole_days().to_string()),
        ],
    }
}

/// Python's `str()` of a bool, as the Python library writes it in event labels.
pub(crate) fn python_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Issues for every job, spreading the signatures over the available cores.
fn issue_all(
    signer: &Signer<'_>,
    jobs: &[(RelationId, Csr, bool)],
) -> Vec<Result<Certificate, pki::Error>> {
    let issue = |(_, csr, is_ca): &(RelationId, Csr, bool)| {
        let kind = if *is_ca {
            CertificateKind::Ca { path_len: None }
        } else {
            CertificateKind::Leaf
        };
        signer.ca.issue(
            &IssueRequest {
                csr,
                kind,
                validity: signer.validity,
            },
            signer.policy,
            signer.now,
        )
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().div_ceil(16))
        .max(1);
    if threads == 1 {
        return jobs.iter().map(issue).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    let slots: Vec<Mutex<Vec<Result<Certificate, pki::Error>>>> =
        (0..threads).map(|_| Mutex::new(Vec::new())).collect();
    std::thread::scope(|scope| {
        for (slot, part) in slots.iter().zip(jobs.chunks(chunk)) {
            let issue = &issue;
            scope.spawn(move || {
                let done: Vec<_> = part.iter().map(issue).collect();
                if let Ok(mut s) = slot.lock() {
                    *s = done;
                }
            });
        }
    });
    slots
        .into_iter()
        .flat_map(|s| s.into_inner().unwrap_or_default())
        .collect()
}
