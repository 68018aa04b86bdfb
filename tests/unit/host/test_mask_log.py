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


def test_a_value_is_masked_under_any_loader_even_in_a_line_the_loader_ignores(tmp_path):
    """systemd ignores an ``export`` line, yet its value is masked: the file's raw lines are read too."""
    said = masked("systemd", "", tmp_path)
    assert said.splitlines() == ["connected to <hidden>", "auth with <hidden> failed; flag true", "serving <hidden>"]


def test_a_file_a_loader_refuses_still_masks_its_values_and_never_prints_the_error(tmp_path):
    env = tmp_path / ".env"
    env.write_text('OK_KEY=value-one\nAPI_TOKEN="supersecretvalue123\n')  # compose v2 refuses the open quote
    done = subprocess.run([sys.executable, "-c", service._MASK, "", "compose", str(env)],
                          input="token supersecretvalue123 and value-one\n" + "x" * 500 + "\n",
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["token <hidden> and <hidden>", "x" * 200 + "…"] and done.stderr == ""


def test_every_env_file_named_is_read(tmp_path):
    (tmp_path / "a").write_text("A_KEY=first-secret\n")
    (tmp_path / "b").write_text("B_KEY=second-secret\n")
    done = subprocess.run([sys.executable, "-c", service._MASK, "", "systemd", f"{tmp_path}/a:{tmp_path}/b"],
                          input="first-secret second-secret\n", capture_output=True, text=True, check=True)
    assert done.stdout == "<hidden> <hidden>\n"


def test_a_missing_env_file_masks_nothing_and_fails_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-c", service._MASK, "", "systemd", str(tmp_path / "none")],
                          input="a line\n", capture_output=True, text=True, check=True)
    assert done.stdout == "a line\n"


def test_the_command_reads_journald_or_compose_and_passes_no_value():
    systemd = str(log_tail_command("systemd", "analyticbot-api", "", "/opt/a/.env", {"B", "A"}, lines=5))
    assert systemd.startswith("{ timeout 15 journalctl -u analyticbot-api -n 5 --no-pager -o short-iso; } 2>&1 | "
                              "tail -n 5 |")
    assert systemd.endswith(" A,B systemd /opt/a/.env")
    compose = str(log_tail_command("compose", "worker", "/opt/vision", ("/opt/vision/.env", "/opt/vision/.env.old")))
    assert "timeout 15 $c logs --no-color --tail 30 worker" in compose
    assert compose.endswith(" '' compose /opt/vision/.env:/opt/vision/.env.old")
