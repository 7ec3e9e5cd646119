#!/usr/bin/env python3
"""Hello TLS: one certificate per unit over tls-certificates, on the published Python library.

The "before" of docs/migrating-from-python.md; ../hello-tls is the same charm in Rust.
"""

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    Mode,
    TLSCertificatesRequiresV4,
)


class HelloTls(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        name = f"hello-{self.unit.name.split('/')[1]}.example"
        self.request = CertificateRequestAttributes(common_name=name, sans_dns=[name])
        self.tls = TLSCertificatesRequiresV4(
            self,
            "certificates",
            certificate_requests=[self.request],
            mode=Mode.UNIT,
            refresh_events=[self.on.config_changed],
        )
        framework.observe(self.on.collect_unit_status, self._on_collect_status)
        framework.observe(self.on.get_certificate_action, self._on_get_certificate)

    def _on_collect_status(self, event: ops.CollectStatusEvent):
        assigned, _ = self.tls.get_assigned_certificate(self.request)
        if assigned is None:
            event.add_status(ops.WaitingStatus("waiting for a certificate"))
            return
        cert = assigned.certificate
        expires = cert.expiry_time.strftime("%Y-%m-%d")
        event.add_status(ops.ActiveStatus(f"certificate for {cert.common_name}, expires {expires}"))

    def _on_get_certificate(self, event: ops.ActionEvent):
        assigned, _ = self.tls.get_assigned_certificate(self.request)
        if assigned is None:
            event.fail("no certificate yet")
            return
        event.set_results({
            "certificate": str(assigned.certificate),
            "ca": str(assigned.ca),
            "chain": "\n\n".join(str(c) for c in assigned.chain),
        })


if __name__ == "__main__":
    ops.main(HelloTls)
