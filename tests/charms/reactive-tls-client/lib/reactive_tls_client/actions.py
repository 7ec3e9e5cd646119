"""The charm's actions (reactive charms run actions as plain scripts, outside the bus)."""

from charmhelpers.core import hookenv

from reactive_tls_client.report import files, tls_client_flags


def run(name):
    if name == "flags":
        hookenv.action_set({"set": " ".join(tls_client_flags()), "files": files()})
    else:
        hookenv.action_fail("unknown action {}".format(name))
