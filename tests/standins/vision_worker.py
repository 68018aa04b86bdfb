"""Stand-in for the vision worker (the compose service ``worker``).

Behaves as far as the runbooks can observe: reads every flag from its environment
once, at process start (so an ``.env`` change is invisible until the container is
recreated), and while running:

- per media item it processes: counts it per reason (``ocr_primary`` only with wave B's
  local OCR on), tokens (only with tokens-count on), preprocessing (wave A), experiment
  assignments (from ``/app/config/vision_experiments.yml``, re-read every item); writes
  ``<VISION_PHASH_REDIS_PREFIX>:<sha>`` keys with wave B's phash on, and entries to the
  low-priority stream with wave C's queue on;
- consumes ``stream:posts:vision:uploaded`` (group ``vision_workers``): each event's
  media items, then the ``post_enrichment`` row marked analysed;
- background traffic: media items arriving every tick, unless the sandbox's
  ``/app/config/sandbox-traffic`` says ``off`` (a quiet night; re-read every tick);
- serves ``/metrics`` (Prometheus text) on port 8001 — and no ``/health``: runbook 001
  shows only ``/metrics`` there.

An invalid boolean flag makes it exit at start, as a strict settings loader would.
"""

import hashlib
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis
import yaml

TICK = 0.2
UPLOADED_STREAM = "stream:posts:vision:uploaded"
GROUP = "vision_workers"
EXPERIMENTS = "/app/config/vision_experiments.yml"
TRAFFIC_SWITCH = "/app/config/sandbox-traffic"  # "off": no background traffic


def flag(name: str, default: str = "false") -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value not in ("true", "false"):
        raise SystemExit(f"ERROR settings: {name} must be true or false, got {value!r}")
    return value == "true"


FLAGS = {
    "vision_enabled": flag("FEATURE_VISION_ENABLED", "true"),
    "preprocess": flag("VISION_PREPROCESS_ENABLED"),
    "grayscale": flag("VISION_PREPROCESS_GRAYSCALE"),
    "ocr_primary": flag("VISION_LOCAL_OCR_PRIMARY_ENABLED"),
    "phash": flag("VISION_PHASH_ENABLED"),
    "roi_crop": flag("VISION_ROI_CROP_ENABLED"),
    "low_priority": flag("VISION_LOW_PRIORITY_QUEUE_ENABLED"),
    "tokens_count": flag("VISION_TOKENS_COUNT_ENABLED"),
    "compression_poc": flag("FEATURE_VISION_COMPRESSION_POC"),
}
MAX_OUTPUT_TOKENS = int(os.environ.get("VISION_MAX_OUTPUT_TOKENS", "1024"))
MODEL_TOKEN_LIMIT = 4096  # the model refuses more; the worker does not start with a larger setting
if MAX_OUTPUT_TOKENS > MODEL_TOKEN_LIMIT:
    raise SystemExit(f"ERROR settings: VISION_MAX_OUTPUT_TOKENS={MAX_OUTPUT_TOKENS} exceeds the model's "
                     f"limit {MODEL_TOKEN_LIMIT}")
PHASH_PREFIX = os.environ.get("VISION_PHASH_REDIS_PREFIX", "vision:phash")
LOW_STREAM = os.environ.get("VISION_LOW_PRIORITY_STREAM", "stream:posts:vision:low")
CONSUMER = f"worker-{socket.gethostname()}"

counters: dict[tuple[str, tuple], float] = {}
lock = threading.Lock()


def inc(name: str, amount: float = 1, **labels):
    key = (name, tuple(sorted(labels.items())))
    with lock:
        counters[key] = counters.get(key, 0) + amount


def redis_client():
    return redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=5)


def active_experiments() -> list[str]:
    try:
        with open(EXPERIMENTS) as handle:
            config = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        return []
    return [wave for wave, spec in config.items()
            if isinstance(spec, dict) and spec.get("enabled") and
            (spec.get("default_variant", "control") != "control" or spec.get("force_tenants"))]


def process_media(client, sha: str, n: int):
    """What each flag makes the worker do for one media item."""
    inc("vision_media_total", reason="ocr_primary" if FLAGS["ocr_primary"] else "vision_api")
    if FLAGS["preprocess"]:
        inc("vision_preprocess_total", mode="grayscale" if FLAGS["grayscale"] else "color")
    if FLAGS["tokens_count"]:
        inc("vision_tokens_estimated_total", min(MAX_OUTPUT_TOKENS, 100 + n % 50))
    if FLAGS["roi_crop"]:
        inc("vision_roi_crops_total")
    for wave in active_experiments():
        inc("vision_experiment_assignments_total", wave=wave)
    try:
        if FLAGS["phash"]:
            client.set(f"{PHASH_PREFIX}:{sha}", "1", ex=86400)
        if FLAGS["low_priority"]:
            client.xadd(LOW_STREAM, {"sha256": sha})
            inc("vision_low_priority_enqueued_total")
    except redis.RedisError as error:
        print(f"ERROR redis: {error}", flush=True)


def gauge_backlog(client):
    """The low-priority backlog gauge, the stream's length."""
    try:
        backlog = client.xlen(LOW_STREAM)
    except redis.RedisError as error:
        print(f"ERROR redis: {error}", flush=True)
        backlog = 0
    with lock:
        counters[("vision_low_priority_backlog", ())] = backlog


def quiet() -> bool:
    try:
        with open(TRAFFIC_SWITCH) as handle:
            return handle.read().strip() == "off"
    except OSError:
        return False


def simulate():
    """The worker's steady background traffic: a media item every tick (none while ``quiet``); the
    backlog gauge every tick."""
    client = redis_client()
    n = 0
    while True:
        if not quiet():
            n += 1
            process_media(client, hashlib.sha256(f"{CONSUMER}:{n}".encode()).hexdigest(), n)
        gauge_backlog(client)
        time.sleep(TICK)


def consume():
    """Process VisionUploadedEventV1 messages into post_enrichment, then XACK them."""
    client = redis_client()
    while True:
        try:
            try:
                client.xgroup_create(UPLOADED_STREAM, GROUP, id="0", mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
            with psycopg2.connect(os.environ["DATABASE_URL"]) as db:
                while True:
                    batches = client.xreadgroup(GROUP, CONSUMER, {UPLOADED_STREAM: ">"}, count=10, block=1000)
                    for _, messages in batches or []:
                        for message_id, fields in messages:
                            analyse(db, client, json.loads(fields[b"event"]))
                            client.xack(UPLOADED_STREAM, GROUP, message_id)
        except (redis.RedisError, psycopg2.Error, KeyError, ValueError) as error:
            print(f"ERROR consumer: {type(error).__name__}: {error}", flush=True)
            time.sleep(1)


def analyse(db, client, event: dict):
    for media in event.get("media_files") or []:
        process_media(client, str(media.get("sha256", "")), 0)
    tokens = 1320 if FLAGS["tokens_count"] else None
    context = {"experiments": active_experiments(), "tokens_estimated": tokens}
    with db.cursor() as cursor:
        cursor.execute(
            """INSERT INTO post_enrichment (post_id, tenant_id, data, vision_analyzed_at, vision_provider,
                                            vision_model, vision_is_meme, vision_tokens_used)
               VALUES (%s, %s, %s, now(), 'gigachat', 'GigaChat-Pro', true, %s)
               ON CONFLICT (post_id) DO UPDATE SET vision_analyzed_at = now(),
                   vision_provider = EXCLUDED.vision_provider, vision_model = EXCLUDED.vision_model,
                   vision_tokens_used = EXCLUDED.vision_tokens_used,
                   data = jsonb_set(post_enrichment.data, '{analysis}', EXCLUDED.data -> 'analysis')""",
            (event["post_id"], event["tenant_id"], json.dumps({"analysis": {"context": context}}), tokens),
        )
    db.commit()
    inc("vision_analysis_requests_total", status="success")
    print(f"processed post {event['post_id']} trace_id={event.get('trace_id', '')}", flush=True)


def render_metrics() -> str:
    lines = []
    with lock:
        items = sorted(counters.items())
    for (name, labels), value in items:
        label_text = ",".join(f'{key}="{val}"' for key, val in labels)
        lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
    return "\n".join(lines) + "\n"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            body, kind = render_metrics(), "text/plain; version=0.0.4"
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    for name in ("vision_media_total", "vision_tokens_estimated_total", "vision_low_priority_enqueued_total",
                 "vision_experiment_assignments_total", "vision_analysis_requests_total"):
        counters.setdefault((name, ()), 0)
    print("Vision Analysis task registered with supervisor", flush=True)
    print("feature flags: " + ", ".join(f"{key}={value}" for key, value in FLAGS.items()), flush=True)
    if FLAGS["vision_enabled"]:
        threading.Thread(target=consume, daemon=True).start()
    threading.Thread(target=simulate, daemon=True).start()
    ThreadingHTTPServer(("0.0.0.0", 8001), Handler).serve_forever()


if __name__ == "__main__":
    main()
