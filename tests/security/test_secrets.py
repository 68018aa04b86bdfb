"""Secrets never in a process's arguments on the host: the Redis and PostgreSQL snippets rollbook builds,
run for real with ``sh`` (dash on Debian) against fake ``redis-cli`` and ``psql`` placed first on PATH.

The fakes record their arguments and the credentials they were given (``REDISCLI_AUTH``, ``PGPASSWORD``),
and at every call they look at every process's command line (``/proc/*/cmdline``, what ``ps`` shows)
for the password; ``sh``, ``timeout``, ``xargs`` and ``python3`` are wrapped to record their arguments
too. No container is needed.

``FakeHost`` is shared with ``test_data_paths`` (the stream-trim data path).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rollbook.host import postgres, redis, shell
from rollbook.host.timeouts import Timeouts
from rollbook.systems.analyticbot.facts import AnalyticbotHost, AnalyticbotPlaces
from rollbook.systems.vision.facts import VisionEffect, VisionHost, VisionPlaces

from ..unit.harness import op_commands

REDIS_URL = "redis://:s3cr%40t@127.0.0.1:6390/2"
DATABASE_URL = "postgresql://u:p%40ss@127.0.0.1:5432/v?sslmode=require"
# every spelling of both passwords that must never be in an argument
SECRETS = ("s3cr%40t", "s3cr@t", "p%40ss", "p@ss")

# A fake redis-cli: a small stateful Redis (keys and streams, in a JSON file) that answers the way
# redis-cli 7 prints (raw when stdout is not a terminal, --no-raw formatting on request), records
# each call, and checks at XDEL that every id it deletes is already in a save file.
FAKE_REDIS_CLI = r'''
import fnmatch, glob, json, os, sys
sys.path.insert(0, os.environ["FAKE_DIR"])
from fakecommon import record

state_path = os.path.join(os.environ["FAKE_DIR"], "redis.json")
state = json.load(open(state_path)) if os.path.exists(state_path) else {"keys": [], "streams": {}}
args, options, flags = sys.argv[1:], {}, set()
while args and args[0].startswith("-"):
    name = args.pop(0)
    if name in ("-h", "-p", "-n", "--user", "--pattern"):
        options[name] = args.pop(0)
    else:
        flags.add(name)
call = record("redis-cli", extra={"options": options, "flags": sorted(flags), "command": args})

def save():
    json.dump(state, open(state_path, "w"))

def repr_(text):
    out = '"'
    for byte in text.encode():
        char = chr(byte)
        if char in '\\"':
            out += "\\" + char
        elif char in "\n\r\t\a\b":
            out += {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}[char]
        elif 0x20 <= byte < 0x7f:
            out += char
        else:
            out += "\\x%02x" % byte
    return out + '"'

def tty(reply, prefix=""):
    """redis-cli's cliFormatReplyTTY for arrays of bulk strings."""
    if isinstance(reply, list):
        if not reply:
            return "(empty array)\n"
        width = len(str(len(reply)))
        nested = prefix + " " * (width + 2)
        return "".join((prefix if i else "") + "%*d) " % (width, i + 1) + tty(item, nested)
                       for i, item in enumerate(reply))
    return repr_(reply) + "\n"

def raw(reply):
    return "".join(raw(item) for item in reply) if isinstance(reply, list) else reply + "\n"

def out(reply):
    sys.stdout.write(tty(reply) if "--no-raw" in flags else raw(reply))

if "--scan" in flags:
    for key in state["keys"]:
        if fnmatch.fnmatchcase(key, options.get("--pattern", "*")):
            print(key)
    sys.exit(0)
name = args[0].upper() if args else ""
if name == "PING":
    print("PONG")
elif name == "UNLINK":
    gone = [key for key in args[1:] if key in state["keys"]]
    state["keys"] = [key for key in state["keys"] if key not in gone]
    save()
    print(len(gone))
elif name == "XLEN":
    print(len(state["streams"].get(args[1], [])))
elif name == "XADD":
    entries = state["streams"].setdefault(args[1], [])
    entry_id = args[2] if args[2] != "*" else "%d-0" % (1800000000000 + len(entries))
    entries.append([entry_id, args[3:]])
    save()
    print(entry_id)
elif name == "XPENDING":
    print(0)
elif name == "XRANGE":
    if os.environ.get("FAKE_XRANGE_ERROR"):
        print("(error) WRONGTYPE Operation against a key holding the wrong kind of value")
        sys.exit(0)
    count = int(args[5]) if len(args) > 5 and args[4].upper() == "COUNT" else None
    entries = state["streams"].get(args[1], [])
    page = entries[:count] if count is not None else entries
    out([[entry_id, fields] for entry_id, fields in page])
    added = int(os.environ.get("FAKE_ADD_PER_XRANGE", "0"))  # producers still writing meanwhile
    if added and entries and state.get("added", 0) < int(os.environ.get("FAKE_ADD_LIMIT", "0")):
        for _ in range(added):
            state["added"] = state.get("added", 0) + 1
            entries.append(["%d-0" % (1900000000000 + state["added"]), ["late", str(state["added"])]])
        save()
elif name == "XDEL":
    saved = set()
    for path in glob.glob(os.path.join(os.environ.get("FAKE_SAVE_DIR", "/nonexistent"), "*.txt")):
        saved |= {line.split(" ", 1)[0] for line in open(path, encoding="utf-8", errors="replace")}
    call["unsaved"] = [entry_id for entry_id in args[2:] if entry_id not in saved]
    entries = state["streams"].get(args[1], [])
    before = len(entries)
    entries[:] = [entry for entry in entries if entry[0] not in set(args[2:])]
    save()
    print(before - len(entries))
else:
    print("(error) ERR unknown command for the fake")
record.flush(call)
'''

FAKE_PSQL = r'''
import os, sys
sys.path.insert(0, os.environ["FAKE_DIR"])
from fakecommon import record
call = record("psql")
text = " ".join(sys.argv[1:])
if "SELECT 1" in text:
    print(1)
elif "post_enrichment" in text and "count(*)" in text:
    print("ok 0")
record.flush(call)
'''

# a recording wrapper: logs the call, then runs the real program with the same arguments
WRAPPER = r'''
import os, sys
sys.path.insert(0, os.environ["FAKE_DIR"])
from fakecommon import record
record.flush(record(os.path.basename(sys.argv[0])))
os.execv(REAL, [REAL] + sys.argv[1:])
'''

COMMON = r'''
import json, os, sys

WATCHED_ENV = ("REDISCLI_AUTH", "PGPASSWORD", "PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGOPTIONS")

def leaks():
    """Every process's command line (what ps shows) holding a secret, right now."""
    secrets = [s.encode() for s in json.loads(os.environ.get("FAKE_SECRETS", "[]"))]
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    line = f.read()
            except OSError:
                continue
            if any(s in line for s in secrets):
                found.append(line.replace(b"\0", b" ").decode("utf-8", "replace"))
    return found

def record(prog, extra=None):
    call = {"prog": prog, "argv": sys.argv[1:], "env": {k: os.environ[k] for k in WATCHED_ENV if k in os.environ},
            "leaks": leaks()}
    call.update(extra or {})
    return call

def flush(call):
    with open(os.path.join(os.environ["FAKE_DIR"], "calls.jsonl"), "a") as log:
        log.write(json.dumps(call) + "\n")

record.flush = flush
'''


class FakeHost:
    """A folder with fake ``redis-cli``/``psql`` and recording wrappers first on PATH; ``run`` runs a
    command the way pyinfra does on a host (``sh -c``), ``calls`` reads what the fakes recorded."""

    def __init__(self, root: Path, wrapped=("sh", "timeout", "xargs", "python3")):
        self.root, self.bin = root, root / "bin"
        self.bin.mkdir(parents=True)
        (root / "fakecommon.py").write_text(COMMON)
        self._write("redis-cli", FAKE_REDIS_CLI)
        self._write("psql", FAKE_PSQL)
        for name in wrapped:
            real = sys.executable if name == "python3" else shutil.which(name)
            self._write(name, f"REAL = {real!r}\n" + WRAPPER)
        self.env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "FAKE_DIR": str(root),
                    "FAKE_SECRETS": json.dumps(SECRETS)}

    def _write(self, name: str, body: str):
        path = self.bin / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)

    def redis(self, **state):
        (self.root / "redis.json").write_text(json.dumps({"keys": [], "streams": {}, **state}))

    def run(self, command: str, **env) -> subprocess.CompletedProcess:
        return subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, env={**self.env, **env},
                              timeout=120)

    def calls(self, prog: str | None = None) -> list[dict]:
        path = self.root / "calls.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return [row for row in rows if prog is None or row["prog"] == prog]


@pytest.fixture
def fake(tmp_path):
    host = FakeHost(tmp_path / "fake")
    host.redis(keys=["vision:phash:1", "vision:phash:2", "other"],
               streams={"stream:posts:vision:low": [["1-0", ["event", "{}"]], ["2-0", ["event", "{}"]]]})
    env_file = tmp_path / ".env"
    env_file.write_text(f"OTHER=1\nREDIS_URL={REDIS_URL}\nDATABASE_URL={DATABASE_URL}\n")
    host.env_file = str(env_file)
    return host


def _snippets(env_file: str, save_dir: str) -> dict[str, str]:
    """Every built command that reaches redis-cli or psql (operations and facts)."""
    limits = Timeouts(10, 60, 5)
    vision = VisionPlaces(env_file, "/nonexistent/vision", "worker", "/nonexistent/x.yml", "http://127.0.0.1:9",
                            "vision:phash", "stream:posts:vision:low", ("VISION_PHASH_ENABLED",),
                            "stream:posts:vision:uploaded", "vision_workers")
    analyticbot = AnalyticbotPlaces(env_file, "systemd", "rollbook-no-such-unit", "/nonexistent", "/nonexistent",
                                      "/nonexistent/log", "http://127.0.0.1:9", "DATABASE_URL", ("A",))
    return {
        "keys_deleted": op_commands(redis.keys_deleted, env_file=env_file, pattern="vision:phash:*", count=2,
                                    timeouts=limits)[0],
        "stream_emptied": op_commands(redis.stream_emptied, env_file=env_file, stream="stream:posts:vision:low",
                                      length=2, save_dir=save_dir, timeouts=limits, batch=10)[0],
        "postgres_script": op_commands(postgres.script, env_file=env_file, url_key="DATABASE_URL", sql="SELECT 2;",
                                       needed=True, summary=[], what="x", timeouts=limits)[0],
        "vision_host": VisionHost().command(vision, "/nonexistent/state.json", limits, count_context=True),
        "vision_smoke": VisionEffect().command(vision, window=0, health_timeout=1, timeouts=limits, smoke=True,
                                               smoke_timeout=1),
        "analyticbot_migration": AnalyticbotHost().command(analyticbot, "/nonexistent/state.json", limits,
                                                           migration=True),
    }


@pytest.mark.parametrize("name", ["keys_deleted", "stream_emptied", "postgres_script", "vision_host", "vision_smoke",
                                  "analyticbot_migration"])
def test_passwords_reach_redis_cli_and_psql_only_through_their_environment(fake, tmp_path, name):
    done = fake.run(_snippets(fake.env_file, str(tmp_path / "saved"))[name], FAKE_SAVE_DIR=str(tmp_path / "saved"))
    calls = fake.calls()
    assert calls, done.stderr
    for call in calls:
        arguments = " ".join(call["argv"])
        assert not any(secret in arguments for secret in SECRETS), call
        assert call["leaks"] == [], call  # no process at all had it on its command line at that moment
    for text in (done.stdout, done.stderr):
        assert not any(secret in text for secret in SECRETS)
    for call in fake.calls("redis-cli"):
        assert call["env"]["REDISCLI_AUTH"] == "s3cr@t"  # decoded
        assert call["options"] == {"-h": "127.0.0.1", "-p": "6390", "-n": "2"}
    for call in fake.calls("psql"):
        assert call["env"]["PGPASSWORD"] == "p@ss"  # decoded
        assert call["argv"][0] == "postgresql://u@127.0.0.1:5432/v?sslmode=require"
    used = {call["prog"] for call in calls}
    assert ("redis-cli" in used) == (name not in ("postgres_script", "analyticbot_migration"))
    assert ("psql" in used) == (name in ("postgres_script", "vision_host", "vision_smoke", "analyticbot_migration"))


def test_the_operations_still_do_their_work_and_fail_naming_only_the_address(fake, tmp_path):
    snippets = _snippets(fake.env_file, str(tmp_path / "saved"))
    assert fake.run(snippets["keys_deleted"]).returncode == 0
    assert json.loads((fake.root / "redis.json").read_text())["keys"] == ["other"]
    done = fake.run(snippets["postgres_script"])
    assert done.returncode == 0, done.stderr
    script = fake.calls("psql")[-1]["argv"]
    assert script[1:5] == ["-q", "-1", "-v", "ON_ERROR_STOP=1"]
    assert script[6] == "SET lock_timeout = '5s'; SET statement_timeout = '60s'; SELECT 2;"
    (fake.bin / "redis-cli").write_text("#!/bin/sh\nexit 1\n")  # Redis does not answer
    done = fake.run(snippets["keys_deleted"])
    assert done.returncode == 1 and done.stderr.strip() == "Redis unreachable at 127.0.0.1:6390 (deleting vision:phash:*)"


def test_a_password_with_a_newline_or_quotes_arrives_byte_for_byte(fake, tmp_path):
    env_file = tmp_path / "odd.env"
    env_file.write_text("REDIS_URL=redis://adm%69n:a%22b'c%24(x)%0A@h:7/0\n")
    done = fake.run(f"{shell.redis_connect(str(env_file), 'x')}; {shell.REDIS_CLI} XLEN s")
    assert done.returncode == 0, done.stderr
    call = fake.calls("redis-cli")[-1]
    assert call["env"]["REDISCLI_AUTH"] == "a\"b'c$(x)\n" and call["options"]["--user"] == "admin"
