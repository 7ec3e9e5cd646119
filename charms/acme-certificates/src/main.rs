//! The charm binary: Juju execs it through `dispatch` for every hook and action.

fn main() -> std::process::ExitCode {
    charm::main(acme_certificates::AcmeCertificates)
}
