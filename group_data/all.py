"""Every key rollbook reads, with its default and its allowed values.

Per-environment files (``sandbox.py``, ``staging.py``, ``prod.py``, named after the
inventory file they serve) and per-system files (named after the system's group:
``vision_workers.py``, ``analyticbot_api.py``) hold only what differs from here.
"""

import os

# --- environment -------------------------------------------------------------

# The environment of the hosts. sandbox | staging | prod. Unset inventories get
# the strictest treatment.
rollbook_environment = "prod"

# --- connection --------------------------------------------------------------

# Host keys are always checked. yes (never no or accept-new for real hosts)
ssh_strict_host_key_checking = "yes"

# known_hosts file holding the hosts' keys (outside the repo). A path.
ssh_known_hosts_file = os.path.expanduser("~/.ssh/known_hosts")

# --- every run ---------------------------------------------------------------

# How many <file>.backup.<UTC stamp> copies of a managed file to keep. 1 or more
rollbook_backup_keep = 5

# Seconds Redis or PostgreSQL has to answer before a step fails with "<service> unreachable at
# host:port (<step>)". 1 or more
rollbook_connect_timeout = 10

# Seconds one remote SQL script, Redis cleanup or database read may run before it fails with
# "<step>: timed out after <n>s". 1 or more
rollbook_command_timeout = 600

# Fail the whole run (every host stops) once more than this percent of hosts failed; None keeps
# converging every host that can (pyinfra's --fail-percent, when given, wins). None or 0-100
rollbook_fail_percent = None

# --- vision worker (group vision_workers; runbooks 000 and 001) ---------------

# Waves a run converges. Any subset of a, b, c, tokens (comma-separated)
vision_waves = "a,b,c,tokens"

# The state of each wave on a host that has no recorded state yet (deploys/converge.py).
# wave -> enabled | rolled_back
vision_declared_state = {"a": "enabled", "b": "enabled", "c": "enabled", "tokens": "enabled"}

# Values when enabled: the runbook's recommended ones. wave -> {flag: value}
vision_enabled_values = {
    "a": {"VISION_PREPROCESS_ENABLED": "true", "VISION_PREPROCESS_GRAYSCALE": "true",
          "VISION_MAX_OUTPUT_TOKENS": "512"},
    "b": {"VISION_LOCAL_OCR_PRIMARY_ENABLED": "true", "VISION_PHASH_ENABLED": "true",
          "VISION_PHASH_REDIS_PREFIX": "vision:phash"},
    "c": {"VISION_ROI_CROP_ENABLED": "true", "VISION_LOW_PRIORITY_QUEUE_ENABLED": "true",
          "VISION_LOW_PRIORITY_STREAM": "stream:posts:vision:low"},
    "tokens": {"VISION_TOKENS_COUNT_ENABLED": "true"},
}

# Values when rolled back (keys not named keep their value). wave -> {flag: value}
vision_rolled_back_values = {
    "a": {"VISION_PREPROCESS_ENABLED": "false", "VISION_PREPROCESS_GRAYSCALE": "false"},
    "b": {"VISION_LOCAL_OCR_PRIMARY_ENABLED": "false", "VISION_PHASH_ENABLED": "false"},
    "c": {"VISION_ROI_CROP_ENABLED": "false", "VISION_LOW_PRIORITY_QUEUE_ENABLED": "false"},
    "tokens": {"VISION_TOKENS_COUNT_ENABLED": "false"},
}

# Experiments when enabled (vision_experiments.yml entries). A rolled-back wave's entry
# is always {enabled: false, default_variant: control, force_tenants: []}.
vision_experiments = {
    "wave_a": {"enabled": True, "default_variant": "treatment", "force_tenants": []},
    "wave_b": {"enabled": True, "default_variant": "treatment", "force_tenants": []},
    "wave_c": {"enabled": True, "default_variant": "treatment", "force_tenants": []},
}

# FEATURE_VISION_COMPRESSION_POC (the sandbox PoC). true | false; true is refused in prod
vision_compression_poc = "false"

# Roll back even while an experiment of a wave in scope is assigning (needed in prod). true | false
vision_ignore_experiments = False

# Rollback options (each only when asked for; data they remove is saved first):
# delete the S3 result cache vision/{tenant}/{sha256}_{model}.json (copied under
# rollbook-saved/<run>/ first), and remove analysis.context from post_enrichment rows
# (saved into a post_enrichment_context_backup_<run> table first). true | false
vision_purge_s3_cache = False
vision_strip_context = False

# The S3 bucket of the result cache. endpoint None: the provider's default
vision_s3_endpoint = None
vision_s3_bucket = "vision"
vision_s3_region = "us-east-1"

# The operator's secrets holding the S3 credentials. Secrets' names
vision_s3_access_key_secret = "S3_ACCESS_KEY_ID"
vision_s3_secret_key_secret = "S3_SECRET_ACCESS_KEY"

# Where the worker lives on a host. Paths; `vision_service` is the compose service name
vision_env_file = "/opt/vision/.env"
vision_project_dir = "/opt/vision"
vision_service = "worker"
vision_experiments_file = "/opt/vision/config/vision_experiments.yml"

# The worker's /health and /metrics, as seen from the host. A URL
vision_metrics_url = "http://127.0.0.1:8001"

# Keys per UNLINK when deleting phash keys (found with SCAN). 1 or more
vision_scan_batch = 500

# Seconds between the two metric scrapes that show a counter flat or moving. 1 or more
vision_verify_window = 3

# Seconds between the two scrapes that show an experiment assigning, before a rollback. 1 or more
vision_experiment_window = 2

# Seconds to wait for the worker's /health, and for the smoke event to be processed. 1 or more
vision_health_timeout = 30
vision_smoke_timeout = 30

# Where stream entries are saved on the host before a trim. A path
vision_saved_dir = "/var/lib/rollbook/saved/vision"

# --- analyticbot API (group analyticbot_api; runbook 004) ----------------------

# What a run converges. all | time_weighting | content_type. Rolling back `all` turns the
# master flag off (the quick rollback); enabling `all` turns all three flags on; the
# partial scopes touch their own flag only (the runbook's scenarios A and B).
analyticbot_features = "all"

# The state of each unit on a host with no recorded state yet. unit -> enabled | rolled_back
analyticbot_declared_state = {"advanced": "enabled", "time_weighting": "enabled", "content_type": "enabled"}

# Migration 004, only on explicit request. None | rollback | apply
analyticbot_migration = None

# A known-good git ref to check out in the app's checkout (the full code rollback). None | a ref
analyticbot_release = None

# How the API runs. systemd | compose
analyticbot_unit = "systemd"
analyticbot_systemd_unit = "analyticbot-api"
analyticbot_compose_service = "api"

# Where the API lives on a host. Paths
analyticbot_env_file = "/opt/analyticbot/.env.production"
analyticbot_project_dir = "/opt/analyticbot"
analyticbot_checkout = "/opt/analyticbot"
analyticbot_log_file = "/var/log/analyticbot/production.log"

# The API as seen from the host. A URL
analyticbot_base_url = "http://127.0.0.1:10300"

# The env-file key holding the database URL that migration 004 runs against (psql on the host)
analyticbot_database_url_key = "DATABASE_URL"

# The operator's secret holding the API token for the best-times check. A secret's name
analyticbot_token_secret = "ANALYTICBOT_API_TOKEN"

# The best-times check: channel, days, and the runbook's response-time limit in seconds
analyticbot_channel = "1001"
analyticbot_days = 90
analyticbot_max_response_seconds = 2

# Seconds to wait for /health after a restart. 1 or more
analyticbot_health_timeout = 30

# --- phase17 server (group phase17_server; runbook 002) -------------------------

# How the WebSocket stream is turned off and on. router | flag. router comments out (enable:
# restores) exactly the runbook's two lines in main.py (Method 1); flag sets STREAMING_ENABLED
# in the unit's env file and needs main.py's `if STREAMING_ENABLED:` guard (Method 3).
phase17_method = "router"

# Where the server lives on a host. Paths; main and settings files relative to the server folder
phase17_server_dir = "/srv/phase17/server"
phase17_main_file = "app/main.py"
phase17_settings_file = "settings.py"
phase17_env_file = "/srv/phase17/server.env"  # the unit's EnvironmentFile
phase17_venv = "/srv/phase17/venv"  # the server's own virtualenv (runs the test suites too)

# The systemd unit running the server (uvicorn)
phase17_systemd_unit = "phase17-server"

# The server as seen from the host (a URL), its health path and the stream endpoint the verify upgrades to
phase17_base_url = "http://127.0.0.1:8000"
phase17_health_path = "/v1/health"
phase17_stream_path = "/ws/video/stream?pipeline_id=yolo_ocr"

# Seconds to wait for the health path after a restart. 1 or more
phase17_health_timeout = 30

# The Phase 15 and Phase 16 suites the verify runs (pytest folders relative to the server folder),
# and the seconds each may take. A list of paths; 1 or more
phase17_test_suites = ["app/tests/video", "tests/api"]
phase17_test_timeout = 300

# The session-leak check after enable: stream connect/disconnect cycles, and how much the server's
# resident memory (VmRSS) may grow over them in kB. 1 or more each
phase17_leak_cycles = 20
phase17_leak_max_growth_kb = 8192

# --- voice-v2 (group voice_v2; runbook 003) --------------------------------------

# The runbook's rollback level a run converges (one level per run; they do not include each
# other). 1 (.env + provider settings) | 2 (code + requirements) | 3 (compose image tag; on
# systemd hosts the virtualenv from its backup copy)
voice_level = 1

# How the service runs. systemd | compose
voice_unit = "systemd"
voice_systemd_unit = "voice-v2-service"
voice_compose_service = "voice-v2"

# Where the service lives on a host. Paths; voice_code_dir is relative to voice_app_dir (the
# app's git checkout and compose project)
voice_app_dir = "/opt/voice_v2"
voice_env_file = "/opt/voice_v2/.env"
voice_env_previous = "/opt/voice_v2/.env.previous"
voice_providers_file = "/opt/voice_v2/config/providers.json"
voice_code_dir = "app/services/voice_v2"
voice_venv = "/opt/voice_v2/venv_voice_v2_optimized"
voice_venv_backup = "/opt/voice_v2/venv_voice_v2_backup"
voice_compose_file = "/opt/voice_v2/docker-compose.yml"

# The image repository the compose file names (<image>:<tag>). A name
voice_image = "voice-v2"

# The service as seen from the host. A URL
voice_base_url = "http://127.0.0.1:8000"

# Extra `pip install` arguments for the level 2 requirements install. Text ("" none)
voice_pip_args = ""

# Level 1 rollback: the known-good .env comes from the host's .env.previous (every key in it) or
# from data only. previous | data. voice_rolled_back_env: KEY -> value applied on top (or alone)
voice_env_source = "previous"
voice_rolled_back_env = {}

# Level 1 rollback: providers to disable (comma-separated names, "" none) and priorities to set
# (name -> 1 or more; 1 is tried first), in stt and tts alike. The runbook raises OpenAI to 1.
voice_disable_providers = ""
voice_provider_priorities = {"openai": 1}

# Level 2 rollback: where the code comes from. backup | git
voice_code_source = "backup"

# Level 2 from backup: <root>/voice_v2_<YYYYMMDD> folders holding app/services/voice_v2 and
# requirements.txt. voice_backup_dir: one of them (a path); None: the newest
voice_backup_root = "/backup"
voice_backup_dir = None

# Level 2 from git: the known-good ref to check out. None | a ref
voice_git_ref = None

# Level 3 rollback on compose hosts: the tag that replaces the current one. A tag present on the host
voice_previous_image_tag = "previous-stable"

# Enable: the current release. .env values (KEY -> value), providers (name -> priority; each
# enabled), the git ref of the code (level 2), the image tag (level 3 on compose hosts)
voice_current_env = {"VOICE_V2_OPTIMIZED": "true"}
voice_current_providers = {"google": 1, "yandex": 2, "openai": 3}
voice_current_ref = "v2.0.0"
voice_current_image_tag = "latest"

# Voice-file recovery (rollback option): copy the objects under the backup bucket/prefix to the
# production bucket/prefix, only those missing or differing (size or ETag). true | false
voice_recover_files = False
voice_backup_bucket = "voice-files-backup"
voice_backup_prefix = ""
voice_files_bucket = "voice-files"
voice_files_prefix = ""

# The S3 endpoint of both buckets (None: the provider's default), its region, and the operator's
# secrets holding the credentials. Secrets' names
voice_s3_endpoint = None
voice_s3_region = "us-east-1"
voice_s3_access_key_secret = "S3_ACCESS_KEY_ID"
voice_s3_secret_key_secret = "S3_SECRET_ACCESS_KEY"

# Verification: seconds to wait for /health; TTS requests timed, and the runbook's baseline
# (average and p95 in seconds, numbers above 0); the runbook's memory limit in MB
voice_health_timeout = 30
voice_latency_requests = 9
voice_latency_avg_seconds = 3
voice_latency_p95_seconds = 5
voice_memory_limit_mb = 1024

# --- run bookkeeping (every system) ---------------------------------------------

# rollbook's folder on each host: locks/, state.json (recorded state), history.jsonl. A path
rollbook_state_dir = "/var/lib/rollbook"

# Seconds after which a lock that was never released counts as stale. 1 or more
rollbook_lock_ttl = 1800

# Take over a stale lock (its holder gone or past its expiry). true | false; never a live one
rollbook_takeover = False

# Record a converge run as a drift correction (set by `python -m rollbook drift --correct`). true | false
rollbook_drift_correction = False

# Production approvals are verified against this allowed-signers file (path in the repo)
rollbook_allowed_signers = "approvals/allowed_signers"

# A file outside the repo's tracked files holding operator secrets as KEY=value lines,
# read when a secret is not in the environment. None: the environment only
rollbook_secrets_file = None

# URL called (POST, JSON) when an emergency override runs. None: notify by hand afterwards
rollbook_notify_webhook = None

# Per run, on the command line (no defaults): --data reason=<why> (kept in history);
# prod: --data approval=<file> (from `python -m rollbook approve`), or an emergency
# override --data emergency=P0|P1 --data oncall=<name> --data reason=<why>.

# --- scheduled drift check (group control; deploys/drift_timer.py) -------------

# The inventory the control host checks, relative to the checkout. A path
rollbook_drift_inventory = "inventories/prod.py"

# Minutes between two drift checks. 1 or more
rollbook_drift_interval_minutes = 15

# Correct drift (converge to the recorded state) instead of only reporting it. true | false
rollbook_drift_correct = False

# Where rollbook is installed on the control host: its Python and its checkout. Paths
rollbook_control_python = "/opt/rollbook/venv/bin/python"
rollbook_control_checkout = "/opt/rollbook"

# Who the timer's runs are recorded as (history's operator). A name
rollbook_drift_operator = "rollbook-drift-timer"
