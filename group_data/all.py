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
