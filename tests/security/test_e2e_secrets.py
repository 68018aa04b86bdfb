"""No secret in any output: a voice-v2 level-1 rollback and a vision rollback at ``-vvv --debug``, with
secrets under names no heuristic catches (OPENAI_APIKEY, DATABASE_URI, DB_PWD, GREETING_TEXT) in the hosts'
env files, written as people write them (``=`` padding, ``?sslmode=require``, quotes, spaces, ``$``).
None of their values may appear in pyinfra's output, the history, the recorded state, the incident
report, or the process arguments seen on the host (``ps``) during the run."""

import json
import secrets
import subprocess
import sys

import pytest

from tests.e2e.pyinfra_run import PYINFRA, REPO

VOICE, VISION = "voice-v2-1", "vision-1"
PS_LOG, PS_STOP = "/tmp/rollbook-ps.log", "/tmp/rollbook-ps.stop"


def _secrets() -> dict[str, str]:
    token = secrets.token_urlsafe(18)
    return {"OPENAI_APIKEY": f"sk-{token}==", "DATABASE_URI": f"postgresql://u:p%40ss{token[:6]}@db:5432/v?sslmode=require",
            "DB_PWD": f"pw{token[6:14]}", "GREETING_TEXT": f'"hello {token[14:]} $HOME there"'}


def _add(host, path: str, values: dict[str, str]):
    for key, value in values.items():
        host.run(f"sed -i '/^{key}=/d' {path} && printf '%s=%s\\n' {key} '{value}' >> {path}")


def _remove(host, path: str, keys):
    for key in keys:
        host.run(f"sed -i '/^{key}=/d' {path}")


def _watch_ps(host):
    host.run(f"rm -f {PS_LOG} {PS_STOP}; setsid sh -c 'for i in $(seq 6000); do [ -e {PS_STOP} ] && break; "
             f"ps -eo args >> {PS_LOG}; sleep 0.05; done' > /dev/null 2>&1 < /dev/null &")


def _ps_seen(host) -> str:
    host.run(f"touch {PS_STOP}")
    return host.run(f"cat {PS_LOG}").stdout


def _run_verbose(deploy: str, limit: str, **data) -> subprocess.CompletedProcess:
    cmd = [PYINFRA, "-y", "-vvv", "--debug", "--limit", limit]
    for key, value in data.items():
        cmd += ["--data", f"{key}={value}"]
    return subprocess.run(cmd + ["inventories/sandbox.py", f"deploys/{deploy}.py"], cwd=REPO, capture_output=True,
                          text=True, timeout=900)


def _everything_said(probes, name: str, run: subprocess.CompletedProcess) -> dict[str, str]:
    host = probes.ssh(name)
    history = host.run("cat /var/lib/rollbook/history.jsonl").stdout
    run_id = [json.loads(line) for line in history.splitlines() if line.strip()][-1]["run_id"]
    incident = subprocess.run([sys.executable, "-m", "rollbook", "incident", "--inventory", "inventories/sandbox.py",
                               "--host", name, "--run", run_id], cwd=REPO, capture_output=True, text=True)
    return {"output": run.stdout + run.stderr, "history": history,
            "state": host.run("cat /var/lib/rollbook/state.json").stdout,
            "incident": incident.stdout + incident.stderr, "ps": _ps_seen(host)}


def _assert_nowhere(said: dict[str, str], values: dict[str, str]):
    assert "ps -eo args" in said["ps"], "the host's process list was not sampled during the run"
    for where, text in said.items():
        for key, value in values.items():
            for shown in {value, value.strip('"'), value.split("@")[0].split(":")[-1]}:  # a URL's password too
                assert shown not in text, f"{key}'s value appears in the {where}"


@pytest.fixture
def voice_secrets(sandbox, probes):
    host = probes.ssh(VOICE)
    run = subprocess.run([PYINFRA, "-y", "--limit", VOICE, "inventories/sandbox.py", "deploys/voice_v2_enable.py"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    current, previous = _secrets(), _secrets()
    _add(host, "/opt/voice_v2/.env", current)
    _add(host, "/opt/voice_v2/.env.previous", previous)
    yield host, {**{f"{k} (current)": v for k, v in current.items()}, **{f"{k} (previous)": v for k, v in previous.items()}}
    for path in ("/opt/voice_v2/.env", "/opt/voice_v2/.env.previous"):
        _remove(host, path, current)


def test_a_voice_level_1_run_at_full_verbosity_shows_no_secret(voice_secrets, probes):
    host, values = voice_secrets
    _watch_ps(host)
    run = _run_verbose("voice_v2_rollback", VOICE, voice_level=1)
    said = _everything_said(probes, VOICE, run)
    assert run.returncode == 0, said["output"][-3000:]
    _assert_nowhere(said, values)
    # the runbook's `cp .env.previous .env`, done on the host: byte for byte, whatever the values hold
    assert probes.file_sha256(VOICE, "/opt/voice_v2/.env") == probes.file_sha256(VOICE, "/opt/voice_v2/.env.previous")


@pytest.fixture
def vision_secrets(sandbox, probes):
    host = probes.ssh(VISION)
    values = _secrets()
    _add(host, "/opt/vision/.env", values)
    yield host, values
    _remove(host, "/opt/vision/.env", values)


def test_a_vision_run_at_full_verbosity_shows_no_secret(vision_secrets, probes):
    host, values = vision_secrets
    values = {**values, **{name: probes.secrets[name] for name in ("VISION_DB_PASSWORD", "GIGACHAT_CLIENT_SECRET")}}
    _watch_ps(host)
    run = _run_verbose("vision_rollback", "vision_workers", vision_waves="tokens")
    said = _everything_said(probes, VISION, run)
    assert run.returncode == 0, said["output"][-3000:]
    _assert_nowhere(said, values)
    again = _run_verbose("vision_enable", "vision_workers", vision_waves="tokens")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
