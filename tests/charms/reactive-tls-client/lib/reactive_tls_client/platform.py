"""charmhelpers on a Debian host.

charmhelpers.core.host picks its platform module from /etc/os-release and knows Ubuntu (and
Debian, but only when the name is spelt in lower case: Debian's NAME is "Debian GNU/Linux", so
the import fails). Reactive charms run on Ubuntu under a real Juju; the test machines run
Debian, Ubuntu's base, for which charmhelpers' Ubuntu module is the one it means to use. Only
when detection fails is the answer given, and it is the one charmhelpers gives for "debian".
"""

from charmhelpers import osplatform


def accept_debian():
    try:
        osplatform.get_platform()
    except RuntimeError:
        if "debian" in osplatform._get_platform_from_fs().lower():
            osplatform.get_platform = lambda: "ubuntu"
        else:
            raise
