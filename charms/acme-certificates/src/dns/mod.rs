//! DNS-01 through RFC 2136: TSIG-signed dynamic updates that BIND, PowerDNS, Knot and most
//! enterprise DNS servers accept (lego's `rfc2136` provider). Written here, small and on our
//! crypto stack, rather than pulling a full DNS library for three message shapes.

pub mod client;
pub mod tsig;
pub mod wire;

pub use client::{DnsError, Updater};
pub use tsig::{Algorithm, Key};
pub use wire::Name;
