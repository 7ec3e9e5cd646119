#!/usr/bin/env python3
"""A provider of the reactive tls-certificates wire, as the easyrsa charm is one.

Our own code, written from the wire's description (shared/interfaces.md, the reactive section).
The leader keeps a CA in an app-owned secret and, in its unit bag on every relation:

- publishes `ca` and `chain` (the CA certificate) as soon as the relation exists, before any
  request, as easyrsa does;
- for each requiring unit that speaks the reactive wire (`<u>` = its `unit_name`, or its Juju
  name, with `/` replaced by `_`): the top-level request (`common_name`, `sans`) answered in
  `<u>.server.cert` / `<u>.server.key`; `cert_requests` in `<u>.processed_requests` and
  `client_cert_requests` in `<u>.processed_client_requests`, JSON
  `{"<common name>": {"cert": PEM, "key": PEM}}`.

The keys are made here (RSA 2048, traditional PEM, as easy-rsa writes them) and sent over the
relation. A published answer is kept while it still fits (same names, same CA), so a hook that
changes nothing changes nothing. A value that is not JSON, of the wrong shape, or a request type
this provider does not know is refused with a warning naming the unit and the key; everything
else is served.
"""

import datetime
import ipaddress
import json
import logging

import ops
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

CA_LABEL = "reactive-provider-ca"
ENDPOINT = "certificates"
# Request collections and the provider key that answers each.
SERVED = {
    "cert_requests": ("server", "processed_requests"),
    "client_cert_requests": ("client", "processed_client_requests"),
}
# Types the wire defines that this test provider does not serve.
NOT_SERVED = ("application_cert_requests", "intermediate_cert_requests")
REQUESTER_KEYS = ("unit_name", "common_name")
PROVIDER_SUFFIXES = (
    ".server.cert",
    ".server.key",
    ".processed_requests",
    ".processed_client_requests",
    ".processed_application_requests",
    ".processed_intermediate_requests",
)


class Refused(Exception):
    """One key (or one entry of it) of a requiring unit's bag that is not served."""


def _now():
    # The hook runs under the model's clock (libfaketime), so this is the model's time.
    return datetime.datetime.now(datetime.timezone.utc)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode().strip()


def _sans_of(value, key):
    """A JSON list of names (or null): sorted, each once."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise Refused("key '{}': \"sans\" must be a list of strings".format(key))
    return sorted({s.strip() for s in value if s.strip()})


def _load_json(bag, key):
    try:
        return json.loads(bag[key])
    except ValueError as e:
        raise Refused("key '{}': invalid JSON: {}".format(key, e)) from None


def read_requests(bag, refuse):
    """The requests of one unit bag: [(kind, common name, sans, top level)]."""
    out = []
    top = (bag.get("common_name") or "").strip()
    if top:
        try:
            sans = _sans_of(_load_json(bag, "sans") if bag.get("sans") else [], "sans")
            out.append(("server", top, sans, True))
        except Refused as e:
            refuse(str(e))
    for key in sorted(bag):
        if not key.endswith("cert_requests"):
            continue
        if key in NOT_SERVED:
            refuse("key '{}': not served by this test provider".format(key))
            continue
        if key not in SERVED:
            refuse("key '{}': unknown request type".format(key))
            continue
        kind = SERVED[key][0]
        try:
            requests = _load_json(bag, key)
        except Refused as e:
            refuse(str(e))
            continue
        if requests is None:
            continue
        if not isinstance(requests, dict):
            refuse("key '{}': expected a JSON object {{common name: {{\"sans\": [...]}}}}".format(key))
            continue
        for cn, entry in sorted(requests.items()):
            if kind == "server" and cn == top:
                continue  # the top-level request again: answered there
            if not cn.strip() or not isinstance(entry, dict) or "sans" not in entry:
                refuse("key '{}', common name '{}': expected {{\"sans\": [...]}}".format(key, cn))
                continue
            try:
                out.append((kind, cn, _sans_of(entry["sans"], key), False))
            except Refused as e:
                refuse("{} (common name '{}')".format(e, cn))
    return out


def _general_names(names):
    out = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


class ReactiveProviderCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        for ev in (
            self.on[ENDPOINT].relation_joined,
            self.on[ENDPOINT].relation_changed,
            self.on[ENDPOINT].relation_departed,
            self.on.leader_elected,
            self.on.config_changed,
            self.on.update_status,
        ):
            framework.observe(ev, self._serve)
        framework.observe(self.on.get_ca_action, self._on_get_ca)

    def _ca(self):
        """(certificate, key) of the CA, kept in an app-owned secret; made by the leader."""
        try:
            content = self.model.get_secret(label=CA_LABEL).get_content(refresh=True)
        except ops.SecretNotFoundError:
            if not self.unit.is_leader():
                return None
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reactive test CA")])
            ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(_now() - datetime.timedelta(minutes=5))
                .not_valid_after(_now() + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(ski, critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                    critical=False,
                )
                .sign(key, hashes.SHA256())
            )
            content = {
                "cert": _pem(cert),
                "key": key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
            }
            self.app.add_secret(content, label=CA_LABEL)
        cert = x509.load_pem_x509_certificate(content["cert"].encode())
        key = serialization.load_pem_private_key(content["key"].encode(), password=None)
        return cert, key

    def _issue(self, ca, kind, cn, names):
        """A new key and a certificate for it: {"cert": PEM, "key": PEM}."""
        ca_cert, ca_key = ca
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        return {"cert": _pem(cert), "key": key_pem.strip()}

    @staticmethod
    def _fits(ca, pair, cn, names):
        """Whether a published answer is still right: same CA, same names, its own key."""
        if not isinstance(pair, dict) or not pair.get("cert") or not pair.get("key"):
            return False
        try:
            cert = x509.load_pem_x509_certificate(pair["cert"].encode())
            key = serialization.load_pem_private_key(pair["key"].encode(), password=None)
            ca[0].public_key().verify(
                cert.signature,
                cert.tbs_certificate_bytes,
                ec.ECDSA(cert.signature_hash_algorithm),
            )
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            return False
        cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return (
            cns == [cn]
            and set(sans) == set(_general_names(names))
            and cert.public_key().public_numbers() == key.public_key().public_numbers()
        )

    def _answer(self, ca, kind, cn, sans, published):
        names = sans or [cn]  # a certificate without a SAN fails every hostname check
        if self._fits(ca, published, cn, names):
            return published
        logger.info("issuing a %s certificate for %s (key made here)", kind, cn)
        return self._issue(ca, kind, cn, names)

    def _serve(self, _event):
        if not self.unit.is_leader():
            return
        ca = self._ca()
        if ca is None:
            return
        ca_pem = _pem(ca[0])
        units = served = refused = 0
        for relation in self.model.relations[ENDPOINT]:
            own = relation.data[self.unit]
            wanted = {"ca": ca_pem, "chain": ca_pem}
            for unit in sorted(relation.units, key=lambda u: u.name):
                bag = dict(relation.data[unit])
                if not any(k in bag for k in REQUESTER_KEYS) and not any(
                    k.endswith("cert_requests") for k in bag
                ):
                    continue  # not on the reactive wire

                def refuse(reason, unit=unit, relation=relation):
                    nonlocal refused
                    refused += 1
                    logger.warning(
                        "refused from unit %s (relation %s:%d): %s",
                        unit.name, ENDPOINT, relation.id, reason,
                    )

                units += 1
                wire = (bag.get("unit_name") or unit.name).replace("/", "_")
                processed = {"processed_requests": {}, "processed_client_requests": {}}
                for kind, cn, sans, top in read_requests(bag, refuse):
                    if top:
                        published = {
                            "cert": own.get(wire + ".server.cert"),
                            "key": own.get(wire + ".server.key"),
                        }
                        pair = self._answer(ca, kind, cn, sans, published)
                        wanted[wire + ".server.cert"] = pair["cert"]
                        wanted[wire + ".server.key"] = pair["key"]
                    else:
                        suffix = "processed_requests" if kind == "server" else "processed_client_requests"
                        try:
                            before = json.loads(own.get(wire + "." + suffix) or "{}")
                        except ValueError:
                            before = {}
                        published = before.get(cn) if isinstance(before, dict) else None
                        processed[suffix][cn] = self._answer(ca, kind, cn, sans, published)
                    served += 1
                for suffix, entries in processed.items():
                    if entries:
                        wanted[wire + "." + suffix] = json.dumps(entries, sort_keys=True)
            for key in list(own.keys()):
                if key.endswith(PROVIDER_SUFFIXES) and key not in wanted:
                    del own[key]
            for key, value in wanted.items():
                if own.get(key) != value:
                    own[key] = value
        message = "reactive wire: {} certificates for {} unit(s), keys made here".format(served, units)
        if refused:
            message += ", {} refused (see the log)".format(refused)
        self.unit.status = ops.ActiveStatus(message)

    def _on_get_ca(self, event: ops.ActionEvent):
        ca = self._ca()
        event.set_results({"ca": _pem(ca[0]) if ca else ""})


if __name__ == "__main__":
    ops.main(ReactiveProviderCharm)
