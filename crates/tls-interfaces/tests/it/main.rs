//! In-memory tests of the interfaces: requirer and provider charms run under the SDK's harness
//! (`charm::testing`), their databags passed between the two sides after each hook, the way
//! rustls drives a client and a server in one process.

mod world;

mod incremental;
mod on_demand;
mod parity;
mod provider;
mod python;
mod python_queries;
mod python_transfer;
mod requirer;
mod robustness;
mod tls_client;
mod transfer;
