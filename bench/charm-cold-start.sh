#!/usr/bin/env bash
# Benchmark (not a test): cold start of one hook of a Rust charm vs a minimal Python ops charm.
# Builds charms/example in release mode and a venv with ops 3.9.0 (in $OPS_VENV, default
# /tmp/opsvenv), then runs bench/charm-cold-start/run.py. Figures go to docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-30}
venv=${OPS_VENV:-/tmp/opsvenv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import ops' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check ops==3.9.0
fi
cargo build -q --release -p example-charm
target=${CARGO_TARGET_DIR:-target}
exec python3 bench/charm-cold-start/run.py --rust-bin "$target/release/example-charm" --python "$venv/bin/python" --runs "$runs"
