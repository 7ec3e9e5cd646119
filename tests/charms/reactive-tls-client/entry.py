#!/usr/bin/env python3
"""Dispatch entry point: a hook runs charms.reactive's main loop, an action runs lib/.

A charm built with `charm build` has one script per hook calling `charms.reactive.main()`;
under Juju's `dispatch` the hook's name comes from JUJU_DISPATCH_PATH instead.
"""

import os
import sys

CHARM_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[0:0] = [os.path.join(CHARM_DIR, "lib"), os.path.join(CHARM_DIR, "venv")]
os.environ.setdefault("CHARM_DIR", CHARM_DIR)

from reactive_tls_client import platform  # noqa: E402

platform.accept_debian()

DISPATCH = os.environ.get("JUJU_DISPATCH_PATH", "")

if DISPATCH.startswith("actions/"):
    from reactive_tls_client import actions  # noqa: E402

    actions.run(DISPATCH.split("/", 1)[1])
else:
    os.environ.setdefault("JUJU_HOOK_NAME", os.path.basename(DISPATCH))
    from charms.reactive import main  # noqa: E402

    main()
