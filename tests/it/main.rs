//! Integration tests of the `juju-tls` binary's local model.
//!
//! Where new tests go: `ops_charms.rs` for behaviour seen through unmodified Python `ops`
//! charms (one run per ops calling convention), `lifecycle.rs` for hook failure, timeouts,
//! workloads and time, `cli.rs` for what people type (bad input included), `crash.rs` for
//! killed and interrupted `juju-tls` processes, failpoints, and a damaged store, `security.rs`
//! for who may talk to the hook-tool socket, private data at rest and untrusted `.charm` files.
//! `support.rs` has the
//! harness: a private data dir per test and a model destroyed on drop, so no process outlives a
//! test.

mod cli;
mod crash;
mod interop;
mod lifecycle;
mod ops_charms;
#[path = "../common/python.rs"]
mod python;
mod security;
mod support;
