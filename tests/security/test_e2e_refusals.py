"""Bad input on real sandbox hosts: injections, typos, newline-terminated values and security
overrides are refused with one line before any host command; the host's managed file and history
stay byte for byte, and no injected command ran."""

import hashlib

import pytest

from tests.e2e.pyinfra_run import pyinfra

CANARY = "/tmp/rollbook-pwned"
SYSTEMS = {  # deploy -> (group, host, a managed file)
    "vision_rollback": ("vision_workers", "vision-1", "/opt/vision/.env"),
    "analyticbot_rollback": ("analyticbot_api", "analyticbot-1", "/opt/analyticbot/.env.production"),
    "voice_v2_rollback": ("voice_v2", "voice-v2-1", "/opt/voice_v2/.env"),
    "phase17_rollback": ("phase17_server", "phase17-1", "/srv/phase17/server/app/main.py"),
}
CASES = [
    ("vision_rollback", {"vision_saved_dir": f"/tmp/x; touch {CANARY}"}, "vision_saved_dir"),
    ("vision_rollback", {"vision_service": f"worker$(touch {CANARY})"}, "vision_service"),
    ("vision_rollback", {"vision_wave": "b"}, "unknown data key vision_wave (did you mean vision_waves?)"),
    ("vision_rollback", {"vision_waves": "b\n"}, "vision_waves"),
    ("vision_rollback", {"rollbook_environment": "prod"}, "security setting rollbook_environment"),
    ("vision_rollback", {"rollbook_state_dir": "/tmp/elsewhere"}, "security setting rollbook_state_dir"),
    ("analyticbot_rollback", {"analyticbot_database_url_key": f"DATABASE_URL;touch {CANARY}"},
     "analyticbot_database_url_key"),
    ("analyticbot_rollback", {"analyticbot_systemd_unit": f"analyticbot-api`touch {CANARY}`"},
     "analyticbot_systemd_unit"),
    ("voice_v2_rollback", {"voice_level": 3, "voice_image": f"voice-v2$(touch {CANARY})"}, "voice_image"),
    ("voice_v2_rollback", {"voice_level": 2, "voice_pip_args": f"--no-index; touch {CANARY}"}, "voice_pip_args"),
    ("voice_v2_rollback", {"voice_level": 2, "voice_git_ref": "--upload-pack=touch"}, "voice_git_ref"),
    ("phase17_rollback", {"phase17_systemd_unit": f"phase17-server;touch {CANARY}"}, "phase17_systemd_unit"),
    ("phase17_rollback", {"phase17_main_file": "../../../etc/passwd"}, "phase17_main_file"),
]


def _sha(probes, name, path) -> str:
    return hashlib.sha256(probes.ssh(name).run(f"cat {path} 2>/dev/null").stdout.encode()).hexdigest()


@pytest.mark.parametrize("deploy, data, said", CASES, ids=[f"{d}:{next(iter(x))}" for d, x, _ in CASES])
def test_bad_input_is_refused_before_any_host_command(sandbox, probes, deploy, data, said):
    group, name, managed = SYSTEMS[deploy]
    before = (_sha(probes, name, managed), _sha(probes, name, "/var/lib/rollbook/history.jsonl"))
    run = pyinfra("inventories/sandbox.py", f"deploys/{deploy}.py", data=data, limit=group)
    errors = [line for line in run.output.splitlines() if "pyinfra error" in line]
    assert run.returncode != 0 and len(errors) == 1 and said in errors[0], run.output
    assert (_sha(probes, name, managed), _sha(probes, name, "/var/lib/rollbook/history.jsonl")) == before
    assert probes.ssh(name).run(f"test -e {CANARY}").rc != 0, "an injected command ran on the host"
