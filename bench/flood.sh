#!/usr/bin/env bash
# The flood of issue 12 under the local model (a benchmark, not a test).
#
#   bench/flood.sh            (env: FLOOD=5000, the CSRs in the flooding bag; CA_BINARY, another
#                              build of self-signed-certificates to compare, e.g. an older one)
#
# A requirer application `flood` (a shell charm) writes FLOOD CSRs (4 P-256 keys, distinct
# subjects, made with Python `cryptography` from .venv) into one bag value as soon as it joins
# `self-signed-certificates`; an honest 2-unit requirer (tests/charms/cert-requirer) is
# integrated with the same CA at the same time. Reported: the time until everything settled
# (the flood answered, both honest units holding a certificate), the CA's hooks (count, time,
# slowest), and what the flood got (certificates, errors by reason). Needs the release build and .venv (./scripts/test makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
flood=${FLOOD:-5000}
jt="$root/target/release/juju-tls"
py="$root/.venv/bin/python"
[ -x "$jt" ] || { echo "error: $jt missing: cargo build --release --workspace --bins" >&2; exit 1; }
[ -x "$py" ] || { echo "error: $py missing: run ./scripts/test once" >&2; exit 1; }
data=$(mktemp -d)
export JUJU_TLS_DATA_DIR="$data"
trap '"$jt" model destroy flood >/dev/null 2>&1 || true; rm -rf "$data"' EXIT

stage() { # name binary source-dir
  local dest="$data/charms/$1"
  mkdir -p "$dest/bin"
  cp "$3/charmcraft.yaml" "$3/dispatch" "$dest/"
  cp "$2" "$dest/bin/$1"
  echo "$dest"
}
ca_bin=$(realpath "${CA_BINARY:-target/release/self-signed-certificates}")
echo "CA binary: $ca_bin"
ssc=$(stage self-signed-certificates "$ca_bin" charms/self-signed-certificates)
honest=$(stage cert-requirer target/release/cert-requirer tests/charms/cert-requirer)

# The flooding charm: its whole bag is written once, from a file made here.
flooder="$data/charms/flood"
mkdir -p "$flooder"
printf 'name: flood\nrequires:\n  certificates:\n    interface: tls-certificates\n' >"$flooder/metadata.yaml"
cat >"$flooder/dispatch" <<'EOF'
#!/bin/sh
case "$JUJU_HOOK_NAME" in
  certificates-relation-joined) relation-set --file "$JUJU_CHARM_DIR/bag.json" ;;
  start) status-set active "flooding" ;;
esac
exit 0
EOF
chmod 755 "$flooder/dispatch"
echo "making $flood CSRs ..."
"$py" - "$flood" "$flooder/bag.json" <<'EOF'
import json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
n, out = int(sys.argv[1]), sys.argv[2]
keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
entries = []
for i in range(n):
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"flood-{i}.example")]))
           .sign(keys[i % 4], hashes.SHA256()))
    entries.append({"certificate_signing_request": csr.public_bytes(serialization.Encoding.PEM).decode(), "ca": False})
json.dump({"certificate_signing_requests": json.dumps(entries)}, open(out, "w"))
EOF
echo "bag value: $(stat -c %s "$flooder/bag.json") bytes"

"$jt" model add flood >/dev/null
"$jt" deploy "$ssc" >/dev/null
"$jt" deploy "$flooder" >/dev/null
"$jt" deploy "$honest" honest -n 2 >/dev/null
# Both at once: the flood is recorded, not yet served, when the honest application arrives.
"$jt" integrate flood:certificates self-signed-certificates:certificates --no-wait >/dev/null
start=$(date +%s.%N)
"$jt" integrate honest:certificates self-signed-certificates:certificates >/dev/null
end=$(date +%s.%N)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "both integrated at once; until everything settled (the flood served, the honest application holding its certificates): $(echo "$end - $start" | bc) s"
"$jt" status --json >"$data/status.json"
"$jt" debug-log --hooks --json -n 1000000 >"$data/hooks.json"
"$jt" show-unit flood/0 --json >"$data/flood.json"
"$py" - "$data" <<'EOF'
import collections, json, sys, pathlib
d = pathlib.Path(sys.argv[1])
status = json.loads((d / "status.json").read_text())
for app in status["applications"]:
    for u in app["units"]:
        if u["name"].startswith("honest/"):
            print(f"{u['name']}: {u['workload']} {u['message']}")
runs = json.loads((d / "hooks.json").read_text())
ca = [r for r in runs if r["unit"].startswith("self-signed-certificates/")]
cert = [r for r in ca if r["hook"].startswith("certificates-relation")]
print(f"CA hooks: {len(ca)}, {sum(r['millis'] for r in ca) / 1000:.2f} s in all; "
      f"certificates-relation-*: {len(cert)}, slowest {max((r['millis'] for r in cert), default=0)} ms, "
      f"mean {sum(r['millis'] for r in cert) / max(len(cert), 1):.0f} ms")
view = json.loads((d / "flood.json").read_text())
for rel in view["relations"]:
    bag = rel["remote_app_data"]
    certs = json.loads(bag.get("certificates") or "[]")
    errors = json.loads(bag.get("request_errors") or "[]")
    reasons = collections.Counter(e.get("error", {}).get("reason") for e in errors)
    print(f"the flood got: {len(certs)} certificates, {len(errors)} request errors by reason: {dict(reasons)}")
EOF
