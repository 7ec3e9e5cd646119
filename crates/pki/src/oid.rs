//! Object identifiers used by the crate, as arcs.

pub(crate) const RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
pub(crate) const SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
pub(crate) const EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
pub(crate) const ECDSA_WITH_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
pub(crate) const ECDSA_WITH_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];
pub(crate) const ED25519: &[u64] = &[1, 3, 101, 112];
pub(crate) const P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
pub(crate) const P384: &[u64] = &[1, 3, 132, 0, 34];

pub(crate) const EXTENSION_REQUEST: &[u64] = &[1, 2, 840, 113549, 1, 9, 14];

// Name attributes.
pub(crate) const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
pub(crate) const COUNTRY: &[u64] = &[2, 5, 4, 6];
pub(crate) const LOCALITY: &[u64] = &[2, 5, 4, 7];
pub(crate) const STATE: &[u64] = &[2, 5, 4, 8];
pub(crate) const ORGANIZATION: &[u64] = &[2, 5, 4, 10];
pub(crate) const ORGANIZATIONAL_UNIT: &[u64] = &[2, 5, 4, 11];
pub(crate) const X500_UNIQUE_IDENTIFIER: &[u64] = &[2, 5, 4, 45];
pub(crate) const EMAIL_ADDRESS: &[u64] = &[1, 2, 840, 113549, 1, 9, 1];

// Extensions.
pub(crate) const SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
pub(crate) const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
pub(crate) const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
pub(crate) const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
pub(crate) const AUTHORITY_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 35];
pub(crate) const EXTENDED_KEY_USAGE: &[u64] = &[2, 5, 29, 37];

// Extended key usages.
pub(crate) const EKU_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
pub(crate) const EKU_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];
