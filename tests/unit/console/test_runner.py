"""console.runner: what pyinfra's output says of each host and of the run."""

from rollbook.console.runner import host_status, outcome


def test_host_lines_name_a_host_of_the_run_only():
    assert host_status("    [vision-1] Success", ["vision-1"]) == ("vision-1", "running")
    assert host_status("    [vision-1]      Error: executed 0 commands", ["vision-1"]) == ("vision-1", "failed")
    assert host_status("    [vision-1] vision-1 is enrolled as 'sandbox', not 'prod': refused (why)",
                       ["vision-1"]) == ("vision-1", "failed")
    assert host_status("    [vision-9] Success", ["vision-1"]) is None
    assert host_status("--> Starting operation: x", ["vision-1"]) is None


def test_the_run_s_outcome():
    assert outcome(0, "", cancelled=False) == "succeeded"
    assert outcome(1, "[vision-1] not 'prod': refused (a host's environment...)", cancelled=False) == "refused"
    assert outcome(1, "GET /health: connection refused", cancelled=False) == "failed"
    assert outcome(1, "[vision-1] vision on vision-1 is locked by bob since 2026-12-07T19:38:01Z", cancelled=False) \
        == "refused"
    assert outcome(1, "", cancelled=True) == "cancelled"
