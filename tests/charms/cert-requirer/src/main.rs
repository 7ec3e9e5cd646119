//! A tls-certificates requirer and nothing else: UNIT mode, P-256 keys, one certificate per unit
//! for its name and address. The local model's scale benchmark runs 1,000 of these; it does the
//! work any requirer must do (a key, a CSR, a secret per certificate) and no more, so the
//! benchmark measures the model and the interface library, not a workload.

use std::process::ExitCode;

use charm::{Charm, Event, HandlerError, Model, Status};
use pki::{KeyAlgorithm, RequestAttributes};
use tls_interfaces::{CertificateRequest, Mode, RequirerEvent, Scope, TlsRequirer};

struct CertRequirer;

impl Charm for CertRequirer {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        if matches!(event, Event::Install) {
            model.set_unit_status(Status::waiting("waiting for a certificate"))?;
        }
        let unit = model.unit().to_string().replace('/', "-");
        // Under `domain` (the ACME benchmark): `<unit>.<domain>`, no address, as tls-demo's.
        let domain = model
            .config_map()?
            .get("domain")
            .and_then(|v| v.as_str())
            .map(|d| d.trim_matches('.').to_owned())
            .filter(|d| !d.is_empty());
        let name = domain
            .as_ref()
            .map_or_else(|| unit.clone(), |d| format!("{unit}.{d}"));
        let mut request = RequestAttributes::new(name.clone());
        request.sans.push_str(&format!("DNS:{name}"))?;
        if domain.is_none()
            && let Some(ip) = model.binding_address("certificates", None)?
        {
            request.sans.ip.insert(ip);
        }
        let requirer = TlsRequirer::new("certificates".parse()?, Mode::Unit)
            .with_key_algorithm(KeyAlgorithm::EcdsaP256)
            .with_request(Scope::Unit, CertificateRequest::leaf(request))?;
        for e in requirer.handle(event, model)? {
            match e {
                RequirerEvent::CertificateAvailable(c) => {
                    let dir = model.context().charm_dir.join("tls");
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(dir.join("unit.crt"), &c.certificate)?;
                    std::fs::write(dir.join("ca.pem"), &c.ca)?;
                    let serial = pki::Certificate::from_pem(&c.certificate)?
                        .info()
                        .serial
                        .clone();
                    model.set_unit_status(Status::active(format!("certificate {serial}")))?;
                }
                RequirerEvent::CertificateDenied(d) => {
                    model.set_unit_status(Status::blocked(format!(
                        "certificate denied: {}",
                        d.error.message
                    )))?;
                }
            }
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    charm::main(CertRequirer)
}
