"""host.process: a service's main process read from /proc (the section's command, and its parse)."""

from rollbook.host.process import Process, parse, section


def test_the_section_quotes_the_service_and_greps_only_the_managed_keys():
    command = section("search-api; rm -rf /", ("A_FLAG", "B_FLAG"))
    assert command.startswith("echo '## process'; ")
    assert "--value 'search-api; rm -rf /'" in command
    assert "grep -E '^(A_FLAG|B_FLAG)=' || true" in command


def test_a_running_process_is_read_with_its_start_and_keys():
    assert parse(["running", "pid 9", "started 12.5", "A_FLAG=false", "B_FLAG=x=y"]) == \
        Process(pid=9, started=12.5, env={"A_FLAG": "false", "B_FLAG": "x=y"})


def test_a_stopped_or_unreadable_process_is_none_or_zero():
    assert parse(["stopped"]) is None and parse([]) is None
    assert parse(["running", "pid ?", "started ?"]) == Process(pid=0, started=0.0, env={})
