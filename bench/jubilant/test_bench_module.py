"""A typical jubilant test module, timed: deploy, integrate, wait for active, run an action,
remove. Run by benches/jubilant.rs with our `juju` first on PATH; writes its timings as JSON to
$JUJU_TLS_BENCH_OUT.

Every `juju` call and every `wait()` is timed. For each wait, the time its condition first held
(in the streak that ended it) is noted: what the wait spends after that is jubilant's own
polling (it polls once a second and needs three successes in a row), not the model's work.
"""

import json
import os
import pathlib
import time

import jubilant

CHARMS = pathlib.Path(os.environ["JUJU_TLS_TEST_CHARMS"])
TIMES = {"cli": 0.0, "cli_calls": 0, "wait": 0.0, "wait_after_ready": 0.0, "waits": 0, "polls": 0}

_cli = jubilant.Juju._cli
_wait = jubilant.Juju.wait


def timed_cli(self, *args, **kwargs):
    started = time.monotonic()
    try:
        return _cli(self, *args, **kwargs)
    finally:
        TIMES["cli"] += time.monotonic() - started
        TIMES["cli_calls"] += 1


def timed_wait(self, ready, *args, **kwargs):
    streak_start = None

    def watched(status):
        nonlocal streak_start
        TIMES["polls"] += 1
        ok = ready(status)
        if ok and streak_start is None:
            streak_start = time.monotonic()
        elif not ok:
            streak_start = None
        return ok

    started = time.monotonic()
    try:
        return _wait(self, watched, *args, **kwargs)
    finally:
        ended = time.monotonic()
        TIMES["wait"] += ended - started
        TIMES["waits"] += 1
        if streak_start is not None:
            TIMES["wait_after_ready"] += ended - streak_start


jubilant.Juju._cli = timed_cli
jubilant.Juju.wait = timed_wait
STARTED = time.monotonic()


def test_deploy_integrate_wait_run_remove(juju: jubilant.Juju):
    juju.deploy(CHARMS / "self-signed-certificates", "ca")
    juju.deploy(CHARMS / "tls-demo", "demo", num_units=3)
    juju.integrate("demo:certificates", "ca")
    juju.wait(jubilant.all_active, timeout=120)
    task = juju.run("demo/0", "probe")
    assert task.results["summary"] == "2/2 peers ok"
    juju.remove_application("demo", "ca")
    juju.wait(lambda s: not s.apps, timeout=120)


def teardown_module():
    TIMES["module"] = time.monotonic() - STARTED
    pathlib.Path(os.environ["JUJU_TLS_BENCH_OUT"]).write_text(json.dumps(TIMES))
