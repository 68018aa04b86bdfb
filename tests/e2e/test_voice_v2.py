"""voice-v2 scenarios (issue #7: the three rollback levels, voice-file recovery, and proof; issue #13:
the runbook's own validation, and a way back when the old code, virtualenv or image does not start).

voice-v2-1 runs the service under systemd (levels 1 and 2, the virtualenv restore), voice-v2-2 as
the compose service ``voice-v2`` (levels 1 and 3, the image tag, a pull from its registry). Every
check is independent of rollbook: file and tree hashes over testinfra, the container's image with the
docker SDK, HTTP to the published port, the runbook's own Python checks run with the service's
virtualenv, bucket contents with boto3.
"""

import base64
import json
import shlex

import boto3
import pytest

from tests.webhook import sandbox_receiver

from .pyinfra_run import converged_twice, pyinfra

SYSTEMD, COMPOSE = "voice-v2-1", "voice-v2-2"
APP = "/opt/voice_v2"
CODE = f"{APP}/app/services/voice_v2"
VENV, VENV_BACKUP = f"{APP}/venv_voice_v2_optimized", f"{APP}/venv_voice_v2_backup"
NEWEST, OLDER = "/backup/voice_v2_20251101", "/backup/voice_v2_20251031"
BACKUP_BUCKET, FILES_BUCKET, PREFIX = "voice-files-backup", "voice-files", "2025-08-02/"


def deploy(name: str, limit: str = "voice_v2", dry: bool = False, **data):
    return pyinfra("inventories/sandbox.py", f"deploys/voice_v2_{name}.py", data=data, limit=limit, dry=dry)


def tree_sha256(probes, name: str, path: str) -> str:
    """Over every file but the bytecode the running service writes."""
    return probes.ssh(name).check_output(
        f"cd {path} && find . -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum")


# runbook 003's provider connectivity check and a TTS call, as an operator runs them in the app's directory
RUNBOOK_CHECK = """
import asyncio, json
from app.services.voice_v2.deployment_validation import ProductionValidator
from app.services.voice_v2.orchestrator import VoiceServiceOrchestrator
from app.services.voice_v2.core.schemas import TTSRequest

async def main():
    results = await ProductionValidator().validate_provider_connectivity()
    orchestrator = VoiceServiceOrchestrator()
    await orchestrator.initialize()
    tts = await orchestrator.process_tts(TTSRequest(text="Тест", language="ru"))
    print(json.dumps({"failed_providers": results["failed_providers"], "tts": tts.provider}))

asyncio.run(main())
"""


def runbook_check(probes, name: str) -> dict:
    """The runbook's checks with the service's own virtualenv, where the service runs."""
    if name == COMPOSE:
        done = probes.compose_container(name, "voice-v2").exec_run([f"{VENV}/bin/python", "-B", "-c", RUNBOOK_CHECK])
        assert done.exit_code == 0, done.output
        return json.loads(done.output.decode().strip().splitlines()[-1])
    return json.loads(probes.ssh(name).check_output(f"cd {APP} && {VENV}/bin/python -B -c {shlex.quote(RUNBOOK_CHECK)}"))


def started_after_change(probes, name: str, path: str) -> bool:
    """The service's process started after ``path`` last changed (it reads it at start)."""
    host = probes.ssh(name)
    if name == COMPOSE:
        started = host.check_output(f"date -d {probes.compose_container(name, 'voice-v2').attrs['State']['StartedAt']} +%s.%N")
    else:
        pid = host.check_output("systemctl show -p MainPID --value voice-v2-service")
        started = host.check_output(f"echo $(( $(date +%s) - $(ps -o etimes= -p {pid}) ))")
    return float(host.check_output(f"stat -L -c %Y {path}")) <= float(started)


def health(probes, name: str) -> dict:
    status, body = probes.http(name, "api", "/health")
    assert status == 200
    return json.loads(body)


def env_file(probes, name: str, path: str) -> dict[str, str]:
    text = probes.file_text(name, path)
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def process_env(probes, name: str) -> dict[str, str]:
    if name == COMPOSE:
        return probes.compose_env(name, "voice-v2")
    return probes.unit_env(name, "voice-v2-service")


@pytest.fixture
def enabled(sandbox):
    """Both hosts on the current release: .env and providers, code v2.0.0, image voice-v2:latest."""
    for limit, level in ((None, 1), (SYSTEMD, 2), (COMPOSE, 3)):
        run = deploy("enable", limit or "voice_v2", voice_level=level)
        assert run.returncode == 0, run.output


def test_level_1_converges_env_to_env_previous_and_the_provider_settings(enabled, probes):
    converged_twice(deploy, "rollback", voice_disable_providers="yandex", voice_provider_priorities="openai:1,google:2")
    for name in (SYSTEMD, COMPOSE):
        previous = env_file(probes, name, f"{APP}/.env.previous")
        assert probes.file_sha256(name, f"{APP}/.env") == probes.file_sha256(name, f"{APP}/.env.previous")
        assert probes.ssh(name).check_output(f"ls -1 {APP}/.env.backup.* | wc -l") != "0"
        env = process_env(probes, name)
        assert {key: env.get(key) for key in previous} == previous
        providers = json.loads(probes.file_text(name, f"{APP}/config/providers.json"))
        for kind in ("stt", "tts"):
            assert providers[kind]["yandex"]["enabled"] is False
            assert providers[kind]["openai"] == {"enabled": True, "priority": 1}
        assert started_after_change(probes, name, f"{APP}/config/providers.json")
        assert runbook_check(probes, name) == {"failed_providers": [], "tts": "openai"}
        assert env["VOICE_V2_OPTIMIZED"] == "false" and health(probes, name)["status"] == "healthy"
    converged_twice(deploy, "enable")
    for name in (SYSTEMD, COMPOSE):
        assert process_env(probes, name)["VOICE_V2_OPTIMIZED"] == "true"
        assert started_after_change(probes, name, f"{APP}/config/providers.json")
        assert runbook_check(probes, name) == {"failed_providers": [], "tts": "google"}


# A known-good .env as teams write them: comments, blank lines, CRLF, an `export` line, quoted values with
# spaces, empty values, 44 keys in all. What each loader gives the process is written out below by hand
# (systemd 252's EnvironmentFile ignores the `export` line; compose's dotenv reads it).
REALISTIC_EXTRA = (
    "\n# --- observability ---\n"
    "export SENTRY_DSN=https://k3y@sentry.example/12\n"
    'VOICE_V2_GREETING="hello there, world"\n'
    "LOG_FORMAT='%(asctime)s %(levelname)s %(message)s'\n"
    "VOICE_V2_EMPTY=\n"
    'VOICE_V2_EMPTY_QUOTED=""\n'
    "VOICE_V2_REGION=eu-west-1\r\n"
    + "".join(f"VOICE_V2_SETTING_{number:02d}=value-{number}\n" for number in range(30))
)
REALISTIC_SEEN = {"VOICE_V2_GREETING": "hello there, world", "LOG_FORMAT": "%(asctime)s %(levelname)s %(message)s",
                  "VOICE_V2_EMPTY": "", "VOICE_V2_EMPTY_QUOTED": "", "VOICE_V2_REGION": "eu-west-1",
                  **{f"VOICE_V2_SETTING_{number:02d}": f"value-{number}" for number in range(30)}}


@pytest.fixture
def realistic_previous(enabled, probes):
    """.env.previous with REALISTIC_EXTRA appended on both hosts; .env and .env.previous put back after."""
    saved = {}
    for name in (SYSTEMD, COMPOSE):
        host = probes.ssh(name)
        saved[name] = host.check_output(f"cd {APP} && tar -cf - .env .env.previous | base64 -w0")
        extra = base64.b64encode(REALISTIC_EXTRA.encode()).decode()
        host.check_output(f"echo {extra} | base64 -d >> {APP}/.env.previous")
    yield
    for name, archive in saved.items():
        probes.ssh(name).check_output(f"cd {APP} && echo {archive} | base64 -d | tar -xf -")
    run = deploy("enable", voice_level=1)
    assert run.returncode == 0, run.output


def test_level_1_a_realistic_env_previous_is_verified_as_its_loader_gives_it(realistic_previous, probes):
    """An `export` line, quoted values with spaces and empty values: the rollback's verification expects
    what the service's loader gives the process (not what a parser of ours thinks), and the re-run changes
    nothing."""
    assert len(env_file(probes, SYSTEMD, f"{APP}/.env.previous")) == 44
    converged_twice(deploy, "rollback")
    for name in (SYSTEMD, COMPOSE):
        assert probes.file_sha256(name, f"{APP}/.env") == probes.file_sha256(name, f"{APP}/.env.previous")
        env = process_env(probes, name)
        assert {key: env.get(key) for key in REALISTIC_SEEN} == REALISTIC_SEEN
        assert env["VOICE_V2_OPTIMIZED"] == "false" and health(probes, name)["status"] == "healthy"
    assert "SENTRY_DSN" not in process_env(probes, SYSTEMD)  # systemd ignores `export` lines
    assert process_env(probes, COMPOSE)["SENTRY_DSN"] == "https://k3y@sentry.example/12"


def test_level_2_restores_the_newest_backup_byte_for_byte_and_keeps_the_replaced_tree(enabled, probes):
    host = probes.ssh(SYSTEMD)
    current = tree_sha256(probes, SYSTEMD, CODE)
    kept_before = set(host.check_output(f"ls -1d {CODE}.backup.* 2>/dev/null || true").split())
    converged_twice(deploy, "rollback", limit=SYSTEMD, voice_level=2)
    assert tree_sha256(probes, SYSTEMD, CODE) == tree_sha256(probes, SYSTEMD, f"{NEWEST}/app/services/voice_v2")
    assert probes.file_sha256(SYSTEMD, f"{APP}/requirements.txt") == probes.file_sha256(SYSTEMD, f"{NEWEST}/requirements.txt")
    kept = set(host.check_output(f"ls -1d {CODE}.backup.*").split()) - kept_before
    assert len(kept) == 1 and tree_sha256(probes, SYSTEMD, kept.pop()) == current
    assert host.check_output(f"cat {VENV}/rollbook-requirements.sha256") == \
        host.check_output(f"sha256sum < {NEWEST}/requirements.txt | cut -d' ' -f1")
    assert health(probes, SYSTEMD)["version"] == "1.9.0"

    converged_twice(deploy, "rollback", limit=SYSTEMD, voice_level=2, voice_backup_dir=OLDER)
    assert tree_sha256(probes, SYSTEMD, CODE) == tree_sha256(probes, SYSTEMD, f"{OLDER}/app/services/voice_v2")
    assert health(probes, SYSTEMD)["version"] == "1.8.0"


def test_level_2_from_git_checks_out_the_known_good_ref(enabled, probes):
    host = probes.ssh(SYSTEMD)
    converged_twice(deploy, "rollback", limit=SYSTEMD, voice_level=2, voice_code_source="git", voice_git_ref="v1.9.0")
    assert host.check_output(f"git -C {APP} rev-parse HEAD") == host.check_output(f"git -C {APP} rev-parse 'v1.9.0^{{commit}}'")
    assert host.check_output(f"git -C {APP} status --porcelain -- app/services/voice_v2/ requirements.txt") == ""
    assert health(probes, SYSTEMD)["version"] == "1.9.0"
    converged_twice(deploy, "enable", limit=SYSTEMD, voice_level=2)
    assert health(probes, SYSTEMD)["version"] == "2.0.0"
    assert host.check_output(f"test -f {CODE}/optimizer.py && echo present") == "present"


def test_level_3_runs_the_previous_stable_image_and_enable_brings_latest_back(enabled, probes):
    converged_twice(deploy, "rollback", limit=COMPOSE, voice_level=3)
    container = probes.compose_container(COMPOSE, "voice-v2")
    assert container.image.id == probes.docker.images.get("voice-v2:previous-stable").id
    assert "image: voice-v2:previous-stable" in probes.file_text(COMPOSE, f"{APP}/docker-compose.yml")
    assert health(probes, COMPOSE)["version"] == "1.9.0"
    converged_twice(deploy, "enable", limit=COMPOSE, voice_level=3)
    assert probes.compose_container(COMPOSE, "voice-v2").image.id == probes.docker.images.get("voice-v2:latest").id
    assert health(probes, COMPOSE)["version"] == "2.0.0"


def test_level_3_on_systemd_restores_the_virtualenv_from_its_backup(enabled, probes):
    host = probes.ssh(SYSTEMD)
    host.check_output(f"echo 'CODEC = \"opus-optimized\"' > {VENV}/lib/python3.11/site-packages/voice_v2_optimized_codec.py")
    pid = host.check_output("systemctl show -p MainPID --value voice-v2-service")
    converged_twice(deploy, "rollback", limit=SYSTEMD, voice_level=3)
    assert tree_sha256(probes, SYSTEMD, VENV) == tree_sha256(probes, SYSTEMD, VENV_BACKUP)
    assert not host.file(f"{VENV}/lib/python3.11/site-packages/voice_v2_optimized_codec.py").exists
    assert host.check_output("systemctl show -p MainPID --value voice-v2-service") != pid  # restarted
    assert health(probes, SYSTEMD)["status"] == "healthy"


def failed_restored(run, *paths: str):
    """The run failed because the service did not start, and put each of ``paths`` back."""
    assert run.returncode != 0, run.output
    assert "did not get ready with the new" in run.output and "is ready on the restored" in run.output, run.output
    for path in paths:
        assert f"restored {path} from {path}.backup." in run.output, run.output


def test_level_2_old_code_that_does_not_start_is_replaced_by_what_ran_before(enabled, probes):
    host = probes.ssh(SYSTEMD)
    broken = "/backup/voice_v2_broken"
    host.check_output(f"rm -rf {broken} && cp -a {NEWEST} {broken} && "
                      f"sed -i '1i raise SystemExit(\"old code does not start\")' {broken}/app/services/voice_v2/server.py")
    before = (tree_sha256(probes, SYSTEMD, CODE), probes.file_sha256(SYSTEMD, f"{APP}/requirements.txt"),
              tree_sha256(probes, SYSTEMD, VENV))
    try:
        run = deploy("rollback", SYSTEMD, voice_level=2, voice_backup_dir=broken, voice_health_timeout=8)
        failed_restored(run, CODE, f"{APP}/requirements.txt", VENV)
        assert (tree_sha256(probes, SYSTEMD, CODE), probes.file_sha256(SYSTEMD, f"{APP}/requirements.txt"),
                tree_sha256(probes, SYSTEMD, VENV)) == before
        assert health(probes, SYSTEMD)["version"] == "2.0.0"
        last = json.loads(host.check_output("tail -n 1 /var/lib/rollbook/history.jsonl"))
        assert last["outcome"] == "restored", last
    finally:
        host.check_output(f"rm -rf {broken}")


def test_level_3_a_backup_virtualenv_that_does_not_start_is_replaced_by_what_ran_before(enabled, probes):
    host = probes.ssh(SYSTEMD)
    poison = f"{VENV_BACKUP}/lib/python3.11/site-packages/zz_does_not_start.pth"  # site runs its import line
    assert deploy("rollback", SYSTEMD, voice_level=3).returncode == 0  # the venv is its backup copy
    host.check_output(f"echo 'import os; os._exit(3)' > {poison}")  # the interpreter stops at its start
    before = tree_sha256(probes, SYSTEMD, VENV)
    try:
        run = deploy("rollback", SYSTEMD, voice_level=3, voice_health_timeout=8)
        failed_restored(run, VENV)
        assert tree_sha256(probes, SYSTEMD, VENV) == before and not host.file(f"{VENV}/lib/python3.11/site-packages/"
                                                                             "zz_does_not_start.pth").exists
        assert health(probes, SYSTEMD)["status"] == "healthy"
    finally:
        host.check_output(f"rm -f {poison}")


def test_level_3_an_image_that_does_not_start_is_replaced_by_what_ran_before(enabled, probes):
    compose_file = f"{APP}/docker-compose.yml"
    base = probes.docker.containers.create("voice-v2:latest", command=["python3", "-c", "raise SystemExit(1)"])
    try:
        base.commit("voice-v2", "does-not-start")
        before = probes.file_sha256(COMPOSE, compose_file)
        run = deploy("rollback", COMPOSE, voice_level=3, voice_previous_image_tag="does-not-start",
                     voice_health_timeout=8)
        failed_restored(run, compose_file)
        assert probes.file_sha256(COMPOSE, compose_file) == before
        assert probes.compose_container(COMPOSE, "voice-v2").image.id == probes.docker.images.get("voice-v2:latest").id
        assert health(probes, COMPOSE)["version"] == "2.0.0"
    finally:
        base.remove(force=True)
        probes.docker.images.remove("voice-v2:does-not-start", force=True)


def test_level_3_pulls_a_previous_image_the_host_lacks_from_its_registry(enabled, probes, sandbox):
    registry = f"127.0.0.1:{sandbox.host(COMPOSE).port('registry')}"
    stable = probes.docker.images.get("voice-v2:previous-stable")
    stable.tag(f"{registry}/voice-v2", "previous-stable")
    pushed = probes.docker.images.push(f"{registry}/voice-v2", tag="previous-stable")
    assert '"error"' not in pushed, pushed
    probes.docker.images.remove(f"{registry}/voice-v2:previous-stable")
    probes.docker.images.remove("voice-v2:previous-stable")  # the host lacks it (the image stays under its recipe tag)
    try:
        refused = deploy("rollback", COMPOSE, voice_level=3)
        assert refused.returncode != 0 and "voice_image_registry is unset" in refused.output, refused.output
        dry = deploy("rollback", COMPOSE, dry=True, voice_level=3, voice_image_registry=registry)
        assert f"pull {registry}/voice-v2:previous-stable" in dry.output, dry.output
        converged_twice(deploy, "rollback", limit=COMPOSE, voice_level=3, voice_image_registry=registry)
        assert probes.docker.images.get("voice-v2:previous-stable").id == stable.id
        assert probes.compose_container(COMPOSE, "voice-v2").image.id == stable.id
        assert health(probes, COMPOSE)["version"] == "1.9.0"
    finally:
        stable.tag("voice-v2", "previous-stable")


@pytest.fixture
def buckets(sandbox, probes):
    client = boto3.client("s3", endpoint_url=sandbox.s3_endpoint, region_name="us-east-1",
                          aws_access_key_id=probes.secrets["S3_ACCESS_KEY_ID"],
                          aws_secret_access_key=probes.secrets["S3_SECRET_ACCESS_KEY"])
    for bucket in (BACKUP_BUCKET, FILES_BUCKET):
        if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=bucket)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
    return client


def contents(client, bucket: str, prefix: str = "") -> dict[str, bytes]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"][len(prefix):]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for page in pages for item in page.get("Contents", [])}


def test_voice_file_recovery_copies_exactly_the_missing_or_differing_objects(enabled, buckets):
    backup = {f"voice/{n:03d}.ogg": f"voice file {n}".encode() * (n + 1) for n in range(12)}
    for key, body in backup.items():
        buckets.put_object(Bucket=BACKUP_BUCKET, Key=PREFIX + key, Body=body)
    same = [f"voice/{n:03d}.ogg" for n in range(7)]  # already in production, identical
    for key in same:
        buckets.put_object(Bucket=FILES_BUCKET, Key=key, Body=backup[key])
    buckets.put_object(Bucket=FILES_BUCKET, Key="voice/007.ogg", Body=b"corrupted")  # differs
    buckets.put_object(Bucket=FILES_BUCKET, Key="voice/extra.ogg", Body=b"only in production")
    untouched = {key: buckets.head_object(Bucket=FILES_BUCKET, Key=key)["LastModified"] for key in same}
    data = dict(voice_recover_files="true", voice_backup_prefix=PREFIX)

    dry = deploy("rollback", dry=True, **data)
    assert dry.returncode == 0 and "copy 5 missing or differing object(s)" in dry.output, dry.output
    assert contents(buckets, FILES_BUCKET)["voice/007.ogg"] == b"corrupted"
    run = converged_twice(deploy, "rollback", **data)
    assert sum(1 for op, _ in run.changed if op.startswith("voice_v2 | Recover voice files")) == 1, run.changed
    after = contents(buckets, FILES_BUCKET)
    assert {key: after[key] for key in backup} == backup
    assert after["voice/extra.ogg"] == b"only in production"
    assert {key: buckets.head_object(Bucket=FILES_BUCKET, Key=key)["LastModified"] for key in same} == untouched


@pytest.mark.parametrize("limit, data, cause", [
    ("voice_v2", {"voice_level": "4"}, "voice_level: Input should be less than or equal to 3"),
    (SYSTEMD, {"voice_level": "2", "voice_backup_dir": "/backup/voice_v2_19990101"},
     "refused: backup directory /backup/voice_v2_19990101 not found"),
    (COMPOSE, {"voice_level": "3", "voice_previous_image_tag": "never-built"},
     "refused: image voice-v2:never-built is not present on the host"),
    ("voice_v2", {"voice_disable_providers": "nuance"}, "has no provider nuance"),
])
def test_bad_input_is_one_line_and_touches_nothing(enabled, probes, limit, data, cause):
    watched = [(SYSTEMD, f"{APP}/.env"), (COMPOSE, f"{APP}/.env"), (COMPOSE, f"{APP}/docker-compose.yml"),
               (SYSTEMD, f"{APP}/config/providers.json"), (SYSTEMD, f"{APP}/requirements.txt")]
    before = [probes.file_sha256(name, path) for name, path in watched]
    code = tree_sha256(probes, SYSTEMD, CODE)
    image = probes.compose_container(COMPOSE, "voice-v2").image.id
    run = deploy("rollback", limit, **data)
    assert run.returncode != 0 and cause in run.refusal, run.output
    assert [probes.file_sha256(name, path) for name, path in watched] == before
    assert tree_sha256(probes, SYSTEMD, CODE) == code
    assert probes.compose_container(COMPOSE, "voice-v2").image.id == image


@pytest.mark.parametrize("data, failure", [
    ({"voice_env_source": "data", "voice_rolled_back_env": "YANDEX_API_KEY=poisoned"},
     "not connected: stt:yandex, tts:yandex"),
    ({"voice_latency_avg_seconds": "0.001"}, "TTS latency over 9 request(s)"),
    ({"voice_memory_limit_mb": "1"}, "service memory"),
])
def test_a_failed_verification_fails_the_run(enabled, probes, data, failure):
    try:
        run = deploy("rollback", SYSTEMD, **data)
        assert run.returncode != 0, run.output
        assert "verification failed" in run.output and failure in run.output, run.output
        last = probes.ssh(SYSTEMD).check_output("tail -n 1 /var/lib/rollbook/history.jsonl")
        assert json.loads(last)["outcome"] == "failed", last
        assert json.loads(last)["failed_step"] == "voice_v2 | Verify the voice-v2 service"
    finally:
        assert deploy("rollback", SYSTEMD).returncode == 0  # the known-good .env again


def test_a_failed_verification_sends_one_notice_naming_run_system_host_and_outcome(enabled, probes):
    poisoned = {"voice_env_source": "data", "voice_rolled_back_env": "YANDEX_API_KEY=poisoned"}  # a secret's value
    try:
        with sandbox_receiver() as (_, received):  # group_data/sandbox.py's rollbook_notify_webhook
            run = deploy("rollback", SYSTEMD, **poisoned)
        assert run.returncode != 0 and "verification failed" in run.output, run.output
        last = json.loads(probes.ssh(SYSTEMD).check_output("tail -n 1 /var/lib/rollbook/history.jsonl"))
        run_id = last["run_id"]
        # the unit's journal before the run ended, masked, in its history (and so in its incident report)
        assert any("voice" in line.lower() for line in last["diagnostics"]), last
        assert not [line for line in last["diagnostics"] if "poisoned" in line], last["diagnostics"]
        ours = [body["text"] for _, body in received if f"run {run_id} " in body["text"]]
        assert len(ours) == 1, received  # one message for the run, sent at its end
        text = ours[0]
        assert text.startswith(f"rollbook: run {run_id} needs a human: verification failed on {SYSTEMD}"), text
        assert "\nvoice_v2:\n" in text and "environment sandbox" in text, text
        assert f"- {SYSTEMD}: failed; needs a human: verification failed; failed at voice_v2 | Verify the voice-v2 " \
               "service" in text, text
        assert "FAILED: " in text and "planned: YANDEX_API_KEY: " in text, text  # the failed check, the changes
        assert "poisoned" not in text, text
        assert f"rollbook: notice of run {run_id} (verification failed on {SYSTEMD}): sent" in run.output, run.output
    finally:
        assert deploy("rollback", SYSTEMD).returncode == 0  # the known-good .env again
