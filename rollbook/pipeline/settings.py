"""The pipeline's own data keys (every system, every run), declared once.

    >>> PipelineSettings().rollbook_lock_ttl
    1800
"""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, field_validator

from ..core.schema import Flag, Settings, Whole, key

Positive = Annotated[Whole, Field(gt=0)]
Percent = Annotated[Whole, Field(ge=0, le=100)]
# A path or name that reaches a host command: no whitespace, quotes, $, ;, |, &, <, >, backslash or newline.
SafePath = Annotated[str, StringConstraints(pattern=r"\A[A-Za-z0-9_./@%+:,~][A-Za-z0-9_./@%+:,~-]*\Z")]
Url = Annotated[str, StringConstraints(pattern=r"\Ahttps?://[^\s'\"`$\\]+\Z")]
# A service as seen from its own host (the probes run there): loopback only, so no data value turns a
# probe into a request to another machine.
LocalUrl = Annotated[str, StringConstraints(
    pattern=r"\Ahttps?://(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?(?:/[^\s'\"`$\\]*)?\Z")]
UserName = Annotated[str, StringConstraints(pattern=r"\A[a-z_][a-z0-9_-]{0,31}\Z")]  # a Unix account
AppriseUrl = Annotated[str, StringConstraints(pattern=r"\A[a-z][a-z0-9+.-]*://[^\s'\"`$\\]+\Z")]


class PipelineSettings(Settings):
    """Every run: environment, connection, approvals, locks, backups, timeouts, drift timer."""

    title: ClassVar[str] = "Pipeline (every system)"

    # --- environment and connection (security: set by the environment's group data only) -------
    rollbook_environment: Literal["sandbox", "staging", "prod"] = key(
        "prod", "The environment of the hosts; unset inventories get the strictest. The host's "
        "enrollment marker must agree", origin="rollbook", allowed="sandbox, staging, prod", security=True)
    rollbook_environment_marker: SafePath = key(
        "/etc/rollbook/environment", "The file on each host naming the environment it was enrolled in",
        origin="rollbook",
        security=True)
    ssh_strict_host_key_checking: Literal["yes"] = key(
        "yes", "Host keys are always checked", origin="rollbook", allowed="yes", security=True)
    ssh_known_hosts_file: str = key(
        "~/.ssh/known_hosts", "known_hosts file holding the hosts' keys (outside the repo)", origin="rollbook",
        security=True)
    ssh_user: str | None = key(None, "The SSH user rollbook connects as (prod and staging: rollbook)",
                               origin="rollbook")
    ssh_key: str | None = key(None, "The SSH private key rollbook connects with (None: the agent's)", origin="rollbook")
    ssh_hostname: str | None = key(None, "The address to connect to (None: the host's name)", origin="rollbook")
    ssh_port: Positive | None = key(None, "The SSH port (None: 22)", origin="rollbook")
    rollbook_allowed_signers: SafePath = key(
        "approvals/allowed_signers", "Production approvals are verified against this allowed-signers file "
        "(a path inside the repo)", origin="rollbook", security=True)
    rollbook_approval_max_hours: Annotated[float, Field(gt=0, le=24)] = key(
        4, "The longest an approval may be valid for, in hours",
        origin="rollbook", allowed="above 0, at most 24", security=True)

    # --- enrollment (deploys/bootstrap.py) ----------------------------------------------------------
    rollbook_user: UserName = key(
        "rollbook", "The account rollbook connects as on the hosts (made by deploys/bootstrap.py)",
        origin="rollbook", security=True)
    rollbook_authorized_keys: SafePath = key(
        "approvals/rollbook_authorized_keys", "The public keys the rollbook account accepts (a file inside the "
        "repo; deploys/bootstrap.py makes its authorized_keys exactly these)", origin="rollbook", security=True)

    # --- every run -------------------------------------------------------------------------------
    rollbook_backup_keep: Positive = key(5, "How many <file>.backup.<UTC stamp> copies of a managed file to keep",
                                         origin="rollbook")
    rollbook_connect_timeout: Positive = key(
        10, "Seconds Redis or PostgreSQL has to answer before a step fails with \"<service> unreachable\"",
        origin="rollbook")
    rollbook_command_timeout: Positive = key(
        600, "Seconds one remote SQL script, Redis cleanup or database read may run (also each SQL "
        "statement's statement_timeout)", origin="rollbook")
    rollbook_lock_timeout: Positive = key(
        10, "Seconds one SQL statement of a migration or cleanup may wait for a lock (PostgreSQL lock_timeout) "
        "before it fails, instead of queueing every other query behind it", origin="rollbook")
    rollbook_public_env_keys: str | list[str] = key(
        [], "Env-file keys whose values may be shown in output and history, besides the flags a run sets from "
        "data; every other env value shows as `***`",
        origin="rollbook", allowed="env key names (a list, or comma-separated)",
        security=True)
    rollbook_fail_percent: Percent | None = key(
        None, "Fail the whole run once more than this percent of hosts failed (None: converge every host "
        "that can; pyinfra's --fail-percent wins)", origin="rollbook", allowed="None or 0-100")
    rollbook_state_dir: SafePath = key(
        "/var/lib/rollbook", "rollbook's folder on each host: locks/, state.json, history.jsonl",
        origin="rollbook", security=True)
    rollbook_lock_ttl: Positive = key(1800, "Seconds after which a lock that was never released counts as stale",
                                      origin="rollbook")
    rollbook_takeover: Flag = key(False, "Take over a stale lock (its holder gone or past its expiry); never a live one",
                                  origin="rollbook")
    rollbook_converge_declared: Flag = key(
        False, "A converge run (drift correction) may converge a unit no authorized run recorded to its declared "
        "state (group data's *_declared_state); false: such a unit is left alone and reported as "
        "\"no recorded state\"", origin="rollbook")
    rollbook_secrets_file: str | None = key(
        None, "A file outside the repo's tracked files holding operator secrets as KEY=value lines "
        "(None: the environment only)", origin="rollbook")
    rollbook_notify_webhook: AppriseUrl | None = key(
        None, "Where an emergency override (before its change), a run's outcome that needs a human (failed "
        "verification, restore, refusal in prod, drift corrected: one message at the run's end) and a failed "
        "drift check are notified: an Apprise URL "
        "(slack://, msteams://, json://, a hooks.slack.com address) or any http(s) address, which gets "
        "Slack's shape, {\"text\": ...} (None: notify by hand afterwards)",
        origin="rollbook", security=True, secret=True)

    # --- per run, on the command line -----------------------------------------------------------
    reason: str | None = key(None, "Why this run (kept in history)", origin="rollbook", per_run=True)
    approval: str | None = key(None, "prod: the approval file from `rollbook approve`", origin="rollbook", per_run=True)
    emergency: Literal["P0", "P1", "p0", "p1"] | None = key(
        None, "prod: an on-call emergency override instead of an approval",
        origin="rollbook", allowed="P0, P1", per_run=True)

    # --- scheduled drift check (group control; deploys/drift_timer.py) ---------------------------
    rollbook_drift_inventory: SafePath = key("inventories/prod.py", "The inventory the control host checks "
                                             "(relative to the checkout)", origin="rollbook")
    rollbook_drift_interval_minutes: Positive = key(15, "Minutes between two drift checks", origin="rollbook")
    rollbook_drift_shards: Annotated[Whole, Field(ge=1, le=256)] = key(
        1, "Shards of the drift check on the control host: one rollbook-drift@I.timer per shard I, each "
        "checking the hosts whose sha256(name) mod N == I (--shard I/N) and writing its own textfile and "
        "report (<name>.shardI.<ext>); lowering it removes the instances and files of the shards gone",
        origin="rollbook")
    rollbook_drift_correct: Flag = key(False, "Correct drift (converge to the recorded state) instead of "
                                       "only reporting it", origin="rollbook")
    rollbook_control_user: UserName = key(
        "rollbook-drift", "The dedicated user the drift check runs as on the control host", origin="rollbook")
    rollbook_control_checkout: SafePath = key("/opt/rollbook", "rollbook's checkout on the control host",
                                              origin="rollbook")
    rollbook_control_venv: SafePath = key("/opt/rollbook-venv", "The virtualenv (requirements-runtime.txt) "
                                          "on the control host", origin="rollbook")
    rollbook_control_ref: Annotated[str, StringConstraints(pattern=r"\A(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_./^~-]*\Z")] = key(
        "HEAD", "The git ref of this repo installed on the control host (sent as a bundle)", origin="rollbook")
    rollbook_control_environment: dict[Annotated[str, StringConstraints(pattern=r"\A[A-Z_][A-Z0-9_]*\Z")],
                                       Annotated[str, StringConstraints(pattern=r"\A[A-Za-z0-9_./@%+:,~-]*\Z")]] = key(
        {}, "Environment of the drift check on the control host, e.g. the variables naming the known_hosts "
        "file (ROLLBOOK_PROD_KNOWN_HOSTS)", origin="rollbook", allowed="NAME -> value (no spaces or quotes)")
    rollbook_drift_json: SafePath = key("/var/lib/rollbook-drift/drift.json",
                                        "The drift check's JSON report on the control host", origin="rollbook")
    rollbook_drift_textfile: SafePath = key(
        "/var/lib/rollbook-drift/textfile/rollbook.prom", "The drift check's Prometheus textfile "
        "(rollbook_drift{system,host}, rollbook_drift_check_success) for node_exporter's textfile collector",
        origin="rollbook")

    # --- the web console (group control; deploys/console.py) -------------------------------------
    rollbook_console_port: Annotated[Whole, Field(ge=1, le=65535)] = key(
        8480, "The console's port on the control host's 127.0.0.1 (rollbook serve)", origin="rollbook")
    rollbook_console_environments: dict[Annotated[str, StringConstraints(pattern=r"\A[a-z][a-z0-9_]*\Z")],
                                        SafePath] = key(
        {"staging": "inventories/staging.py", "prod": "inventories/prod.py"},
        "The console's environments: name -> inventory (relative to the checkout)",
        origin="rollbook", allowed="name -> path")
    rollbook_console_self_service: list[Annotated[str, StringConstraints(pattern=r"\A[a-z][a-z0-9_]*\Z")]] = key(
        ["staging"], "The console's environments an operator runs in without an approval (from runbook 004: "
        "staging is self-service, production needs an approval)", origin="runbook 004")

    @field_validator("rollbook_fail_percent", mode="before")
    @classmethod
    def _no_threshold(cls, value):
        """``None`` as ``--data`` gives it (text) means no threshold."""
        return None if value in ("", "None", "none") else value
