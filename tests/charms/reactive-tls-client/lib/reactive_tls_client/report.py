"""What the charm reports: the tls_client flags set, and which path holds what."""

import json

from charmhelpers.core import unitdata
from charms.reactive.flags import get_flags

# The layer's unitdata key for the paths of each requested certificate.
PATHS_KEY = "layer.tls-client.cert-paths"


def tls_client_flags():
    return sorted(f for f in get_flags() if f.startswith("tls_client."))


def files():
    out = {}
    for cert_type, by_cn in unitdata.kv().get(PATHS_KEY, {}).items():
        for cn, where in by_cn.items():
            out[where["crt"]] = "{} certificate {}".format(cert_type, cn)
            out[where["key"]] = "{} key {}".format(cert_type, cn)
    return json.dumps(out, sort_keys=True)
