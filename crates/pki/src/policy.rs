//! The issuing policy: what a certificate we sign may contain, decided by the issuer, never
//! copied from the request.
//!
//! The Python provider helpers copy every extension of a CSR into the certificate, so any
//! requester can ask for `basicConstraints CA:TRUE` or arbitrary key usages. Here the request
//! contributes its subject, its SANs and its public key; everything else comes from the policy,
//! and whether the result is a CA is an explicit input that the policy may refuse.

use time::Duration;

/// Whether the certificate to issue is a leaf or a CA. On the wire, the wish for a CA travels
/// as `"ca": true` beside the CSR, not inside it: the caller passes it here explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateKind {
    /// An end-entity certificate (BasicConstraints CA:FALSE).
    Leaf,
    /// A CA certificate, with an optional path length constraint.
    Ca {
        /// The pathLenConstraint to set; clamped to what the issuer allows.
        path_len: Option<u8>,
    },
}

/// Which extended key usages leaves get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExtendedKeyUsage {
    /// serverAuth and clientAuth: the wire carries no purpose, and Juju units use one
    /// certificate both to serve and to connect (mutual TLS between units).
    #[default]
    ServerAndClient,
    /// serverAuth only.
    Server,
    /// clientAuth only.
    Client,
}

/// What the issuer allows and adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuingPolicy {
    /// Whether CA certificates may be issued at all.
    pub allow_ca: bool,
    /// How an operator would allow CA requests, quoted in the refusal (e.g. "set the
    /// `allow-ca-requests` option"). The policy names its own switch so the error is actionable.
    pub allow_ca_hint: String,
    /// The longest validity granted, whatever is asked.
    pub max_validity: Option<Duration>,
    /// Extended key usages of leaves.
    pub extended_key_usage: ExtendedKeyUsage,
    /// How far `not_before` is set in the past, so clocks slightly behind still accept it.
    pub backdate: Duration,
    /// Never let a certificate outlive its issuer (a chain is only as valid as its shortest link).
    pub cap_at_issuer_expiry: bool,
}

impl Default for IssuingPolicy {
    fn default() -> Self {
        Self {
            allow_ca: false,
            allow_ca_hint: "the default policy issues leaf certificates only".into(),
            max_validity: None,
            extended_key_usage: ExtendedKeyUsage::default(),
            backdate: Duration::minutes(5),
            cap_at_issuer_expiry: true,
        }
    }
}

impl IssuingPolicy {
    /// A policy that also issues CA certificates (used to build intermediates on purpose).
    pub fn allowing_ca() -> Self {
        Self {
            allow_ca: true,
            ..Self::default()
        }
    }
}
