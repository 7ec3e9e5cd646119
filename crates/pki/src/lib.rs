//! The X.509 core of juju-tls. It knows nothing of Juju.
#![deny(missing_docs)]

pub mod pem;
