#!/usr/bin/env python3
"""Interop requirer: the published TLSCertificatesRequiresV4, unmodified."""

import json
import logging

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateAvailableEvent,
    CertificateRequestAttributes,
    Mode,
    TLSCertificatesRequiresV4,
)

logger = logging.getLogger(__name__)

MODES = {"unit": Mode.UNIT, "app": Mode.APP, "app-and-unit": Mode.APP_AND_UNIT}


class RequirerCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        mode = MODES.get(str(self.config.get("mode", "unit")))
        if mode is None:
            self.unit.status = ops.BlockedStatus(f"bad mode {self.config.get('mode')!r}")
            return
        self.mode = mode
        count = max(1, int(self.config.get("count", 1)))
        unit_reqs = self._unit_requests(count)
        app_reqs = self._app_requests(count)
        if mode == Mode.APP_AND_UNIT:
            self.certificates = TLSCertificatesRequiresV4(
                self,
                "certificates",
                mode=mode,
                certificate_requests_by_mode={Mode.UNIT: unit_reqs, Mode.APP: app_reqs},
                refresh_events=[self.on.config_changed],
            )
        else:
            self.certificates = TLSCertificatesRequiresV4(
                self,
                "certificates",
                certificate_requests=unit_reqs if mode == Mode.UNIT else app_reqs,
                mode=mode,
                refresh_events=[self.on.config_changed],
            )
        framework.observe(self.certificates.on.certificate_available, self._on_available)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)
        framework.observe(self.on.get_certificates_action, self._on_get)
        framework.observe(self.on.renew_action, self._on_renew)
        framework.observe(self.on.regenerate_key_action, self._on_regenerate)

    def _address(self) -> str | None:
        try:
            binding = self.model.get_binding("certificates")
            if binding is not None and binding.network.bind_address is not None:
                return str(binding.network.bind_address)
        except (ops.ModelError, ops.RelationNotFoundError):
            pass
        return None

    def _unit_requests(self, count: int) -> list[CertificateRequestAttributes]:
        # The first request is exactly tls-demo's unit request (so a refresh keeps it).
        name = self.unit.name.replace("/", "-")
        domain = str(self.config.get("domain", "")).strip(".")
        # Under a domain (names an ACME CA validates), no IP address: as tls-demo's `domain`.
        address = None if domain else self._address()
        reqs = []
        for i in range(count):
            cn = name if i == 0 else f"{name}-{i}"
            cn = f"{cn}.{domain}" if domain else cn
            reqs.append(
                CertificateRequestAttributes(
                    common_name=cn,
                    sans_dns=[cn],
                    sans_ip=[address] if address and i == 0 else None,
                )
            )
        return reqs

    def _app_requests(self, count: int) -> list[CertificateRequestAttributes]:
        name = self.app.name
        domain = str(self.config.get("domain", "")).strip(".")
        reqs = []
        for i in range(count):
            cn = name if i == 0 else f"{name}-{i}"
            cn = f"{cn}.{domain}" if domain else cn
            reqs.append(CertificateRequestAttributes(common_name=cn, sans_dns=[cn]))
        return reqs

    def _held(self) -> list[dict]:
        out = []
        scopes = [Mode.UNIT, Mode.APP] if self.mode == Mode.APP_AND_UNIT else [self.mode]
        for scope in scopes:
            if scope == Mode.APP and not self.unit.is_leader():
                continue
            certs, key = self.certificates.get_assigned_certificates(
                mode=scope if self.mode == Mode.APP_AND_UNIT else None
            )
            for c in certs:
                out.append(
                    {
                        "scope": "app" if scope == Mode.APP else "unit",
                        "common-name": c.certificate.common_name,
                        "csr": str(c.certificate_signing_request),
                        "certificate": str(c.certificate),
                        "ca": str(c.ca),
                        "chain": [str(x) for x in c.chain],
                        "revoked": bool(c.revoked),
                        "key-matches": bool(key and c.certificate.matches_private_key(key)),
                        "private-key-sha256": _sha(str(key)) if key else None,
                    }
                )
        return out

    def _on_available(self, event: CertificateAvailableEvent):
        logger.info("certificate available: %s", event.certificate.common_name)

    def _on_collect_status(self, event: ops.CollectStatusEvent):
        held = self._held()
        event.add_status(ops.ActiveStatus(f"{len(held)} certificates"))

    def _on_get(self, event: ops.ActionEvent):
        event.set_results({"certificates": json.dumps(self._held())})

    def _on_renew(self, event: ops.ActionEvent):
        held = []
        scopes = [Mode.UNIT, Mode.APP] if self.mode == Mode.APP_AND_UNIT else [self.mode]
        for scope in scopes:
            if scope == Mode.APP and not self.unit.is_leader():
                continue
            certs, _ = self.certificates.get_assigned_certificates(
                mode=scope if self.mode == Mode.APP_AND_UNIT else None
            )
            held.extend(certs)
        for c in held:
            self.certificates.renew_certificate(c)
        event.set_results({"renewed": len(held)})

    def _on_regenerate(self, event: ops.ActionEvent):
        self.certificates.regenerate_private_key()
        event.set_results({"regenerated": "yes"})


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


if __name__ == "__main__":
    ops.main(RequirerCharm)
