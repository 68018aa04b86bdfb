"""The ``hide`` filter of ``rollbook.host.envfile.hiding``: ``[export] KEY=value`` lines in (one layer
of matching quotes removed, as systemd and compose load a value), ``KEY=value`` out, other lines dropped.
A key not in the comma-separated first argument shows ``<hidden DIGEST>`` (HMAC-SHA256 of ``KEY=value``
under the host's salt, ``$RB_SALT``: equal values of one key compare, two keys sharing a secret do not
show it), unless its value equals its target in ``$RB_TARGETS`` (JSON of data's values). Values arrive
on standard input and the salt in the environment, never in arguments::

    grep -E '^[A-Z_]+=' .env | RB_SALT=$hs python3 -c "$(cat hide_env.py)" VISION_A,VISION_B
"""

import hashlib
import hmac
import json
import os
import re
import sys

public = {key for key in sys.argv[1].split(",") if key}
targets = {key.encode(): value.encode() for key, value in json.loads(os.environ.get("RB_TARGETS") or "{}").items()}
salt = os.environb[b"RB_SALT"]
for raw in sys.stdin.buffer:
    match = re.match(rb"(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)", raw.rstrip(b"\r\n"))
    if not match:
        continue
    key, value = match.groups()
    if len(value) > 1 and value[:1] == value[-1:] and value[:1] in (b'"', b"'"):
        value = value[1:-1]  # quoted as people write it; the loader (systemd, compose) strips them
    if key.decode() not in public and targets.get(key) != value:
        value = b"<hidden " + hmac.new(salt, key + b"=" + value, hashlib.sha256).hexdigest()[:32].encode() + b">"
    sys.stdout.buffer.write(key + b"=" + value + b"\n")
