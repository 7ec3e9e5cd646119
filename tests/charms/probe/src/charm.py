#!/usr/bin/env python3
"""Test charm of the juju-tls local model: exercises hook tools through real, unmodified ops.

Deployed twice from the same code: as a provider (`data`) and as a requirer (`source`). It
records what it saw in StoredState; the `dump` action returns it, so tests check the model's
behaviour through the public ops API only.
"""

import datetime
import json
import os
import subprocess
import sys
import time

import ops


def plain(value):
    """StoredState containers as plain JSON-able values."""
    if isinstance(value, (dict, ops.framework.StoredDict)):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, ops.framework.StoredList)):
        return [plain(v) for v in value]
    return value


class ProbeCharm(ops.CharmBase):
    _stored = ops.StoredState()

    def __init__(self, framework):
        super().__init__(framework)
        self._stored.set_default(events=[], replies={}, secret_content={}, secret_changed=[],
                                 expired=[], removed=[], update_status=0, leader_elected=0)
        for name, ev in self.on.events().items():
            if name in ("collect_metrics", "collect_app_status", "collect_unit_status", "pre_commit", "commit"):
                continue
            if name.endswith("_action"):
                continue
            if isinstance(ev, ops.framework.BoundEvent):
                framework.observe(ev, self._on_any)
        for action in ("dump", "rotate_shared", "add_expiring", "renew_expiring", "fail_action",
                       "app_write", "start_workload", "workload_time", "greet", "tools"):
            framework.observe(getattr(self.on, action + "_action"), getattr(self, "_" + action))

    # ---- events ---------------------------------------------------------------------------

    def _event_name(self, event):
        return os.environ.get("JUJU_HOOK_NAME", "")

    def _on_any(self, event):
        hook = self._event_name(event)
        if not hook:
            return
        entry = hook
        if isinstance(event, ops.RelationEvent):
            entry += " remote=" + (event.unit.name if event.unit else "")
        self._stored.events.append(entry)
        if self.config.get("hang-hook") == hook:
            time.sleep(3600)
        if isinstance(event, ops.RelationEvent):
            self._relation_event(event, hook)
        elif isinstance(event, ops.SecretChangedEvent):
            content = event.secret.get_content(refresh=True)
            self._stored.secret_changed.append({"revision": os.environ.get("JUJU_SECRET_REVISION"),
                                                "label": event.secret.label or "",
                                                "content": content})
        elif isinstance(event, ops.SecretExpiredEvent):
            self._stored.expired.append({"label": event.secret.label, "revision": event.revision})
            event.secret.remove_revision(event.revision)
        elif isinstance(event, ops.SecretRemoveEvent):
            self._stored.removed.append(event.revision)
            event.secret.remove_revision(event.revision)
        elif hook == "update-status":
            self._stored.update_status += 1
        elif hook == "leader-elected":
            self._stored.leader_elected += 1
        if self.config.get("fail-hook") == hook:
            # Writes made before the failure must be rolled back by the model.
            for rel in self.model.relations.get("data", []) + self.model.relations.get("source", []):
                rel.data[self.unit]["doomed"] = "yes"
            self.unit.add_secret({"doomed": "value"}, label="doomed")
            raise RuntimeError("failing on purpose in " + hook)
        cfg = self.config
        self.unit.status = ops.ActiveStatus(
            "{} {}:{} {}:{} {}:{}".format(cfg["greeting"], cfg["count"], type(cfg["count"]).__name__,
                                        cfg["ratio"], type(cfg["ratio"]).__name__,
                                        cfg["enabled"], type(cfg["enabled"]).__name__))

    def _relation_event(self, event, hook):
        rel = event.relation
        if hook.endswith("relation-broken"):
            return
        if rel.name == "source" and hook.endswith(("relation-joined", "relation-changed", "relation-created")):
            rel.data[self.unit]["request"] = self.unit.name
            reply = rel.data[rel.app].get("reply") if rel.app else None
            if reply:
                self._stored.replies[str(rel.id)] = reply
            secret_id = rel.data[rel.app].get("secret-id") if rel.app else None
            if secret_id:
                secret = self.model.get_secret(id=secret_id, label="consumer-shared")
                self._stored.secret_content = dict(secret.get_content())
        if rel.name == "data" and self.unit.is_leader():
            requests = sorted(rel.data[u].get("request", "") for u in rel.units)
            rel.data[self.app]["reply"] = "hello " + ",".join(r for r in requests if r)
            if "secret-id" not in rel.data[self.app]:
                try:
                    secret = self.model.get_secret(label="shared")
                except ops.SecretNotFoundError:
                    secret = self.app.add_secret({"token": "v1"}, label="shared")
                secret.grant(rel)
                rel.data[self.app]["secret-id"] = secret.id

    # ---- actions --------------------------------------------------------------------------

    def _dump(self, event):
        rels = {}
        for name in ("data", "source", "cluster"):
            for rel in self.model.relations.get(name, []):
                rels[f"{name}:{rel.id}"] = {
                    "units": sorted(u.name for u in rel.units),
                    "app": rel.app.name if rel.app else "",
                    "unit-data": dict(rel.data[self.unit]),
                    "remote-app-data": dict(rel.data[rel.app]) if rel.app and rel.app != self.app else {},
                }
        state = {
            "unit": self.unit.name,
            "leader": self.unit.is_leader(),
            "config": dict(self.config),
            "relations": rels,
            "events": list(self._stored.events),
            "replies": dict(self._stored.replies),
            "secret-content": dict(self._stored.secret_content),
            "secret-changed": plain(self._stored.secret_changed),
            "expired": plain(self._stored.expired),
            "removed": list(self._stored.removed),
            "update-status": self._stored.update_status,
            "leader-elected": self._stored.leader_elected,
            "juju-version": str(self.model.juju_version),
            "ops-version": ops.__version__,
            "address": str(self.model.get_binding("data").network.bind_address),
            "metrics-address": str(self.model.get_binding("metrics").network.bind_address),
            "now": time.time(),
        }
        try:
            state["doomed-secret"] = bool(self.model.get_secret(label="doomed"))
        except ops.SecretNotFoundError:
            state["doomed-secret"] = False
        event.set_results({"state": json.dumps(state, sort_keys=True)})

    def _rotate_shared(self, event):
        secret = self.model.get_secret(label="shared")
        secret.set_content({"token": event.params["value"]})
        event.set_results({"done": "yes"})

    def _add_expiring(self, event):
        expire = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        secret = self.app.add_secret({"payload": "soon-gone"}, label="expiring", expire=expire)
        info = secret.get_info()
        event.set_results({"id": secret.id or "", "expires": info.expires.isoformat() if info.expires else ""})

    def _renew_expiring(self, event):
        try:
            secret = self.model.get_secret(label="renewed")
        except ops.SecretNotFoundError:
            self.app.add_secret({"payload": "first"}, label="renewed")
            event.set_results({"done": "created"})
            return
        secret.set_info(
            expire=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
        )
        secret.set_content({"payload": "renewed"})
        event.set_results({"done": "renewed"})

    def _fail_action(self, event):
        event.log("about to fail")
        event.set_results({"partial": "yes"})
        event.fail("intentional failure")

    def _app_write(self, event):
        rel = (self.model.relations.get("data") or self.model.relations.get("source"))[0]
        try:
            rel.data[self.app]["from-" + self.unit.name.replace("/", "-")] = "x"
            event.set_results({"outcome": "ok"})
        except Exception as e:  # noqa: BLE001 - the test wants the class whatever it is
            event.set_results({"outcome": type(e).__name__})

    def _start_workload(self, event):
        out = os.path.join(self.charm_dir, "workload.time")
        log = open(os.path.join(self.charm_dir, "workload.log"), "a")
        code = ("import time\n"
                "while True:\n"
                f"    open({out!r} + '.tmp', 'w').write(repr(time.time()))\n"
                f"    __import__('os').replace({out!r} + '.tmp', {out!r})\n"
                "    time.sleep(0.1)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True)
        with open(os.path.join(self.charm_dir, "workload.pid"), "w") as f:
            f.write(str(proc.pid))
        event.set_results({"pid": str(proc.pid)})

    def _workload_time(self, event):
        path = os.path.join(self.charm_dir, "workload.time")
        for _ in range(50):
            if os.path.exists(path):
                break
            time.sleep(0.1)
        event.set_results({"time": open(path).read(), "hook-time": repr(time.time())})

    def _tools(self, event):
        def run(*argv):
            out = subprocess.run(list(argv), capture_output=True, text=True, stdin=subprocess.DEVNULL)
            return out.stdout.strip() if out.returncode == 0 else "ERR " + out.stderr.strip()

        results = {
            "opened-before": ",".join(sorted(f"{p.port}/{p.protocol}" for p in self.unit.opened_ports())),
            "status-read": f"{self.unit.status.name}:{self.unit.status.message}",
            "planned-units": str(self.app.planned_units()),
            "unit-get": run("unit-get", "private-address"),
            "state-before": run("state-get", "probe-key"),
            "leader-get": run("leader-get", "--format=json"),
        }
        self.unit.set_ports(8080)
        self.unit.set_workload_version("1.2.3")
        run("state-set", "probe-key=probe-value")
        rel = (self.model.relations.get("data") or [None])[0]
        if rel is not None and self.unit.is_leader():
            secret = self.model.get_secret(label="shared")
            info = secret.get_info()
            results["secret-info"] = f"{info.label}:{info.revision}"
            secret.revoke(rel)
            secret.grant(rel)
            results["secret-ids"] = run("secret-ids")
            results["app-status-set"] = run("status-set", "--application", "active", "app ok")
            results["app-status-read"] = run("status-get", "--application", "--format=json")
            results["leader-set"] = run("leader-set", "probe=1")
            if hasattr(rel, "remote_model"):
                results["remote-model"] = rel.remote_model.uuid
        event.set_results(results)

    def _greet(self, event):
        event.set_results({"name": event.params["name"], "times": str(event.params.get("times"))})


if __name__ == "__main__":
    ops.main(ProbeCharm)
