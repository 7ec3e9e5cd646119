//! Python `cryptography` (pinned in the test venv) reads what we write and agrees on every
//! field; CSRs written by the Python tls-certificates library are read, verified and signed.

use juju_tls_pki::{Csr, KeyAlgorithm, RequestAttributes};
use serde_json::Value;

use crate::support::{issue_leaf, key, openssl, root, run_python, tempdir, write};

const DESCRIBE: &str = r#"
import json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtensionOID
kind, path = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
obj = x509.load_pem_x509_csr(data) if kind == 'csr' else x509.load_pem_x509_certificate(data)
out = {'subject': [[a.oid.dotted_string, a.value] for a in obj.subject]}
try:
    san = obj.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    out['dns'] = sorted(san.get_values_for_type(x509.DNSName))
    out['ip'] = sorted(str(i) for i in san.get_values_for_type(x509.IPAddress))
    out['oid'] = sorted(o.dotted_string for o in san.get_values_for_type(x509.RegisteredID))
except x509.ExtensionNotFound:
    out['dns'], out['ip'], out['oid'] = [], [], []
if kind == 'csr':
    out['signature_valid'] = obj.is_signature_valid
else:
    out['issuer'] = [[a.oid.dotted_string, a.value] for a in obj.issuer]
    out['serial'] = format(obj.serial_number, 'x')
    out['not_before'] = int(obj.not_valid_before_utc.timestamp())
    out['not_after'] = int(obj.not_valid_after_utc.timestamp())
    out['fingerprint'] = obj.fingerprint(hashes.SHA256()).hex()
    bc = obj.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    out['is_ca'] = bc.value.ca
    out['bc_critical'] = bc.critical
    out['ski'] = obj.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER).value.digest.hex()
    out['aki'] = obj.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value.key_identifier.hex()
    try:
        out['eku'] = [o.dotted_string for o in obj.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value]
    except x509.ExtensionNotFound:
        out['eku'] = []
    ku = obj.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    out['key_cert_sign'] = ku.key_cert_sign
print(json.dumps(out))
"#;

fn describe(kind: &str, pem: &str) -> Value {
    let dir = tempdir();
    let path = write(dir.path(), "obj.pem", pem);
    serde_json::from_str(&run_python(DESCRIBE, &[kind, path.to_str().unwrap()])).unwrap()
}

fn subject_pairs(dn: &juju_tls_pki::DistinguishedName) -> Vec<(String, String)> {
    let oid = |k: &juju_tls_pki::AttributeType| match k {
        juju_tls_pki::AttributeType::CommonName => "2.5.4.3".to_owned(),
        juju_tls_pki::AttributeType::UniqueIdentifier => "2.5.4.45".to_owned(),
        juju_tls_pki::AttributeType::Organization => "2.5.4.10".to_owned(),
        juju_tls_pki::AttributeType::OrganizationalUnit => "2.5.4.11".to_owned(),
        juju_tls_pki::AttributeType::EmailAddress => "1.2.840.113549.1.9.1".to_owned(),
        juju_tls_pki::AttributeType::Country => "2.5.4.6".to_owned(),
        juju_tls_pki::AttributeType::StateOrProvince => "2.5.4.8".to_owned(),
        juju_tls_pki::AttributeType::Locality => "2.5.4.7".to_owned(),
        other => other.short_name().to_owned(),
    };
    dn.attributes()
        .iter()
        .map(|(k, v)| (oid(k), v.clone()))
        .collect()
}

fn json_pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn cryptography_agrees_on_every_field_of_our_csr_and_certificate() {
    let mut attrs = RequestAttributes::new("agree.example");
    for san in [
        "DNS:agree.example",
        "DNS:b.agree.example",
        "IP:10.0.0.7",
        "OID:1.3.6.1.4.1.99.1",
    ] {
        attrs.sans.push_str(san).unwrap();
    }
    attrs.organization = Some("Agree Org".into());
    attrs.organizational_unit = Some("Unit".into());
    attrs.email_address = Some("a@agree.example".into());
    attrs.country_name = Some("DE".into());
    attrs.state_or_province_name = Some("Berlin".into());
    attrs.locality_name = Some("Berlin".into());
    let csr = attrs.to_csr(&key(KeyAlgorithm::Rsa2048, 0)).unwrap();
    let py = describe("csr", csr.pem());
    assert_eq!(py["signature_valid"], true);
    assert_eq!(json_pairs(&py["subject"]), subject_pairs(csr.subject()));
    assert_eq!(
        strings(&py["dns"]),
        csr.sans().dns.iter().cloned().collect::<Vec<_>>()
    );
    assert_eq!(strings(&py["ip"]), ["10.0.0.7"]);
    assert_eq!(strings(&py["oid"]), ["1.3.6.1.4.1.99.1"]);

    let ca = root(KeyAlgorithm::EcdsaP256, "Agree CA");
    let cert = issue_leaf(&ca, &csr);
    let info = cert.info();
    let py = describe("cert", cert.pem());
    assert_eq!(json_pairs(&py["subject"]), subject_pairs(&info.subject));
    assert_eq!(json_pairs(&py["issuer"]), subject_pairs(&info.issuer));
    assert_eq!(
        py["serial"].as_str().unwrap(),
        info.serial.trim_start_matches('0')
    );
    assert_eq!(
        py["not_before"].as_i64().unwrap(),
        info.not_before.unix_timestamp()
    );
    assert_eq!(
        py["not_after"].as_i64().unwrap(),
        info.not_after.unix_timestamp()
    );
    assert_eq!(py["fingerprint"].as_str().unwrap(), info.sha256_fingerprint);
    assert_eq!(py["is_ca"], false);
    assert_eq!(py["bc_critical"], true);
    assert_eq!(py["key_cert_sign"], false);
    assert_eq!(
        Some(py["ski"].as_str().unwrap().to_owned()),
        info.subject_key_id
    );
    assert_eq!(
        Some(py["aki"].as_str().unwrap().to_owned()),
        info.authority_key_id
    );
    assert_eq!(strings(&py["eku"]), info.extended_key_usages);
    assert_eq!(
        strings(&py["dns"]),
        info.sans.dns.iter().cloned().collect::<Vec<_>>()
    );

    let py_ca = describe("cert", ca.certificate().pem());
    assert_eq!(py_ca["is_ca"], true);
    assert_eq!(py_ca["key_cert_sign"], true);
}

const PYTHON_LIBRARY_CSR: &str = r#"
import json
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes, PrivateKey, generate_csr, generate_private_key)
key = generate_private_key()
csr = generate_csr(private_key=key, common_name="py.example", sans_dns=frozenset({"py.example", "alt.py.example"}),
                   sans_ip=frozenset({"10.9.8.7"}), sans_oid=frozenset({"1.2.3.4"}), organization="PyOrg",
                   email_address="py@example.com", country_name="US", locality_name="Austin",
                   state_or_province_name="Texas", organizational_unit="PyUnit")
attrs = CertificateRequestAttributes.from_csr(csr, is_ca=False)
print(json.dumps({"csr": str(csr), "key": str(key), "cn": attrs.common_name,
                  "dns": sorted(attrs.sans_dns), "ip": sorted(attrs.sans_ip), "oid": sorted(attrs.sans_oid),
                  "unique": attrs.add_unique_id_to_subject_name}))
"#;

#[test]
fn csrs_from_the_python_library_are_read_verified_and_signed() {
    let out: Value = serde_json::from_str(&run_python(PYTHON_LIBRARY_CSR, &[])).unwrap();
    let csr = Csr::from_pem(out["csr"].as_str().unwrap()).unwrap();
    let attrs = csr.attributes();
    assert_eq!(attrs.common_name.as_deref(), out["cn"].as_str());
    assert_eq!(
        attrs.sans.dns.iter().cloned().collect::<Vec<_>>(),
        strings(&out["dns"])
    );
    assert_eq!(
        attrs
            .sans
            .ip
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        strings(&out["ip"])
    );
    assert_eq!(
        attrs.sans.oid.iter().cloned().collect::<Vec<_>>(),
        strings(&out["oid"])
    );
    assert_eq!(
        attrs.add_unique_id_to_subject_name,
        out["unique"].as_bool().unwrap()
    );
    assert_eq!(attrs.organization.as_deref(), Some("PyOrg"));
    assert_eq!(attrs.organizational_unit.as_deref(), Some("PyUnit"));
    assert_eq!(attrs.country_name.as_deref(), Some("US"));
    // The key the Python library stores (traditional PEM) is the CSR's key.
    let key = juju_tls_pki::PrivateKey::from_pem(out["key"].as_str().unwrap()).unwrap();
    assert!(
        out["key"]
            .as_str()
            .unwrap()
            .contains("BEGIN RSA PRIVATE KEY")
    );
    assert!(csr.matches_key(&key));
    // The PEM text is kept as given (trimmed): on the wire it is the request's identity.
    assert_eq!(csr.pem(), out["csr"].as_str().unwrap().trim());

    let ca = root(KeyAlgorithm::Rsa2048, "Py Signing CA");
    let cert = issue_leaf(&ca, &csr);
    assert!(cert.matches_key(&key));
    let dir = tempdir();
    let root_path = write(dir.path(), "root.pem", ca.certificate().pem());
    let leaf_path = write(dir.path(), "leaf.pem", cert.pem());
    let (ok, text) = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        root_path.to_str().unwrap(),
        leaf_path.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
}
