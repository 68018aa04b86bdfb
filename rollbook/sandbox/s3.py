"""The sandbox's S3-compatible endpoint: moto's standalone server on 127.0.0.1.

Example::

    endpoint = ensure_s3()       # 'http://127.0.0.1:41873', started if not answering
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from . import SandboxError
from .paths import sandbox_dir

START_TIMEOUT = 30


def _pid_path():
    return sandbox_dir() / "moto.pid"


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)
        return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_s3(endpoint: str = "") -> str:
    """Return the endpoint of a running moto server, starting one when ``endpoint`` is dead."""
    if endpoint and _answers(endpoint):
        return endpoint
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = open(sandbox_dir() / "moto.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log, start_new_session=True)
    _pid_path().write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"the S3 endpoint (moto) exited with {proc.returncode}: see {log.name}")
        if _answers(endpoint):
            return endpoint
        time.sleep(0.3)
    raise SandboxError(f"the S3 endpoint (moto) did not answer on {endpoint} within {START_TIMEOUT}s")


def ensure_bucket(endpoint: str, bucket: str, access_key: str, secret_key: str):
    """Create ``bucket`` on the sandbox endpoint unless it exists."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=access_key, aws_secret_access_key=secret_key)
    if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)


def stop_s3():
    path = _pid_path()
    if path.exists():
        try:
            os.kill(int(path.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
        path.unlink()
