#!/usr/bin/env python3
"""A tls-certificates requirer on the published charmlibs library, as charms use it.

It asks for one certificate (unit or app mode), reports it in its status, and returns it from
the get-certificate action. Renewal is the library's: it stores the certificate in a secret
expiring before the certificate does, and re-requests on secret-expired.
"""

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    Mode,
    TLSCertificatesRequiresV4,
)


class RequirerCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        mode = Mode.APP if self.config.get("mode") == "app" else Mode.UNIT
        self.certificates = TLSCertificatesRequiresV4(
            charm=self,
            relationship_name="certificates",
            certificate_requests=[CertificateRequestAttributes(common_name=self.config["common_name"])],
            mode=mode,
            refresh_events=[self.on.config_changed],
        )
        framework.observe(self.on.get_certificate_action, self._on_get_certificate)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_collect_status(self, event):
        if not self.model.get_relation("certificates"):
            event.add_status(ops.BlockedStatus("Missing relation to certificates provider"))
            return
        certs, _ = self.certificates.get_assigned_certificates()
        if certs:
            event.add_status(ops.ActiveStatus("certificate for " + str(certs[0].certificate.common_name)))
        else:
            event.add_status(ops.WaitingStatus("Waiting for certificate"))

    def _on_get_certificate(self, event):
        certs, key = self.certificates.get_assigned_certificates()
        if not certs:
            event.fail("no certificate yet")
            return
        cert = certs[0]
        event.set_results({
            "certificate": str(cert.certificate),
            "ca": str(cert.ca),
            "expiry": cert.certificate.expiry_time.isoformat() if cert.certificate.expiry_time else "",
        })


if __name__ == "__main__":
    ops.main(RequirerCharm)
