//! Integration tests of the `pki` crate. Oracles that are independent of our code judge what we
//! produce: the `openssl` CLI, `rustls-webpki`, a real `rustls` handshake, Python `cryptography`
//! and the Python tls-certificates library (from the pinned venv that `scripts/test` makes).

mod support;

mod csr;
mod dates;
mod issue;
mod key_policy;
mod keys;
mod openssl;
mod parsers;
mod python;
mod tls;
mod verify;
