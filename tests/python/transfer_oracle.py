"""Drives the published Python certificate_transfer library (charmlibs 1.1.0) through ops.testing.

A differential oracle for `crates/tls-interfaces/tests/it/python.rs`: the Rust tests give it
relation data and calls, it runs each call in its own hook of a small charm built on the PyPI
library, and prints what the library wrote or answered. Input (stdin) and output (stdout) are JSON.

input:
  role: "provider" | "requirer"
  leader: bool (default true)
  relations: [{id, remote_app, remote_app_data, remote_units_data {n: bag}, local_app_data,
               local_unit_data}]
  provider: steps [{call: "add", certificates: [pem], relation_id?} | {call: "remove",
            certificate, relation_id?} | {call: "remove_all", relation_id?}], run in order, one
            hook each, the state carried from one to the next.
  requirer: queries [{call: "certificates", relation_id?} | {call: "by_relation"} |
            {call: "is_ready", relation_id}], all answered in one update-status hook.
output:
  provider: steps [{relations {id: {local_app_data, local_unit_data}}, error}]
  requirer: answers [sorted list | {id: sorted list} | bool | {"error": text}]
"""

import json
import sys

import ops
from ops import testing
from charmlibs.interfaces.certificate_transfer import (
    CertificateTransferProvides,
    CertificateTransferRequires,
)

PROVIDER_META = {"name": "ca", "provides": {"send-ca-cert": {"interface": "certificate_transfer"}}}
REQUIRER_META = {"name": "client",
                 "requires": {"receive-ca-cert": {"interface": "certificate_transfer"}}}
STEP = {}


class PyProvider(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.transfer = CertificateTransferProvides(self, "send-ca-cert")
        self.framework.observe(self.on.update_status, self._on_update_status)

    def _on_update_status(self, _):
        step = STEP["step"]
        relation_id = step.get("relation_id")
        if step["call"] == "add":
            self.transfer.add_certificates(set(step["certificates"]), relation_id)
        elif step["call"] == "remove":
            self.transfer.remove_certificate(step["certificate"], relation_id)
        elif step["call"] == "remove_all":
            self.transfer.remove_all_certificates(relation_id)
        else:
            raise ValueError(f"unknown call {step['call']}")


class PyRequirer(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.transfer = CertificateTransferRequires(self, "receive-ca-cert")


def relations(spec, endpoint):
    out = []
    for r in spec.get("relations", []):
        units = {int(k): v for k, v in (r.get("remote_units_data") or {}).items()}
        kwargs = {}
        if "local_unit_data" in r:
            kwargs["local_unit_data"] = r["local_unit_data"]
        out.append(testing.Relation(
            endpoint=endpoint, id=r["id"], remote_app_name=r.get("remote_app", "remote"),
            remote_app_data=r.get("remote_app_data") or {},
            local_app_data=r.get("local_app_data") or {},
            remote_units_data=units, **kwargs))
    return out


def run_provider(spec):
    state = testing.State(leader=spec.get("leader", True),
                          relations=relations(spec, "send-ca-cert"))
    ctx = testing.Context(PyProvider, meta=PROVIDER_META, app_name="ca")
    results = []
    for step in spec["steps"]:
        STEP["step"] = step
        error = None
        try:
            state = ctx.run(ctx.on.update_status(), state)
        except Exception as e:  # the library's own failure is an answer too
            error = f"{type(e).__name__}: {e}"
        bags = {str(r.id): {"local_app_data": dict(r.local_app_data),
                            "local_unit_data": dict(r.local_unit_data)}
                for r in state.relations}
        results.append({"relations": bags, "error": error})
    return {"steps": results}


def answer(transfer, model, query):
    call = query["call"]
    try:
        if call == "certificates":
            return sorted(transfer.get_all_certificates(query.get("relation_id")))
        if call == "by_relation":
            by_relation = transfer.get_all_certificates_by_relation()
            return {str(k): list(v) for k, v in by_relation.items()}
        if call == "is_ready":
            relation = model.get_relation("receive-ca-cert", query["relation_id"])
            return transfer.is_ready(relation)
        raise ValueError(f"unknown call {call}")
    except Exception as e:
        cause = e.__cause__ or e.__context__
        return {"error": f"{type(e).__name__}: {e}",
                "cause": f"{type(cause).__name__}: {cause}" if cause else None}


def run_requirer(spec):
    state = testing.State(leader=spec.get("leader", True),
                          relations=relations(spec, "receive-ca-cert"))
    ctx = testing.Context(PyRequirer, meta=REQUIRER_META, app_name="client")
    with ctx(ctx.on.update_status(), state) as manager:
        charm = manager.charm
        answers = [answer(charm.transfer, charm.model, q) for q in spec["queries"]]
        manager.run()
    return {"answers": answers}


def main():
    spec = json.load(sys.stdin)
    result = {"provider": run_provider, "requirer": run_requirer}[spec["role"]](spec)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
