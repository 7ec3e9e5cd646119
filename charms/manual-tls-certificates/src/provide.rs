//! What `provide-certificate` checks before anything is published: pure functions of the action
//! parameters and the model's time, so every refusal is testable without a model.
//!
//! The published charm only decodes the inputs, checks that the chain links and that the
//! certificate's key is the CSR's. Here a certificate is also refused when its subject
//! alternative names are not exactly the CSR's, when anything in it (leaf, chain, CA) is expired
//! or not yet valid, or when it does not verify up to `ca-certificate`: a requirer would
//! otherwise get a certificate that fails in its first handshake, and nobody would be told. A
//! subject that differs from the CSR's is only a warning: real CAs rewrite subjects.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pki::chain::{self, Usage};
use pki::{Certificate, Csr, CsrError};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The published charm's refusal of input it cannot read (kept as the first words of ours,
/// followed by what is wrong).
pub const INPUT_NOT_VALID: &str = "Action input is not valid.";
/// The published charm's refusal when a required parameter is missing (Juju itself refuses
/// that first, from the action's schema).
pub const MISSING: &str = "One or more action parameters are missing.";
/// The published charm's refusal of a certificate for another key.
pub const KEY_MISMATCH: &str = "Certificate and CSR do not match.";

/// The parameters of `provide-certificate`, decoded from base64 but not yet parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// `certificate-signing-request` (PEM).
    pub csr: String,
    /// `certificate` (PEM).
    pub certificate: String,
    /// `ca-certificate` (PEM).
    pub ca_certificate: String,
    /// `ca-chain` (PEM bundle), when given.
    pub ca_chain: Option<String>,
    /// `relation-id`, when given.
    pub relation_id: Option<u32>,
}

impl Params {
    /// Reads the action's parameters; `Err` is the action's failure message.
    pub fn from_action(params: &Map<String, Value>) -> Result<Self, String> {
        let text = |key: &str, required: bool| -> Result<Option<String>, String> {
            match params.get(key) {
                None | Some(Value::Null) if !required => Ok(None),
                None | Some(Value::Null) => Err(format!("{MISSING} {key} is missing")),
                Some(Value::String(s)) => decode(key, s).map(Some),
                Some(_) => Err(invalid(&format!("{key} must be a string (base64 of PEM)"))),
            }
        };
        let relation_id = match params.get("relation-id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(relation_id(v)?),
        };
        Ok(Self {
            csr: text("certificate-signing-request", true)?.unwrap_or_default(),
            certificate: text("certificate", true)?.unwrap_or_default(),
            ca_certificate: text("ca-certificate", true)?.unwrap_or_default(),
            ca_chain: text("ca-chain", false)?,
            relation_id,
        })
    }
}

/// A `relation-id` parameter: a non-negative integer.
pub fn relation_id(v: &Value) -> Result<u32, String> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(&format!("relation-id must be a relation number, not {v}")))
}

fn invalid(detail: &str) -> String {
    format!("{INPUT_NOT_VALID} {detail}")
}

/// Base64 (standard alphabet, whitespace ignored) to UTF-8 text.
fn decode(key: &str, value: &str) -> Result<String, String> {
    let compact: String = value.split_whitespace().collect();
    let bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| invalid(&format!("{key} is not base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid(&format!("{key} is not base64 of a PEM text")))
}

/// A certificate that passed every check, ready to publish.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The request it answers.
    pub csr: Csr,
    /// The certificate.
    pub certificate: Certificate,
    /// The CA requirers are told to trust.
    pub ca: Certificate,
    /// The chain, leaf first.
    pub chain: Vec<Certificate>,
    /// What is odd but accepted (a subject that differs from the CSR's).
    pub warnings: Vec<String>,
}

/// Parses and checks what a person provides, at the model's time `now`; `Err` is the action's
/// failure message. See the module documentation for what is checked.
pub fn check(params: &Params, now: OffsetDateTime) -> Result<Checked, String> {
    let csr = parse_csr(&params.csr)?;
    let certificate = parse_certificate("certificate", &params.certificate)?;
    let ca = parse_certificate("ca-certificate", &params.ca_certificate)?;
    let chain = match &params.ca_chain {
        None => vec![certificate.clone(), ca.clone()],
        Some(text) => {
            let mut chain = Certificate::all_from_pem(text)
                .map_err(|e| invalid(&format!("ca-chain is not a PEM bundle: {e}")))?;
            if chain.is_empty() {
                return Err(invalid("ca-chain holds no certificate"));
            }
            // Leaf first; a chain given without the leaf gets it in front.
            if chain[0].der() != certificate.der() {
                chain.insert(0, certificate.clone());
            }
            chain
        }
    };
    check_links(&chain)?;
    if !certificate.matches_public_key(csr.public_key_der()) {
        return Err(KEY_MISMATCH.to_owned());
    }
    let (have, asked) = (&certificate.info().sans, csr.sans());
    if have != asked {
        return Err(format!(
            "The certificate's subject alternative names differ from the CSR's: the certificate has [{}], the CSR asks for [{}]. Sign the CSR's names exactly.",
            have.to_strings().join(", "),
            asked.to_strings().join(", ")
        ));
    }
    let mut warnings = Vec::new();
    let (subject, requested) = (certificate.subject().to_string(), csr.subject().to_string());
    if subject != requested {
        warnings.push(format!(
            "the certificate's subject '{subject}' differs from the CSR's '{requested}'; accepted (CAs may rewrite subjects)"
        ));
    }
    check_time("certificate", &certificate, now)?;
    check_time("ca-certificate", &ca, now)?;
    for (i, c) in chain.iter().enumerate().skip(1) {
        check_time(&format!("ca-chain certificate {}", i + 1), c, now)?;
    }
    let intermediates: Vec<Certificate> = chain[1..]
        .iter()
        .filter(|c| c.der() != ca.der())
        .cloned()
        .collect();
    chain::verify_for_usage(&certificate, &intermediates, &ca, now, Usage::Any).map_err(|e| {
        format!(
            "The certificate does not verify up to the ca-certificate at the model's time {}: {e}",
            date(now)
        )
    })?;
    Ok(Checked {
        csr,
        certificate,
        ca,
        chain,
        warnings,
    })
}

fn parse_csr(text: &str) -> Result<Csr, String> {
    Csr::from_pem(text).map_err(|e| match e {
        pki::Error::Csr(CsrError::BadSignature | CsrError::KeyPolicy(_)) => {
            format!("The certificate signing request is refused: {e}")
        }
        other => invalid(&format!(
            "certificate-signing-request is not a PEM CSR: {other}"
        )),
    })
}

fn parse_certificate(key: &str, text: &str) -> Result<Certificate, String> {
    Certificate::from_pem(text)
        .map_err(|e| invalid(&format!("{key} is not a PEM certificate: {e}")))
}

/// Each certificate of `chain` (leaf first) is issued by the next: names link and signatures
/// verify, in the order given.
fn check_links(chain: &[Certificate]) -> Result<(), String> {
    let ordered = chain::order(chain).map_err(|e| {
        invalid(&format!(
            "The chain does not link (each certificate must be issued by the next): {e}"
        ))
    })?;
    let same =
        ordered.len() == chain.len() && ordered.iter().zip(chain).all(|(a, b)| a.der() == b.der());
    if !same {
        return Err(invalid(
            "The chain is out of order: give it leaf first, each certificate followed by its issuer",
        ));
    }
    Ok(())
}

/// Refuses a certificate that is not valid at `now`, naming which one and why.
fn check_time(what: &str, c: &Certificate, now: OffsetDateTime) -> Result<(), String> {
    let info = c.info();
    if now < info.not_before {
        return Err(format!(
            "The {what} '{}' is not valid yet: valid from {} (the model's time is {}).",
            info.subject,
            date(info.not_before),
            date(now)
        ));
    }
    if now > info.not_after {
        return Err(format!(
            "The {what} '{}' has expired: valid until {} (the model's time is {}).",
            info.subject,
            date(info.not_after),
            date(now)
        ));
    }
    Ok(())
}

/// RFC 3339.
pub fn date(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests;
