#!/usr/bin/env bash
# Benchmark (not a test): Python provider (published library, its signing helper) vs our Rust
# self-signed-certificates, under the local model with real hook processes.
#
# Scenario per provider and per N (default "10 100 500", override with BENCH_N): a Python
# requirer application (tests/interop/tls-requirer, published library, mode unit) of UNITS units
# (default 2) whose units together ask for N certificates (count = N / UNITS each) is deployed and
# settled; then `integrate` is timed until the model settles, and every certificate is checked
# delivered. Reported: wall time from integrate to settled, hooks run, time in the provider's
# hooks (from the model's hook log), peak RSS of one provider hook process (/usr/bin/time
# wrapping the charm's dispatch), and the cold start of one hook (the cheapest provider hook run
# during deploy: install, leader-elected, config-changed, start).
#
# PY_CA=upstream-ca compares with tests/interop/upstream-ca (the CA kept and issued as the
# published self-signed-certificates charm does) instead of tests/interop/tls-provider; with
# UNITS=N and BENCH_N=N each requirer unit asks for one certificate (CA hook time per unit count).
#
# Needs: the release build (cargo build --release --workspace --bins), /usr/bin/time, jq,
# python3 with pip (the pinned libraries of tests/requirements.txt are installed once into
# $CARGO_TARGET_DIR/interop-bench-pylibs). Prints a table; with --write, also replaces the
# "Interop and local-model benchmarks" section of docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin="$target/release/juju-tls"
units=${UNITS:-2}
ns=${BENCH_N:-"10 100 500"}
write=0
[ "${1:-}" = "--write" ] && write=1

die() { echo "error: $*" >&2; exit 1; }
[ -x "$bin" ] || die "$bin missing: run cargo build --release --workspace --bins"
[ -x "$target/release/self-signed-certificates" ] || die "self-signed-certificates not built: cargo build --release --workspace --bins"
[ -x /usr/bin/time ] || die "/usr/bin/time missing: apt-get install time"
command -v jq >/dev/null || die "jq missing: apt-get install jq"
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || die "python3 pip missing: apt-get install python3-pip"

libs="$target/interop-bench-pylibs"
if [ ! -e "$libs/.complete" ]; then
  echo "installing the pinned Python libraries into $libs" >&2
  rm -rf "$libs.tmp"
  /usr/bin/python3 -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$libs.tmp" -r "$root/tests/requirements.txt"
  /usr/bin/python3 -m compileall -q "$libs.tmp" >/dev/null
  touch "$libs.tmp/.complete"
  chmod -R a-w "$libs.tmp"
  mv "$libs.tmp" "$libs"
fi

work=$(mktemp -d /tmp/juju-tls-interop-bench.XXXXXX)
export JUJU_TLS_DATA_DIR="$work/data"
cleanup() {
  "$bin" model destroy bench >/dev/null 2>&1 || true
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Stage a charm dir with its dispatch wrapped by /usr/bin/time (peak RSS per hook process).
stage() { # name src-dir rss-log
  local dest="$work/charms/$1"
  mkdir -p "$dest"
  cp -r "$2"/. "$dest"/
  mv "$dest/dispatch" "$dest/dispatch.real"
  cat >"$dest/dispatch" <<W
#!/bin/sh
exec /usr/bin/time -a -o "$3" -f "%M %e \$JUJU_DISPATCH_PATH" ./dispatch.real "\$@"
W
  chmod +x "$dest/dispatch" "$dest/dispatch.real"
  echo "$dest"
}
rust_src="$work/src-rust"
mkdir -p "$rust_src/bin"
cp charms/self-signed-certificates/charmcraft.yaml charms/self-signed-certificates/dispatch "$rust_src/"
cp "$target/release/self-signed-certificates" "$rust_src/bin/"
py_ca=${PY_CA:-tls-provider}
py_src="$work/src-py"; cp -r "tests/interop/$py_ca" "$py_src"; ln -s "$libs" "$py_src/venv"
req_src="$work/src-req"; cp -r tests/interop/tls-requirer "$req_src"; ln -s "$libs" "$req_src/venv"

# One run: prints "wall_s hooks provider_hook_s provider_hooks peak_rss_kb cold_ms delivered
# wanted" (delivered < wanted when a hook failed, e.g. the provider's hit the hook timeout).
run_one() { # provider-kind N
  local kind=$1 n=$2 per=$(( $2 / units ))
  "$bin" model destroy bench >/dev/null 2>&1 || true
  rm -rf "$work/charms" "$work/rss-"*
  "$bin" model add bench >/dev/null
  local prov
  if [ "$kind" = rust ]; then
    prov=$(stage prov "$rust_src" "$work/rss-prov")
    "$bin" deploy "$prov" prov --config certificate-limit=0 >/dev/null
  else
    prov=$(stage prov "$py_src" "$work/rss-prov")
    "$bin" deploy "$prov" prov >/dev/null
  fi
  local cold
  # Cold start: the cheapest hook of the provider up to here (install, leader-elected,
  # config-changed, start...): process start, framework load, hook tools, exit.
  cold=$("$bin" debug-log --hooks --json -n 1000000 | jq '[.[] | select(.unit=="prov/0") | .millis] | min')
  "$bin" deploy "$req_src" req -n "$units" --config mode=unit --config count="$per" >/dev/null
  local before
  before=$("$bin" debug-log --hooks --json -n 1000000 | jq 'length')
  : >"$work/rss-prov"
  local t0 t1
  t0=$(date +%s.%N)
  # A failed hook (a unit in error) is a result to report, not a reason to stop.
  "$bin" integrate req:certificates prov:certificates >/dev/null 2>"$work/integrate.err" || true
  t1=$(date +%s.%N)
  # Delivered = what the requirer units hold (their status, "K certificates", computed by the
  # library's get_assigned_certificates; the action's JSON is too large for argv at N=500).
  local got
  got=$("$bin" status --json | jq '[.applications[] | select(.name=="req") | .units[] | .message | (capture("^(?<n>[0-9]+) certificates").n // "0") | tonumber] | add // 0')
  if [ "$got" -ne $((per * units)) ]; then
    echo "  $kind N=$n: $got of $((per * units)) certificates delivered; $(head -c 300 "$work/integrate.err")" >&2
  fi
  local log
  log=$("$bin" debug-log --hooks --json -n 1000000)
  local hooks phs phn
  hooks=$(jq --argjson b "$before" 'length - $b' <<<"$log")
  phs=$(jq --argjson b "$before" '[.[$b:][] | select(.unit|startswith("prov/")) | .millis] | add / 1000' <<<"$log")
  phn=$(jq --argjson b "$before" '[.[$b:][] | select(.unit|startswith("prov/"))] | length' <<<"$log")
  local rss
  rss=$(awk '$1 ~ /^[0-9]+$/ {if ($1>m) m=$1} END {print m+0}' "$work/rss-prov")
  echo "$(echo "$t1 - $t0" | bc) $hooks $phs $phn $rss $cold $got $((per * units))"
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R
for n in $ns; do
  for kind in rust python; do
    echo "running $kind provider, N=$n ..." >&2
    R[$kind,$n]=$(run_one "$kind" "$n")
    echo "  $kind N=$n: ${R[$kind,$n]}" >&2
  done
done
"$bin" model destroy bench >/dev/null 2>&1 || true

table=$(
  printf '| N | provider | integrate→all delivered (s) | hooks run | provider hooks | time in provider hooks (s) | mean provider hook (ms) | peak RSS of a provider hook (MiB) |\n'
  printf '|---:|---|---:|---:|---:|---:|---:|---:|\n'
  for n in $ns; do
    for kind in rust python; do
      read -r w h phs phn rss _ got want <<<"${R[$kind,$n]}"
      note=""
      [ "$got" -lt "$want" ] && note=" (did not finish: $got of $want delivered, a hook failed)"
      printf '| %s | %s%s | %.2f | %s | %s | %.3f | %.1f | %.1f |\n' "$n" "$kind" "$note" "$w" "$h" "$phn" "$phs" "$(echo "1000 * $phs / $phn" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
    done
    read -r wr _ psr _ rssr _ <<<"${R[rust,$n]}"
    read -r wp _ psp _ rssp _ gotp wantp <<<"${R[python,$n]}"
    more=""
    [ "$gotp" -lt "$wantp" ] && more="> "
    printf '| %s | **python / rust** | **%s%.1fx** | | | **%s%.1fx** | | **%.1fx** |\n' "$n" \
      "$more" "$(echo "$wp / $wr" | bc -l)" "$more" "$(echo "$psp / ($psr + 0.0005)" | bc -l)" "$(echo "$rssp / $rssr" | bc -l)"
  done
  first=$(echo $ns | awk '{print $1}')
  read -r _ _ _ _ _ cr _ <<<"${R[rust,$first]}"
  read -r _ _ _ _ _ cp _ <<<"${R[python,$first]}"
  printf '\nCold start of one hook (the cheapest provider hook before integrate, from the model hook log): Rust %s ms, Python %s ms (%.1fx).\n' \
    "$cr" "$cp" "$(echo "$cp / $cr" | bc -l)"
)
echo "$table"

if [ "$write" = 1 ]; then
  doc="$root/docs/performance.md"
  section=$(
    echo "## Interop and local-model benchmarks"
    echo
    echo "Measured by \`bench/interop/run.sh --write\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -m), load average"
    echo "$load at the start; one run per size). Scenario: a Python requirer"
    echo "application ($units units, published \`charmlibs-interfaces-tls-certificates\` 1.12.0, mode unit) whose"
    echo "units together ask for N certificates; timed from \`integrate\` until the local model settles with every"
    echo "certificate delivered (checked). Providers: our Rust \`self-signed-certificates\` vs the Python test"
    echo "provider \`tests/interop/tls-provider\` (the library's \`TLSCertificatesProvidesV4\` and its \`csr.sign\` helper,"
    echo "as the published charm uses). Wall time includes the Python requirer's hooks, identical on both sides;"
    echo "\"time in provider hooks\" is the sum of the provider's hook durations from the model's hook log. Peak RSS"
    echo "is the largest max-RSS of any provider hook process (\`/usr/bin/time\` wrapping \`dispatch\`)."
    echo
    echo "$table"
  )
  python3 - "$doc" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
text = open(path).read()
pat = re.compile(r"^## Interop and local-model benchmarks\n.*?(?=^## |\Z)", re.S | re.M)
if pat.search(text):
    text = pat.sub(section + "\n", text)
else:
    text = text.rstrip() + "\n\n" + section
open(path, "w").write(text)
PY
  echo "wrote $doc" >&2
fi
