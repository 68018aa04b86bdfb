"""The ``hide`` filter of ``rollbook.host.envfile.hiding``: ``KEY=value`` lines in, the same lines out,
every value of a key not in the comma-separated first argument replaced by ``<hidden DIGEST>``
(HMAC-SHA256 under the host's salt, ``$RB_SALT``, of ``KEY=value``: equal values of one key compare
across files and processes, while two keys holding the same secret still show different digests); a value equal to its target in ``$RB_TARGETS`` (a
JSON object of data's values, which the controller knows) is printed as it is. One layer of matching
quotes is removed first, as systemd and compose load a value, and so is an ``export`` in front.
Lines that are not ``[export] KEY=value`` are dropped. Values arrive on standard input and the salt in the environment, never in arguments::

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
