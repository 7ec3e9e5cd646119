#!/usr/bin/env python3
"""The Python ops twin of charms/example's reconcile on update-status, for the benchmark: the same
tool calls (config, leadership, two relation lists, the ports, the workload version, a status)."""
import ops


class Example(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        framework.observe(self.on.update_status, self._reconcile)

    def _reconcile(self, _event):
        port = int(self.config["port"])
        leader = self.unit.is_leader()
        peers = self.model.relations["cluster"]
        self.unit.set_ports(port)  # opened-ports, then open/close what differs
        self.unit.set_workload_version("0.1.0")
        _ = self.model.relations["website"]
        if leader or peers:
            self.unit.status = ops.ActiveStatus(f"serving on port {port}")
        else:
            self.unit.status = ops.WaitingStatus("waiting for the leader to share the token")


if __name__ == "__main__":
    ops.main(Example)
