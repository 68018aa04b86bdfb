"""The ``mask`` filter of ``rollbook.host.service.log_tail_command``: log lines in, the same lines out with
every value of the service's env file that is not public replaced by ``<hidden>``. It runs on the host
after ``rollbook/host/loaders.py``'s text (``service._MASK`` joins them and calls ``main(seen_by)``), so
the values are read as the service's loader reads them (``systemd``; ``compose``: both compose versions'
readings, masking more rather than less). Values are read from the file, never from arguments; a value
under 4 characters, a number or a boolean word (``true``, ``off``) is left as it is: masking it would hide
every such word of the log and no secret::

    journalctl -u api -n 40 | python3 -c "$(cat loaders.py mask_log.py; echo 'main(seen_by)')" \
        PUBLIC_KEY,OTHER systemd /opt/api/.env
"""

import sys

_PLAIN = {"true", "false", "yes", "no", "on", "off", "none", "null"}


def _values(path: str, kind: str, public: set[str], seen_by) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError:
        return []
    loaders = ("systemd",) if kind == "systemd" else ("compose-v1", "compose-v2")
    found = {value for loader in loaders for key, value in seen_by(text, loader).items()
             if key not in public and len(value) >= 4 and not value.isdigit() and value.lower() not in _PLAIN}
    return sorted(found, key=len, reverse=True)  # a value holding another is masked whole


def main(seen_by):
    public = {key for key in sys.argv[1].split(",") if key}
    values = _values(sys.argv[3], sys.argv[2], public, seen_by)
    for line in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").splitlines():
        for value in values:
            line = line.replace(value, "<hidden>")
        sys.stdout.buffer.write(f"{line}\n".encode("utf-8", "surrogateescape"))
