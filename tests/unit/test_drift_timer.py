"""The control host's install as data: its operations' JSON cases (``drift_timer.<operation>/<case>.json``)
and the units rendered from its data."""

from pathlib import Path

import pytest

from rollbook import drift_timer

from .harness import case_commands, cases, group_data

HERE = Path(__file__).parent
OPERATIONS = {"drift_timer.checked_out": drift_timer.checked_out,
              "drift_timer.venv_installed": drift_timer.venv_installed}
ARGUMENTS = {"wheels": lambda value: value.encode(), "bundle_file": Path}  # JSON stand-ins
CASES = [(name, case_name, case) for name in OPERATIONS for case_name, case in cases(HERE / name)]


def test_every_operation_has_cases():
    assert all((HERE / name).is_dir() and list((HERE / name).glob("*.json")) for name in OPERATIONS)


@pytest.mark.parametrize("name, case_name, case", CASES, ids=[f"{n}/{c}" for n, c, _ in CASES])
def test_operation_yields_the_expected_commands(name, case_name, case):
    assert case_commands(OPERATIONS, ARGUMENTS, name, case) == case["commands"]


def control(**data):
    return drift_timer.control_from({**group_data("sandbox_prod"), **data})


def test_the_units_run_the_check_of_the_data_s_inventory_as_the_dedicated_user():
    units = drift_timer.unit_files(control())
    service = units["rollbook-drift.service"]
    assert "User=rollbook-drift" in service and "Environment=ROLLBOOK_SANDBOX_DIR=/etc/rollbook-drift/sandbox" in service
    assert "-m rollbook drift inventories/sandbox_prod.py --json-out /var/lib/rollbook-drift/drift.json" in service
    assert "--notify" not in service and "--correct" not in service
    assert "OnUnitActiveSec=5min" in units["rollbook-drift.timer"]


def test_a_webhook_s_percent_signs_are_not_systemd_specifiers():
    service = drift_timer.unit_files(control(rollbook_notify_webhook="https://chat.example/h?x=a%20b"))
    assert "--notify https://chat.example/h?x=a%%20b" in service["rollbook-drift.service"]
