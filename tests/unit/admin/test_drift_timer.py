"""The control host's install as data: its operations' JSON cases (``drift_timer.<operation>/<case>.json``),
the units rendered from its data (checked by ``systemd-analyze verify`` where it is installed), the
webhook's root-only file, the wheels fetched for the control host's python3, and the deploy's order:
preflight first, every operation named, the webhook in no argument pyinfra prints."""

import hashlib
import os
import shutil
import subprocess
import sys
from argparse import Namespace
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest

from rollbook.admin import drift_shards, drift_timer
from rollbook.core import notify
from rollbook import pipeline
from rollbook.core.loader import HostSettings
from rollbook.core.preflight import PreflightError

from ..harness import case_commands, cases, fake_host, group_data, op_commands, preflighted

HERE = Path(__file__).parent
OPERATIONS = {"drift_timer.checked_out": drift_timer.checked_out,
              "drift_timer.venv_installed": drift_timer.venv_installed,
              "drift_timer.secret_file": drift_timer.secret_file}
ARGUMENTS = {"wheels": lambda value: value.encode(), "bundle_file": Path,  # JSON stand-ins
             "content": lambda value: None if value is None else StringIO(value)}
CASES = [(name, case_name, case) for name in OPERATIONS for case_name, case in cases(HERE / name)]
WEBHOOK = "https://chat.example/hooks/T0/B0/not-a-real-token?x=a%20b"
PYTHON = drift_timer.Python(3, 11, "x86_64", "glibc", "2.36")


def test_every_operation_has_cases():
    assert all((HERE / name).is_dir() and list((HERE / name).glob("*.json")) for name in OPERATIONS)


@pytest.mark.parametrize("name, case_name, case", CASES, ids=[f"{n}/{c}" for n, c, _ in CASES])
def test_operation_yields_the_expected_commands(name, case_name, case):
    assert case_commands(OPERATIONS, ARGUMENTS, name, case) == case["commands"]


def control(**data):
    return drift_timer.control_from(HostSettings({**group_data("sandbox_prod"), **data}))  # past the schema


# --- the units ---------------------------------------------------------------------------------------

def test_the_units_run_the_check_of_the_data_s_inventory_as_the_dedicated_user():
    units = drift_timer.unit_files(control())
    service = units["rollbook-drift@.service"]
    assert "User=rollbook-drift" in service and "Environment=ROLLBOOK_SANDBOX_DIR=/etc/rollbook-drift/sandbox" in service
    assert "-m rollbook drift inventories/sandbox_prod.py --shard %i/1 --json-out " \
        "/var/lib/rollbook-drift/drift.shard%i.json --textfile /var/lib/rollbook-drift/textfile/rollbook.shard%i.prom" in service
    assert "--notify" not in service and "--correct" not in service
    assert "OnUnitActiveSec=5min" in units["rollbook-drift@.timer"]


def test_the_webhook_is_in_neither_unit_nor_the_command_line_but_in_a_root_only_environment_file():
    configured = control(rollbook_notify_webhook=WEBHOOK)
    units = drift_timer.unit_files(configured)
    assert not any("chat.example" in text for text in units.values())
    assert "--notify" not in units["rollbook-drift@.service"]
    assert "\nEnvironmentFile=-/etc/rollbook-drift/notify.env\n" in units["rollbook-drift@.service"]
    # systemd reads an environment file literally (no specifiers): the URL's % stays as it is
    assert drift_timer.notify_env_text(configured) == f"ROLLBOOK_NOTIFY_WEBHOOK='{WEBHOOK}'\n"
    assert "chat.example" not in repr(configured)
    assert drift_timer.notify_env_text(control(rollbook_notify_webhook=None)) is None
    assert units == drift_timer.unit_files(control(rollbook_notify_webhook=None))  # the units do not depend on it


@pytest.mark.parametrize("bad", ["\n", "\r", "\x00", "\x1b", "\x7f", "\u2028"], ids=repr)
def test_a_webhook_that_would_add_a_line_to_the_environment_file_is_refused_without_showing_it(bad):
    with pytest.raises(PreflightError) as refused:
        drift_timer.notify_env_text(control(rollbook_notify_webhook=f"{WEBHOOK}{bad}LD_PRELOAD=/tmp/x.so"))
    said = str(refused.value)
    assert said.startswith("rollbook_notify_webhook: ") and "\n" not in said and "chat.example" not in said


def test_a_quote_in_the_webhook_is_refused_too():
    with pytest.raises(PreflightError, match="^rollbook_notify_webhook: holds a quote"):
        drift_timer.notify_env_text(control(rollbook_notify_webhook="https://chat.example/h'x"))


UNIT_KEYS = ["rollbook_drift_inventory", "rollbook_control_user", "rollbook_control_checkout", "rollbook_control_venv",
             "rollbook_drift_json", "rollbook_drift_textfile"]


@pytest.mark.parametrize("key", UNIT_KEYS)
@pytest.mark.parametrize("bad", ["\n", "\r", "\x00", "\t", "\x1b", "\x85", "\u2028"], ids=repr)
def test_a_newline_or_control_character_never_reaches_the_units(key, bad):
    value = f"{group_data('sandbox_prod').get(key) or 'x'}{bad}ExecStartPre=/bin/sh"
    with pytest.raises(PreflightError) as refused:
        drift_timer.unit_files(control(**{key: value}))
    said = str(refused.value)
    assert said.startswith(f"{key}: holds a newline or another control character") and "\n" not in said


@pytest.mark.parametrize("bad", ["\n", "\x00"], ids=repr)
def test_a_control_character_in_the_check_s_environment_is_refused_naming_the_variable(bad):
    with pytest.raises(PreflightError, match=r"^rollbook_control_environment\[ROLLBOOK_SANDBOX_DIR\]: holds a newline"):
        drift_timer.unit_files(control(rollbook_control_environment={"ROLLBOOK_SANDBOX_DIR": f"/etc/x{bad}User=root"}))
    with pytest.raises(PreflightError, match=r"^rollbook_control_environment \(a name\): holds a newline"):
        drift_timer.unit_files(control(rollbook_control_environment={f"A{bad}B": "1"}))


@pytest.mark.parametrize("bad", [" --correct", "'", '"', "\\", "$HOME", ";"])
def test_what_systemd_splits_or_expands_in_a_command_line_is_refused(bad):
    with pytest.raises(PreflightError, match="^rollbook_drift_inventory: holds whitespace, a quote"):
        drift_timer.unit_files(control(rollbook_drift_inventory=f"inventories/prod.py{bad}"))


def test_a_path_s_percent_signs_are_not_systemd_specifiers():
    service = drift_timer.unit_files(control(rollbook_drift_json="/var/lib/rollbook-drift/100%n.json"))
    assert "--json-out /var/lib/rollbook-drift/100%%n.shard%i.json" in service["rollbook-drift@.service"]


def test_preflight_s_schema_refuses_a_newline_in_the_inventory_as_well():
    data = {**group_data(), "rollbook_drift_inventory": "inventories/prod.py\nExecStartPre=/bin/sh -c id"}
    with fake_host(data=data, groups=("control",)), pytest.raises(PreflightError, match="^rollbook_drift_inventory"):
        pipeline.preflight()


def test_the_timer_is_monotonic_randomized_and_says_why_it_is_not_persistent():
    timer = drift_timer.unit_files(control())["rollbook-drift@.timer"]
    settings = [line for line in timer.splitlines() if line and not line.startswith("#")]
    assert {"OnBootSec=5min", "OnUnitActiveSec=5min", "RandomizedDelaySec=30s"} <= set(settings)
    assert not any(line.startswith(("Persistent=", "OnCalendar=")) for line in settings)
    assert "Persistent= is not set: it\n# only applies to OnCalendar=" in timer


@pytest.mark.parametrize("minutes, correct, timeout", [(5, False, 10), (15, False, 15), (90, False, 90),
                                                      (5, True, 60), (120, True, 120)])
def test_a_hung_tick_is_stopped_so_that_the_next_runs(minutes, correct, timeout):
    service = drift_timer.unit_files(control(rollbook_drift_interval_minutes=minutes,
                                             rollbook_drift_correct=correct))["rollbook-drift@.service"]
    assert f"\nTimeoutStartSec={timeout}min\n" in service


HARDENING = ["NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=read-only",
             "PrivateDevices=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectControlGroups=yes",
             "RestrictSUIDSGID=yes", "LockPersonality=yes", "CapabilityBoundingSet="]


def test_the_service_is_hardened_and_writes_only_where_its_report_and_textfile_go():
    lines = drift_timer.unit_files(control())["rollbook-drift@.service"].splitlines()
    assert set(HARDENING) <= set(lines)
    assert "ReadWritePaths=/var/lib/rollbook-drift" in lines  # the textfile's folder is inside it
    apart = drift_timer.unit_files(control(rollbook_drift_textfile="/var/lib/node_exporter/textfile/rollbook.prom"))
    assert "ReadWritePaths=/var/lib/node_exporter/textfile /var/lib/rollbook-drift" in \
        apart["rollbook-drift@.service"].splitlines()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("data", [{}, {"rollbook_drift_correct": True, "rollbook_notify_webhook": WEBHOOK},
                                  {"rollbook_drift_textfile": "/var/lib/node_exporter/textfile/rollbook.prom",
                                   "rollbook_drift_interval_minutes": 45},
                                  {"rollbook_drift_shards": 3}], ids=["check", "correction", "apart", "three-shards"])
def test_systemd_analyze_verify_accepts_the_units(data, tmp_path):
    venv = tmp_path / "venv"  # verify wants ExecStart's program to exist
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\n")
    (venv / "bin" / "python").chmod(0o755)
    units = drift_timer.unit_files(control(rollbook_control_venv=str(venv), **data))
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    instances = [unit for index in range(data.get("rollbook_drift_shards", 1))  # each shard's, from the templates
                 for unit in drift_shards.instance_units(index)]
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(tmp_path / unit) for unit in instances)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, ""), done.stderr  # a warning is a failure too


# --- the webhook's file ------------------------------------------------------------------------------

def test_through_sudo_the_webhook_waits_in_the_ssh_user_s_private_folder_never_in_tmp():
    data = {"_sudo": True, "ssh_user": "rollbook", "rollbook_state_dir": "/var/lib/rollbook"}
    with fake_host(data=data) as host:
        preflighted(host)
        commands = list(drift_timer.secret_file._inner(path=drift_timer.NOTIFY_ENV, content=StringIO("A='b'\n"),
                                                       current=""))
    assert str(commands[0]) == ("install -d -m 711 /var/lib/rollbook-uploads && "
                                "install -d -m 700 -o rollbook /var/lib/rollbook-uploads/rollbook")
    assert "install -m 600 -o root -g root /dev/null /etc/rollbook-drift/notify.env.rollbook-new" in str(commands[1])
    upload = commands[2]
    assert upload.remote_temp_filename.startswith("/var/lib/rollbook-uploads/rollbook/")
    assert upload.dest == "/etc/rollbook-drift/notify.env.rollbook-new"


def test_the_file_is_kept_only_when_it_is_root_s_0600_with_this_content():
    text = "ROLLBOOK_NOTIFY_WEBHOOK='x'\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    def commands(current):
        return op_commands(drift_timer.secret_file, path="/e/n.env", content=StringIO(text), current=current)

    assert commands(f"600 0:0 {digest}") == []
    for current in (f"640 0:0 {digest}", f"600 0:1000 {digest}", f"600 0:0 {'f' * 64}", ""):
        assert commands(current)


def test_the_fact_reads_the_webhook_file_s_mode_owner_and_digest_never_its_content(tmp_path):
    secret = tmp_path / "notify.env"
    secret.write_text(f"ROLLBOOK_NOTIFY_WEBHOOK='{WEBHOOK}'\n")
    secret.chmod(0o600)
    fact = drift_timer.ControlHost()

    def read(notify_env):
        done = subprocess.run(["sh", "-c", fact.command(str(tmp_path / "no-checkout"), str(tmp_path / "no-venv"),
                                                        notify_env)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return fact.process(done.stdout.splitlines()), done.stdout

    state, said = read(str(secret))
    assert "chat.example" not in said
    assert state["notify"] == f"600 {os.getuid()}:{os.getgid()} {hashlib.sha256(secret.read_bytes()).hexdigest()}"
    assert (state["head"], state["installed"]) == ("", "")
    assert drift_timer.python_from(state["python"]).major == 3  # this machine's python3 answered
    assert read(str(tmp_path / "missing.env"))[0]["notify"] == ""


# --- the wheels, for the control host's python3 ------------------------------------------------------

def test_the_host_s_python3_names_the_wheels_it_runs():
    python = drift_timer.python_from("3 12 aarch64 glibc 2.19")
    assert (python.version, python.key) == ("3.12", "cp312-manylinux_2_19_aarch64")
    assert python.platforms() == ["manylinux_2_19_aarch64", "manylinux_2_18_aarch64", "manylinux_2_17_aarch64",
                                  "manylinux2014_aarch64"]


@pytest.mark.parametrize("said, refusal", [("", "has no python3"), ("sh: python3: not found", "has no python3"),
                                           ("3 11 x86_64", "unknown libc"), ("3 11 x86_64 glibc 2.12", "older than"),
                                           ("3 11 x86_64 musl 1.2", "musl")])
def test_a_control_host_without_a_usable_python3_is_refused_in_one_line(said, refusal):
    with pytest.raises(PreflightError, match=refusal):
        drift_timer.python_from(said).platforms()


def test_pip_downloads_for_the_host_s_version_and_platform(tmp_path):
    argv = drift_timer.download_command(tmp_path / "w", tmp_path / "req.txt", PYTHON)
    assert argv[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--only-binary=:all:" in argv
    assert argv[argv.index("--implementation") + 1] == "cp" and argv[argv.index("--python-version") + 1] == "3.11"
    platforms = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--platform"]
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert platforms[-2:] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert len(platforms) == 36 - 17 + 2


def committed(monkeypatch, text: str):
    """The requirements as the installed commit holds them (the working tree says otherwise)."""
    monkeypatch.setattr(drift_timer, "_git", lambda *args: text if args == ("show", f"c0ffee:{drift_timer.REQUIREMENTS}")
                        else pytest.fail(f"git {args}"))


def test_the_wheelhouse_is_kept_per_requirements_python_and_platform(tmp_path, monkeypatch):
    (tmp_path / drift_timer.REQUIREMENTS).write_text("not-what-the-commit-holds==1\n")
    committed(monkeypatch, "six==1.17.0")
    digest = hashlib.sha256(b"six==1.17.0\n").hexdigest()
    downloads = []

    def download(argv, **_):
        folder = Path(argv[argv.index("--dest") + 1])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"wheel")
        downloads.append(argv)
        return SimpleNamespace(returncode=0, stderr="")

    monkeypatch.setattr(drift_timer, "checkout", lambda: tmp_path)
    monkeypatch.setattr(drift_timer.subprocess, "run", download)
    wheels, marker = drift_timer.wheelhouse(PYTHON, "c0ffee")
    assert marker == f"{digest} cp311-manylinux_2_36_x86_64" and wheels
    assert Path(downloads[0][downloads[0].index("-r") + 1]).read_text() == "six==1.17.0\n"  # the commit's
    assert (tmp_path / ".control" / f"wheels-{digest[:12]}-cp311-manylinux_2_36_x86_64" / ".complete").is_file()
    assert drift_timer.wheelhouse(PYTHON, "c0ffee") == (wheels, marker) and len(downloads) == 1  # kept
    drift_timer.wheelhouse(drift_timer.Python(3, 12, "x86_64", "glibc", "2.36"), "c0ffee")
    assert len(downloads) == 2  # another python: another folder


def test_a_failed_download_says_pip_s_last_line(tmp_path, monkeypatch):
    committed(monkeypatch, "six==1.17.0")
    monkeypatch.setattr(drift_timer, "checkout", lambda: tmp_path)
    monkeypatch.setattr(drift_timer.subprocess, "run", lambda argv, **_: SimpleNamespace(
        returncode=1, stderr="ERROR: Could not find a version that satisfies the requirement six==1.17.0\n"))
    with pytest.raises(PreflightError, match=r"\(cp311-manylinux_2_36_x86_64\) failed: ERROR: Could not find"):
        drift_timer.wheelhouse(PYTHON, "c0ffee")


# --- the deploy --------------------------------------------------------------------------------------

class Recorder:
    """Stands for pyinfra's operations: records each call's keyword arguments."""

    def __init__(self, calls: list, name: str):
        self.calls, self.name = calls, name

    def __call__(self, **kwargs):
        self.calls.append((self.name, kwargs))
        return SimpleNamespace(did_change=lambda: False)


@pytest.fixture
def deploy(monkeypatch):
    """Run ``drift_timer()``'s body on a fake control host, its operations recorded (never run)."""
    calls: list = []
    monkeypatch.setattr(pipeline, "begin_deploy",
                        lambda name, kind, settings, **kw: calls.append(("begin_deploy", {"name": name})))
    monkeypatch.setattr(pipeline, "finish_deploy",
                        lambda current, settings, **kw: calls.append(("finish_deploy", {"name": "end"})))
    monkeypatch.setattr(drift_timer, "bundle", lambda ref: (calls.append(("bundle", {})), (Path("/b"), "c0ffee"))[1])
    monkeypatch.setattr(drift_timer, "wheelhouse",
                        lambda python, commit: (calls.append(("wheelhouse", {"python": python})), (b"tar", "d cp311"))[1])
    for module, names in ((drift_timer.server, ["user"]), (drift_timer.files, ["directory", "put", "file"]),
                          (drift_timer.systemd, ["daemon_reload", "service"])):
        for name in names:
            monkeypatch.setattr(module, name, Recorder(calls, f"{module.__name__.rsplit('.', 1)[-1]}.{name}"))
    for name in ("checked_out", "venv_installed", "secret_file"):
        monkeypatch.setattr(drift_timer, name, Recorder(calls, name))

    def run(preflight=None, present=None, **data):
        present = present or {"units": [], "files": []}
        merged = {**group_data("sandbox_prod"), **data}
        monkeypatch.setattr(pipeline, "preflight", preflight or (  # the settings past the schema: what the deploy
            lambda: (calls.append(("preflight", {})), HostSettings(merged))[1]))  # itself refuses
        with fake_host(data=merged, groups=("control",)) as control_host:
            monkeypatch.setattr(control_host, "get_fact", lambda fact, **kwargs: present if fact is
                                drift_shards.DriftShardsPresent else {
                                    "head": "", "installed": "", "python": "3 11 x86_64 glibc 2.36", "notify": ""})
            drift_timer.drift_timer._inner()
        return calls

    return run


def test_the_deploy_starts_with_preflight_and_names_every_operation(deploy):
    calls = deploy(rollbook_notify_webhook=WEBHOOK)
    assert [name for name, _ in calls[:4]] == ["preflight", "begin_deploy", "bundle", "wheelhouse"]
    assert calls[3][1]["python"] == PYTHON
    assert calls[-1][0] == "finish_deploy"  # authorization, lock and history around every operation
    operations = calls[4:]
    assert operations and all(kwargs.get("name") for _, kwargs in operations)


def test_no_operation_argument_shows_the_webhook(deploy):
    calls = deploy(rollbook_notify_webhook=WEBHOOK)
    for name, kwargs in calls:
        for key, value in kwargs.items():
            assert "chat.example" not in repr(value), f"{name}({key}=...) shows the webhook"
    secret = [kwargs for name, kwargs in calls if name == "secret_file"]
    assert len(secret) == 1 and secret[0]["path"] == "/etc/rollbook-drift/notify.env"
    assert isinstance(secret[0]["content"], StringIO) and WEBHOOK in secret[0]["content"].getvalue()
    assert not any("chat.example" in kwargs["src"].getvalue() for name, kwargs in calls if name == "files.put")


def test_without_a_webhook_the_deploy_removes_the_file(deploy):
    calls = deploy(rollbook_notify_webhook=None)
    secret = [kwargs for name, kwargs in calls if name == "secret_file"]
    assert len(secret) == 1 and secret[0]["content"] is None and "remove" in secret[0]["name"]


def test_a_refused_preflight_stops_the_deploy_before_anything_else(deploy, monkeypatch):
    def refuse():
        raise PreflightError("unknown data key no_such_key")

    with pytest.raises(PreflightError, match="no_such_key"):
        deploy(preflight=refuse)


def test_a_newline_in_the_inventory_stops_the_deploy_even_past_the_schema(deploy):
    with pytest.raises(PreflightError, match="^rollbook_drift_inventory: holds a newline"):
        deploy(rollbook_drift_inventory="inventories/prod.py\nExecStartPre=/bin/sh")


# --- rollbook drift takes the webhook from the environment ------------------------------------------

def test_drift_takes_the_webhook_from_the_environment_and_hides_it_from_its_children(monkeypatch):
    monkeypatch.setenv(notify.WEBHOOK_VARIABLE, WEBHOOK)
    assert notify.drift_webhook(None) == WEBHOOK and notify.WEBHOOK_VARIABLE not in os.environ
    monkeypatch.setenv(notify.WEBHOOK_VARIABLE, WEBHOOK)
    assert notify.drift_webhook("json://other.example/") == "json://other.example/"  # --notify wins
    assert notify.drift_webhook(None) is None


def test_the_drift_command_notifies_the_environment_s_webhook(monkeypatch, capsys):
    from rollbook import cli
    from rollbook.cli import drift

    seen = {}
    monkeypatch.setenv(notify.WEBHOOK_VARIABLE, WEBHOOK)

    def check(inventory, system, limit, shard=None):
        seen["environment"] = os.environ.get(notify.WEBHOOK_VARIABLE)  # what pyinfra would inherit
        return drift.Report(drift.ERROR, error="could not reach vision-1")

    monkeypatch.setattr(drift, "check", check)
    monkeypatch.setattr(drift, "render", lambda report: "drift check failed")
    monkeypatch.setattr(notify, "drift_failed", lambda url, inventory, report: seen.setdefault("url", url) and "sent")
    args = Namespace(inventory="inventories/prod.py", system=None, limit=None, correct=False, json=False,
                     json_out=None, textfile=None, notify=None, shard=None, shards=None)
    assert cli._drift(args) == drift.ERROR
    assert seen == {"environment": None, "url": WEBHOOK}
    assert "notification sent" in capsys.readouterr().err
