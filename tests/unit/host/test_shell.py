"""Shell snippets, run for real with sh on temporary files."""

import subprocess

from rollbook.host import shell


def sh(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True)


def test_backup_copies_and_keeps_only_the_newest(tmp_path):
    path = tmp_path / ".env"
    for n in range(4):
        path.write_text(f"V={n}\n")
        assert sh(shell.backup(str(path), keep=2)).returncode == 0
    backups = sorted(tmp_path.glob(".env.backup.*"))
    assert [b.read_text() for b in backups] == ["V=2\n", "V=3\n"]


def test_env_value_reads_the_last_assignment_and_defaults(tmp_path):
    path = tmp_path / ".env"
    path.write_text("REDIS_URL=redis://a:1/0\nREDIS_URL=redis://:pw@b:2/0\n")
    done = sh(f"{shell.env_value(str(path), 'REDIS_URL', 'url')}; {shell.address_of('url', 'addr')}; echo $addr")
    assert done.stdout.strip() == "b:2"
    done = sh(f"{shell.env_value(str(path), 'MISSING', 'v', 'fallback')}; echo $v")
    assert done.stdout.strip() == "fallback"


def test_require_fails_with_the_message_and_never_the_url(tmp_path):
    path = tmp_path / ".env"
    path.write_text("REDIS_URL=redis://:hunter2@127.0.0.1:1/0\n")
    done = sh(f"{shell.redis_connect(str(path), 'deleting x')}; echo reached")
    assert done.returncode == 1 and "reached" not in done.stdout
    assert done.stderr.strip() == "Redis unreachable at 127.0.0.1:1 (deleting x)"
    assert "hunter2" not in done.stderr


def test_fail_exits_non_zero_with_the_message():
    done = sh(shell.fail("vision rolled back: verification failed: it's broken"))
    assert done.returncode == 1 and done.stderr.strip() == "vision rolled back: verification failed: it's broken"


def test_timed_fails_naming_the_step_only_when_the_time_is_up():
    slow = sh(shell.timed("sleep 5", 1, "migration 004 rollback"))
    assert slow.returncode != 0 and slow.stderr.strip() == "migration 004 rollback: timed out after 1s"
    quick = sh(shell.timed("exit 3", 5, "step"))
    assert quick.returncode != 0 and quick.stderr == ""
    assert sh(f"export v=ok; {shell.timed('test $v = ok', 5, 'step')}").returncode == 0  # sees exported variables


def test_http_ok_gives_up_after_its_time():
    assert sh(shell.http_ok("http://127.0.0.1:9/health", 1)).returncode != 0
