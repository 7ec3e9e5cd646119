//! Facts about public keys in `SubjectPublicKeyInfo` form.

use crate::der::{self, Reader, tag};
use crate::key::KeyAlgorithm;
use crate::oid;

/// The key algorithm of a DER `SubjectPublicKeyInfo`, if it is one we know.
pub(crate) fn algorithm(spki: &[u8]) -> Option<KeyAlgorithm> {
    let mut outer = Reader::new(spki);
    let mut info = Reader::new(outer.expect(tag::SEQUENCE)?);
    let mut alg = Reader::new(info.expect(tag::SEQUENCE)?);
    let alg_oid = alg.expect(tag::OID)?;
    let key_bits = info.expect(tag::BIT_STRING)?;
    if alg_oid == der::oid_content(oid::RSA_ENCRYPTION) {
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
        let mut bits = Reader::new(key_bits.get(1..)?);
        let mut rsa = Reader::new(bits.expect(tag::SEQUENCE)?);
        let modulus = rsa.expect(tag::INTEGER)?;
        let len = modulus.iter().skip_while(|b| **b == 0).count() * 8;
        match len {
            2048 => Some(KeyAlgorithm::Rsa2048),
            3072 => Some(KeyAlgorithm::Rsa3072),
            4096 => Some(KeyAlgorithm::Rsa4096),
            _ => None,
        }
    } else if alg_oid == der::oid_content(oid::EC_PUBLIC_KEY) {
        let curve = alg.expect(tag::OID)?;
        if curve == der::oid_content(oid::P256) {
            Some(KeyAlgorithm::EcdsaP256)
        } else if curve == der::oid_content(oid::P384) {
            Some(KeyAlgorithm::EcdsaP384)
        } else {
            None
        }
    } else if alg_oid == der::oid_content(oid::ED25519) {
        Some(KeyAlgorithm::Ed25519)
    } else {
        None
    }
}

/// The `subjectPublicKey` bits of an SPKI (the key itself, without its algorithm encoding).
pub(crate) fn key_bits(spki: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(spki);
    let mut info = Reader::new(outer.expect(tag::SEQUENCE)?);
    info.expect(tag::SEQUENCE)?;
    info.expect(tag::BIT_STRING)
}

/// Whether two SPKIs hold the same key. Compares the key bits and the algorithm OID, not the
/// whole encoding, which may differ harmlessly (an absent or NULL parameter).
pub(crate) fn same_key(a: &[u8], b: &[u8]) -> bool {
    match (key_bits(a), key_bits(b)) {
        (Some(x), Some(y)) => x == y && algorithm(a) == algorithm(b),
        _ => false,
    }
}

/// A key identifier for the SKI/AKI extensions: the leftmost 160 bits of the SHA-256 of the
/// key bits (RFC 7093, method 1), instead of SHA-1.
pub(crate) fn key_identifier(spki: &[u8]) -> Vec<u8> {
    let bits = key_bits(spki)
        .map(|b| b.get(1..).unwrap_or_default())
        .unwrap_or(spki);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bits);
    digest.as_ref()[..20].to_vec()
}
