//! The issuing policy: what a certificate we sign may contain, decided by the issuer, never
//! copied from the request.
//!
//! The Python provider helpers copy every extension of a CSR into the certificate, so any
//! requester can ask for `basicConstraints CA:TRUE` or arbitrary key usages. Here the request
//! contributes its subject, its SANs and its public key; everything else comes from the policy,
//! and whether the result is a CA is an explicit input that the policy may refuse.

use time::{Duration, OffsetDateTime};

use crate::certificate::CertificateInfo;
use crate::error::{PolicyError, ValidityError};
use crate::{duration, oid};

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

// KeyUsage bits, numbered from the most significant bit of the first byte (RFC 5280 4.2.1.3).
pub(crate) const KU_DIGITAL_SIGNATURE: u8 = 0x80;
pub(crate) const KU_KEY_ENCIPHERMENT: u8 = 0x20;
pub(crate) const KU_KEY_CERT_SIGN: u8 = 0x04;
pub(crate) const KU_CRL_SIGN: u8 = 0x02;

/// What a certificate carries besides its subject, key, SANs and validity: decided here,
/// encoded by [`crate::encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    /// `None` for a leaf (CA:FALSE); `Some(path_len)` for a CA.
    pub(crate) ca: Option<Option<u8>>,
    /// KeyUsage bits (`KU_*`).
    pub(crate) key_usage: u8,
    /// Extended key usages (none for a CA).
    pub(crate) extended_key_usage: &'static [&'static [u64]],
    /// RFC 5280: the SAN is critical when the subject is empty.
    pub(crate) san_critical: bool,
}

impl Profile {
    /// A CA certificate: keyCertSign and cRLSign, no extended key usage.
    pub(crate) fn ca(path_len: Option<u8>, subject_empty: bool) -> Self {
        Self {
            ca: Some(path_len),
            key_usage: KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN,
            extended_key_usage: &[],
            san_critical: subject_empty,
        }
    }
}

/// When a certificate issued at `now` for `requested` may be valid.
pub(crate) struct Window {
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
}

/// Whether `issuer` may sign for a request with `subject_empty` and `sans_empty` at `now`.
pub(crate) fn admit(
    issuer: &CertificateInfo,
    now: OffsetDateTime,
    subject_empty: bool,
    sans_empty: bool,
) -> Result<(), PolicyError> {
    if !(issuer.not_before <= now && now <= issuer.not_after) {
        return Err(PolicyError::CaNotValid {
            at: now,
            not_before: issuer.not_before,
            not_after: issuer.not_after,
        });
    }
    if subject_empty && sans_empty {
        return Err(PolicyError::EmptyIdentity);
    }
    Ok(())
}

/// The validity of a self-signed root made at `now`: back-dated as the default policy does.
pub(crate) fn root_window(
    validity: Duration,
    now: OffsetDateTime,
) -> Result<Window, ValidityError> {
    let not_after = duration::checked_end(now, validity)?;
    let not_before = duration::checked_start(now, IssuingPolicy::default().backdate)?;
    Ok(Window {
        not_before,
        not_after,
    })
}

impl IssuingPolicy {
    /// The validity granted for `requested` at `now`: shortened to `max_validity`, back-dated by
    /// `backdate`, and capped at the issuer's own end when the policy says so.
    pub(crate) fn window(
        &self,
        requested: Duration,
        now: OffsetDateTime,
        issuer_not_after: OffsetDateTime,
    ) -> Result<Window, ValidityError> {
        let validity = match self.max_validity {
            Some(max) => requested.min(max),
            None => requested,
        };
        let mut not_after = duration::checked_end(now, validity)?;
        let not_before = duration::checked_start(now, self.backdate)?;
        if self.cap_at_issuer_expiry {
            not_after = not_after.min(issuer_not_after);
        }
        Ok(Window {
            not_before,
            not_after,
        })
    }

    /// The profile of a certificate of `kind` for a key that is RSA or not, under an issuer
    /// whose pathLenConstraint is `issuer_path_len`.
    pub(crate) fn profile(
        &self,
        kind: CertificateKind,
        rsa_key: bool,
        issuer_path_len: Option<u32>,
        subject_empty: bool,
    ) -> Result<Profile, PolicyError> {
        match kind {
            CertificateKind::Leaf => {
                // RSA keys may also encipher keys (TLS 1.2 RSA key exchange); EC and Ed25519
                // keys only sign.
                let key_usage = if rsa_key {
                    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT
                } else {
                    KU_DIGITAL_SIGNATURE
                };
                let extended_key_usage: &'static [&'static [u64]] = match self.extended_key_usage {
                    ExtendedKeyUsage::ServerAndClient => {
                        &[oid::EKU_SERVER_AUTH, oid::EKU_CLIENT_AUTH]
                    }
                    ExtendedKeyUsage::Server => &[oid::EKU_SERVER_AUTH],
                    ExtendedKeyUsage::Client => &[oid::EKU_CLIENT_AUTH],
                };
                Ok(Profile {
                    ca: None,
                    key_usage,
                    extended_key_usage,
                    san_critical: subject_empty,
                })
            }
            CertificateKind::Ca { path_len } => {
                if !self.allow_ca {
                    return Err(PolicyError::CaNotAllowed {
                        hint: self.allow_ca_hint.clone(),
                    });
                }
                let path_len = match issuer_path_len {
                    Some(0) => return Err(PolicyError::PathLenExceeded { path_len: 0 }),
                    Some(parent) => {
                        let room = u8::try_from(parent - 1).unwrap_or(u8::MAX);
                        Some(path_len.map_or(room, |p| p.min(room)))
                    }
                    None => path_len,
                };
                Ok(Profile::ca(path_len, subject_empty))
            }
        }
    }
}
