#!/usr/bin/env python3
"""A CA kept exactly as the published self-signed-certificates charm keeps it (same secret labels
and content keys, CA from the PyPI library's generate_ca with the same arguments, certificates
from generate_certificate), and renewed as it renews it: when the active CA's secret expires, the
CA moves to `expiring-ca-certificates` (expiring after the certificate validity) and a new CA
becomes active, nothing revoked; `send-ca-cert` gets `add_certificates({active CA})`, a union
with what is already published. So refreshing it to our Rust charm can be tested."""

import logging
from datetime import datetime, timedelta

import ops
from charmlibs.interfaces.certificate_transfer import CertificateTransferProvides
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    PrivateKey,
    ProviderCertificate,
    TLSCertificatesProvidesV4,
    generate_ca,
    generate_certificate,
    generate_private_key,
)

logger = logging.getLogger(__name__)

ACTIVE_LABEL = "active-ca-certificates"
EXPIRING_LABEL = "expiring-ca-certificates"
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> timedelta:
    """`<int>` + m/h/d/w, a bare number meaning days (the published charm's syntax)."""
    text = text.strip()
    if text[-1:] in UNITS:
        return timedelta(**{UNITS[text[-1]]: int(text[:-1])})
    return timedelta(days=int(text))


class UpstreamLikeCA(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.tls = TLSCertificatesProvidesV4(self, "certificates")
        # The published charm's events (leader_elected added: the CA exists before any relation).
        for ev in (
            self.on.update_status,
            self.on.config_changed,
            self.on.leader_elected,
            self.on.secret_changed,
            self.on.secret_expired,
            self.on.certificates_relation_changed,
            self.on["send-ca-cert"].relation_joined,
        ):
            framework.observe(ev, self._configure)
        framework.observe(self.on.get_ca_certificate_action, self._on_get_ca)
        framework.observe(self.on.get_issued_certificates_action, self._on_get_issued)
        framework.observe(self.on.collect_unit_status, self._on_status)

    def _option(self, name: str) -> str | None:
        value = self.config.get(name)
        return str(value) if value else None

    def _ca(self) -> dict[str, str] | None:
        try:
            return self.model.get_secret(label=ACTIVE_LABEL).get_content(refresh=True)
        except ops.SecretNotFoundError:
            return None

    def _validities(self) -> tuple[timedelta, timedelta]:
        return (
            duration(self.config["root-ca-validity"]),
            duration(self.config["certificate-validity"]),
        )

    def _set_juju_secret(self, label: str, content: dict[str, str], expire: timedelta) -> None:
        """Create or update a secret, as the published charm does (new content, new expiry)."""
        try:
            secret = self.model.get_secret(label=label)
            secret.set_info(expire=datetime.now() + expire)
            secret.set_content(content)
        except ops.SecretNotFoundError:
            self.app.add_secret(content, label=label, expire=expire)

    def _generate_root_certificate(self) -> None:
        root_validity, validity = self._validities()
        key = generate_private_key()
        ca = generate_ca(
            private_key=key,
            common_name=self.config["ca-common-name"],
            organization=self._option("ca-organization"),
            organizational_unit=self._option("ca-organizational-unit"),
            email_address=self._option("ca-email-address"),
            country_name=self._option("ca-country-name"),
            state_or_province_name=self._option("ca-state-or-province-name"),
            locality_name=self._option("ca-locality-name"),
            validity=root_validity,
        )
        content = {"private-key": str(key), "ca-certificate": str(ca)}
        self._set_juju_secret(ACTIVE_LABEL, content, root_validity - validity)

    def _is_ca_cert_active(self) -> bool:
        """The published charm's test: the active CA's secret has not expired yet."""
        info = self.model.get_secret(label=ACTIVE_LABEL).get_info()
        if not info.expires:
            return False
        if info.expires.tzinfo is None:
            return info.expires > datetime.now()
        return info.expires > datetime.now(info.expires.tzinfo)

    def _configure(self, _: ops.EventBase):
        if not self.unit.is_leader():
            return
        content = self._ca()
        if content is None:
            self._generate_root_certificate()
            return
        if not self._is_ca_cert_active():
            # Renewal: the active CA moves to the expiring secret (expiry = certificate
            # validity, so it outlives every certificate it signed), a new CA becomes active.
            logger.info("Renewing CA certificate")
            _, validity = self._validities()
            self._set_juju_secret(EXPIRING_LABEL, content, validity)
            self._generate_root_certificate()
            return
        CertificateTransferProvides(self, "send-ca-cert").add_certificates(
            {content["ca-certificate"]}
        )
        _, validity = self._validities()
        ca = Certificate.from_string(content["ca-certificate"])
        ca_key = PrivateKey.from_string(content["private-key"])
        for request in self.tls.get_outstanding_certificate_requests():
            certificate = generate_certificate(
                csr=request.certificate_signing_request,
                ca=ca,
                ca_private_key=ca_key,
                validity=validity,
                is_ca=request.is_ca,
            )
            self.tls.set_relation_certificate(
                ProviderCertificate(
                    relation_id=request.relation_id,
                    certificate=certificate,
                    certificate_signing_request=request.certificate_signing_request,
                    ca=ca,
                    chain=[certificate, ca],
                )
            )

    def _on_get_ca(self, event: ops.ActionEvent):
        content = self._ca()
        if content is None:
            event.fail("Root Certificate is not yet generated")
            return
        event.set_results({"ca-certificate": content["ca-certificate"]})

    def _on_get_issued(self, event: ops.ActionEvent):
        certificates = self.tls.get_issued_certificates()
        if not certificates:
            event.fail("No certificates issued yet.")
            return
        event.set_results({"certificates": [c.to_json() for c in certificates]})

    def _on_status(self, event: ops.CollectStatusEvent):
        event.add_status(ops.ActiveStatus())


if __name__ == "__main__":
    ops.main(UpstreamLikeCA)
