"""The ``hide`` filter of ``rollbook.host.envfile.hiding``: an environment in, ``KEY=value`` lines out.
It runs on the host after ``rollbook/host/loaders.py``'s text (``envfile._HIDE`` joins them and calls
``main(seen_by)``). The second argument says what standard input is:

- ``systemd`` or ``compose``: an env file, read by the rules of the loader that starts the service
  (``loaders.seen_by``; ``compose`` is v2 when the host has ``docker compose``, else v1, as
  ``shell.COMPOSE`` chooses), so a value is what the process will get — an ``export`` line that systemd
  ignores gives nothing;
- ``environ``: a process's ``/proc/PID/environ`` (NUL-separated); ``json``: a JSON list of ``KEY=value``
  (``docker inspect -f '{{json .Config.Env}}'``). Values there are taken as they are.

A key not in the comma-separated first argument shows ``<hidden DIGEST>`` (HMAC-SHA256 of ``KEY=value``
under the host's salt, ``$RB_SALT``: equal values of one key compare, two keys sharing a secret do not
show it), unless its value equals its target in ``$RB_TARGETS`` (JSON of data's values); a value
holding a line break is always shown by its digest. Values arrive on standard input and the salt in the
environment, never in arguments::

    RB_SALT=$hs python3 -c "$(cat loaders.py hide_env.py; echo 'main(seen_by)')" VISION_A systemd < .env
"""

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _compose_loader() -> str:
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0
    return "compose-v2" if found else "compose-v1"


def _environment(raw: bytes, kind: str, seen_by) -> dict[str, str]:
    text = raw.decode("utf-8", "surrogateescape")
    if kind in ("systemd", "compose"):
        loader = _compose_loader() if kind == "compose" else "systemd"
        own = {key: value for key, value in os.environ.items() if not key.startswith("RB_")}
        return seen_by(text, loader, environ=own)
    pairs = json.loads(text or "[]") if kind == "json" else text.split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def main(seen_by):
    public = {key for key in sys.argv[1].split(",") if key}
    targets = json.loads(os.environ.get("RB_TARGETS") or "{}")
    salt = os.environb[b"RB_SALT"]
    for key, value in _environment(sys.stdin.buffer.read(), sys.argv[2], seen_by).items():
        if not _NAME.fullmatch(key):
            continue
        if (key not in public and targets.get(key) != value) or "\n" in value or "\r" in value:
            digest = hmac.new(salt, f"{key}={value}".encode("utf-8", "surrogateescape"), hashlib.sha256)
            value = f"<hidden {digest.hexdigest()[:32]}>"
        sys.stdout.buffer.write(f"{key}={value}\n".encode("utf-8", "surrogateescape"))
