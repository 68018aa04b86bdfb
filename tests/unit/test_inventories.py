"""Staging and prod inventories: realistic hosts, strict host keys, known_hosts from data (no connection made)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


def inventory(name: str) -> dict:
    done = subprocess.run([PYINFRA, f"inventories/{name}.py", "debug-inventory", "--json"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_real_inventories_check_host_keys_strictly(name):
    text = json.dumps(inventory(name))
    assert f".{name}.rollbook.internal" in text
    assert '"ssh_strict_host_key_checking": "yes"' in text
    assert f"known_hosts.rollbook-{name}" in text
    assert f'"rollbook_environment": "{name}"' in text
    for group in ("vision_workers", "analyticbot_api", "voice_v2", "phase17_server"):
        assert group in text
