//! Which keys and signature algorithms a request may use, decided *before* its signature is
//! verified, so a refusal names the real reason ("RSA-1024 key: the minimum is 2048 bits")
//! instead of "signature does not verify".
//!
//! Accepted: RSA keys of 2048 to 8192 bits signed with SHA-256, SHA-384 or SHA-512 (PKCS#1 v1.5
//! or PSS); ECDSA keys on P-256, P-384 or P-521 signed with SHA-256, SHA-384 or SHA-512;
//! Ed25519. Everything else is refused with its own [`KeyPolicyError`]. Signatures are verified
//! with `aws-lc-rs` directly (x509-parser's verifier knows no P-521, and would accept SHA-1 and
//! RSA-1024).

use std::fmt;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::error::X509Error;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_PKCS1_RSASSAPSS, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384,
    OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519,
};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use crate::error::CsrError;

/// Smallest RSA modulus accepted (NIST SP 800-131A: 112-bit security).
pub const RSA_MIN_BITS: u32 = 2048;
/// Largest RSA modulus accepted: what `aws-lc-rs` verifies, and a bound on the work a
/// requester can make us do per signature.
pub const RSA_MAX_BITS: u32 = 8192;

/// An elliptic curve we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcCurve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl fmt::Display for EcCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        })
    }
}

/// The kind of an accepted public key, as classified from its `SubjectPublicKeyInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublicKeyKind {
    /// RSA with a modulus of `bits` bits (exact bit length).
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
    /// ECDSA on a named curve.
    Ec(EcCurve),
    /// Ed25519.
    Ed25519,
}

impl PublicKeyKind {
    /// Whether this is an RSA key (RSA keys may also encipher keys).
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa { .. })
    }
}

impl fmt::Display for PublicKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "RSA-{bits}"),
            Self::Ec(curve) => write!(f, "ECDSA {curve}"),
            Self::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

/// Why a request's key or signature algorithm is refused. `Display` names the problem in one
/// sentence a provider can hand back to the requester as its request error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyPolicyError {
    /// An RSA key below [`RSA_MIN_BITS`].
    #[error("RSA-{bits} key: the minimum is {RSA_MIN_BITS} bits")]
    RsaTooSmall {
        /// Modulus size in bits.
        bits: u32,
    },
    /// An RSA key above [`RSA_MAX_BITS`].
    #[error(
        "RSA-{bits} key: the maximum is {RSA_MAX_BITS} bits (larger keys only cost verification time)"
    )]
    RsaTooLarge {
        /// Modulus size in bits.
        bits: u32,
    },
    /// An elliptic-curve key on a curve we do not accept.
    #[error("EC key on curve {curve}: the accepted curves are P-256, P-384 and P-521")]
    UnsupportedCurve {
        /// The curve's name or dotted OID.
        curve: String,
    },
    /// A public key algorithm we cannot name, or do not accept.
    #[error(
        "{algorithm} key: not accepted (use RSA of {RSA_MIN_BITS} to {RSA_MAX_BITS} bits, ECDSA P-256, P-384 or P-521, or Ed25519)"
    )]
    UnsupportedKey {
        /// The algorithm's name or dotted OID.
        algorithm: String,
    },
    /// The public key does not decode for its algorithm.
    #[error("malformed {algorithm} public key")]
    MalformedKey {
        /// The algorithm's name.
        algorithm: String,
    },
    /// Signed with a broken hash (SHA-1, MD5, MD2).
    #[error(
        "CSR signed with {hash}: {hash} signatures can be forged by collision; sign with SHA-256 or stronger"
    )]
    WeakHash {
        /// The hash's name.
        hash: &'static str,
    },
    /// A signature algorithm we cannot name, or do not accept.
    #[error(
        "CSR signed with {algorithm}: not accepted (use SHA-256, SHA-384 or SHA-512 with RSA or ECDSA, or Ed25519)"
    )]
    UnsupportedSignature {
        /// The algorithm's name or dotted OID.
        algorithm: String,
    },
    /// The signature algorithm is not one of the key's kind (an ECDSA signature on an RSA key).
    #[error("CSR signed with {signature} but its key is {key}: the two do not belong together")]
    SignatureKeyMismatch {
        /// The signature algorithm's name.
        signature: &'static str,
        /// The key's kind.
        key: PublicKeyKind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// An accepted signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignatureAlgorithm {
    RsaPkcs1(Hash),
    /// RSASSA-PSS; its parameters (hash, MGF, salt) are read by x509-parser's verifier.
    RsaPss,
    Ecdsa(Hash),
    Ed25519,
}

impl SignatureAlgorithm {
    fn name(self) -> &'static str {
        match self {
            Self::RsaPkcs1(Hash::Sha256) => "sha256WithRSAEncryption",
            Self::RsaPkcs1(Hash::Sha384) => "sha384WithRSAEncryption",
            Self::RsaPkcs1(Hash::Sha512) => "sha512WithRSAEncryption",
            Self::RsaPss => "RSASSA-PSS",
            Self::Ecdsa(Hash::Sha256) => "ecdsa-with-SHA256",
            Self::Ecdsa(Hash::Sha384) => "ecdsa-with-SHA384",
            Self::Ecdsa(Hash::Sha512) => "ecdsa-with-SHA512",
            Self::Ed25519 => "Ed25519",
        }
    }
}

/// Classifies a signature algorithm OID: accepted, weak, or unknown. Accepted ones compare as
/// bytes (this runs for every request); only refusals are spelled out.
fn classify_signature(alg: &AlgorithmIdentifier<'_>) -> Result<SignatureAlgorithm, KeyPolicyError> {
    let accepted = [
        (
            &OID_PKCS1_SHA256WITHRSA,
            SignatureAlgorithm::RsaPkcs1(Hash::Sha256),
        ),
        (
            &OID_PKCS1_SHA384WITHRSA,
            SignatureAlgorithm::RsaPkcs1(Hash::Sha384),
        ),
        (
            &OID_PKCS1_SHA512WITHRSA,
            SignatureAlgorithm::RsaPkcs1(Hash::Sha512),
        ),
        (&OID_PKCS1_RSASSAPSS, SignatureAlgorithm::RsaPss),
        (
            &OID_SIG_ECDSA_WITH_SHA256,
            SignatureAlgorithm::Ecdsa(Hash::Sha256),
        ),
        (
            &OID_SIG_ECDSA_WITH_SHA384,
            SignatureAlgorithm::Ecdsa(Hash::Sha384),
        ),
        (
            &OID_SIG_ECDSA_WITH_SHA512,
            SignatureAlgorithm::Ecdsa(Hash::Sha512),
        ),
        (&OID_SIG_ED25519, SignatureAlgorithm::Ed25519),
    ];
    if let Some((_, kind)) = accepted.iter().find(|(oid, _)| **oid == alg.algorithm) {
        return Ok(*kind);
    }
    let oid = alg.algorithm.to_id_string();
    Err(match oid.as_str() {
        // sha1WithRSAEncryption, its OIW alias, ecdsa-with-SHA1, dsa-with-sha1.
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" | "1.2.840.10045.4.1" | "1.2.840.10040.4.3" => {
            KeyPolicyError::WeakHash { hash: "SHA-1" }
        }
        "1.2.840.113549.1.1.4" => KeyPolicyError::WeakHash { hash: "MD5" },
        "1.2.840.113549.1.1.2" => KeyPolicyError::WeakHash { hash: "MD2" },
        other => KeyPolicyError::UnsupportedSignature {
            algorithm: match other {
                "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption".to_owned(),
                "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224".to_owned(),
                "1.3.101.113" => "Ed448".to_owned(),
                "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256".to_owned(),
                _ => format!("signature algorithm {other}"),
            },
        },
    })
}

/// Classifies a public key: an accepted kind, or why not.
pub(crate) fn classify_key(
    spki: &SubjectPublicKeyInfo<'_>,
) -> Result<PublicKeyKind, KeyPolicyError> {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
            return Err(KeyPolicyError::MalformedKey {
                algorithm: "RSA".into(),
            });
        };
        let bits = bit_length(rsa.modulus);
        return if bits < RSA_MIN_BITS {
            Err(KeyPolicyError::RsaTooSmall { bits })
        } else if bits > RSA_MAX_BITS {
            Err(KeyPolicyError::RsaTooLarge { bits })
        } else {
            Ok(PublicKeyKind::Rsa { bits })
        };
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let Some(curve) = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
        else {
            return Err(KeyPolicyError::UnsupportedCurve {
                curve: "(explicit parameters, not a named curve)".into(),
            });
        };
        return if curve == OID_EC_P256 {
            Ok(PublicKeyKind::Ec(EcCurve::P256))
        } else if curve == OID_NIST_EC_P384 {
            Ok(PublicKeyKind::Ec(EcCurve::P384))
        } else if curve == OID_NIST_EC_P521 {
            Ok(PublicKeyKind::Ec(EcCurve::P521))
        } else {
            Err(KeyPolicyError::UnsupportedCurve {
                curve: curve_name(&curve.to_id_string()),
            })
        };
    }
    if *algorithm == OID_SIG_ED25519 {
        return Ok(PublicKeyKind::Ed25519);
    }
    let other = algorithm.to_id_string();
    Err(KeyPolicyError::UnsupportedKey {
        algorithm: match other.as_str() {
            "1.2.840.10040.4.1" => "DSA".to_owned(),
            "1.3.101.113" => "Ed448".to_owned(),
            "1.3.101.110" => "X25519".to_owned(),
            "1.3.101.111" => "X448".to_owned(),
            "1.2.840.113549.1.1.10" => "RSASSA-PSS-only RSA".to_owned(),
            _ => format!("algorithm {other}"),
        },
    })
}

fn curve_name(oid: &str) -> String {
    let name = match oid {
        "1.3.132.0.10" => "secp256k1",
        "1.3.132.0.33" => "P-224",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        _ => return oid.to_owned(),
    };
    format!("{name} ({oid})")
}

/// Exact bit length of a big-endian unsigned integer (leading zero bytes and bits skipped).
fn bit_length(magnitude: &[u8]) -> u32 {
    let mut bytes = magnitude.iter().skip_while(|b| **b == 0);
    match bytes.next() {
        None => 0,
        Some(first) => {
            let rest = u32::try_from(bytes.count()).unwrap_or(u32::MAX / 16);
            (8 - first.leading_zeros()) + rest.saturating_mul(8)
        }
    }
}

/// Checks a parsed CSR's key and signature algorithm against the policy, then verifies its
/// signature. Returns the key's kind.
pub(crate) fn check_and_verify(
    req: &X509CertificationRequest<'_>,
) -> Result<PublicKeyKind, CsrError> {
    let spki = &req.certification_request_info.subject_pki;
    let key = classify_key(spki)?;
    let signature = classify_signature(&req.signature_algorithm)?;
    let algorithm: &'static dyn VerificationAlgorithm = match (signature, key) {
        (SignatureAlgorithm::RsaPkcs1(Hash::Sha256), PublicKeyKind::Rsa { .. }) => {
            &signature::RSA_PKCS1_2048_8192_SHA256
        }
        (SignatureAlgorithm::RsaPkcs1(Hash::Sha384), PublicKeyKind::Rsa { .. }) => {
            &signature::RSA_PKCS1_2048_8192_SHA384
        }
        (SignatureAlgorithm::RsaPkcs1(Hash::Sha512), PublicKeyKind::Rsa { .. }) => {
            &signature::RSA_PKCS1_2048_8192_SHA512
        }
        (SignatureAlgorithm::RsaPss, PublicKeyKind::Rsa { .. }) => {
            // x509-parser reads the PSS parameters and refuses what aws-lc-rs cannot check
            // (SHA-1 inside PSS among them).
            return match req.verify_signature() {
                Ok(()) => Ok(key),
                Err(X509Error::SignatureUnsupportedAlgorithm) => {
                    Err(KeyPolicyError::UnsupportedSignature {
                        algorithm: "RSASSA-PSS with these parameters".into(),
                    }
                    .into())
                }
                Err(_) => Err(CsrError::BadSignature),
            };
        }
        (SignatureAlgorithm::Ecdsa(h), PublicKeyKind::Ec(curve)) => ecdsa(curve, h),
        (SignatureAlgorithm::Ed25519, PublicKeyKind::Ed25519) => &signature::ED25519,
        (signature, key) => {
            return Err(KeyPolicyError::SignatureKeyMismatch {
                signature: signature.name(),
                key,
            }
            .into());
        }
    };
    UnparsedPublicKey::new(algorithm, &spki.subject_public_key.data)
        .verify(
            req.certification_request_info.raw,
            &req.signature_value.data,
        )
        .map_err(|_| CsrError::BadSignature)?;
    Ok(key)
}

/// How a request's signature fared when inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// It verifies with the request's own public key (proof of possession).
    Verified,
    /// It does not verify: no proof of possession.
    DoesNotVerify,
    /// No verifier exists here for this key and algorithm; the reason says which.
    NotChecked(String),
}

/// What inspecting a request's key and signature found: the policy's refusals (each with its
/// reason) and the signature checked anyway where a verifier exists, legacy ones included (SHA-1,
/// RSA-1024). For showing a request to a person; issuing goes through [`check_and_verify`] only.
pub(crate) struct KeyInspection {
    /// The key, named ("RSA-1024", "ECDSA P-256").
    pub(crate) key: String,
    /// The signature algorithm, named ("sha1WithRSAEncryption").
    pub(crate) signature_algorithm: String,
    /// What the key policy refuses; empty when it accepts the request.
    pub(crate) refusals: Vec<KeyPolicyError>,
    /// The signature.
    pub(crate) signature: SignatureCheck,
}

pub(crate) fn inspect(req: &X509CertificationRequest<'_>) -> KeyInspection {
    let spki = &req.certification_request_info.subject_pki;
    let mut refusals = Vec::new();
    let key = match classify_key(spki) {
        Ok(kind) => kind.to_string(),
        Err(e) => {
            let name = match &e {
                KeyPolicyError::RsaTooSmall { bits } | KeyPolicyError::RsaTooLarge { bits } => {
                    format!("RSA-{bits}")
                }
                KeyPolicyError::UnsupportedCurve { curve } => format!("EC key on {curve}"),
                KeyPolicyError::UnsupportedKey { algorithm } => algorithm.clone(),
                KeyPolicyError::MalformedKey { algorithm } => format!("malformed {algorithm} key"),
                other => other.to_string(),
            };
            refusals.push(e);
            name
        }
    };
    let signature_algorithm = match classify_signature(&req.signature_algorithm) {
        Ok(alg) => alg.name().to_owned(),
        Err(e) => {
            refusals.push(e);
            signature_name(&req.signature_algorithm.algorithm.to_id_string())
        }
    };
    let signature = if refusals.is_empty() {
        match check_and_verify(req) {
            Ok(_) => SignatureCheck::Verified,
            Err(CsrError::KeyPolicy(e)) => {
                refusals.push(e);
                legacy_verify(req)
            }
            Err(_) => SignatureCheck::DoesNotVerify,
        }
    } else {
        legacy_verify(req)
    };
    KeyInspection {
        key,
        signature_algorithm,
        refusals,
        signature,
    }
}

/// Verifies a PKCS#1 RSA signature the policy refuses (SHA-1, or a key of 1024 to 2047 bits)
/// with `aws-lc-rs`' legacy verifiers, so an inspection can still say whether the requester holds
/// the key. Anything else is not checked.
fn legacy_verify(req: &X509CertificationRequest<'_>) -> SignatureCheck {
    let spki = &req.certification_request_info.subject_pki;
    let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
        return SignatureCheck::NotChecked(
            "no verifier for this key and signature algorithm".into(),
        );
    };
    let bits = bit_length(rsa.modulus);
    let oid = req.signature_algorithm.algorithm.to_id_string();
    let algorithm: &'static dyn VerificationAlgorithm = match oid.as_str() {
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => {
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        "1.2.840.113549.1.1.11" => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.13" => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        _ => {
            return SignatureCheck::NotChecked(format!(
                "no verifier for {} with RSA-{bits}",
                signature_name(&oid)
            ));
        }
    };
    if !(1024..=RSA_MAX_BITS).contains(&bits) {
        return SignatureCheck::NotChecked(format!("no verifier for RSA-{bits}"));
    }
    match UnparsedPublicKey::new(algorithm, &spki.subject_public_key.data).verify(
        req.certification_request_info.raw,
        &req.signature_value.data,
    ) {
        Ok(()) => SignatureCheck::Verified,
        Err(_) => SignatureCheck::DoesNotVerify,
    }
}

/// The name of a signature algorithm OID (the dotted OID when we do not know it).
fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        "1.3.101.113" => "Ed448",
        other => return format!("signature algorithm {other}"),
    }
    .to_owned()
}

/// The ECDSA verifier for a curve and hash (ASN.1 DER signatures, as X.509 carries them).
fn ecdsa(curve: EcCurve, hash: Hash) -> &'static dyn VerificationAlgorithm {
    match (curve, hash) {
        (EcCurve::P256, Hash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (EcCurve::P256, Hash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (EcCurve::P256, Hash::Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
        (EcCurve::P384, Hash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (EcCurve::P384, Hash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (EcCurve::P384, Hash::Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
        (EcCurve::P521, Hash::Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
        (EcCurve::P521, Hash::Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
        (EcCurve::P521, Hash::Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths_are_exact() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01, 0xff]), 9);
        let mut modulus = vec![0u8; 257];
        modulus[1] = 0xc1;
        assert_eq!(bit_length(&modulus), 2048);
    }

    /// A CSR with an RSA modulus of `bits` bits and a junk signature: the key policy must
    /// refuse it for its size before any signature is tried.
    fn rsa_csr_with_junk_signature(bits: usize) -> Vec<u8> {
        use crate::der::{self, tag};
        use crate::oid;
        let mut modulus = vec![0xa5u8; bits / 8];
        modulus[0] = 0xc1;
        let null = der::tlv(tag::NULL, &[]);
        let rsa_key = der::seq(&[&der::uint(&modulus), &der::uint(&[1, 0, 1])]);
        let spki = der::seq(&[
            &der::algorithm(oid::RSA_ENCRYPTION, Some(&null)),
            &der::bit_string(&rsa_key),
        ]);
        let subject = der::seq(&[]);
        let info = der::seq(&[
            &der::small_int(0),
            &subject,
            &spki,
            &der::context(0, true, &[]),
        ]);
        der::seq(&[
            &info,
            &der::algorithm(oid::SHA256_WITH_RSA, Some(&null)),
            &der::bit_string(&modulus),
        ])
    }

    #[test]
    fn oversized_and_undersized_rsa_are_refused_by_size_not_as_bad_signatures() {
        // Regression: RSA-16384 and RSA-1024 with SHA-256 were "signature does not verify".
        for (bits, expected) in [
            (16384, KeyPolicyError::RsaTooLarge { bits: 16384 }),
            (8200, KeyPolicyError::RsaTooLarge { bits: 8200 }),
            (1024, KeyPolicyError::RsaTooSmall { bits: 1024 }),
            (2040, KeyPolicyError::RsaTooSmall { bits: 2040 }),
        ] {
            let der = rsa_csr_with_junk_signature(bits);
            assert_eq!(
                crate::Csr::from_der(&der),
                Err(CsrError::KeyPolicy(expected)),
                "{bits}"
            );
        }
        // In range, the same junk signature is what it is: a bad signature.
        for bits in [2048, 8192] {
            let der = rsa_csr_with_junk_signature(bits);
            assert_eq!(crate::Csr::from_der(&der), Err(CsrError::BadSignature));
        }
    }

    #[test]
    fn inspection_names_the_refusals_and_still_checks_the_signature() {
        let weak = crate::Csr::inspect_der(&rsa_csr_with_junk_signature(1024)).unwrap();
        assert_eq!(weak.key, "RSA-1024");
        assert_eq!(weak.signature_algorithm, "sha256WithRSAEncryption");
        assert_eq!(
            weak.refusals,
            vec![KeyPolicyError::RsaTooSmall { bits: 1024 }]
        );
        // The legacy verifier looked, and the junk signature does not verify.
        assert_eq!(weak.signature, SignatureCheck::DoesNotVerify);
        let fine_key = crate::Csr::inspect_der(&rsa_csr_with_junk_signature(2048)).unwrap();
        assert!(fine_key.refusals.is_empty());
        assert_eq!(fine_key.signature, SignatureCheck::DoesNotVerify);
        let huge = crate::Csr::inspect_der(&rsa_csr_with_junk_signature(16384)).unwrap();
        assert_eq!(
            huge.signature,
            SignatureCheck::NotChecked("no verifier for RSA-16384".into())
        );
        assert!(matches!(
            crate::Csr::inspect_der(b"\x30\x03\x02\x01\x00"),
            Err(CsrError::Malformed(_))
        ));
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            KeyPolicyError::RsaTooSmall { bits: 1024 }.to_string(),
            "RSA-1024 key: the minimum is 2048 bits"
        );
        assert!(
            KeyPolicyError::WeakHash { hash: "SHA-1" }
                .to_string()
                .starts_with("CSR signed with SHA-1: ")
        );
        assert!(
            KeyPolicyError::RsaTooLarge { bits: 16384 }
                .to_string()
                .starts_with("RSA-16384 key: the maximum is 8192 bits")
        );
    }
}
