"""Vision worker scenarios (issue: roll back and enable by wave, clean up, and prove it).

Each scenario: converge with the operator's command, check the host independently
(testinfra, redis-py, psycopg, docker SDK, HTTP), then re-run and expect zero changes.
"""

import json
import re
import secrets
import time
import urllib.error
import uuid

import pytest
import yaml

from .pyinfra_run import pyinfra
from . import vision_traffic
from .vision_traffic import quiet_night

HOST = "vision-1"
ENV = "/opt/vision/.env"
WAVES = {
    "a": {"VISION_PREPROCESS_ENABLED", "VISION_PREPROCESS_GRAYSCALE"},
    "b": {"VISION_LOCAL_OCR_PRIMARY_ENABLED", "VISION_PHASH_ENABLED"},
    "c": {"VISION_ROI_CROP_ENABLED", "VISION_LOW_PRIORITY_QUEUE_ENABLED"},
    "tokens": {"VISION_TOKENS_COUNT_ENABLED"},
}
ALL_FLAGS = set().union(*WAVES.values())
LIMIT = "vision_workers"


def deploy(name: str, **data):
    return pyinfra("inventories/sandbox.py", f"deploys/vision_{name}.py", data=data, limit=LIMIT)


def dry(name: str, **data):
    return pyinfra("inventories/sandbox.py", f"deploys/vision_{name}.py", data=data, limit=LIMIT, dry=True)


def env_lines(probes) -> list[str]:
    return probes.file_text(HOST, ENV).splitlines()


def env_values(probes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in env_lines(probes) if "=" in line and not line.startswith("#"))


def assert_converged_and_idempotent(run, name: str, **data):
    assert run.returncode == 0, run.output
    again = deploy(name, **data)
    assert again.returncode == 0, again.output
    assert again.changed == set(), again.changed


@pytest.fixture
def enabled(sandbox, probes):
    run = deploy("enable")
    assert run.returncode == 0, run.output
    return env_values(probes)


def test_rollback_of_wave_b_changes_only_wave_b_and_empties_the_phash_cache(enabled, probes):
    before = env_lines(probes)
    client = probes.redis(HOST)
    with client.pipeline() as pipe:
        for i in range(1000):
            pipe.set(f"vision:phash:seed:{i}", "1")
        pipe.execute()

    run = deploy("rollback", vision_waves="b")
    assert_converged_and_idempotent(run, "rollback", vision_waves="b")

    after = env_lines(probes)
    changed = {a.split("=")[0] for a, b in zip(after, before) if a != b}
    assert len(after) == len(before)
    assert changed == WAVES["b"]
    assert sum(1 for _ in client.scan_iter("vision:phash:*", count=1000)) == 0
    running = probes.compose_env(HOST, "worker")
    assert running["VISION_PHASH_ENABLED"] == "false"
    assert running["VISION_LOCAL_OCR_PRIMARY_ENABLED"] == "false"
    for flag in WAVES["a"] | WAVES["c"] | WAVES["tokens"]:
        assert running[flag] == "true", flag


def test_full_rollback_turns_every_flag_off_and_the_counters_stop(enabled, probes):
    run = deploy("rollback")
    assert_converged_and_idempotent(run, "rollback")

    running = probes.compose_env(HOST, "worker")
    assert {flag: running[flag] for flag in ALL_FLAGS} == {flag: "false" for flag in ALL_FLAGS}
    assert env_values(probes)["FEATURE_VISION_COMPRESSION_POC"] == "false"
    assert probes.redis(HOST).xlen("stream:posts:vision:low") == 0
    experiments = yaml.safe_load(probes.file_text(HOST, "/opt/vision/config/vision_experiments.yml"))
    control = {"enabled": False, "default_variant": "control", "force_tenants": []}
    assert experiments == {"wave_a": control, "wave_b": control, "wave_c": control}

    first = probes.metrics(HOST)
    time.sleep(5)
    second = probes.metrics(HOST)
    for name in ('vision_media_total{reason="ocr_primary"}', "vision_tokens_estimated_total"):
        assert second.get(name, 0) == first.get(name, 0), name
    assert {k: v for k, v in second.items() if k.startswith("vision_low_priority_") and v} == {}

    check = dry("rollback")
    assert check.returncode == 0, check.output
    assert check.changed == set()


def test_metrics_that_do_not_answer_fail_the_verification_naming_the_scrape(enabled, probes):
    """An endpoint that answers /health but serves no /metrics (what a stopped metrics exporter looks
    like to the check): the rollback converges, then its verification fails naming the scrape, never
    reading an unread counter as flat."""
    host = probes.ssh(HOST)
    host.check_output("mkdir -p /tmp/no-metrics && echo ok > /tmp/no-metrics/health && systemd-run --unit=no-metrics "
                      "python3 -m http.server 8009 --bind 127.0.0.1 --directory /tmp/no-metrics")
    try:
        host.check_output("for i in $(seq 40); do curl -fs http://127.0.0.1:8009/health && exit 0; sleep 0.25; done; "
                          "exit 1")
        run = deploy("rollback", vision_waves="b", vision_metrics_url="http://127.0.0.1:8009",
                     vision_health_path="/health")
        assert run.returncode != 0, run.output
        assert "verification failed" in run.output, run.output
        assert "the metrics scrape failed: counters not checked" in run.output, run.output
    finally:
        host.check_output("systemctl stop no-metrics")


@pytest.fixture
def quiet(probes):
    """A quiet night: the sandbox's background traffic off (no media item arrives but rollbook's own)."""
    with quiet_night(probes, HOST):
        yield


def media_total(probes) -> float:
    return vision_traffic.media_total(probes, HOST)


def test_rollback_and_enable_are_proven_without_traffic_on_a_worker_that_serves_no_health(enabled, quiet, probes):
    """Runbook 001's worker shows /metrics on 8001 and no /health; with no traffic at all, rollbook's own
    probe (the runbook's smoke event) is the traffic: the rolled-back counters stay flat under it, the
    enabled ones move, and its traces are removed."""
    with pytest.raises(urllib.error.HTTPError) as served:
        probes.http(HOST, "worker", "/health")
    assert served.value.code == 404
    before = media_total(probes)
    time.sleep(2)
    assert media_total(probes) == before, "the sandbox's background traffic is still on"

    run = deploy("rollback")
    assert_converged_and_idempotent(run, "rollback")
    assert re.search(r"verified: vision_preprocess_total flat over \d+s \(\+0\) with traffic \(\+1 ", run.output), \
        run.output
    assert "verified: the probe's synthetic post_enrichment row removed: 1" in run.output, run.output

    run = deploy("enable")
    assert_converged_and_idempotent(run, "enable")
    assert re.search(r"verified: vision_preprocess_total moving over \d+s \(\+[1-9]", run.output), run.output
    client = probes.redis(HOST)
    assert not [key for key in client.scan_iter("vision:phash:*", count=1000)
                if key in {f"vision:phash:{sha}" for sha in smoke_shas(probes)}]
    low = [entry.get("sha256") for _, entry in client.xrange("stream:posts:vision:low")]
    assert not set(low) & set(smoke_shas(probes)), "the probe's low-priority entry was left behind"


def last_finished(probes) -> dict:
    text = probes.file_text(HOST, "/var/lib/rollbook/history.jsonl")
    return [record for record in map(json.loads, text.splitlines()) if record.get("event") == "finished"][-1]


def test_with_no_traffic_and_no_probe_a_rollback_is_unproven_then_steady_traffic_proves_an_enable(enabled, probes):
    """The probe off (as a prod team may set it) on a quiet night: nothing can show the counters flat; the
    run is recorded and announced as unproven, never restored and never "verified" (outside prod it does
    not fail); then, with steady traffic and still no probe, an enable is proven by the traffic alone."""
    with quiet_night(probes, HOST):
        run = deploy("rollback", vision_waves="a", vision_probe="false")
        assert run.returncode == 0, run.output
        assert re.search(r"UNPROVEN: vision_preprocess_total flat: not proven: no traffic over \d+s", run.output), \
            run.output
        assert "verified: vision_preprocess_total" not in run.output
        assert re.search(r"rollbook: notice of run \S+ \(unproven on vision-1\)", run.output), run.output
        finished = last_finished(probes)
        assert finished["outcome"] == "unproven" and finished["verify"]["passed"] is None, finished
        assert any(check.startswith("UNPROVEN: vision_preprocess_total flat") for check in finished["verify"]["checks"])
        running = probes.compose_env(HOST, "worker")
        assert {flag: running[flag] for flag in WAVES["a"]} == {flag: "false" for flag in WAVES["a"]}, "restored?"
        again = deploy("rollback", vision_waves="a", vision_probe="false")
        assert again.returncode == 0 and again.changed == set(), again.output
        assert last_finished(probes)["outcome"] == "unproven"

    run = deploy("enable", vision_waves="a", vision_probe="false")  # steady traffic again
    assert run.returncode == 0, run.output
    assert re.search(r"verified: vision_preprocess_total moving over \d+s \(\+[1-9]", run.output), run.output
    assert "UNPROVEN" not in run.output and last_finished(probes)["outcome"] == "converged"


def smoke_shas(probes) -> set[str]:
    """The media sha256 of every smoke event the worker logged (rollbook derives it from the post id)."""
    import hashlib

    logs = probes.compose_container(HOST, "worker").logs(tail=5000).decode()
    posts = re.findall(r"processed post (\S+) trace_id=rollbook_smoke_[0-9a-f]{16}", logs)
    return {hashlib.sha256(f"rollbook_smoke_{post}".encode()).hexdigest() for post in posts}


def test_enable_restores_the_recommended_values_and_processes_a_smoke_event(sandbox, probes):
    deploy("rollback")
    run = deploy("enable")
    assert_converged_and_idempotent(run, "enable")

    # rollbook's own smoke event (runbook 001's fields): processed by the worker, its row removed afterwards
    assert "verified: smoke event's synthetic post_enrichment row removed: 1" in run.output, run.output
    logs = probes.compose_container(HOST, "worker").logs(tail=5000).decode()
    smoked = re.findall(r"processed post (\S+) trace_id=rollbook_smoke_[0-9a-f]{16}", logs)
    assert smoked, "the worker never processed rollbook's smoke event"
    with probes.postgres(HOST, "vision", "vision", "VISION_DB_PASSWORD") as db:
        left = db.execute("SELECT count(*) FROM post_enrichment WHERE post_id::text = ANY(%s)", (smoked,)).fetchone()[0]
    assert left == 0, "rollbook's synthetic post_enrichment rows were left behind"
    assert not [entry for _, entry in probes.redis(HOST).xrange("stream:posts:vision:uploaded")
                if "rollbook_smoke_" in entry.get("event", "")]

    running = probes.compose_env(HOST, "worker")
    assert {flag: running[flag] for flag in ALL_FLAGS} == {flag: "true" for flag in ALL_FLAGS}
    assert running["VISION_MAX_OUTPUT_TOKENS"] == "512"
    assert running["VISION_PHASH_REDIS_PREFIX"] == "vision:phash"

    post_id = str(uuid.uuid4())
    client = probes.redis(HOST)
    event = {"schema_version": "v1", "trace_id": f"test_{post_id[:8]}", "post_id": post_id,
             "tenant_id": "tenant-a", "media_files": [{"sha256": "0" * 64}]}
    client.xadd("stream:posts:vision:uploaded", {"event": json.dumps(event)})
    with probes.postgres(HOST, "vision", "vision", "VISION_DB_PASSWORD") as db:
        for _ in range(60):
            row = db.execute("SELECT vision_analyzed_at FROM post_enrichment WHERE post_id = %s", (post_id,)).fetchone()
            if row and row[0]:
                break
            time.sleep(0.5)
        assert row and row[0], "the smoke event was not processed"
    for _ in range(20):  # the worker acks right after it commits the row
        if client.xpending("stream:posts:vision:uploaded", "vision_workers")["pending"] == 0:
            break
        time.sleep(0.5)
    assert client.xpending("stream:posts:vision:uploaded", "vision_workers")["pending"] == 0


def test_a_secret_in_the_env_file_never_reaches_the_output(enabled, probes):
    secret = secrets.token_hex(16)
    probes.ssh(HOST).run(f"printf 'ROLLBOOK_TEST_API_TOKEN={secret}\\n' >> {ENV}")
    try:
        runs = [dry("rollback"), deploy("rollback"), deploy("enable"),
                pyinfra("inventories/sandbox.py", "deploys/vision_rollback.py", "--diff", limit=LIMIT,
                        json_output=False)]
        for run in runs:
            assert run.returncode == 0, run.output
            assert secret not in run.output
            assert probes.secrets["GIGACHAT_CLIENT_SECRET"] not in run.output
            assert probes.secrets["VISION_DB_PASSWORD"] not in run.output
        assert "VISION_PHASH_ENABLED: true -> false" in runs[0].output
    finally:
        probes.ssh(HOST).run(f"sed -i '/^ROLLBOOK_TEST_API_TOKEN=/d' {ENV}")


@pytest.mark.parametrize("data, cause", [
    ({"vision_waves": "d"}, "vision_waves: Value error, unknown 'd'"),
    ({"vision_compression_poc": "maybe"}, "vision_compression_poc: Input should be a valid boolean"),
    ({"vision_wave": "b"}, "unknown data key vision_wave (did you mean vision_waves?)"),
    ({"vision_verify_window": "soon"}, "vision_verify_window"),
    ({"inventory": "inventories/sandbox_prod.py", "vision_compression_poc": "true"},
     "FEATURE_VISION_COMPRESSION_POC stays false in prod"),
])
def test_bad_input_is_refused_before_any_host_is_touched(sandbox, probes, data, cause):
    before = probes.file_sha256(HOST, ENV)
    inventory = data.pop("inventory", "inventories/sandbox.py")
    run = pyinfra(inventory, "deploys/vision_rollback.py", data=data, limit="vision_workers")
    assert run.returncode != 0
    assert cause in run.refusal, run.output
    assert probes.file_sha256(HOST, ENV) == before


def test_optional_cleanups_save_then_remove_the_s3_cache_and_the_context(enabled, probes, sandbox):
    import boto3

    bucket = boto3.client("s3", endpoint_url=sandbox.s3_endpoint, region_name="us-east-1",
                          aws_access_key_id=probes.secrets["S3_ACCESS_KEY_ID"],
                          aws_secret_access_key=probes.secrets["S3_SECRET_ACCESS_KEY"])
    cached = [f"vision/tenant-{i % 3}/{secrets.token_hex(32)}_GigaChat-Pro.json" for i in range(30)]
    for key in cached + ["vision/README.txt", "media/tenant-0/x.jpg"]:
        bucket.put_object(Bucket="vision", Key=key, Body=b"{}")
    with probes.postgres(HOST, "vision", "vision", "VISION_DB_PASSWORD") as db:
        for _ in range(5):
            db.execute("INSERT INTO post_enrichment (post_id, tenant_id, data) VALUES (%s, 't', %s)",
                       (str(uuid.uuid4()), json.dumps({"analysis": {"context": {"tokens_estimated": 7}}})))
        with_context = db.execute("SELECT count(*) FROM post_enrichment WHERE data->'analysis' ? 'context'").fetchone()[0]
    options = {"vision_waves": "tokens", "vision_purge_s3_cache": "true", "vision_strip_context": "true"}

    plan = dry("rollback", **options)
    assert "delete 30 cached vision results" in plan.output
    assert f"save analysis.context of {with_context} row(s)" in plan.output
    run = deploy("rollback", **options)
    assert_converged_and_idempotent(run, "rollback", **options)

    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket="vision").get("Contents", [])]
    assert not set(cached) & set(keys)
    assert {"vision/README.txt", "media/tenant-0/x.jpg"} <= set(keys)
    saved = [key for key in keys if key.startswith("rollbook-saved/")]
    by_run: dict[str, set[str]] = {}  # rollbook-saved/<run id>/<key>; earlier runs' saves may be there too
    for key in saved:
        by_run.setdefault(key.split("/", 2)[1], set()).add(key.split("/", 2)[2])
    assert set(cached) in by_run.values()
    with probes.postgres(HOST, "vision", "vision", "VISION_DB_PASSWORD") as db:
        assert db.execute("SELECT count(*) FROM post_enrichment WHERE data->'analysis' ? 'context'").fetchone()[0] == 0
        table = db.execute("SELECT max(table_name) FROM information_schema.tables "
                           "WHERE table_name LIKE 'post_enrichment_context_backup_%'").fetchone()[0]
        assert db.execute(f"SELECT count(*) FROM {table} WHERE context IS NOT NULL").fetchone()[0] == with_context
