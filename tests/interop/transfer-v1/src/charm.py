#!/usr/bin/env python3
"""certificate_transfer v1 requirer: the published CertificateTransferRequires, unmodified."""

import json

import ops
from charmlibs.interfaces.certificate_transfer import CertificateTransferRequires


class TransferV1Charm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.transfer = CertificateTransferRequires(self, "receive-ca-cert")
        framework.observe(self.on.get_certificates_action, self._on_get)
        framework.observe(self.on.collect_unit_status, self._on_status)

    def _on_get(self, event: ops.ActionEvent):
        event.set_results({"certificates": json.dumps(sorted(self.transfer.get_all_certificates()))})

    def _on_status(self, event: ops.CollectStatusEvent):
        event.add_status(ops.ActiveStatus(f"{len(self.transfer.get_all_certificates())} CAs"))


if __name__ == "__main__":
    ops.main(TransferV1Charm)
