#!/usr/bin/env bash
# The flood of issue 12 under the local model (a benchmark, not a test).
#
#   bench/flood.sh            (env: FLOOD=5000, the CSRs in the flooding bag)
#
# A requirer application `flood` (a shell charm) writes FLOOD CSRs (4 P-256 keys, distinct
# subjects, made with Python `cryptography` from .venv) into one bag value as soon as it joins
# `self-signed-certificates`; then an honest 2-unit requirer (tests/charms/cert-requirer) is
# integrated with the same CA. Reported: the honest application's round trip (integrate until
# both units hold a certificate), the CA's hooks (count, time, slowest), and what the flood got
# (certificates, errors by reason). Needs the release build and .venv (./scripts/test makes it).
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
ssc=$(stage self-signed-certificates target/release/self-signed-certificates charms/self-signed-certificates)
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
"$jt" integrate flood:certificates self-signed-certificates:certificates >/dev/null
start=$(date +%s.%N)
"$jt" integrate honest:certificates self-signed-certificates:certificates >/dev/null
end=$(date +%s.%N)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "honest application: integrate until settled: $(echo "$end - $start" | bc) s"
"$jt" status --json >"$data/status.json"
"$jt" debug-log --hooks --json -n 1000000 >"$data/hooks.json"
"$jt" show-unit self-signed-certificates/0 --json >"$data/ca.json" 2>/dev/null || true
"$py" - "$data" <<'EOF'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
status = json.loads((d / "status.json").read_text())
units = {u["name"]: u for u in status.get("units", [])} if isinstance(status.get("units"), list) else status.get("units", {})
for name in ("honest/0", "honest/1"):
    u = units.get(name, {})
    print(f"{name}: {u.get('workload', u.get('status'))} {u.get('message', '')}")
runs = json.loads((d / "hooks.json").read_text())
ca = [r for r in runs if r["unit"].startswith("self-signed-certificates/")]
cert = [r for r in ca if r["hook"].startswith("certificates-relation")]
print(f"CA hooks: {len(ca)}, {sum(r['millis'] for r in ca) / 1000:.2f} s in all; "
      f"certificates-relation-*: {len(cert)}, slowest {max((r['millis'] for r in cert), default=0)} ms, "
      f"mean {sum(r['millis'] for r in cert) / max(len(cert), 1):.0f} ms")
EOF
"$jt" show-unit flood/0 --json 2>/dev/null | "$py" -c '
import collections, json, sys
try:
    unit = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
text = json.dumps(unit)
print("flood/0 sees (from show-unit):", len(text), "bytes")
' || true
