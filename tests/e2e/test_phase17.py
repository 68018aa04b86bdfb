"""phase17 server scenarios (issue #8: disable and re-enable the WebSocket stream, and prove it).

phase17-1 runs the server from the git checkout /srv/phase17 (systemd unit phase17-server: uvicorn
from its own virtualenv holding current FastAPI, uvicorn and websockets releases). Each scenario converges with the router or the flag
method, reruns (no change), and checks independently: a real WebSocket upgrade straight to the
published port, main.py's bytes, the process environment in /proc, the test suites.
"""

import base64
import hashlib
import json
import os
import re
import shlex
import socket

import pytest

from rollbook.systems.phase17.facts import INCLUDE_LINE, IMPORT_LINE

from .pyinfra_run import REPO, converged_twice, pyinfra

HOST = "phase17-1"
CHECKOUT = "/srv/phase17"
MAIN = f"{CHECKOUT}/server/app/main.py"
ENV = f"{CHECKOUT}/server.env"
STREAM = "/ws/video/stream?pipeline_id=yolo_ocr"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def deploy(name: str, **data):
    return pyinfra("inventories/sandbox.py", f"deploys/phase17_{name}.py", data=data, limit=HOST)


def upgrade(probes, path: str = STREAM) -> tuple[int, bool]:
    """A real WebSocket upgrade to the published port: (status code, accepted with the right key)."""
    key = base64.b64encode(os.urandom(16)).decode()
    port = probes.state.host(HOST).port("server")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n"
                      f"Upgrade: websocket\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    return status, headers.get("sec-websocket-accept") == want


def process_env(probes) -> dict[str, str]:
    return probes.unit_env(HOST, "phase17-server")


def write(probes, path: str, text: str):
    probes.ssh(HOST).check_output(f"printf '%s' {shlex.quote(text)} > {path}")


def suites_pass(probes) -> bool:
    return probes.ssh(HOST).run(f"cd {CHECKOUT}/server && PYTHONDONTWRITEBYTECODE=1 {CHECKOUT}/venv/bin/python "
                                f"-m pytest app/tests/video tests/api -q -p no:cacheprovider").rc == 0


def guarded(text: str) -> str:
    """main.py in the runbook's Method 3 shape: both router lines under ``if STREAMING_ENABLED:``."""
    text = text.replace(IMPORT_LINE + "\n", "").replace(
        INCLUDE_LINE + "\n", f"if STREAMING_ENABLED:\n    {IMPORT_LINE}\n    {INCLUDE_LINE}\n")
    return text.replace("from fastapi import FastAPI\n", "from fastapi import FastAPI\n\nfrom settings import STREAMING_ENABLED\n")


@pytest.fixture
def enabled(sandbox, probes):
    """The checkout's main.py (router shape), the stream enabled with the router method."""
    probes.ssh(HOST).check_output(f"git -C {CHECKOUT} checkout -- server/app/main.py")
    run = deploy("enable")
    assert run.returncode == 0, run.output
    assert upgrade(probes) == (101, True)


def test_the_server_is_fastapi_and_uvicorn_at_their_pinned_current_releases(sandbox, probes):
    pins = dict(line.split("==") for line in (REPO / "tests/sandbox/images/phase17_server/requirements.txt")
                .read_text().splitlines() if "==" in line)
    shown = probes.ssh(HOST).check_output(f"{CHECKOUT}/venv/bin/python -c 'import fastapi, uvicorn, websockets; "
                                          "print(fastapi.__version__, uvicorn.__version__, websockets.__version__)'")
    assert shown.split() == [pins["fastapi"], pins["uvicorn"], pins["websockets"]]
    assert "uvicorn app.main:app" in probes.ssh(HOST).check_output("systemctl show -p ExecStart --value phase17-server")


def test_router_rollback_refuses_the_upgrade_and_enable_gives_101_with_main_py_byte_identical(enabled, probes):
    before_sha, before = probes.file_sha256(HOST, MAIN), probes.file_text(HOST, MAIN).splitlines()
    run = converged_twice(deploy, "rollback")
    # FastAPI refuses an upgrade to a route that is gone with 403 (the runbook says 404): no 101 is the effect
    assert "verified: WebSocket upgrade to /ws/video/stream?pipeline_id=yolo_ocr answers 403" in run.output
    assert "verified: /v1/health answers 200" in run.output
    after = probes.file_text(HOST, MAIN).splitlines()
    assert [(b, a) for b, a in zip(before, after) if a != b] == [
        (IMPORT_LINE, "# " + IMPORT_LINE), (INCLUDE_LINE, "# " + INCLUDE_LINE)]
    assert len(after) == len(before)
    assert upgrade(probes)[0] == 403
    assert probes.http(HOST, "server", "/v1/health")[0] == 200
    assert suites_pass(probes)

    run = converged_twice(deploy, "enable")
    assert re.search(r"verified: memory (grew|shrank) \d+ kB over 20 stream connect/disconnect cycles", run.output)
    assert probes.file_sha256(HOST, MAIN) == before_sha
    assert upgrade(probes) == (101, True)
    assert probes.ssh(HOST).check_output(f"git -C {CHECKOUT} status --porcelain") == ""


def test_flag_method_converges_the_env_file_and_the_process(enabled, probes):
    write(probes, MAIN, guarded(probes.file_text(HOST, MAIN)))
    shaped = probes.file_sha256(HOST, MAIN)
    try:
        converged_twice(deploy, "rollback", phase17_method="flag")
        assert "STREAMING_ENABLED=false" in probes.file_text(HOST, ENV).splitlines()
        assert process_env(probes)["STREAMING_ENABLED"] == "false"
        assert upgrade(probes)[0] == 403
        assert suites_pass(probes)

        converged_twice(deploy, "enable", phase17_method="flag")
        assert "STREAMING_ENABLED=true" in probes.file_text(HOST, ENV).splitlines()
        assert process_env(probes)["STREAMING_ENABLED"] == "true"
        assert upgrade(probes) == (101, True)
        assert probes.file_sha256(HOST, MAIN) == shaped  # the flag method never edits main.py
    finally:
        probes.ssh(HOST).check_output(f"git -C {CHECKOUT} checkout -- server/app/main.py")


@pytest.mark.parametrize("method, reshape, cause", [
    ("router", lambda text: text.replace("video_stream_router", "stream_router"),
     "/srv/phase17/server/app/main.py has changed shape: expected exactly one line 'from app.api_routes"),
    ("router", lambda text: text.replace(INCLUDE_LINE, INCLUDE_LINE + "\n" + INCLUDE_LINE),
     "has changed shape: expected exactly one line 'app.include_router(video_stream_router)'"),
    ("router", guarded, "(it has the if STREAMING_ENABLED: guard: use phase17_method=flag)"),
    ("flag", lambda text: text, "has no 'if STREAMING_ENABLED:' guard around the video_stream router"),
])
def test_a_main_py_of_another_shape_is_refused_and_left_untouched(enabled, probes, method, reshape, cause):
    write(probes, MAIN, reshape(probes.file_text(HOST, MAIN)))
    before = probes.file_sha256(HOST, MAIN)
    backups = probes.ssh(HOST).check_output(f"ls -1 {MAIN}.backup.* 2>/dev/null || true")
    try:
        run = deploy("rollback", phase17_method=method)
        assert run.returncode != 0 and "refused" in run.refusal and cause in run.refusal, run.output
        assert probes.file_sha256(HOST, MAIN) == before
        assert probes.ssh(HOST).check_output(f"ls -1 {MAIN}.backup.* 2>/dev/null || true") == backups
        assert upgrade(probes) == (101, True)  # nothing restarted or changed
    finally:
        probes.ssh(HOST).check_output(f"git -C {CHECKOUT} checkout -- server/app/main.py")


def test_the_leak_check_fails_an_enable_whose_sessions_are_never_released(enabled, probes):
    host = probes.ssh(HOST)
    host.check_output(f"echo STREAM_SESSION_LEAK=true >> {ENV} && systemctl restart phase17-server")
    try:
        run = deploy("enable")
        assert run.returncode != 0, run.output
        assert "FAILED: memory grew" in run.output and "verification failed" in run.output, run.output
    finally:
        host.check_output(f"sed -i '/^STREAM_SESSION_LEAK=/d' {ENV} && systemctl restart phase17-server")
    assert deploy("enable").returncode == 0


def test_a_run_killed_between_edit_and_restart_is_finished_by_the_next_run(enabled, probes):
    host = probes.ssh(HOST)
    host.check_output(f"sed -i -e 's/^{IMPORT_LINE}$/# &/' -e 's/^app\\.include_router(video_stream_router)$/# &/' "
                      f"{MAIN}")  # the edit of a run that died before its restart
    assert upgrade(probes) == (101, True)  # the running process still serves the stream
    run = converged_twice(deploy, "rollback")
    assert {name for name, _ in run.changed} == {"phase17 | Restart phase17-server so the process serves the new state"}
    assert upgrade(probes)[0] == 403


def test_a_main_py_the_server_cannot_start_on_is_put_back_from_this_run_s_backup(enabled, probes):
    """main.py of the router shape that uses the router once more: commenting out its import stops the
    server from starting. The run puts this run's backup back, the server serves again, the run fails."""
    host = probes.ssh(HOST)
    write(probes, MAIN, probes.file_text(HOST, MAIN) + "app.state.stream_router = video_stream_router\n")
    shaped = probes.file_sha256(HOST, MAIN)
    host.check_output("systemctl restart phase17-server && timeout 30 sh -c "
                      "'until curl -fs http://127.0.0.1:8000/v1/health >/dev/null; do sleep 0.2; done'")
    try:
        assert upgrade(probes) == (101, True)
        run = deploy("rollback", phase17_health_timeout=10)
        assert run.returncode != 0, run.output
        assert f"restored {MAIN} from {MAIN}.backup." in run.output, run.output
        assert "phase17-server is ready on the restored" in run.output
        # independently: main.py as it was, the server up on it and serving the stream
        assert probes.file_sha256(HOST, MAIN) == shaped
        assert upgrade(probes) == (101, True)
        failed = host.check_output(f"ls -1t {MAIN}.failed.* | head -n 1")
        assert f"# {IMPORT_LINE}" in probes.file_text(HOST, failed)
        last = [json.loads(line) for line in probes.file_text(HOST, "/var/lib/rollbook/history.jsonl").splitlines()][-1]
        assert last["event"] == "finished" and last["outcome"] == "restored", last
    finally:
        host.check_output(f"git -C {CHECKOUT} checkout -- server/app/main.py && rm -f {MAIN}.failed.* "
                          "&& systemctl restart phase17-server && timeout 30 sh -c "
                          "'until curl -fs http://127.0.0.1:8000/v1/health >/dev/null; do sleep 0.2; done'")
