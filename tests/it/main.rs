//! Integration tests of the `juju-tls` binary: one test binary, one harness (`support/`).
//!
//! Where new tests go: `ops_charms.rs` for behaviour seen through unmodified Python `ops`
//! charms (one run per ops calling convention), `lifecycle.rs` for hook failure, timeouts,
//! workloads and time, `cli.rs` for what people type (bad input included), `snapshots.rs` for
//! the exact text people read (`--help`, tables, `--json`, error messages; `insta` snapshots in
//! `snapshots/`), `crash.rs` for killed and interrupted `juju-tls` processes, failpoints, and a
//! damaged store, `security.rs` for who may talk to the hook-tool socket, private data at rest
//! and untrusted `.charm` files; our charms end to end in `charms_e2e.rs` and `demo.rs`, Python
//! charms on the published libraries in `interop.rs`, `interop_pypi.rs` and
//! `interop_upstream.rs`, single-certificate revocation in `revocation.rs`, CA hierarchies
//! (intermediates, policy, renewal at every level over virtual months) in `hierarchy.rs`, the
//! manual-tls-certificates charm and the `pki sign-requests` verb (offline CA) in `manual.rs`,
//! the `tls_client` library through the tls-client-demo charm (paths, trust store, flags) in
//! `tls_client.rs`, the peer `tls` interface (tls-demo signed by its own leader: leader change,
//! scaling, renewal) in `peer_tls.rs`, the reactive `tls-certificates` wire (a `charms.reactive`
//! charm served by our CA, refusals of bad requests) in `reactive.rs`,
//! `pack.rs` for `.charm` archives, `pki_cli.rs` for the `pki` verbs, `user_secrets.rs` for Juju
//! user secrets read by a Python consumer charm (`tests/charms/secret-reader`),
//! `juju_front_end.rs` for the `juju` front end driven by jubilant (`tests/jubilant/`), and
//! `charmlibs_integration.rs` for the tls-certificates library's own jubilant tests, unmodified.
//!
//! `support/` has the harness: `juju-tls` runs with a private data dir per test and a model
//! destroyed on drop (so no process outlives a test), charm staging, and `openssl` at the model's
//! virtual time.

mod acme;
mod charmlibs_integration;
mod charms_e2e;
mod cli;
mod crash;
mod cross_model;
mod demo;
mod hierarchy;
mod interop;
mod interop_pypi;
mod interop_upstream;
mod juju_front_end;
mod lifecycle;
mod manual;
mod migration;
mod ops_charms;
mod pack;
mod peer_tls;
mod pki_cli;
mod reactive;
mod revocation;
mod security;
mod snapshots;
mod support;
mod tls_client;
mod user_secrets;
