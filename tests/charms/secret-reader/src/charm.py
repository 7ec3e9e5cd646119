#!/usr/bin/env python3
"""Test charm of the juju-tls local model: a consumer of a user secret named in its config.

On config-changed it reads the secret (tracking the latest revision on first read); on
secret-changed it reads the new revision with refresh, as charms do. The `dump` action returns
what it recorded; `read` reads now, returning the content or the hook tool's error. Values of
keys starting with `private-` are reported by length only (action results are kept in the
model's store, where tests look for secret content that must be gone).
"""

import json
import subprocess

import ops


def shown(content):
    """The content as reported: `private-*` values by length only."""
    return {k: (f"<{len(v)} chars>" if k.startswith("private-") else v) for k, v in content.items()}


def error_text(e):
    """The hook tool's stderr (ops raises SecretNotFoundError() without text, from it)."""
    cause = e
    while cause.__cause__ is not None:
        cause = cause.__cause__
    text = getattr(cause, "stderr", None) or str(e)
    return f"{type(e).__name__}: {text.strip()}"


class SecretReaderCharm(ops.CharmBase):
    _stored = ops.StoredState()

    def __init__(self, framework):
        super().__init__(framework)
        self._stored.set_default(reads="[]")
        framework.observe(self.on.config_changed, self._on_config_changed)
        framework.observe(self.on.secret_changed, self._on_secret_changed)
        framework.observe(self.on.read_action, self._on_read)
        framework.observe(self.on.dump_action, self._on_dump)
        framework.observe(self.on.info_action, self._on_info)

    def _record(self, entry):
        reads = json.loads(self._stored.reads)
        reads.append(entry)
        self._stored.reads = json.dumps(reads)

    def _secret_id(self):
        return str(self.config.get("secret-id") or "")

    def _on_config_changed(self, event):
        uri = self._secret_id()
        if not uri:
            self.unit.status = ops.BlockedStatus("no secret-id")
            return
        try:
            content = self.model.get_secret(id=uri).get_content()
        except (ops.SecretNotFoundError, ops.ModelError) as e:
            self._record({"event": "config-changed", "error": error_text(e)})
            self.unit.status = ops.BlockedStatus("cannot read secret")
            return
        self._record({"event": "config-changed", "content": shown(content)})
        self.unit.status = ops.ActiveStatus("read secret")

    def _on_secret_changed(self, event):
        content = event.secret.get_content(refresh=True)
        self._record({"event": "secret-changed", "id": event.secret.id or "",
                      "content": shown(content)})

    def _on_read(self, event):
        mode = event.params.get("mode") or ""
        try:
            secret = self.model.get_secret(id=self._secret_id())
            if mode == "peek":
                content = secret.peek_content()
            else:
                content = secret.get_content(refresh=(mode == "refresh"))
            event.set_results({"content": json.dumps(shown(content))})
        except (ops.SecretNotFoundError, ops.ModelError) as e:
            event.set_results({"error": error_text(e)})

    def _on_dump(self, event):
        event.set_results({"reads": self._stored.reads})

    def _on_info(self, event):
        results = {}
        uri = self._secret_id()
        for name, argv in (("info", ["secret-info-get", uri]),
                           ("set", ["secret-set", uri, "token=charm"]),
                           ("remove", ["secret-remove", uri])):
            run = subprocess.run(argv, capture_output=True, text=True)
            results[name] = "ok" if run.returncode == 0 else run.stderr.strip()
        event.set_results(results)


if __name__ == "__main__":
    ops.main(SecretReaderCharm)
