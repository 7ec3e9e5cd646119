#!/usr/bin/env python3
"""Interop provider: the published TLSCertificatesProvidesV4 and its signing helper."""

import json
import logging
from datetime import timedelta

import ops
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    PrivateKey,
    ProviderCertificate,
    TLSCertificatesProvidesV4,
)

logger = logging.getLogger(__name__)

CA_LABEL = "interop-ca"


class ProviderCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.certificates = TLSCertificatesProvidesV4(self, "certificates")
        for ev in (
            self.on.certificates_relation_changed,
            self.on.certificates_relation_joined,
            self.on.leader_elected,
            self.on.config_changed,
            self.on.update_status,
        ):
            framework.observe(ev, self._sign_outstanding)
        framework.observe(self.on.revoke_all_action, self._on_revoke_all)
        framework.observe(self.on.get_ca_action, self._on_get_ca)
        framework.observe(self.on.get_issued_action, self._on_get_issued)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _ca(self) -> dict[str, str] | None:
        """The CA (kept in an app-owned secret); made by the leader on first use."""
        try:
            return self.model.get_secret(label=CA_LABEL).get_content(refresh=True)
        except ops.SecretNotFoundError:
            pass
        if not self.unit.is_leader():
            return None
        root_key = PrivateKey.generate()
        root = Certificate.generate_self_signed_ca(
            CertificateRequestAttributes(common_name="interop python root CA"),
            root_key,
            timedelta(days=365),
        )
        content = {"root-key": str(root_key), "root": str(root)}
        if self.config.get("intermediate"):
            key = PrivateKey.generate()
            csr = CertificateRequestAttributes(
                common_name="interop python intermediate CA",
                is_ca=True,
                add_unique_id_to_subject_name=False,
            ).generate_csr(key)
            inter = csr.sign(root, root_key, timedelta(days=300), is_ca=True)
            content.update({"key": str(key), "cert": str(inter)})
        else:
            content.update({"key": str(root_key), "cert": str(root)})
        self.app.add_secret(content, label=CA_LABEL)
        return content

    def _sign_outstanding(self, _: ops.EventBase):
        if not self.unit.is_leader():
            return
        ca = self._ca()
        if ca is None:
            return
        ca_cert = Certificate.from_string(ca["cert"])
        root = Certificate.from_string(ca["root"])
        chain_tail = [ca_cert] if ca["cert"] == ca["root"] else [ca_cert, root]
        validity = timedelta(days=int(self.config.get("certificate-validity-days", 90)))
        for req in self.certificates.get_outstanding_certificate_requests():
            cert = req.certificate_signing_request.sign(
                ca_cert, PrivateKey.from_string(ca["key"]), validity, is_ca=req.is_ca
            )
            self.certificates.set_relation_certificate(
                ProviderCertificate(
                    relation_id=req.relation_id,
                    certificate=cert,
                    certificate_signing_request=req.certificate_signing_request,
                    ca=ca_cert,
                    chain=[cert, *chain_tail],
                )
            )
            logger.info("signed %s", cert.common_name)

    def _on_revoke_all(self, event: ops.ActionEvent):
        self.certificates.revoke_all_certificates()
        event.set_results({"revoked": "yes"})

    def _on_get_ca(self, event: ops.ActionEvent):
        ca = self._ca() or {}
        event.set_results({"ca": ca.get("cert", ""), "root": ca.get("root", "")})

    def _on_get_issued(self, event: ops.ActionEvent):
        issued = [
            {
                "relation-id": c.relation_id,
                "common-name": c.certificate.common_name,
                "revoked": bool(c.revoked),
            }
            for c in self.certificates.get_issued_certificates()
        ]
        event.set_results({"certificates": json.dumps(issued)})

    def _on_collect_status(self, event: ops.CollectStatusEvent):
        n = len(self.certificates.get_issued_certificates()) if self.unit.is_leader() else 0
        event.add_status(ops.ActiveStatus(f"issued {n}"))


if __name__ == "__main__":
    ops.main(ProviderCharm)
