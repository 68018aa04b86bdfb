"""The ``mask`` filter of ``rollbook.host.service.log_tail_command``: log lines in, the same lines out with
every value of the service's env files that is not public replaced by ``<hidden>``. It runs on the host
after ``rollbook/host/loaders.py``'s text (``service._MASK`` joins them and calls ``main(seen_by)``), so
the values are read as the service's loader reads the files (``systemd``; ``compose``: both compose
versions' readings, masking more rather than less); a file a loader refuses is also read line by line,
raw, so a value is masked even then. Values are read from the files (the third argument on: ``:``-joined
paths), never from arguments. A value under 4 characters, a number or a boolean word (``true``, ``off``)
is left as it is: masking it would hide every such word of the log and no secret. Each line is cut to
``WIDTH`` characters. When anything goes wrong, no log line is printed, only why::

    journalctl -u api -n 30 | python3 -c "$(cat loaders.py mask_log.py; echo 'main(seen_by)')" \
        PUBLIC_KEY,OTHER systemd /opt/api/.env:/opt/api/.env.previous
"""

import sys

_PLAIN = {"true", "false", "yes", "no", "on", "off", "none", "null"}
WIDTH = 200


def _raw(text: str) -> list[tuple[str, str]]:
    """Every ``KEY=value`` line as written, and with its quotes stripped: what a refused file still holds."""
    found = []
    for line in text.splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep:
            found += [(key.strip(), value.strip()), (key.strip(), value.strip().strip("\"'"))]
    return found


def _values(paths: list[str], kind: str, public: set[str], seen_by) -> list[str]:
    loaders = ("systemd",) if kind == "systemd" else ("compose-v1", "compose-v2")
    found = set()
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                text = handle.read()
        except OSError:
            continue
        pairs = _raw(text)
        for loader in loaders:
            try:
                pairs += list(seen_by(text, loader).items())
            except Exception:  # a file this loader refuses: its raw reading masks it
                pass
        found |= {value for key, value in pairs if key not in public and len(value) >= 4 and not value.isdigit()
                  and value.lower() not in _PLAIN}
    return sorted(found, key=len, reverse=True)  # a value holding another is masked whole


def main(seen_by):
    try:
        public = {key for key in sys.argv[1].split(",") if key}
        values = _values([path for path in sys.argv[3].split(":") if path], sys.argv[2], public, seen_by)
        lines = sys.stdin.buffer.read().decode("utf-8", "surrogateescape").splitlines()
        masked = []
        for line in lines:
            for value in values:
                line = line.replace(value, "<hidden>")
            masked.append(line[:WIDTH] + ("…" if len(line) > WIDTH else ""))
    except Exception as error:  # never a line that may hold a value: only why
        print(f"(the log was not masked: {type(error).__name__}; not shown)")
        return
    sys.stdout.buffer.write("".join(f"{line}\n" for line in masked).encode("utf-8", "surrogateescape"))
