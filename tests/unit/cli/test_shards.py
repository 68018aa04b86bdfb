"""Shards of the drift check: the partition, ``--shard``/``--shards`` parsing (usage errors exit 64), the
``--limit`` a shard hands pyinfra, an empty shard, and the merging of the shards' reports and exit codes."""

import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from rollbook import cli
from rollbook.cli import drift, shard_runs
from rollbook.cli.drift import CONVERGED, DRIFT, ERROR, Drifted, Failed, Report
from rollbook.cli.shards import EmptyShard, Shard, exact, limit_args, parse_shard, partition, shard_of
from rollbook.core.metrics import parse

REPO = Path(__file__).resolve().parents[3]
NAMES = [f"host-{number}" for number in range(300)] + ["vision-1", "analyticbot-1", "phase17-1", "control-1"]


# -- the partition -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("count", [1, 2, 3, 7, 16])
def test_every_host_is_in_exactly_one_shard(count):
    shards = partition(NAMES, count)
    assert len(shards) == count
    assert sorted(name for shard in shards for name in shard) == sorted(NAMES)
    for index, shard in enumerate(shards):
        assert all(shard_of(name, count) == index for name in shard)


@pytest.mark.parametrize("count", [2, 5, 9])
def test_adding_a_host_moves_no_other_host(count):
    before = partition(NAMES, count)
    after = partition([*NAMES, "vision-2"], count)
    grown = shard_of("vision-2", count)
    assert [shard for index, shard in enumerate(after) if index != grown] == \
        [shard for index, shard in enumerate(before) if index != grown]
    assert after[grown] == [*before[grown], "vision-2"]


def test_the_shard_is_sha256_of_the_name_mod_n_so_every_controller_agrees():
    import hashlib

    assert shard_of("vision-1", 4) == int(hashlib.sha256(b"vision-1").hexdigest(), 16) % 4


# -- --shard and --shards on the command line -------------------------------------------------------------

def rollbook(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook", *args], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize("given, said", [
    ("2/2", "--shard 2/2: I must be 0 to N-1"), ("1/0", "--shard 1/0: I must be 0 to N-1"),
    ("x", "--shard 'x': expected I/N"), ("-1/2", "--shard '-1/2': expected I/N"), ("1/", "expected I/N"),
    ("1/2/3", "expected I/N")])
def test_a_bad_shard_is_a_usage_error_saying_what_is_expected(given, said):
    done = rollbook("drift", "inventories/sandbox.py", f"--shard={given}")
    assert done.returncode == cli.USAGE == 64, done.stderr
    assert said in done.stderr and "argument --shard" in done.stderr


@pytest.mark.parametrize("args, said", [(["--shards", "0"], "--shards '0': expected a whole number of shards"),
                                        (["--shards", "two"], "expected a whole number"),
                                        (["--shard", "0/2", "--shards", "2"], "not allowed with argument")])
def test_bad_shards_are_usage_errors_too(args, said):
    done = rollbook("drift", "inventories/sandbox.py", *args)
    assert done.returncode == 64 and said in done.stderr, done.stderr


def test_parse_shard_reads_i_of_n():
    assert parse_shard("3/4") == Shard(3, 4) and parse_shard(" 0/1 ").label == "0/1"


# -- the --limit a shard hands pyinfra ------------------------------------------------------------------------

HOSTS = {"vision-1": ("vision_workers", "sandbox"), "vision-2": ("vision_workers", "sandbox"),
         "phase17-1": ("phase17_server", "sandbox"), "control-1": ("control", "sandbox")}


def shard_holding(name: str, count: int = 2) -> Shard:
    return Shard(shard_of(name, count), count)


def test_a_shard_limits_pyinfra_to_its_own_hosts_one_limit_each():
    shard = shard_holding("vision-1")
    args = limit_args(HOSTS, [], shard, "inventories/sandbox.py")
    limited = args[1::2]
    assert args[0::2] == ["--limit"] * len(limited) and "vision-1" in limited
    assert limited == [name for name in HOSTS if shard_of(name, 2) == shard.index]


def test_a_shard_narrows_the_system_s_group_never_widens_it():
    shard = shard_holding("vision-1")
    limited = limit_args(HOSTS, ["--limit", "vision_workers"], shard, "inventories/sandbox.py")[1::2]
    assert "vision-1" in limited and set(limited) <= {"vision-1", "vision-2"}


def test_an_empty_shard_raises_naming_the_shard_and_what_it_holds_none_of():
    names = {"vision-1": ("vision_workers",)}
    other = Shard(1 - shard_of("vision-1", 2), 2)
    with pytest.raises(EmptyShard, match=rf"^shard {other.label} holds none of the 1 host\(s\) this check "
                                         r"selects in inventories/x.py: nothing to check$"):
        limit_args(names, [], other, "inventories/x.py")


def test_a_limit_that_selects_nothing_is_handed_on_as_it_is_so_the_check_says_nothing_was_checked():
    assert limit_args(HOSTS, ["--limit", "nosuch"], Shard(0, 2), "i.py") == ["--limit", "nosuch"]


def test_a_host_name_with_glob_characters_limits_to_that_host_only():
    assert exact("web-[1]*?") == "web-[[]1][*][?]"


def test_a_host_named_like_a_group_is_refused():
    hosts = {"web": ("web",), "web-2": ("web",)}
    shard = shard_holding("web")
    with pytest.raises(ValueError, match="host web is also a group name"):
        limit_args(hosts, [], shard, "i.py")


# -- an empty shard of a non-empty inventory -------------------------------------------------------------------

def test_an_empty_shard_exits_0_says_so_and_runs_no_pyinfra(monkeypatch, tmp_path, capsys):
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "prod.py").write_text("")
    monkeypatch.setattr(drift, "REPO", tmp_path)
    monkeypatch.setattr(drift, "_hosts", lambda inventory: {"vision-1": ("vision_workers",)})
    monkeypatch.setattr(drift, "_pyinfra", lambda *a, **k: pytest.fail("pyinfra ran for an empty shard"))
    empty = Shard(1 - shard_of("vision-1", 2), 2)
    for run in (drift.check, drift.correct):
        report = run("inventories/prod.py", shard=empty)
        assert report.code == CONVERGED
        assert drift.render(report) == f"shard {empty.label} holds none of the 1 host(s) this check selects " \
                                       "in inventories/prod.py: nothing to check"
    args = Namespace(inventory="inventories/prod.py", system=None, limit=None, correct=False, json=True,
                     json_out=None, textfile=None, notify=None, shard=empty, shards=None)
    assert cli._drift(args) == 0
    assert "nothing to check" in json.loads(capsys.readouterr().out)["note"]


def test_a_shard_s_textfile_labels_every_series_with_the_shard(monkeypatch, tmp_path):
    target = tmp_path / "rollbook.shard1.prom"
    monkeypatch.setattr(drift, "check", lambda inventory, system, limit, shard: Report(
        DRIFT, drift=[Drifted("vision-1", "vision", ["Set the flags"], [])], checked=[("vision-1", "vision")]))
    args = Namespace(inventory="inventories/prod.py", system=None, limit=None, correct=False, json=True,
                     json_out=None, textfile=str(target), notify=None, shard=Shard(1, 3), shards=None)
    assert cli._drift(args) == DRIFT
    samples = parse(target.read_text())
    assert samples['rollbook_drift{host="vision-1",shard="1/3",system="vision"}'] == 1
    assert samples['rollbook_drift_check_success{shard="1/3"}'] == 1


# -- merging the shards' reports and exit codes ----------------------------------------------------------------

@pytest.mark.parametrize("codes, merged", [([0, 0], 0), ([0, 2], 2), ([2, 1, 0], 1), ([1, 0], 1), ([0, 64], 1),
                                           ([0, -9], 1), ([2], 2)])
def test_the_merged_exit_code_is_the_worst_an_error_before_drift_before_converged(codes, merged):
    assert shard_runs.worst(codes) == merged


def converged(*keys) -> Report:
    return Report(CONVERGED, checked=list(keys), states={key: {"b": "enabled"} for key in keys})


def test_merged_reports_name_every_host_once_and_keep_the_worst_code():
    drifted = Report(DRIFT, drift=[Drifted("vision-1", "vision", ["Set the flags"], ["X: a -> b"])],
                     checked=[("vision-1", "vision"), ("phase17-1", "phase17")])
    report = shard_runs.merged([(Shard(0, 2), converged(("analyticbot-1", "analyticbot"))), (Shard(1, 2), drifted)])
    assert report.code == DRIFT and report.error == ""
    assert [(entry["host"], entry["result"]) for entry in drift.outcomes(report)] == \
        [("analyticbot-1", "converged"), ("phase17-1", "converged"), ("vision-1", "drift")]


def test_failed_hosts_of_every_shard_make_one_error_line_as_an_unsharded_check_says_it():
    lost = [Failed("vision-2", "vision", "unreachable", "Could not connect")]
    failed = Report(ERROR, error="x", failed=lost, drift=[Drifted("vision-1", "vision", ["s"], [])],
                    checked=[("vision-1", "vision")])
    broken = Report(ERROR, error="pyinfra failed")
    report = shard_runs.merged([(Shard(0, 3), failed), (Shard(1, 3), broken), (Shard(2, 3), converged())])
    assert report.code == ERROR
    assert report.error == "could not reach vision-2 (Could not connect): their state is unknown; " \
                           "shard 1/3: pyinfra failed"


def test_the_same_error_of_several_shards_is_said_once_naming_them():
    nothing = Report(ERROR, error="no host was checked: --limit vision_workers selects no host")
    report = shard_runs.merged([(Shard(0, 2), nothing), (Shard(1, 2), nothing)])
    assert report.error == "shard 0/2, 1/2: no host was checked: --limit vision_workers selects no host"


def test_a_shard_s_json_report_reads_back_as_the_report_it_was():
    report = Report(ERROR, error="e", drift=[Drifted("vision-1", "vision", ["s"], ["c"], ["b"])],
                    checked=[("vision-1", "vision"), ("phase17-1", "phase17")], unrecorded=[("voice-v2-1", "voice_v2")],
                    failed=[Failed("analyticbot-1", "analyticbot", "not_ready", "Error: fact")],
                    states={("vision-1", "vision"): {"b": "rolled_back"}, ("phase17-1", "phase17"): {}})
    again = shard_runs.report_from_json(drift.as_json(report))
    assert drift.as_json(again) == drift.as_json(report)


def test_a_shard_that_crashed_or_lied_about_its_code_is_an_error():
    assert shard_runs._read(1, "", "Traceback...\nKeyError: 'x'\n").error == "exited 1: KeyError: 'x'"
    said = shard_runs._read(0, drift.as_json(Report(DRIFT, drift=[Drifted("h", "vision", ["s"], [])])), "")
    assert (said.code, said.error) == (ERROR, "exited 0 but reported 2")


def test_shards_run_at_once_and_merge(monkeypatch):
    """Each shard a process of its own (here a stand-in printing its report), all started before any ends."""
    script = ("import json, sys, time; index = int(sys.argv[1]); time.sleep(0.5); "
              "print(json.dumps({'code': index and 2, 'error': '', 'drift': [{'host': f'h{index}', 'system': "
              "'vision', 'steps': ['s'], 'changes': [], 'units': []}] if index else [], 'checked': [{'host': "
              "f'h{index}', 'system': 'vision'}], 'no_recorded_state': [], 'hosts': []})); sys.exit(index and 2)")
    monkeypatch.setattr(shard_runs, "shard_command",
                        lambda inventory, shard, *rest: [sys.executable, "-c", script, str(shard.index)])
    import time

    started = time.monotonic()
    report = shard_runs.run_shards("inventories/sandbox.py", 4)
    assert time.monotonic() - started < 1.9  # four half-second shards at once, not one after the other
    assert report.code == DRIFT and sorted(report.checked) == [(f"h{i}", "vision") for i in range(4)]
    assert [d.host for d in report.drift] == ["h1", "h2", "h3"]


def test_a_shard_s_command_is_the_check_of_its_shard_as_json():
    command = shard_runs.shard_command("inventories/prod.py", Shard(1, 4), "vision", "vision-1", True)
    assert command[1:] == ["-m", "rollbook", "drift", "inventories/prod.py", "--shard", "1/4", "--json",
                           "--system", "vision", "--limit", "vision-1", "--correct"]


def test_shards_name_an_unknown_system_once_before_starting_any(monkeypatch, capsys):
    monkeypatch.setattr(shard_runs, "run_shards", lambda *a: pytest.fail("shards started"))
    args = Namespace(inventory="inventories/prod.py", system="nosuch", limit=None, correct=False, json=False,
                     json_out=None, textfile=None, notify=None, shard=None, shards=2)
    assert cli._drift(args) == ERROR
    assert capsys.readouterr().err.count("unknown system 'nosuch'") == 1
