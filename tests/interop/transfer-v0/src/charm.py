#!/usr/bin/env python3
"""certificate_transfer v0 requirer, hand-written (the PyPI package has no v0 requirer).

v0: the requirer says nothing; the provider writes `ca`, `certificate` and `chain` in its unit
databag. `ca`/`certificate` may be raw PEM (original v0 library) or JSON-quoted PEM (current
Python provider); `chain` is a JSON list of PEM.
"""

import json

import ops


def _pem(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith('"'):
        value = json.loads(value)
    return value.strip()


class TransferV0Charm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        framework.observe(self.on.get_certificates_action, self._on_get)
        framework.observe(self.on.collect_unit_status, self._on_status)

    def _received(self) -> dict:
        cas: set[str] = set()
        versions: set[str] = set()
        for rel in self.model.relations["receive-ca-cert"]:
            for unit in rel.units:
                bag = rel.data[unit]
                ca = _pem(bag.get("ca"))
                if ca:
                    cas.add(ca)
                if "version" in bag:
                    versions.add(bag["version"])
                for c in json.loads(bag.get("chain") or "[]"):
                    cas.add(c.strip())
        return {"certificates": sorted(cas), "versions": sorted(versions)}

    def _on_get(self, event: ops.ActionEvent):
        got = self._received()
        event.set_results(
            {"certificates": json.dumps(got["certificates"]), "versions": json.dumps(got["versions"])}
        )

    def _on_status(self, event: ops.CollectStatusEvent):
        event.add_status(ops.ActiveStatus(f"{len(self._received()['certificates'])} CAs"))


if __name__ == "__main__":
    ops.main(TransferV0Charm)
