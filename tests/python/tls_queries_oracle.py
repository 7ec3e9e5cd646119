"""Answers the public queries of the published Python tls-certificates library (charmlibs 1.12.0)
on given relation data and secrets, through ops.testing: the oracle of the differential tests of
our query calls (crates/tls-interfaces/tests/it/python_queries.rs).

The queries run in `config-changed`, which neither library class observes, so nothing the
libraries do on their own events (reconcile, withdraw unsolicited certificates) changes the data
before it is read. Input (stdin) and output (stdout) are JSON.

input:
  side: "requirer" | "provider"
  requirer: mode, leader, unit_id, requests [{cn, sans_dns, is_ca}], local_unit_data,
            local_app_data, remote_app_data, secrets [{label, content, owner}],
            assigned_for [request], error_for [CSR PEM]
  provider: leader, remote_units_data {id: bag}, remote_app_data, local_app_data
output (requirer): request_errors, request_error, assigned, provider_certificates, csrs_sent,
        has_private_key_secret_id
output (provider): requests, certificates, errors, unsolicited, issued, outstanding
"""

import json
import sys

import ops
from ops import testing
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    CertificateSigningRequest,
    Mode,
    TLSCertificatesProvidesV4,
    TLSCertificatesRequiresV4,
)

REQUIRER_META = {"name": "req", "requires": {"certificates": {"interface": "tls-certificates"}}}
PROVIDER_META = {"name": "ca", "provides": {"certificates": {"interface": "tls-certificates"}}}
SPEC = {}
OUT = {}


def attributes(r):
    return CertificateRequestAttributes(
        common_name=r["cn"],
        sans_dns=frozenset(r.get("sans_dns", [])) or None,
        is_ca=r.get("is_ca", False),
    )


def error_json(e):
    return {"relation_id": e.relation_id, "csr": str(e.certificate_signing_request),
            "error": e.error.model_dump(exclude_none=True)}


class Requirer(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.tls = TLSCertificatesRequiresV4(
            self, "certificates", mode=Mode[SPEC.get("mode", "UNIT")],
            certificate_requests=[attributes(r) for r in SPEC["requests"]])
        self.framework.observe(self.on.config_changed, self._query)

    def _query(self, _):
        OUT["request_errors"] = [error_json(e) for e in self.tls.get_request_errors()]
        OUT["request_error"] = [
            (lambda e: error_json(e) if e else None)(
                self.tls.get_request_error(CertificateSigningRequest.from_string(pem)))
            for pem in SPEC.get("error_for", [])
        ]
        assigned = []
        for r in SPEC.get("assigned_for", []):
            cert, key = self.tls.get_assigned_certificate(attributes(r))
            assigned.append(None if cert is None else {
                "certificate": str(cert.certificate), "private_key": str(key),
                "revoked": cert.revoked})
        OUT["assigned"] = assigned
        OUT["provider_certificates"] = [c.to_json() for c in self.tls.get_provider_certificates()]
        OUT["csrs_sent"] = [
            {"relation_id": r.relation_id, "csr": str(r.certificate_signing_request), "is_ca": r.is_ca}
            for r in self.tls.get_csrs_from_requirer_relation_data()
        ]
        OUT["has_private_key_secret_id"] = self.tls.get_private_key_secret_id() is not None


class Provider(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.tls = TLSCertificatesProvidesV4(self, "certificates")
        self.framework.observe(self.on.config_changed, self._query)

    def _query(self, _):
        OUT["requests"] = [
            {"relation_id": r.relation_id, "csr": str(r.certificate_signing_request), "is_ca": r.is_ca}
            for r in self.tls.get_certificate_requests(relation_id=7)
        ]
        OUT["certificates"] = [c.to_json() for c in self.tls.get_provider_certificates(relation_id=7)]
        OUT["errors"] = [error_json(e) for e in self.tls.get_provider_certificate_errors(relation_id=7)]
        OUT["unsolicited"] = [c.to_json() for c in self.tls.get_unsolicited_certificates(relation_id=7)]
        OUT["issued"] = [c.to_json() for c in self.tls.get_issued_certificates(relation_id=7)]
        OUT["outstanding"] = [str(r.certificate_signing_request)
                              for r in self.tls.get_outstanding_certificate_requests(relation_id=7)]


def secrets_in(specs):
    return [testing.Secret(tracked_content=s["content"], latest_content=s["content"],
                           label=s["label"], owner="app" if s.get("owner") == "app" else "unit")
            for s in specs]


def main():
    SPEC.update(json.load(sys.stdin))
    units = {int(k): v for k, v in SPEC.get("remote_units_data", {}).items()}
    if SPEC["side"] == "requirer":
        rel = testing.Relation(
            endpoint="certificates", id=7, remote_app_name="ca",
            local_unit_data=SPEC.get("local_unit_data") or {},
            local_app_data=SPEC.get("local_app_data") or {},
            remote_app_data=SPEC.get("remote_app_data") or {})
        ctx = testing.Context(Requirer, meta=REQUIRER_META, unit_id=SPEC.get("unit_id", 0),
                              app_name="req")
    else:
        rel = testing.Relation(
            endpoint="certificates", id=7, remote_app_name="req",
            remote_units_data=units, remote_app_data=SPEC.get("remote_app_data") or {},
            local_app_data=SPEC.get("local_app_data") or {})
        ctx = testing.Context(Provider, meta=PROVIDER_META, app_name="ca")
    state = testing.State(leader=SPEC.get("leader", True), relations={rel},
                          secrets=secrets_in(SPEC.get("secrets", [])))
    ctx.run(ctx.on.config_changed(), state)
    json.dump(OUT, sys.stdout)


if __name__ == "__main__":
    main()
