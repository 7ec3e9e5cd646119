"""What the reactive tls-client layer does, in our own words (README.md compares it point by
point): request a server and a client certificate by common name, write certificate (then the
provider's chain) and key to the configured paths, write the CA to `ca-certificate-path` and
install it in a trust directory, and set the `tls_client.*` flags.

The trust directory is the one the local model gives each unit (JUJU_TLS_TRUST_STORE_DIR); the
layer writes /usr/local/share/ca-certificates and runs update-ca-certificates, which this test
charm never does: without the variable it refuses and says so in its status.
"""

import os

from charmhelpers.core import hookenv, unitdata
from charms.reactive import (
    clear_flag,
    data_changed,
    endpoint_from_flag,
    is_flag_set,
    set_flag,
    when,
    when_not,
)
from reactive_tls_client.report import PATHS_KEY, tls_client_flags

TRUST_STORE_ENV = "JUJU_TLS_TRUST_STORE_DIR"


def _path(option):
    """A configured path; relative ones are under the charm directory."""
    value = (hookenv.config().get(option) or "").strip()
    return os.path.join(hookenv.charm_dir(), value) if value else ""


def _write(path, content, mode):
    """Atomic write (temp file, then rename) with `mode` from the start."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    tmp = os.path.join(directory, ".{}.tmp".format(os.path.basename(path)))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _remember_paths(cert_type, common_name, crt_path, key_path):
    kv = unitdata.kv()
    paths = kv.get(PATHS_KEY, {})
    paths.setdefault(cert_type, {})[common_name] = {"crt": crt_path, "key": key_path}
    kv.set(PATHS_KEY, paths)


@when("certificates.available")
def request_certificates():
    """The layer's request_server_cert and request_client_cert, made by this charm."""
    tls = endpoint_from_flag("certificates.available")
    name = hookenv.local_unit().replace("/", "-")
    sans = [name] + (hookenv.config().get("server-sans") or "").split()
    tls.request_server_cert(name, sans)
    _remember_paths(
        "server", name, _path("server-certificate-path"), _path("server-key-path")
    )
    client = name + "-client"
    tls.request_client_cert(client, [])
    _remember_paths(
        "client", client, _path("client-certificate-path"), _path("client-key-path")
    )


@when("certificates.ca.available")
def store_ca():
    tls = endpoint_from_flag("certificates.ca.available")
    ca = tls.root_ca_cert
    if not ca:
        return
    if not ca.endswith("\n"):
        ca += "\n"
    changed = data_changed("certificate_authority", ca)
    path = _path("ca-certificate-path")
    if path:
        if changed or not os.path.exists(path):
            hookenv.log("Writing CA certificate to {}".format(path))
            _write(path, ca, 0o644)
            set_flag("tls_client.ca.written")
        set_flag("tls_client.ca.saved")
    if changed or not is_flag_set("tls_client.ca_installed"):
        install_ca(ca)


def install_ca(ca):
    root = os.environ.get(TRUST_STORE_ENV)
    if not root:
        hookenv.log(
            "{} is unset: the CA is not installed (this test charm never writes the host's "
            "trust store)".format(TRUST_STORE_ENV),
            hookenv.WARNING,
        )
        return
    target = os.path.join(root, "{}.crt".format(hookenv.service_name()))
    hookenv.log("Writing CA certificate to {}".format(target))
    _write(target, ca, 0o644)
    set_flag("tls_client.ca_installed")


@when("certificates.certs.changed")
def update_certs():
    tls = endpoint_from_flag("certificates.certs.changed")
    paths = unitdata.kv().get(PATHS_KEY, {})
    maps = {"server": tls.server_certs_map, "client": tls.client_certs_map}
    chain = tls.root_ca_chain
    all_ready = True
    any_changed = False
    for cert_type in ("server", "client"):
        for common_name, where in paths.get(cert_type, {}).items():
            pair = maps[cert_type].get(common_name)
            if not pair:
                all_ready = False
                continue
            if not data_changed("layer.tls-client.{}.{}".format(cert_type, common_name), pair):
                continue
            cert = pair.cert
            if chain:
                cert = cert + "\n" + chain
            if not cert.endswith("\n"):
                cert += "\n"
            # The key first, 0600 from the start: a workload reloading on the new
            # certificate finds its key, and the key is never readable by others.
            _write(where["key"], pair.key if pair.key.endswith("\n") else pair.key + "\n", 0o600)
            _write(where["crt"], cert, 0o644)
            any_changed = True
            clear_flag("tls_client.{}.certs.changed".format(cert_type))
            clear_flag("tls_client.{}.cert.{}.changed".format(cert_type, common_name))
            set_flag("tls_client.{}.certs.changed".format(cert_type))
            set_flag("tls_client.{}.cert.{}.changed".format(cert_type, common_name))
    if all_ready:
        set_flag("tls_client.certs.saved")
    if any_changed:
        clear_flag("tls_client.certs.changed")
        set_flag("tls_client.certs.changed")
    clear_flag("certificates.certs.changed")


@when_not("certificates.available")
def no_relation():
    hookenv.status_set("blocked", "needs a tls-certificates provider on 'certificates'")


def report():
    """Status at the end of every hook: the tls_client flags set."""
    if not is_flag_set("certificates.available"):
        return
    if is_flag_set("tls_client.certs.saved") and is_flag_set("tls_client.ca.saved"):
        hookenv.status_set("active", "flags: " + " ".join(tls_client_flags()))
    else:
        hookenv.status_set("waiting", "waiting for certificates")


hookenv.atexit(report)
