"""pyinfra's own CLI, counting what it runs on each host (the benchmark's instrument).

Every command, upload and download a run sends over SSH goes through the connector;
this counts them per host and, at exit, writes them with the process's peak memory to
the JSON file named by ``BENCH_COUNTS``::

    BENCH_COUNTS=/tmp/c.json python -m bench.counted -y inventories/sandbox.py deploys/vision_rollback.py
"""

import pyinfra_cli  # noqa: F401  (first: it monkey-patches with gevent)

import atexit
import json
import os
import resource
from collections import Counter

from pyinfra.connectors.ssh import SSHConnector

COUNTS: Counter = Counter()


def _counting(method):
    def counted(self, *args, **kwargs):
        COUNTS[self.host.name] += 1
        return method(self, *args, **kwargs)

    return counted


for _name in ("run_shell_command", "put_file", "get_file"):
    setattr(SSHConnector, _name, _counting(getattr(SSHConnector, _name)))


@atexit.register
def _report():
    path = os.environ.get("BENCH_COUNTS")
    if path:
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open(path, "w") as handle:
            json.dump({"commands": dict(COUNTS), "peak_rss_mib": round(peak_kib / 1024, 1)}, handle)


if __name__ == "__main__":
    import sys

    from pyinfra_cli.main import main

    sys.argv[0] = "pyinfra"
    sys.exit(main())
