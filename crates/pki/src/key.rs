//! Private keys: generation, PEM in and out (PKCS#8 and the "traditional" PKCS#1 / SEC1 forms),
//! signing, and the public key in SubjectPublicKeyInfo form.
//!
//! The Python tls-certificates library stores keys in Juju secrets as traditional PEM
//! (`BEGIN RSA PRIVATE KEY`), so we read and write that form too: a charm moving from the Python
//! library keeps its key.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use zeroize::Zeroizing;

use crate::der::{self, Reader, tag};
use crate::error::KeyError;
use crate::{oid, pem};

/// The key algorithms we generate and accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA with a 2048-bit modulus (the Python library's default).
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order of the CLI's help.
    pub const ALL: [KeyAlgorithm; 6] = [
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::EcdsaP256,
        Self::EcdsaP384,
        Self::Ed25519,
    ];

    /// The short name used in CLI flags and charm config (`rsa2048`, `p256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa2048",
            Self::Rsa3072 => "rsa3072",
            Self::Rsa4096 => "rsa4096",
            Self::EcdsaP256 => "p256",
            Self::EcdsaP384 => "p384",
            Self::Ed25519 => "ed25519",
        }
    }

    /// Key size in bits (the curve size for elliptic curves).
    pub fn bits(self) -> u32 {
        match self {
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
            Self::EcdsaP256 => 256,
            Self::EcdsaP384 => 384,
            Self::Ed25519 => 255,
        }
    }

    /// A description for people: `RSA 2048`, `ECDSA P-256`, `Ed25519`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Rsa2048 => "RSA 2048",
            Self::Rsa3072 => "RSA 3072",
            Self::Rsa4096 => "RSA 4096",
            Self::EcdsaP256 => "ECDSA P-256",
            Self::EcdsaP384 => "ECDSA P-384",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// Whether this is an RSA algorithm (key usage differs: RSA keys may encipher keys).
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }

    /// The AlgorithmIdentifier of signatures made with this key: SHA-256, SHA-384 for P-384.
    pub(crate) fn signature_algorithm_der(self) -> Vec<u8> {
        match self {
            a if a.is_rsa() => {
                der::algorithm(oid::SHA256_WITH_RSA, Some(&der::tlv(tag::NULL, &[])))
            }
            Self::EcdsaP384 => der::algorithm(oid::ECDSA_WITH_SHA384, None),
            Self::EcdsaP256 => der::algorithm(oid::ECDSA_WITH_SHA256, None),
            _ => der::algorithm(oid::ED25519, None),
        }
    }

    fn ecdsa_signing(self) -> Option<&'static EcdsaSigningAlgorithm> {
        match self {
            Self::EcdsaP256 => Some(&ECDSA_P256_SHA256_ASN1_SIGNING),
            Self::EcdsaP384 => Some(&ECDSA_P384_SHA384_ASN1_SIGNING),
            _ => None,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
        Self::ALL
            .into_iter()
            .find(|a| a.name() == lower)
            .ok_or_else(|| KeyError::UnknownAlgorithm(s.to_owned()))
    }
}

enum Signer {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key. `Debug` shows the algorithm only; the key material stays inside.
pub struct PrivateKey {
    algorithm: KeyAlgorithm,
    signer: Signer,
    pkcs8: Zeroizing<Vec<u8>>,
    spki: Vec<u8>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"[secret key elided]")
            .finish()
    }
}

impl PrivateKey {
    /// Generates a fresh key. RSA generation is slow (tens of milliseconds): keep it off hot paths.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let pkcs8: Zeroizing<Vec<u8>> = match algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let size = match algorithm {
                    KeyAlgorithm::Rsa2048 => KeySize::Rsa2048,
                    KeyAlgorithm::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let key = RsaKeyPair::generate(size)
                    .map_err(|_| KeyError::Crypto("generate an RSA key"))?;
                let doc: Pkcs8V1Der<'_> = key
                    .as_der()
                    .map_err(|_| KeyError::Crypto("encode an RSA key"))?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let alg = algorithm
                    .ecdsa_signing()
                    .ok_or(KeyError::Crypto("select a curve"))?;
                let key = EcdsaKeyPair::generate(alg)
                    .map_err(|_| KeyError::Crypto("generate an ECDSA key"))?;
                let doc = key
                    .to_pkcs8v1()
                    .map_err(|_| KeyError::Crypto("encode an ECDSA key"))?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            KeyAlgorithm::Ed25519 => {
                let key = Ed25519KeyPair::generate()
                    .map_err(|_| KeyError::Crypto("generate an Ed25519 key"))?;
                let doc = key
                    .to_pkcs8v1()
                    .map_err(|_| KeyError::Crypto("encode an Ed25519 key"))?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
        };
        Self::from_pkcs8_der(&pkcs8)
    }

    /// Reads a key from PEM: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
    /// `EC PRIVATE KEY` (SEC1).
    pub fn from_pem(text: &str) -> Result<Self, crate::Error> {
        let blocks = pem::parse_all(text)?;
        let block = blocks
            .iter()
            .find(|b| b.label.ends_with("PRIVATE KEY"))
            .ok_or_else(|| KeyError::NotAKey(blocks[0].label.clone()))?;
        let der = Zeroizing::new(block.der.clone());
        Ok(match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der)?,
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der)?,
            "EC PRIVATE KEY" => Self::from_sec1_der(&der)?,
            "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted.into()),
            other => return Err(KeyError::NotAKey(other.to_owned()).into()),
        })
    }

    /// Reads a PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let (alg_oid, curve) = pkcs8_algorithm(der).ok_or_else(|| KeyError::Invalid {
            format: "PKCS#8",
            reason: "not a PrivateKeyInfo structure".into(),
        })?;
        let invalid = |e: aws_lc_rs::error::KeyRejected| KeyError::Invalid {
            format: "PKCS#8",
            reason: e.to_string(),
        };
        let signer = if alg_oid == der::oid_content(oid::RSA_ENCRYPTION) {
            Signer::Rsa(RsaKeyPair::from_pkcs8(der).map_err(invalid)?)
        } else if alg_oid == der::oid_content(oid::EC_PUBLIC_KEY) {
            let algorithm = curve_algorithm(curve.as_deref())?;
            let alg = algorithm
                .ecdsa_signing()
                .ok_or(KeyError::Crypto("select a curve"))?;
            Signer::Ecdsa(EcdsaKeyPair::from_pkcs8(alg, der).map_err(invalid)?)
        } else if alg_oid == der::oid_content(oid::ED25519) {
            Signer::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(invalid)?)
        } else {
            return Err(KeyError::Unsupported(format!(
                "algorithm OID bytes {}",
                hex::encode(alg_oid)
            )));
        };
        Self::from_signer(signer, Zeroizing::new(der.to_vec()))
    }

    fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = RsaKeyPair::from_der(der).map_err(|e| KeyError::Invalid {
            format: "PKCS#1 RSA",
            reason: e.to_string(),
        })?;
        let doc: Pkcs8V1Der<'_> = key
            .as_der()
            .map_err(|_| KeyError::Crypto("encode an RSA key"))?;
        let pkcs8 = Zeroizing::new(doc.as_ref().to_vec());
        Self::from_signer(Signer::Rsa(key), pkcs8)
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, [0] parameters, [1] publicKey }
        let curve = sec1_curve(der);
        let algorithm = match curve {
            Some(c) => curve_algorithm(Some(&c))?,
            // Without parameters, the private scalar's length tells the curve.
            None => match sec1_scalar_len(der) {
                Some(32) => KeyAlgorithm::EcdsaP256,
                Some(48) => KeyAlgorithm::EcdsaP384,
                _ => {
                    return Err(KeyError::Unsupported(
                        "EC key without a recognisable curve".into(),
                    ));
                }
            },
        };
        let alg = algorithm
            .ecdsa_signing()
            .ok_or(KeyError::Crypto("select a curve"))?;
        let key = EcdsaKeyPair::from_private_key_der(alg, der).map_err(|e| KeyError::Invalid {
            format: "SEC1 EC",
            reason: e.to_string(),
        })?;
        let doc = key
            .to_pkcs8v1()
            .map_err(|_| KeyError::Crypto("encode an ECDSA key"))?;
        let pkcs8 = Zeroizing::new(doc.as_ref().to_vec());
        Self::from_signer(Signer::Ecdsa(key), pkcs8)
    }

    fn from_signer(signer: Signer, pkcs8: Zeroizing<Vec<u8>>) -> Result<Self, KeyError> {
        let encode = |_| KeyError::Crypto("encode a public key");
        let (algorithm, spki) = match &signer {
            Signer::Rsa(k) => {
                let algorithm = match k.public_modulus_len() * 8 {
                    2048 => KeyAlgorithm::Rsa2048,
                    3072 => KeyAlgorithm::Rsa3072,
                    4096 => KeyAlgorithm::Rsa4096,
                    bits => {
                        return Err(KeyError::Unsupported(format!(
                            "RSA {bits}-bit keys (use 2048, 3072 or 4096)"
                        )));
                    }
                };
                (
                    algorithm,
                    k.public_key().as_der().map_err(encode)?.as_ref().to_vec(),
                )
            }
            Signer::Ecdsa(k) => {
                let point = k.public_key().as_ref().to_vec();
                let (algorithm, curve) = if point.len() == 65 {
                    (KeyAlgorithm::EcdsaP256, oid::P256)
                } else {
                    (KeyAlgorithm::EcdsaP384, oid::P384)
                };
                let spki = der::seq(&[
                    &der::algorithm(oid::EC_PUBLIC_KEY, Some(&der::oid(curve))),
                    &der::bit_string(&point),
                ]);
                (algorithm, spki)
            }
            Signer::Ed25519(k) => {
                let raw = k.public_key().as_ref().to_vec();
                let spki = der::seq(&[&der::algorithm(oid::ED25519, None), &der::bit_string(&raw)]);
                (KeyAlgorithm::Ed25519, spki)
            }
        };
        Ok(Self {
            algorithm,
            signer,
            pkcs8,
            spki,
        })
    }

    /// The key's algorithm (and so its size).
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM in PKCS#8 form (`BEGIN PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem::encode("PRIVATE KEY", &self.pkcs8))
    }

    /// PEM in the "traditional" form the Python library writes: `BEGIN RSA PRIVATE KEY`
    /// (PKCS#1) for RSA, `BEGIN EC PRIVATE KEY` (SEC1) for ECDSA. Ed25519 has no traditional
    /// form, so it is written as PKCS#8.
    pub fn to_traditional_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        match &self.signer {
            Signer::Rsa(_) => {
                let pkcs1 = pkcs8_private_key(&self.pkcs8)
                    .ok_or(KeyError::Crypto("extract the PKCS#1 key"))?;
                Ok(Zeroizing::new(pem::encode("RSA PRIVATE KEY", pkcs1)))
            }
            Signer::Ecdsa(k) => {
                let sec1 = k
                    .private_key()
                    .as_der()
                    .map_err(|_| KeyError::Crypto("encode an EC key"))?;
                Ok(Zeroizing::new(pem::encode("EC PRIVATE KEY", sec1.as_ref())))
            }
            Signer::Ed25519(_) => Ok(self.to_pkcs8_pem()),
        }
    }

    /// Signs `message` with this key's default signature algorithm (SHA-256; SHA-384 on P-384;
    /// pure Ed25519).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError::Crypto("sign with RSA"))?;
                Ok(sig)
            }
            Signer::Ecdsa(k) => Ok(k
                .sign(&rng, message)
                .map_err(|_| KeyError::Crypto("sign with ECDSA"))?
                .as_ref()
                .to_vec()),
            Signer::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }

    /// The AlgorithmIdentifier of this key's signatures.
    pub(crate) fn signature_algorithm_der(&self) -> Vec<u8> {
        self.algorithm.signature_algorithm_der()
    }
}

/// Reads the algorithm OID (content bytes) and, for EC keys, the curve OID of a PKCS#8 key.
fn pkcs8_algorithm(der: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.expect(tag::SEQUENCE)?);
    info.expect(tag::INTEGER)?;
    let mut alg = Reader::new(info.expect(tag::SEQUENCE)?);
    let alg_oid = alg.expect(tag::OID)?.to_vec();
    let curve = match alg.peek_tag() {
        Some(tag::OID) => Some(alg.expect(tag::OID)?.to_vec()),
        _ => None,
    };
    Some((alg_oid, curve))
}

/// The `privateKey` OCTET STRING of a PKCS#8 key (a PKCS#1 key for RSA).
fn pkcs8_private_key(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.expect(tag::SEQUENCE)?);
    info.expect(tag::INTEGER)?;
    info.expect(tag::SEQUENCE)?;
    info.expect(tag::OCTET_STRING)
}

fn sec1_curve(der: &[u8]) -> Option<Vec<u8>> {
    let mut outer = Reader::new(der);
    let mut key = Reader::new(outer.expect(tag::SEQUENCE)?);
    key.expect(tag::INTEGER)?;
    key.expect(tag::OCTET_STRING)?;
    let params = key.expect(0xa0)?;
    Reader::new(params).expect(tag::OID).map(<[u8]>::to_vec)
}

fn sec1_scalar_len(der: &[u8]) -> Option<usize> {
    let mut outer = Reader::new(der);
    let mut key = Reader::new(outer.expect(tag::SEQUENCE)?);
    key.expect(tag::INTEGER)?;
    key.expect(tag::OCTET_STRING).map(<[u8]>::len)
}

fn curve_algorithm(curve: Option<&[u8]>) -> Result<KeyAlgorithm, KeyError> {
    match curve {
        Some(c) if c == der::oid_content(oid::P256) => Ok(KeyAlgorithm::EcdsaP256),
        Some(c) if c == der::oid_content(oid::P384) => Ok(KeyAlgorithm::EcdsaP384),
        Some(c) => Err(KeyError::Unsupported(format!(
            "elliptic curve with OID bytes {}",
            hex::encode(c)
        ))),
        None => Err(KeyError::Unsupported("EC key without a named curve".into())),
    }
}
