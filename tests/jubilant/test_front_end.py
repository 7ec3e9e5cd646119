"""Every `juju` verb jubilant uses, against the juju-tls front end (`juju` first on PATH).

Run by tests/it/juju_front_end.rs with:
  JUJU_TLS_TEST_CHARMS  a directory holding staged charms: self-signed-certificates, tls-demo
  JUJU_TLS_CHARMHUB_MAP a YAML map naming `self-signed-certificates` (deploy by name)

The `juju` fixture is pytest-jubilant's: it adds a model (`add-model --no-switch`, then
`set-model-constraints arch=...`) and destroys it (`destroy-model --no-prompt
--destroy-storage --force`) at the end of the module, as it does against a controller.
"""

import json
import os
import pathlib
import subprocess
import time

import jubilant
import pytest

CHARMS = pathlib.Path(os.environ["JUJU_TLS_TEST_CHARMS"])
CA = CHARMS / "self-signed-certificates"
DEMO = CHARMS / "tls-demo"


def test_model_verbs(juju: jubilant.Juju):
    info = juju.show_model()
    assert info.short_name == juju.model.split(":")[-1].split("/")[-1]
    assert info.model_type == "iaas"
    assert juju.model_constraints()["arch"] in ("amd64", "arm64")
    assert juju.model_config()["update-status-hook-interval"] == "5m"
    juju.model_config({"update-status-hook-interval": "1m"})
    assert juju.model_config()["update-status-hook-interval"] == "1m"
    with pytest.raises(jubilant.CLIError) as e:
        juju.model_config({"update-status-hook-interval": "5s"})
    assert "between 1m and 60m" in e.value.stderr
    # A second model of the same name: Juju's words, which pytest-jubilant looks for.
    with pytest.raises(jubilant.CLIError) as e:
        jubilant.Juju().add_model(info.short_name)
    assert "already exists" in e.value.stderr
    v = juju.version()
    assert v.tuple >= (3, 6, 0)


def test_deploy_integrate_and_wait_for_active(juju: jubilant.Juju):
    juju.deploy(CA, "ca", base="ubuntu@24.04", config={"certificate-validity": "30d"}, trust=True)
    juju.deploy(DEMO, "demo", num_units=2, config={"mode": "unit"})
    # Changing verbs return at once; the hooks run in the background.
    status = juju.wait(lambda s: jubilant.all_waiting(s, "demo"), timeout=60)
    assert status.apps["demo"].units["demo/0"].juju_status.current in ("idle", "executing")
    juju.integrate("demo:certificates", "ca")
    status = juju.wait(jubilant.all_active, timeout=60)
    app = status.apps["ca"]
    assert app.charm_name == "self-signed-certificates"
    assert app.charm_origin == "local"
    assert app.relations["certificates"][0].related_app == "demo"
    assert app.relations["certificates"][0].interface == "tls-certificates"
    assert status.apps["demo"].units["demo/0"].address.startswith("127.")
    leaders = [u for u, s in status.apps["demo"].units.items() if s.leader]
    assert len(leaders) == 1


def test_run_actions(juju: jubilant.Juju):
    task = juju.run("demo/leader", "probe")
    assert task.success and task.return_code == 0
    assert task.results["summary"] == "1/1 peers ok"
    task = juju.run("ca/0", "get-ca-certificate")
    assert "BEGIN CERTIFICATE" in json.dumps(task.results)
    # A charm's action-fail: TaskError carrying the task, as jubilant raises it for Juju.
    with pytest.raises(jubilant.TaskError) as e:
        juju.run("ca/0", "revoke-certificates", {"unit": "nobody/7"})
    assert e.value.task.status == "failed"
    assert e.value.task.message
    with pytest.raises(jubilant.CLIError) as e:
        juju.run("ca/0", "no-such-action")
    assert "not defined" in e.value.stderr


def test_exec(juju: jubilant.Juju):
    task = juju.exec("echo", "$JUJU_UNIT_NAME", unit="demo/1")
    assert task.stdout.strip() == "demo/1"
    # A hook context is open, as under Juju: hook tools answer.
    task = juju.exec("is-leader", unit="demo/leader")
    assert task.stdout.strip() == "True"
    with pytest.raises(jubilant.TaskError) as e:
        juju.exec("exit 3", unit="demo/0")
    assert e.value.task.return_code == 3


def test_config(juju: jubilant.Juju):
    config = juju.config("ca")
    assert config["certificate-validity"] == "30d"
    assert "ca-country-name" not in config  # unset: Juju omits the value
    juju.config("ca", {"ca-country-name": "GB"})
    assert juju.config("ca")["ca-country-name"] == "GB"
    juju.config("ca", reset="ca-country-name")
    assert "ca-country-name" not in juju.config("ca")
    with pytest.raises(jubilant.CLIError):
        juju.config("ca", {"no-such-option": "x"})


def test_status_and_show_unit(juju: jubilant.Juju):
    raw = json.loads(juju.cli("status", "--format=json"))
    assert raw["model"]["controller"] and raw["model"]["cloud"]
    assert raw["machines"] == {}
    unit = juju.show_unit("demo/0")
    assert unit.charm.startswith("local:tls-demo")
    endpoints = {r.endpoint: r for r in unit.relation_info}
    assert endpoints["certificates"].related_endpoint == "certificates"
    assert "demo/1" in endpoints["peers"].related_units


def test_secrets(juju: jubilant.Juju):
    uri = juju.add_secret("db-password", {"password": "hunter2"}, info="for the test")
    juju.grant_secret(uri, "demo")
    secrets = {s.uri: s for s in juju.secrets()}
    assert uri in secrets
    assert secrets[uri].owner == "<model>" or secrets[uri].owner
    revealed = juju.show_secret(uri, reveal=True)
    assert revealed.content == {"password": "hunter2"}
    juju.update_secret(uri, {"password": "correct-horse"})
    assert juju.show_secret(uri, reveal=True).content == {"password": "correct-horse"}
    juju.remove_secret(uri)
    assert uri not in {s.uri for s in juju.secrets()}
    # The CA's own secret is listed with its owner.
    assert any(s.label == "active-ca-certificates" for s in juju.secrets())


def test_scale_refresh_and_relation_removal(juju: jubilant.Juju):
    juju.add_unit("demo", num_units=1)
    juju.wait(lambda s: jubilant.all_active(s, "demo") and len(s.apps["demo"].units) == 3, timeout=60)
    assert juju.run("demo/2", "probe").results["summary"] == "2/2 peers ok"
    juju.remove_unit("demo/2")
    juju.wait(lambda s: len(s.apps["demo"].units) == 2, timeout=60)
    juju.refresh("demo", path=DEMO)
    juju.wait(jubilant.all_active, timeout=60)
    juju.remove_relation("demo:certificates", "ca")
    juju.wait(lambda s: not s.apps["ca"].relations, timeout=60)
    juju.wait(lambda s: jubilant.all_waiting(s, "demo"), timeout=60)


def test_deploy_by_charmhub_name_uses_the_local_map(juju: jubilant.Juju):
    juju.deploy("self-signed-certificates", "ca2", channel="1/stable")
    juju.wait(lambda s: jubilant.all_active(s, "ca2"), timeout=60)
    with pytest.raises(jubilant.CLIError) as e:
        juju.deploy("no-such-charm")
    assert "no Charmhub" in e.value.stderr


def test_debug_log_and_removal(juju: jubilant.Juju):
    log = juju.debug_log(limit=5)
    assert 0 < len(log.splitlines()) <= 5 or "unit-" in log
    juju.remove_application("ca2", "demo")
    juju.wait(lambda s: set(s.apps) == {"ca"}, timeout=60)


def test_a_failed_hook_shows_as_juju_3_reports_it(juju: jubilant.Juju, tmp_path: pathlib.Path):
    charm = tmp_path / "broken"
    (charm / "hooks").mkdir(parents=True)
    (charm / "metadata.yaml").write_text("name: broken\nsummary: s\ndescription: d\n")
    dispatch = charm / "dispatch"
    dispatch.write_text('#!/bin/sh\n[ "$JUJU_DISPATCH_PATH" = hooks/install ] && exit 1\nexit 0\n')
    dispatch.chmod(0o755)
    juju.deploy(charm)
    status = juju.wait(jubilant.any_error, timeout=60)
    unit = status.apps["broken"].units["broken/0"]
    assert unit.workload_status.current == "error"
    assert unit.workload_status.message == 'hook failed: "install"'
    assert unit.juju_status.current == "idle"
    juju.remove_application("broken", force=True)


def test_cross_model_offer_consume_and_remove_saas(juju: jubilant.Juju):
    # The CA of this module's model, offered; a requirer in a second model consumes it.
    model = juju.model.split(":")[-1].split("/")[-1]
    juju.offer(f"{juju.model}.ca", endpoint="certificates", name="ca-offer")
    found = json.loads(juju.cli("find-offers", "--format", "json", include_model=False))
    assert f"local:admin/{model}.ca-offer" in found, found
    other = jubilant.Juju()
    other.add_model(f"{model}-consumer")
    try:
        other.deploy(DEMO, "web", config={"mode": "unit"})
        other.consume(f"{model}.ca-offer", "theca")
        other.integrate("web:certificates", "theca")
        status = other.wait(lambda s: jubilant.all_active(s, "web"), timeout=60)
        saas = status.app_endpoints["theca"]
        assert saas.url == f"local:admin/{model}.ca-offer"
        assert saas.endpoints["certificates"].interface == "tls-certificates"
        assert saas.endpoints["certificates"].role == "provider"
        assert saas.relations["certificates"] == ["web"]
        assert status.apps["web"].relations["certificates"][0].related_app == "theca"
        assert other.run("web/0", "probe").success
        # relation-model-get names the offering model, as under Juju.
        task = other.exec("relation-model-get -r $(relation-ids certificates) --format json", unit="web/0")
        assert json.loads(task.stdout)["uuid"] == juju.show_model().model_uuid
        # The offering side: the offer and its connection; the consumer is `remote-<token>`.
        st = juju.wait(lambda s: s.offers["ca-offer"].total_connected_count == 1, timeout=60)
        offer = st.offers["ca-offer"]
        assert offer.app == "ca" and offer.active_connected_count == 1
        remote = [r.related_app for r in st.apps["ca"].relations["certificates"]]
        assert any(r.startswith("remote-") for r in remote), remote
        offers = json.loads(juju.cli("offers", "--format", "json"))
        assert offers["ca-offer"]["connections"][0]["source-model"] == f"admin/{model}-consumer"
        # Withdrawing an offer in use is refused; remove-saas ends the relation on both sides.
        with pytest.raises(jubilant.CLIError) as e:
            juju.cli("remove-offer", f"{model}.ca-offer", include_model=False)
        assert "use --force" in e.value.stderr
        other.cli("remove-saas", "theca")
        other.wait(lambda s: "theca" not in s.app_endpoints and jubilant.all_waiting(s, "web"), timeout=60)
        juju.wait(lambda s: s.offers["ca-offer"].total_connected_count == 0, timeout=60)
        juju.cli("remove-offer", f"{model}.ca-offer", "--force", "-y", include_model=False)
        assert "ca-offer" not in juju.status().offers
        with pytest.raises(jubilant.CLIError) as e:
            other.consume(f"{model}.nope")
        assert "not found" in e.value.stderr
    finally:
        other.destroy_model(f"{model}-consumer", destroy_storage=True, force=True)


def test_real_time_renews_a_short_lived_certificate_without_advance(juju: jubilant.Juju):
    # A model added through `juju` follows the real clock: the requirer's renewal timer (a
    # secret expiry) fires on its own. Nothing here moves the clock.
    juju.deploy(CA, "rt-ca", config={"certificate-validity": "1m"})
    juju.deploy(DEMO, "rt", config={"mode": "unit"})
    juju.integrate("rt:certificates", "rt-ca")
    juju.wait(lambda s: jubilant.all_active(s, "rt", "rt-ca"), timeout=60)

    def received() -> list[str]:
        log = juju.debug_log(limit=100000)
        return [l for l in log.splitlines() if l.startswith("unit-rt-0:") and "received (serial" in l]

    deadline = time.time() + 150
    while len(received()) < 2 and time.time() < deadline:
        time.sleep(2)
    assert len(received()) >= 2, received()
    assert juju.run("rt/0", "probe").success
    juju.remove_application("rt", "rt-ca")


def test_no_settler_outlives_a_destroyed_model(juju: jubilant.Juju):
    name = f"{juju.model}-extra"
    extra = jubilant.Juju()
    extra.add_model(name)
    extra.deploy(DEMO, "d1")
    extra.wait(lambda s: jubilant.all_waiting(s, "d1"), timeout=60)
    extra.destroy_model(name, destroy_storage=True, force=True)
    time.sleep(0.5)
    ps = subprocess.run(["pgrep", "-af", f"local-settle --model {name}$"], capture_output=True, text=True)
    assert ps.stdout.strip() == "", ps.stdout
