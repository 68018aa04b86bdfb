"""The host's log mask: every value of the service's env file that is not public is replaced, read as
the service's loader reads the file; the values never reach an argument."""

import subprocess
import sys

from rollbook.host import service
from rollbook.host.service import log_tail_command

ENV = 'DATABASE_URL=postgres://app:s3cr3t-pass@db/app\nexport TOKEN="tok-12345"\nVISION_FLAG=true\nPUBLIC_URL=http://x.example\n'
LOG = ("connected to postgres://app:s3cr3t-pass@db/app\n"
       "auth with tok-12345 failed; flag true\n"
       "serving http://x.example\n")


def masked(kind: str, public: str, tmp_path) -> str:
    env = tmp_path / ".env"
    env.write_text(ENV)
    done = subprocess.run([sys.executable, "-c", service._MASK, public, kind, str(env)], input=LOG,
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_each_secret_value_is_hidden_and_public_ones_stay(tmp_path):
    said = masked("compose", "PUBLIC_URL", tmp_path)
    assert said.splitlines() == ["connected to <hidden>", "auth with <hidden> failed; flag true",
                                 "serving http://x.example"]


def test_the_values_are_read_as_the_loader_reads_the_file(tmp_path):
    """systemd ignores an ``export`` line: its value is no value of the service (nor masked as one)."""
    said = masked("systemd", "", tmp_path)
    assert "connected to <hidden>" in said and "tok-12345" in said and "http://x.example" not in said


def test_a_missing_env_file_masks_nothing_and_fails_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-c", service._MASK, "", "systemd", str(tmp_path / "none")],
                          input="a line\n", capture_output=True, text=True, check=True)
    assert done.stdout == "a line\n"


def test_the_command_reads_journald_or_compose_and_passes_no_value():
    systemd = str(log_tail_command("systemd", "analyticbot-api", "", "/opt/a/.env", {"B", "A"}, lines=5))
    assert systemd.startswith("{ journalctl -u analyticbot-api -n 5 --no-pager -o short-iso; } 2>&1 | tail -n 5 |")
    assert systemd.endswith(" A,B systemd /opt/a/.env")
    compose = str(log_tail_command("compose", "worker", "/opt/vision", "/opt/vision/.env"))
    assert "$c logs --no-color --tail 40 worker" in compose and compose.endswith(" '' compose /opt/vision/.env")
