//! The charm binary: every invocation is a Juju dispatch.

use std::process::ExitCode;

fn main() -> ExitCode {
    charm::main(tls_client_demo::TlsClientDemo)
}
