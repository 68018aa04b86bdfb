"""The engine step's errors are one line naming the cause (a dockerd that cannot start, here a real one that fails)."""

import os
import stat

import pytest

from rollbook.sandbox import SandboxError, engine


def test_a_dockerd_that_cannot_start_ends_with_one_line_naming_the_cause(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dockerd"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'failed to start daemon: permission denied on /var/lib/docker' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ROLLBOOK_SANDBOX_DIR", str(tmp_path / "sandbox"))
    monkeypatch.setattr(engine, "_client", lambda: None)  # no engine answers on the socket
    with pytest.raises(SandboxError) as raised:
        engine.ensure_engine()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("dockerd exited with 1: failed to start daemon: permission denied")


def test_a_limit_that_cannot_be_raised_names_the_sysctl(tmp_path, monkeypatch):
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    limit.chmod(0o444)
    monkeypatch.setattr(engine, "INOTIFY_INSTANCES", limit)
    if os.geteuid() == 0:
        engine.ensure_host_limits()  # root writes through the mode bits
        assert limit.read_text() == "1024"
    else:
        with pytest.raises(SandboxError, match="sysctl -w fs.inotify.max_user_instances=1024"):
            engine.ensure_host_limits()
