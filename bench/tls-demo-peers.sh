#!/usr/bin/env bash
# Hooks run when N tls-demo units (deployed without waiting) are integrated with
# self-signed-certificates on the local model: total, per hook name, and the wall time of the
# `integrate` that settles them. Not a test; figures go to docs/performance.md.
#
#   bench/tls-demo-peers.sh [TLS_DEMO_BINARY]      (env: N=20, PORT=9711)
#
# The binary defaults to target/release/tls-demo (cargo build --release -p tls-demo); pass an
# older build to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
n=${N:-20}
port=${PORT:-9711}
demo_bin=$(realpath "${1:-target/release/tls-demo}")
jt="$root/target/release/juju-tls"
data=$(mktemp -d)
export JUJU_TLS_DATA_DIR="$data"
trap '"$jt" model destroy peers >/dev/null 2>&1 || true; rm -rf "$data"' EXIT

stage() { # name binary
  local dest="$data/charms/$1"
  mkdir -p "$dest/bin"
  cp "charms/$1/charmcraft.yaml" "charms/$1/dispatch" "$dest/"
  cp "$2" "$dest/bin/$1"
  echo "$dest"
}
ssc=$(stage self-signed-certificates target/release/self-signed-certificates)
demo=$(stage tls-demo "$demo_bin")

"$jt" model add peers >/dev/null
"$jt" deploy "$ssc" >/dev/null
"$jt" deploy "$demo" -n "$n" --no-wait --config "port=$port" >/dev/null
start=$(date +%s.%N)
"$jt" integrate tls-demo:certificates self-signed-certificates:certificates >/dev/null
end=$(date +%s.%N)
echo "tls-demo binary: $demo_bin"
echo "units: $n; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "integrate (settles deploy + integrate): $(echo "$end - $start" | bc) s"
"$jt" debug-log --hooks --json -n 1000000 | python3 -c '
import collections, json, sys
runs = json.load(sys.stdin)
by = collections.Counter(r["hook"] for r in runs)
secs = sum(r["millis"] for r in runs) / 1000
print(f"hooks run: {len(runs)} (summed hook time {secs:.1f} s)")
for hook, count in by.most_common():
    print(f"  {count:6d}  {hook}")
'
