"""The sandbox: local container hosts that boot systemd and are reached over SSH.

``python -m rollbook sandbox up`` installs and starts the docker engine when it is
missing, builds the images (reusing any whose recipe hash is unchanged), starts one
host per role and writes ``.sandbox/state.json``, which ``inventories/sandbox.py``
reads. Example::

    from rollbook.sandbox import hosts
    state = hosts.up()            # idempotent: running hosts are kept
    state.hosts[0].ssh_port       # 127.0.0.1 port of that host's sshd
"""


class SandboxError(Exception):
    """A sandbox step failed; the message is one line naming the cause."""
