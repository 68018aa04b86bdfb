"""Data that a rollback removes is saved first, exactly: the stream trim (``redis.stream_emptied``) run
for real with ``sh`` against a fake ``redis-cli`` serving a stream of 2,500 entries in COUNT-sized
pages (formatted as redis-cli 7 prints them). Every id it deletes must already be in the save file,
every saved entry is deleted, batches stay bounded, and the save file replays the entries."""

import json
import os
import re
import shutil
import subprocess

import pytest

from rollbook.host import redis
from rollbook.host.timeouts import Timeouts

from ..unit.harness import op_commands
from .test_secrets import FakeHost

STREAM = "stream:posts:vision:low"
TRICKY = ["a \"quoted\" value\nwith a newline\tand a tab \\ backslash", "привет", "1) 1) \"looks like a reply\"",
          "123-4", "", "x" * 300]


def entries(count: int) -> list:
    made = []
    for n in range(count):
        fields = ["event", json.dumps({"post_id": str(n)})]
        if n % 500 == 7:  # now and then every kind of awkward value, and field names that look like ids
            fields += [value for pair in zip(["123-4", "note", "empty", "1) 1) x", "long", "ru"], TRICKY) for value in pair]
        made.append([f"{1700000000000 + n // 3}-{n % 3}", fields])
    return made


def repr_(text: str) -> str:
    """How redis-cli prints (and reads back) a string: sdscatrepr."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}
    out = ""
    for byte in text.encode():
        char = chr(byte)
        out += escapes.get(char) or (char if 0x20 <= byte < 0x7F else f"\\x{byte:02x}")
    return f'"{out}"'


def unrepr(line: str) -> list[str]:
    """The strings of one saved line, as redis-cli's argument splitter (sdssplitargs) reads them."""
    words = []
    for quoted in re.findall(r'"((?:[^"\\]|\\.)*)"', line):
        data, i = bytearray(), 0
        while i < len(quoted):
            if quoted[i] == "\\" and quoted[i + 1] == "x":
                data.append(int(quoted[i + 2:i + 4], 16))
                i += 4
            elif quoted[i] == "\\":
                data += {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}.get(quoted[i + 1],
                                                                                     quoted[i + 1].encode())
                i += 2
            else:
                data += quoted[i].encode()
                i += 1
        words.append(data.decode())
    return words


@pytest.fixture
def host(tmp_path):
    fake = FakeHost(tmp_path / "fake", wrapped=())
    env_file = tmp_path / ".env"
    env_file.write_text("REDIS_URL=redis://:s3cr%40t@127.0.0.1:6390/2\n")
    fake.env_file, fake.save_dir = str(env_file), tmp_path / "saved"
    return fake


def drain(host, batch: int, length: int | None = 2500, **env) -> subprocess.CompletedProcess:
    command = op_commands(redis.stream_emptied, env_file=host.env_file, stream=STREAM, length=length,
                          save_dir=str(host.save_dir), timeouts=Timeouts(10, 120), batch=batch)
    assert len(command) == 1
    return host.run(command[0], FAKE_SAVE_DIR=str(host.save_dir), **env)


@pytest.mark.parametrize("batch", [1000, 300])
def test_every_deleted_entry_was_saved_first_in_bounded_batches(host, batch):
    stream = entries(2500)
    host.redis(streams={STREAM: stream})
    done = drain(host, batch, FAKE_ADD_PER_XRANGE="5", FAKE_ADD_LIMIT="20")  # producers add 20 entries meanwhile
    assert done.returncode == 0, done.stderr
    calls = host.calls("redis-cli")
    ranges = [call for call in calls if call["command"][:1] == ["XRANGE"]]
    deletes = [call for call in calls if call["command"][:1] == ["XDEL"]]
    assert all(call["command"] == ["XRANGE", STREAM, "-", "+", "COUNT", str(batch)] for call in ranges)
    assert all("--no-raw" in call["flags"] for call in ranges)
    assert all(1 <= len(call["command"]) - 2 <= batch for call in deletes)  # bounded by the batch
    assert len(ranges) == len(deletes) + 1  # the last XRANGE answers nothing
    assert all(call["unsaved"] == [] for call in deletes)  # saved before deleted
    deleted = [entry_id for call in deletes for entry_id in call["command"][2:]]
    assert len(deleted) == len(set(deleted)) == 2520  # the 2,500 and the 20 added meanwhile, each once
    assert json.loads((host.root / "redis.json").read_text())["streams"][STREAM] == []

    (saved,) = host.save_dir.iterdir()
    assert re.fullmatch(r"stream_posts_vision_low\.\d{8}T\d{6}\.\d{6}Z\.txt", saved.name)
    assert saved.stat().st_mode & 0o777 == 0o600 and host.save_dir.stat().st_mode & 0o777 == 0o700
    lines = saved.read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == deleted  # exactly the entries deleted, in order
    for line, (entry_id, fields) in zip(lines, stream):
        assert line == " ".join([entry_id] + [repr_(field) for field in fields])
        assert unrepr(line) == fields  # what redis-cli reads back on replay
    assert any("привет" in unrepr(line) for line in lines)


def test_an_empty_stream_yields_nothing_and_leaves_no_file(host):
    host.redis(streams={})
    assert op_commands(redis.stream_emptied, env_file=host.env_file, stream=STREAM, length=0,
                       save_dir=str(host.save_dir), timeouts=Timeouts(10, 60)) == []
    done = drain(host, 1000, length=None)  # length unknown (Redis did not answer the fact): runs, finds nothing
    assert done.returncode == 0, done.stderr
    assert list(host.save_dir.iterdir()) == []
    assert [call["command"][0] for call in host.calls("redis-cli")] == ["PING", "XRANGE"]


def test_an_unexpected_answer_deletes_nothing(host):
    host.redis(streams={STREAM: entries(10)})
    done = drain(host, 1000, FAKE_XRANGE_ERROR="1")
    assert done.returncode != 0
    assert f"Redis: unexpected XRANGE answer for {STREAM}: the batch was not deleted" in done.stderr
    assert not [call for call in host.calls("redis-cli") if call["command"][:1] == ["XDEL"]]
    assert len(json.loads((host.root / "redis.json").read_text())["streams"][STREAM]) == 10
    assert list(host.save_dir.iterdir()) == []  # no work file left, and no empty save file


@pytest.mark.skipif(not (shutil.which("redis-server") and shutil.which("redis-cli")),
                    reason="a real redis-server is not installed (the fake above covers the data path)")
def test_against_a_real_redis_the_save_file_replays(tmp_path):
    """Optional, when redis-server is installed locally (no container): real redis-cli formatting."""
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--requirepass", "s3cr@t", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    env = {**os.environ, "REDISCLI_AUTH": "s3cr@t"}
    cli = ["redis-cli", "-p", str(port), "-n", "2"]
    try:
        for _ in range(50):
            if subprocess.run(cli + ["PING"], capture_output=True, text=True, env=env).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        commands = "".join(f"XADD {STREAM} * " + " ".join(repr_(f) for f in fields) + "\n"
                           for _, fields in entries(1200))
        subprocess.run(cli, input=commands, capture_output=True, text=True, env=env, check=True)
        env_file = tmp_path / ".env"
        env_file.write_text(f"REDIS_URL=redis://:s3cr%40t@127.0.0.1:{port}/2\n")
        command = op_commands(redis.stream_emptied, env_file=str(env_file), stream=STREAM, length=1200,
                              save_dir=str(tmp_path / "saved"), timeouts=Timeouts(10, 120), batch=500)[0]
        done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert subprocess.run(cli + ["XLEN", STREAM], capture_output=True, text=True, env=env).stdout.strip() == "0"
        (saved,) = (tmp_path / "saved").iterdir()
        lines = saved.read_text().splitlines()
        assert [unrepr(line) for line in lines] == [fields for _, fields in entries(1200)]
        replay = subprocess.run(f"sed 's/^/XADD replayed /' {saved} | redis-cli -p {port} -n 2", shell=True,
                                capture_output=True, text=True, env=env)
        assert replay.returncode == 0
        assert subprocess.run(cli + ["XLEN", "replayed"], capture_output=True, text=True,
                              env=env).stdout.strip() == "1200"
    finally:
        server.terminate()
        server.wait(timeout=10)
