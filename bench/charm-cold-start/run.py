#!/usr/bin/env python3
"""Cold start of one hook: a Rust charm (charms/example) next to a minimal Python ops charm doing
the same work, each run as Juju runs it: exec `dispatch` with a fresh environment, stub hook
tools first on PATH. Prints wall time and max RSS (from wait4) per charm, measured interleaved in
one run so machine load affects both alike.

Usage: bench/charm-cold-start/run.py --rust-bin PATH --python PATH [--runs N]
(bench/charm-cold-start.sh builds the binary and the ops venv, then calls this.)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = [
    "relation-ids", "relation-list", "relation-get", "relation-set", "config-get", "is-leader",
    "status-get", "status-set", "application-version-set", "juju-log", "open-port", "close-port",
    "opened-ports", "network-get", "secret-get", "secret-info-get", "secret-add", "secret-ids",
    "action-get", "action-set", "state-get", "state-set", "goal-state",
]
ANSWERS = {
    "config-get": '{"greeting":"hello","port":8080}',
    "is-leader": "false",
    "relation-ids": "[]",
    "opened-ports": "[]",
    "status-get": '{"message":"","status":"unknown","status-data":{}}',
}
METADATA = "name: example\nprovides:\n  website: {interface: http}\npeers:\n  cluster: {interface: example-peers}\n"
CONFIG = "options:\n  port: {type: int, default: 8080}\n  greeting: {type: string, default: hello}\n"
ACTIONS = "get-url:\n  params:\n    path: {type: string, default: /}\n"


def make_tools(base):
    tools = os.path.join(base, "tools")
    os.makedirs(os.path.join(tools, "answers"))
    stub = os.path.join(tools, "stub-tool")
    shutil.copy(os.path.join(HERE, "stub-tool.sh"), stub)
    for t in TOOLS:
        os.symlink(stub, os.path.join(tools, t))
    for t, a in ANSWERS.items():
        with open(os.path.join(tools, "answers", t), "w") as f:
            f.write(a + "\n")
    return tools


def charm_dir(base, name, dispatch, extra):
    d = os.path.join(base, name)
    os.makedirs(d)
    for fname, text in (("metadata.yaml", METADATA), ("config.yaml", CONFIG), ("actions.yaml", ACTIONS)):
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)
    with open(os.path.join(d, "dispatch"), "w") as f:
        f.write(dispatch)
    os.chmod(os.path.join(d, "dispatch"), 0o755)
    extra(d)
    return d


def env_for(charm, tools):
    return {
        "JUJU_DISPATCH_PATH": "hooks/update-status",
        "JUJU_HOOK_NAME": "update-status",
        "JUJU_UNIT_NAME": "example/1",
        "JUJU_MODEL_NAME": "bench",
        "JUJU_MODEL_UUID": "cdac5656-2423-4388-8f30-41854b4cca7d",
        "JUJU_VERSION": "3.6.8",
        "JUJU_CHARM_DIR": charm,
        "CHARM_DIR": charm,
        "JUJU_CONTEXT_ID": "example/1-update-status-1",
        "JUJU_AVAILABILITY_ZONE": "",
        "JUJU_PRINCIPAL_UNIT": "",
        "JUJU_MACHINE_ID": "1",
        "JUJU_RELATION": "",
        "JUJU_RELATION_ID": "",
        "JUJU_REMOTE_UNIT": "",
        "JUJU_REMOTE_APP": "",
        "LANG": "C.UTF-8",
        "PATH": tools + ":/usr/local/bin:/usr/bin:/bin",
    }


def run_once(charm, tools):
    """One hook: returns (wall seconds, tool calls)."""
    log = os.path.join(tools, "calls.log")
    if os.path.exists(log):
        os.remove(log)
    env = env_for(charm, tools)
    os.chdir(charm)  # Juju runs dispatch in the charm directory
    start = time.perf_counter()
    pid = os.posix_spawn(os.path.join(charm, "dispatch"), [os.path.join(charm, "dispatch")], env,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)])
    _, status = os.waitpid(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{charm}/dispatch failed with {os.waitstatus_to_exitcode(status)}")
    with open(log) as f:
        calls = sum(1 for _ in f)
    return wall, calls


def floor_run(tools, n):
    """Wall time of a shell that runs the stub tool n times: the process starts a hook with n tool
    calls cannot avoid (the shell stands for `dispatch`, one stub call for the charm binary)."""
    script = 'i=0; while [ $i -lt %d ]; do "$0" --format=json >/dev/null; i=$((i+1)); done' % n
    start = time.perf_counter()
    pid = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", script, os.path.join(tools, "is-leader")], {})
    os.waitpid(pid, 0)
    return time.perf_counter() - start


def max_rss(charm, tools):
    """Max RSS (KiB) of one run, from /usr/bin/time: a small C parent. (wait4 from this Python
    process would count the Python image that posix_spawn's vfork shares before exec.)"""
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, os.path.join(charm, "dispatch")],
                       env=env_for(charm, tools), cwd=charm, stdin=subprocess.DEVNULL, check=True,
                       stdout=subprocess.DEVNULL)
        return int(out.read().split()[-1])


def time_v(charm, tools):
    """One run under /usr/bin/time -v, for a second opinion on the figures."""
    if not shutil.which("/usr/bin/time"):
        return None
    out = subprocess.run(["/usr/bin/time", "-v", os.path.join(charm, "dispatch")], env=env_for(charm, tools),
                         cwd=charm, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True)
    fields = {}
    for line in out.stderr.splitlines():
        if ":" in line:
            k, v = line.strip().rsplit(":", 1) if "Elapsed" not in line else line.strip().split(": ", 1)
            fields[k.strip()] = v.strip()
    return fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)"), fields.get("Maximum resident set size (kbytes)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rust-bin", required=True)
    p.add_argument("--python", required=True, help="interpreter of a venv with ops installed")
    p.add_argument("--runs", type=int, default=30)
    a = p.parse_args()

    base = tempfile.mkdtemp(prefix="charm-cold-start-")
    try:
        tools = make_tools(base)

        def rust_extra(d):
            os.makedirs(os.path.join(d, "bin"))
            shutil.copy(a.rust_bin, os.path.join(d, "bin", "example-charm"))

        def py_extra(d):
            os.makedirs(os.path.join(d, "src"))
            shutil.copy(os.path.join(HERE, "charm.py"), os.path.join(d, "src", "charm.py"))

        rust = charm_dir(base, "rust", open(os.path.join(ROOT, "charms", "example", "dispatch")).read(), rust_extra)
        py_dispatch = ("#!/bin/sh\n"
                       'JUJU_DISPATCH_PATH="${JUJU_DISPATCH_PATH:-$0}" PYTHONPATH=lib:venv '
                       f"exec {a.python} ./src/charm.py\n")
        python = charm_dir(base, "python", py_dispatch, py_extra)

        results = {"rust": [], "python": []}
        rss = {"rust": [], "python": []}
        for _ in range(3):  # warm the page cache
            run_once(rust, tools)
            run_once(python, tools)
        execs = []
        for _ in range(a.runs):
            results["rust"].append(run_once(rust, tools))
            results["python"].append(run_once(python, tools))
            execs.append(floor_run(tools, results["rust"][0][1] + 1))
        for _ in range(max(3, a.runs // 5)):
            rss["rust"].append(max_rss(rust, tools))
            rss["python"].append(max_rss(python, tools))

        def summary(rows, rss_rows):
            walls = sorted(r[0] for r in rows)
            return {
                "median_ms": statistics.median(walls) * 1000,
                "p10_ms": walls[len(walls) // 10] * 1000,
                "p90_ms": walls[(len(walls) * 9) // 10] * 1000,
                "rss_mib": statistics.median(rss_rows) / 1024,
                "calls": rows[0][1],
            }

        r, py = summary(results["rust"], rss["rust"]), summary(results["python"], rss["python"])
        print(f"hook: update-status, {a.runs} interleaved runs each, stub tools (shell builtins)")
        print(f"{'charm':<22} {'median':>9} {'p10':>9} {'p90':>9} {'max RSS':>9} {'tool calls':>11}")
        for name, s in (("Rust (charms/example)", r), ("Python ops", py)):
            print(f"{name:<22} {s['median_ms']:>7.1f}ms {s['p10_ms']:>7.1f}ms {s['p90_ms']:>7.1f}ms "
                  f"{s['rss_mib']:>6.1f}MiB {s['calls']:>11}")
        floor = statistics.median(execs) * 1000
        print(f"floor: a shell starting {r['calls'] + 1} stub processes (dispatch, charm, {r['calls']} tools): "
              f"{floor:.1f}ms; Rust takes {r['median_ms'] / floor:.2f}x the floor")
        print(f"ratio (Python / Rust): wall {py['median_ms'] / r['median_ms']:.0f}x, "
              f"max RSS {py['rss_mib'] / r['rss_mib']:.1f}x")
        for name, d in (("Rust", rust), ("Python", python)):
            tv = time_v(d, tools)
            if tv:
                print(f"/usr/bin/time -v, one {name} run: elapsed {tv[0]}, max RSS {tv[1]} KiB")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
