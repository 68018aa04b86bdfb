"""The drift check's shards on the control host: one timer instance per shard, and what shards that no
longer exist left behind (their instances, their textfiles and reports, the units from before shards)."""

import subprocess

from rollbook.admin import drift_shards
from rollbook.admin.drift_shards import DriftShardsPresent, retired_files, retired_units
from rollbook.console.collect import drift_tick, shard_reports
from rollbook.console.store import Store

from .test_drift_timer import deploy  # noqa: F401  (the fixture: the deploy's operations, recorded)

TEXTFILE = "/var/lib/rollbook-drift/textfile/rollbook.prom"
REPORT = "/var/lib/rollbook-drift/drift.json"


def test_units_of_shards_gone_and_from_before_shards_are_retired_timers_first():
    units = ["rollbook-drift@0.service", "rollbook-drift@0.timer", "rollbook-drift@1.timer", "rollbook-drift@3.service",
             "rollbook-drift@3.timer", "rollbook-drift.service", "rollbook-drift.timer", "rollbook-console.service"]
    assert retired_units(units, 1) == ["rollbook-drift.timer", "rollbook-drift@1.timer", "rollbook-drift@3.timer",
                                       "rollbook-drift.service", "rollbook-drift@3.service"]
    assert retired_units(units[:5], 4) == []


def test_files_of_shards_gone_and_the_unsharded_files_are_removed_the_others_kept():
    found = [TEXTFILE, "/var/lib/rollbook-drift/textfile/rollbook.shard0.prom",
             "/var/lib/rollbook-drift/textfile/rollbook.shard1.prom", "/var/lib/rollbook-drift/drift.shard1.json",
             "/var/lib/rollbook-drift/drift.shard10.json", "/var/lib/rollbook-drift/textfile/other.prom"]
    assert retired_files(found, 2, [TEXTFILE, REPORT]) == [
        "/var/lib/rollbook-drift/drift.shard10.json", TEXTFILE]


def test_the_fact_finds_the_shards_files_by_a_glob_the_shell_expands(tmp_path):
    for name in ("rollbook.prom", "rollbook.shard0.prom", "rollbook.shard7.prom", "other.prom"):
        (tmp_path / name).write_text("")
    command = DriftShardsPresent().command(str(tmp_path / "rollbook.prom"), str(tmp_path / "drift.json"))
    said = subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout.splitlines()
    files = DriftShardsPresent().process(said)["files"]
    assert files == sorted(str(tmp_path / name) for name in ("rollbook.prom", "rollbook.shard0.prom",
                                                             "rollbook.shard7.prom"))


def test_the_deploy_runs_one_timer_per_shard_and_retires_the_shards_gone(deploy):  # noqa: F811
    present = {"units": ["rollbook-drift@0.timer", "rollbook-drift@2.timer", "rollbook-drift@2.service",
                         "rollbook-drift.timer"],
               "files": [TEXTFILE, "/var/lib/rollbook-drift/textfile/rollbook.shard2.prom"]}
    calls = deploy(present=present, rollbook_drift_shards=2)
    services = [(kwargs["service"], kwargs.get("running"), kwargs.get("enabled")) for name, kwargs in calls
                if name == "systemd.service"]
    assert ("rollbook-drift@2.timer", False, False) in services and ("rollbook-drift.timer", False, False) in services
    assert ("rollbook-drift@0.timer", True, True) in services and ("rollbook-drift@1.timer", True, True) in services
    removed = [kwargs["path"] for name, kwargs in calls if name == "files.file"]
    assert removed == [TEXTFILE, "/var/lib/rollbook-drift/textfile/rollbook.shard2.prom",
                       "/etc/systemd/system/rollbook-drift.service", "/etc/systemd/system/rollbook-drift.timer"]
    installed = [kwargs["dest"] for name, kwargs in calls if name == "files.put"]
    assert installed == ["/etc/systemd/system/rollbook-drift@.service", "/etc/systemd/system/rollbook-drift@.timer"]
    order = [name for name, _ in calls]
    assert order.index("files.file") < order.index("files.put") < order.index("systemd.daemon_reload")


def test_instance_units_are_the_timer_and_service_of_a_shard():
    assert drift_shards.instance_units(3) == ("rollbook-drift@3.timer", "rollbook-drift@3.service")


def test_the_console_reads_every_shard_s_report_each_a_row_of_its_own(tmp_path):
    report = tmp_path / "drift.json"
    for index in (0, 1):
        (tmp_path / f"drift.shard{index}.json").write_text(
            '{"result": "converged", "hosts": [{"host": "h%d", "result": "converged"}]}' % index)
    (tmp_path / "drift.shardx.json").write_text("{}")
    reports = shard_reports(report)
    assert [path.name for path in reports] == ["drift.shard0.json", "drift.shard1.json"]
    store = Store(tmp_path / "history.db")
    assert all(drift_tick(store, path, "prod") for path in reports)
    assert sorted(host for run in store.runs() for host in run["host_status"]) == ["h0", "h1"]


def test_a_control_host_with_no_drift_unit_and_no_file_yet_has_none_of_them():
    """pyinfra answers a fact command that printed nothing with ``default()``: a fresh control host."""
    assert DriftShardsPresent().default() == {"units": [], "files": []}
