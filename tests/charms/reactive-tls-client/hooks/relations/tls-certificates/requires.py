"""The requires side of the reactive tls-certificates wire, as a charms.reactive Endpoint.

Our own code, written from the wire's description (shared/interfaces.md and the
interface-tls-certificates layer's documented behaviour). What this unit writes in its unit
databag:

- `unit_name`: the unit's name with `/` replaced by `_`;
- the first server request in `common_name`, `sans` (JSON) and `certificate_name`, later ones
  in `cert_requests`, client requests in `client_cert_requests` (JSON objects
  `{cn: {"sans": [...]}}`).

What it reads from the provider units (merged: the first unit holding a key wins): `ca`,
`chain`, `<u>.server.cert` / `<u>.server.key`, `<u>.processed_requests` and
`<u>.processed_client_requests` (`{cn: {"cert", "key"}}`).

Flags, as the layer's interface sets them: `{endpoint}.available`, `.ca.available`,
`.ca.changed`, `.server.certs.available`, `.server.certs.changed`, `.client.certs.available`,
`.client.certs.changed`, `.certs.available`, `.certs.changed`.
"""

import hashlib
import uuid

from charmhelpers.core import hookenv
from charms.reactive import Endpoint, clear_flag, data_changed, set_flag, toggle_flag, when, when_not


class Certificate(dict):
    """A certificate and its key as the provider sent them."""

    def __init__(self, cert_type, common_name, cert, key):
        super().__init__(cert_type=cert_type, common_name=common_name, cert=cert, key=key)

    @property
    def cert(self):
        return self["cert"]

    @property
    def key(self):
        return self["key"]


class TlsRequires(Endpoint):
    @when("endpoint.{endpoint_name}.joined")
    def joined(self):
        self.relations[0].to_publish_raw["unit_name"] = self._wire_name
        prefix = self.expand_name("{endpoint_name}.")
        ca = self.root_ca_cert
        servers = self.server_certs_map
        clients = self.client_certs_map
        ca_changed = bool(ca) and data_changed(prefix + "ca", ca)
        servers_changed = bool(servers) and data_changed(prefix + "servers", servers)
        clients_changed = bool(clients) and data_changed(prefix + "clients", clients)
        set_flag(prefix + "available")
        toggle_flag(prefix + "ca.available", bool(ca))
        toggle_flag(prefix + "ca.changed", ca_changed)
        toggle_flag(prefix + "server.certs.available", bool(servers))
        toggle_flag(prefix + "server.certs.changed", servers_changed)
        toggle_flag(prefix + "client.certs.available", bool(clients))
        toggle_flag(prefix + "client.certs.changed", clients_changed)
        toggle_flag(prefix + "certs.available", bool(servers or clients))
        toggle_flag(prefix + "certs.changed", servers_changed or clients_changed)

    @when_not("endpoint.{endpoint_name}.joined")
    def broken(self):
        prefix = self.expand_name("{endpoint_name}.")
        for name in (
            "available",
            "ca.available",
            "ca.changed",
            "server.certs.available",
            "server.certs.changed",
            "client.certs.available",
            "client.certs.changed",
            "certs.available",
            "certs.changed",
        ):
            clear_flag(prefix + name)

    @property
    def _wire_name(self):
        return hookenv.local_unit().replace("/", "_")

    @property
    def root_ca_cert(self):
        return self.all_joined_units.received_raw["ca"]

    @property
    def root_ca_chain(self):
        return self.all_joined_units.received_raw["chain"]

    @property
    def server_certs_map(self):
        """Server certificates by common name: the top-level one, then the collection."""
        out = {}
        if not self.relations:
            return out
        raw = self.all_joined_units.received_raw
        top = self.relations[0].to_publish_raw["common_name"]
        cert = raw["{}.server.cert".format(self._wire_name)]
        key = raw["{}.server.key".format(self._wire_name)]
        if top and cert and key:
            out[top] = Certificate("server", top, cert, key)
        for cn, pair in self._processed("processed_requests").items():
            out.setdefault(cn, Certificate("server", cn, pair["cert"], pair["key"]))
        return out

    @property
    def client_certs_map(self):
        return {
            cn: Certificate("client", cn, pair["cert"], pair["key"])
            for cn, pair in self._processed("processed_client_requests").items()
        }

    def _processed(self, suffix):
        field = "{}.{}".format(self._wire_name, suffix)
        value = self.all_joined_units.received[field] or {}
        if not isinstance(value, dict):
            hookenv.log("ignoring {}: not a JSON object".format(field), hookenv.WARNING)
            return {}
        return {
            cn: pair
            for cn, pair in value.items()
            if isinstance(pair, dict) and pair.get("cert") and pair.get("key")
        }

    def request_server_cert(self, cn, sans=None):
        """Asks for a server certificate; the same common name again updates its SANs."""
        if not self.relations:
            return
        raw = self.relations[0].to_publish_raw
        data = self.relations[0].to_publish
        if raw["common_name"] in (None, "", cn):
            raw["common_name"] = cn
            data["sans"] = sorted(set(sans or []))
            if not raw["certificate_name"]:
                # Stable across hooks: derived from the unit and common name.
                digest = hashlib.sha256("{}/{}".format(self._wire_name, cn).encode()).digest()
                raw["certificate_name"] = str(uuid.UUID(bytes=digest[:16]))
        else:
            requests = data.get("cert_requests") or {}
            requests[cn] = {"sans": sorted(set(sans or []))}
            data["cert_requests"] = requests

    def request_client_cert(self, cn, sans=None):
        """Asks for a client certificate; the same common name again updates its SANs."""
        if not self.relations:
            return
        data = self.relations[0].to_publish
        requests = data.get("client_cert_requests") or {}
        requests[cn] = {"sans": sorted(set(sans or []))}
        data["client_cert_requests"] = requests
