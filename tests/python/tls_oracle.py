"""Drives the published Python tls-certificates library (charmlibs 1.12.0) through ops.testing.

Used as a test oracle and as the Python side of the benchmarks: the Rust tests feed it databags
and secrets, it runs one hook of a small requirer or provider charm built on the PyPI library, and
prints what the library wrote. Input (stdin) and output (stdout) are JSON.

input:
  role: "requirer" | "provider" | "csr" | "ca"
  requirer: mode ("UNIT" | "APP" | "APP_AND_UNIT"), leader, unit_id, requests [{cn, sans_dns, is_ca,
            scope}], local_unit_data, local_app_data, remote_app_data, secrets [{label, content,
            owner ("unit"|"app"), expire?}], event ("relation_changed" | "update_status")
  provider: ca_pem, ca_key_pem, leader, remote_units_data {id: bag}, remote_app_data,
            local_app_data, event
output: local_unit_data, local_app_data, secrets [{label, content, owner, expire}], available
        [certificate PEM], denied [csr], elapsed (seconds spent in ctx.run)
"""

import datetime
import json
import sys
import time

import ops
from ops import testing
from charmlibs.interfaces.certificate_transfer import CertificateTransferRequires
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    Mode,
    PrivateKey,
    ProviderCertificate,
    TLSCertificatesProvidesV4,
    TLSCertificatesRequiresV4,
    generate_ca,
    generate_csr,
    generate_private_key,
)

REQUIRER_META = {"name": "req", "requires": {"certificates": {"interface": "tls-certificates"}}}
PROVIDER_META = {"name": "ca", "provides": {"certificates": {"interface": "tls-certificates"}}}
CONFIG = {}
AVAILABLE = []
DENIED = []


def attributes(r):
    return CertificateRequestAttributes(
        common_name=r["cn"],
        sans_dns=frozenset(r.get("sans_dns", [])) or None,
        sans_ip=frozenset(r.get("sans_ip", [])) or None,
        organization=r.get("organization"),
        is_ca=r.get("is_ca", False),
    )


class PyRequirer(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        mode = Mode[CONFIG["mode"]]
        requests = CONFIG["requests"]
        if mode == Mode.APP_AND_UNIT:
            by_mode = {Mode.APP: [], Mode.UNIT: []}
            for r in requests:
                by_mode[Mode.APP if r.get("scope") == "app" else Mode.UNIT].append(attributes(r))
            self.tls = TLSCertificatesRequiresV4(
                self, "certificates", mode=mode, certificate_requests_by_mode=by_mode,
                refresh_events=[self.on.update_status])
        else:
            self.tls = TLSCertificatesRequiresV4(
                self, "certificates", mode=mode,
                certificate_requests=[attributes(r) for r in requests],
                refresh_events=[self.on.update_status])
        self.framework.observe(self.tls.on.certificate_available, self._on_available)
        self.framework.observe(self.tls.on.certificate_denied, self._on_denied)

    def _on_available(self, event):
        AVAILABLE.append(str(event.certificate))

    def _on_denied(self, event):
        DENIED.append(str(event.certificate_signing_request))


class PyProvider(ops.CharmBase):
    """Signs every outstanding request with the library's own helper, as the published
    self-signed-certificates charm does."""

    def __init__(self, framework):
        super().__init__(framework)
        self.tls = TLSCertificatesProvidesV4(self, "certificates")
        self.framework.observe(self.on.certificates_relation_changed, self._sign)
        self.framework.observe(self.on.update_status, self._sign)

    def _sign(self, _):
        if not self.unit.is_leader():
            return
        ca = Certificate.from_string(CONFIG["ca_pem"])
        ca_key = PrivateKey.from_string(CONFIG["ca_key_pem"])
        for request in self.tls.get_outstanding_certificate_requests():
            cert = request.certificate_signing_request.sign(
                ca=ca, ca_private_key=ca_key, validity=datetime.timedelta(days=90), is_ca=request.is_ca)
            self.tls.set_relation_certificate(ProviderCertificate(
                relation_id=request.relation_id, certificate=cert,
                certificate_signing_request=request.certificate_signing_request,
                ca=ca, chain=[cert, ca]))


class PyTransferRequirer(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.transfer = CertificateTransferRequires(self, "receive-ca-cert")
        self.framework.observe(self.transfer.on.certificate_set_updated, self._on_updated)

    def _on_updated(self, event):
        AVAILABLE.extend(sorted(event.certificates))


def run_transfer_requirer(spec):
    rel = testing.Relation(
        endpoint="receive-ca-cert", id=4, remote_app_name="ca",
        remote_app_data=spec.get("remote_app_data") or {},
        remote_units_data={0: spec.get("remote_unit_data") or {}})
    state = testing.State(leader=True, relations={rel})
    meta = {"name": "client", "requires": {"receive-ca-cert": {"interface": "certificate_transfer"}}}
    ctx = testing.Context(PyTransferRequirer, meta=meta, app_name="client")
    created = ctx.run(ctx.on.relation_created(rel), state)
    out = ctx.run(ctx.on.relation_changed(created.get_relation(4), remote_unit=0), created)
    r = out.get_relation(4)
    return {"local_unit_data": dict(r.local_unit_data), "local_app_data": dict(r.local_app_data),
            "secrets": [], "available": AVAILABLE, "denied": [], "elapsed": 0}


def secrets_in(specs, app):
    out = []
    for s in specs:
        owner = "app" if s.get("owner") == "app" else "unit"
        out.append(testing.Secret(tracked_content=s["content"], latest_content=s["content"],
                                  label=s["label"], owner=owner))
    return out


def secrets_out(state):
    out = []
    for s in state.secrets:
        expire = s.expire.isoformat() if getattr(s, "expire", None) else None
        out.append({"label": s.label, "content": s.latest_content, "owner": s.owner, "expire": expire})
    return out


def run_requirer(spec):
    CONFIG.update(mode=spec.get("mode", "UNIT"), requests=spec["requests"])
    rel = testing.Relation(
        endpoint="certificates", id=7, remote_app_name="ca",
        local_unit_data=spec.get("local_unit_data") or {},
        local_app_data=spec.get("local_app_data") or {},
        remote_app_data=spec.get("remote_app_data") or {})
    state = testing.State(leader=spec.get("leader", True), relations={rel},
                          secrets=secrets_in(spec.get("secrets", []), "req"))
    ctx = testing.Context(PyRequirer, meta=REQUIRER_META, unit_id=spec.get("unit_id", 0), app_name="req")
    event = ctx.on.update_status() if spec.get("event") == "update_status" else ctx.on.relation_changed(rel, remote_unit=0)
    start = time.perf_counter()
    out = ctx.run(event, state)
    elapsed = time.perf_counter() - start
    r = out.get_relation(7)
    return {"local_unit_data": dict(r.local_unit_data), "local_app_data": dict(r.local_app_data),
            "secrets": secrets_out(out), "available": AVAILABLE, "denied": DENIED, "elapsed": elapsed}


def run_provider(spec):
    CONFIG.update(ca_pem=spec["ca_pem"], ca_key_pem=spec["ca_key_pem"])
    units = {int(k): v for k, v in spec.get("remote_units_data", {}).items()}
    rel = testing.Relation(
        endpoint="certificates", id=7, remote_app_name="req",
        remote_units_data=units,
        remote_app_data=spec.get("remote_app_data") or {},
        local_app_data=spec.get("local_app_data") or {})
    state = testing.State(leader=spec.get("leader", True), relations={rel})
    ctx = testing.Context(PyProvider, meta=PROVIDER_META, app_name="ca")
    event = ctx.on.update_status() if spec.get("event") == "update_status" else ctx.on.relation_changed(rel, remote_unit=min(units) if units else None)
    start = time.perf_counter()
    out = ctx.run(event, state)
    elapsed = time.perf_counter() - start
    r = out.get_relation(7)
    return {"local_unit_data": dict(r.local_unit_data), "local_app_data": dict(r.local_app_data),
            "secrets": [], "available": [], "denied": [], "elapsed": elapsed}


def make_csr(spec):
    key = generate_private_key()
    csr = generate_csr(private_key=key, common_name=spec["cn"], sans_dns=frozenset(spec.get("sans_dns", [])),
                       sans_ip=frozenset(spec.get("sans_ip", [])), organization=spec.get("organization"))
    return {"csr": str(csr), "key": str(key)}


def make_ca(spec):
    key = generate_private_key()
    ca = generate_ca(private_key=key, validity=datetime.timedelta(days=365), common_name=spec.get("cn", "Py CA"))
    return {"ca_pem": str(ca), "ca_key_pem": str(key)}


def main():
    spec = json.load(sys.stdin)
    role = spec["role"]
    result = {"requirer": run_requirer, "provider": run_provider, "csr": make_csr, "ca": make_ca,
              "transfer-requirer": run_transfer_requirer}[role](spec)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
