"""Where authority comes from (issue #22): security settings from the repo's group data only, no
guessing of dry mode from the command line, drift corrections that take no data, path keys confined
to the app's folders, and no module but the command line reading ``sys.argv``."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from rollbook.core import authority, schema
from rollbook.core.paths import checkout
from rollbook.core.preflight import PreflightError

REPO = checkout()


# --- security settings: the repo's group data, whatever the source -------------------------------

def repo_values(groups):
    return authority.expected_for(groups)


@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_the_repo_s_own_values_pass(environment):
    groups = ["vision_workers", environment]
    authority.check(dict(repo_values(groups)), groups)


@pytest.mark.parametrize("key, value", [
    ("rollbook_environment", "sandbox"),
    ("rollbook_allowed_signers", "forged/allowed_signers"),
    ("rollbook_state_dir", "/var/lib/other"),
    ("ssh_strict_host_key_checking", "no"),
    ("ssh_known_hosts_file", "/tmp/known_hosts"),
    ("rollbook_approval_max_hours", 24),
    ("rollbook_public_env_keys", ["OPENAI_API_KEY"]),
    ("rollbook_notify_webhook", "json://attacker.example/hook"),
    ("rollbook_environment_marker", "/tmp/marker"),
])
def test_a_security_setting_from_another_source_is_refused_naming_the_key(key, value):
    groups = ["vision_workers", "prod"]
    data = {**repo_values(groups), key: value}
    with pytest.raises(PreflightError) as refused:
        authority.check(data, groups)
    said = str(refused.value)
    assert key in said and "\n" not in said and "repo's group data" in said


def test_a_security_setting_missing_from_the_merged_data_is_refused():
    groups = ["vision_workers", "prod"]
    data = {key: value for key, value in repo_values(groups).items() if key != "rollbook_state_dir"}
    data["rollbook_state_dir"] = None
    with pytest.raises(PreflightError, match="rollbook_state_dir"):
        authority.check(data, groups)


def test_the_notify_target_and_every_security_key_are_marked_security():
    keys = schema.security_keys()
    for name in ("rollbook_environment", "rollbook_allowed_signers", "rollbook_state_dir",
                 "rollbook_notify_webhook", "ssh_known_hosts_file", "rollbook_public_env_keys"):
        assert name in keys, name


@pytest.mark.parametrize("key", ["rollbook_notify_webhook", "rollbook_state_dir", "rollbook_allowed_signers"])
def test_data_cannot_set_a_security_key(key):
    with pytest.raises(PreflightError, match=f"may not set the security setting {key}"):
        schema.refuse_override({key: "x"})


def test_drift_correction_is_not_a_data_key():
    """A drift correction is the deploy `rollbook drift --correct` runs, never a value."""
    with pytest.raises(PreflightError, match="unknown data key rollbook_drift_correction"):
        schema.refuse_override({"rollbook_drift_correction": "true"})


def test_rollbook_checkout_cannot_move_the_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv("ROLLBOOK_CHECKOUT", str(tmp_path))
    assert checkout() == REPO  # running from the checkout: the running one
    with pytest.raises(PreflightError, match="ROLLBOOK_CHECKOUT"):
        authority.check_checkout()
    monkeypatch.setenv("ROLLBOOK_CHECKOUT", str(REPO))
    authority.check_checkout()


def test_prod_and_staging_group_data_connect_as_rollbook_with_sudo():
    files = authority.repo_group_data()
    for environment in ("prod", "staging", "sandbox_prod"):
        assert files[environment]["_sudo"] is True, environment
        assert files[environment]["ssh_user"] == "rollbook", environment


def test_sandbox_prod_takes_prod_s_settings():
    files = authority.repo_group_data()
    for key, value in files["prod"].items():
        if key != "ssh_known_hosts_file":
            assert files["sandbox_prod"][key] == value, key


# --- a run started elsewhere, or with other group data ---------------------------------------------

def _pyinfra(*args, cwd):
    return subprocess.run([str(Path(sys.executable).with_name("pyinfra")), *args], cwd=cwd, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


def _local_prod_inventory(folder: Path) -> Path:
    """An inventory named prod (so group_data/prod.py applies) whose vision worker is this machine,
    reached by pyinfra's local connector: preflight runs for real and stops before any host command."""
    inventory = folder / "prod.py"
    inventory.write_text('vision_workers = ["@local"]\n')
    return inventory


def test_a_group_data_folder_naming_other_signers_is_refused_before_any_host_command(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "prod.py").write_text('rollbook_allowed_signers = "forged/allowed_signers"\n')
    inventory = _local_prod_inventory(tmp_path)
    done = _pyinfra("--group-data", str(extra), "--dry", str(inventory), "deploys/vision_rollback.py", cwd=REPO)
    errors = [line for line in done.stderr.splitlines() if "pyinfra error" in line]
    assert done.returncode != 0 and len(errors) == 1, done.stderr
    assert "the security setting rollbook_allowed_signers differs from the repo's group data" in errors[0]


def test_a_run_from_another_folder_with_its_own_group_data_is_refused(tmp_path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text('rollbook_environment = "sandbox"\n')
    inventory = _local_prod_inventory(tmp_path)
    done = _pyinfra("--dry", str(inventory), str(REPO / "deploys/vision_rollback.py"), cwd=tmp_path)
    assert done.returncode != 0 and "differs from the repo's group data" in done.stderr, done.stderr
    assert "rollbook_environment" in done.stderr


# --- path keys ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [
    ("analyticbot_version_file", "../../../etc/shadow"),
    ("analyticbot_version_file", "/etc/shadow"),
    ("analyticbot_env_file", "/etc/sudoers"),
    ("analyticbot_env_file", "/opt/analyticbot/../../etc/sudoers"),
    ("analyticbot_log_file", "/etc/shadow"),
    ("vision_env_file", "/etc/sudoers"),
    ("vision_env_file", "/opt/vision/./.env"),
    ("vision_experiments_file", "/opt/vision/.env"),
    ("vision_experiments_file", "/root/.ssh/id_ed25519"),
    ("vision_saved_dir", "/etc/cron.d"),
    ("vision_project_dir", "/etc"),
    ("vision_project_dir", "/"),
    ("phase17_env_file", "/etc/sudoers"),
    ("phase17_venv", "/usr"),
    ("phase17_server_dir", "/etc/phase17"),
    ("voice_env_file", "/etc/sudoers"),
    ("voice_env_previous", "/etc/shadow"),
    ("voice_providers_file", "/root/x.json"),
    ("voice_compose_file", "/etc/docker/daemon.json"),
    ("voice_venv", "/usr/lib/python3"),
    ("voice_app_dir", "/etc"),
    ("voice_backup_dir", "/etc/voice"),
])
def test_a_path_key_outside_its_app_s_folders_is_refused_naming_it(key, value):
    with pytest.raises(PreflightError) as refused:
        schema.validate({key: value})
    assert key in str(refused.value) and "\n" not in str(refused.value)


def test_paths_inside_the_app_still_pass():
    schema.validate({"analyticbot_version_file": "app/VERSION", "vision_env_file": "/opt/vision/env/.env",
                     "voice_backup_dir": "/backup/voice_v2_20251101", "analyticbot_log_file": "/var/log/api.log"})


# --- nothing guesses from the command line ------------------------------------------------------------

def _reads_argv(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.Attribute) and node.attr == "argv" and isinstance(node.value, ast.Name)
               and node.value.id == "sys" for node in ast.walk(tree))


def test_no_module_but_the_command_line_reads_sys_argv():
    allowed = {"rollbook/cli/__init__.py", "rollbook/__main__.py"}  # and host scripts: their own argv on the host
    readers = [str(path.relative_to(REPO)) for path in (REPO / "rollbook").rglob("*.py")
               if "/scripts/" not in str(path) and _reads_argv(path)]
    assert sorted(set(readers) - allowed) == []


def test_dry_mode_is_never_read_from_argv():
    for path in (REPO / "rollbook").rglob("*.py"):
        assert '"--dry" in sys.argv' not in path.read_text(), path


# --- the lower findings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["-r /etc/shadow", "--requirement=/etc/shadow", "--index-url=http://evil/",
                                   "-i http://evil/", "--extra-index-url=http://evil/", "--trusted-host evil",
                                   "-c /etc/shadow", "-e .", "--target=/usr/lib", "--find-links=../x"])
def test_pip_arguments_are_only_the_listed_flags(value):
    with pytest.raises(PreflightError, match="voice_pip_args"):
        schema.validate({"voice_pip_args": value})


def test_listed_pip_arguments_pass():
    schema.validate({"voice_pip_args": "--no-index --find-links=/srv/wheels --prefer-binary"})


def test_no_fact_writes_to_a_guessable_temp_name():
    for path in (REPO / "rollbook").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        assert "/tmp/rollbook" not in path.read_text(), path


# --- symlinks leading out of the app's folder, checked on the host at the write -------------------------

def _guard(path, root):
    from rollbook.host.shell import inside

    return subprocess.run(["sh", "-c", f"{inside(str(path), str(root))} && echo written"], capture_output=True,
                          text=True)


def test_a_symlink_leading_out_of_the_app_folder_is_refused_at_the_write(tmp_path):
    app, outside = tmp_path / "app", tmp_path / "etc"
    app.mkdir(), outside.mkdir()
    (outside / "sudoers").write_text("root ALL=(ALL) ALL\n")
    (app / ".env").symlink_to(outside / "sudoers")
    done = _guard(app / ".env", app)
    assert done.returncode == 1 and "leading out of its folder" in done.stderr and "written" not in done.stdout
    (app / "config").symlink_to(outside)  # a folder on the way may be a link (config mounted from elsewhere)
    assert _guard(app / "config" / "x.yml", app).stdout.strip() == "written"
    (outside / "link.yml").symlink_to(tmp_path / "elsewhere.yml")  # but not the file in it
    assert _guard(app / "config" / "link.yml", app).returncode == 1


def test_a_file_or_link_inside_the_app_folder_passes(tmp_path):
    app = tmp_path / "app"
    (app / "env").mkdir(parents=True)
    (app / "env" / "real").write_text("A=1\n")
    (app / ".env").symlink_to(app / "env" / "real")
    assert _guard(app / ".env", app).stdout.strip() == "written"
    assert _guard(app / "new.yml", app).stdout.strip() == "written"


@pytest.mark.parametrize("key", ["vision_metrics_url", "analyticbot_base_url", "voice_base_url", "phase17_base_url"])
@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://10.0.0.5:8000",
                                 "http://internal.example:8001", "http://127.0.0.1.evil.example/"])
def test_a_probe_url_is_the_host_s_own_loopback(key, url):
    """The probes run on the host, against its own service: never a request to another machine (SSRF)."""
    with pytest.raises(PreflightError, match=key):
        schema.validate({key: url})


def test_loopback_probe_urls_pass():
    schema.validate({"vision_metrics_url": "http://127.0.0.1:8001", "voice_base_url": "http://localhost:8000/",
                     "analyticbot_base_url": "https://[::1]:10300", "phase17_base_url": "http://127.0.0.1:8000"})
