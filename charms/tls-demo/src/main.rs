//! The charm binary, and the workload: `tls-demo serve ...` runs the HTTPS server the charm
//! starts (a detached process of the same binary); anything else is a Juju dispatch.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        return match tls_demo::server::main(&args[2..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tls-demo server: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    charm::main(tls_demo::TlsDemo)
}
