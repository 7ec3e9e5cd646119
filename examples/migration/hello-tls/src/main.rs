//! Hello TLS: one certificate per unit over tls-certificates, on juju-tls's Rust crates.
//!
//! The "after" of docs/migrating-from-python.md; `../hello-tls-py` is the same charm on the published
//! Python library, line for line: the same request, status texts and action results, and the
//! same secrets and relation data on the wire (tests/it/migration.rs checks it).

use std::collections::BTreeMap;
use std::process::ExitCode;

use charm::{Charm, Event, HandlerError, Model, Status};
use pki::RequestAttributes;
use tls_interfaces::{CertificateRequest, Mode, Scope, TlsRequirer};

struct HelloTls;

impl Charm for HelloTls {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        // Python: CertificateRequestAttributes(common_name=name, sans_dns=[name])
        let name = format!("hello-{}.example", model.unit().number());
        let mut attributes = RequestAttributes::new(name.clone());
        attributes.sans.dns.insert(name);
        let request = CertificateRequest::leaf(attributes);
        // Python: TLSCertificatesRequiresV4(self, "certificates", certificate_requests=[...],
        // mode=Mode.UNIT). The Python library reconciles on its own events; here one call on
        // every event does it (keys, CSRs, renewals, clean-up on relation-broken).
        let tls = TlsRequirer::new("certificates".parse()?, Mode::Unit)
            .with_request(Scope::Unit, request.clone())?;
        tls.handle(event, model)?;

        // Python: self.tls.get_assigned_certificate(self.request)
        let assigned = tls.assigned_certificate(model, &request)?;
        if let Event::Action(action) = event
            && action.name == "get-certificate"
        {
            match &assigned {
                None => model.action_fail("no certificate yet")?,
                Some((a, _key)) => model.set_action_results(&BTreeMap::from([
                    (
                        "certificate".to_owned(),
                        a.certificate.pem().trim().to_owned(),
                    ),
                    ("ca".to_owned(), a.ca.trim().to_owned()),
                    ("chain".to_owned(), a.chain_pem()),
                ]))?,
            }
        }
        // Python: the collect-status handler.
        let status = match &assigned {
            None => Status::waiting("waiting for a certificate"),
            Some((a, _)) => {
                let info = a.certificate.info();
                let expires = info.not_after.date();
                Status::active(format!(
                    "certificate for {}, expires {expires}",
                    info.subject.common_name().unwrap_or_default()
                ))
            }
        };
        model.set_unit_status(status)?;
        Ok(())
    }
}

fn main() -> ExitCode {
    charm::main(HelloTls)
}
