"""Shell snippets, run for real with sh on temporary files."""

import subprocess

from rollbook.host import shell


def sh(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", str(command)], capture_output=True, text=True)


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
    done = sh(shell.http_ok("http://127.0.0.1:9/health", 1, "vision_metrics_url"))
    assert done.returncode != 0
    assert done.stderr.strip() == ("http://127.0.0.1:9/health did not answer 200 within 1s (last: 000; 000: no answer): "
                                   "is vision_metrics_url right?")


def test_http_ok_fails_at_once_on_an_endpoint_the_service_does_not_serve():
    """A 404 is not a service still starting: no wait, and the message names the setting to change."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/no-such-health"
    try:
        done = sh(shell.http_ok(url, 30, "vision_health_path"))  # the 404 message only comes from the early stop
        assert done.returncode != 0
        assert done.stderr.strip() == f"{url} answers 404: the service does not serve it: is vision_health_path right?"
    finally:
        server.shutdown()


def test_env_value_drops_one_pair_of_surrounding_quotes(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=\"redis://h:1/0\"\nB='x y'\nC=\"unbalanced\n")
    done = sh("; ".join(shell.env_value(str(path), key, key.lower()) for key in "ABC") + '; echo "$a|$b|$c"')
    assert done.stdout.strip() == 'redis://h:1/0|x y|"unbalanced'


def test_redis_commands_take_the_password_from_the_environment_never_from_arguments():
    command = shell.redis_connect("/opt/vision/.env", "x")
    assert "-u " not in command and '"$url"' not in command.split("addr=")[-1]
    assert "export REDISCLI_AUTH" in command and shell.REDIS_CLI in command
    assert shell.REDIS_CLI.startswith('redis-cli -h "$rh" -p "$rp" -n "$rn"') and "$pw" not in shell.REDIS_CLI
    assert "unset url" in command  # the URL (password included) is not kept around for later commands


def test_postgres_commands_take_the_password_from_the_environment_never_from_arguments():
    command = shell.postgres_connect("/opt/app/.env", "x", "DATABASE_URL")
    assert "export PGPASSWORD" in command and 'psql "$db"' in command
    assert 'db="postgresql://${pu:+$pu@}$r"' in command  # $db keeps user, host, port, database, not the password
    assert "*password=*" in command  # a password= parameter is refused before psql could get it


def test_a_percent_encoded_credential_is_decoded_from_the_environment(tmp_path):
    path = tmp_path / ".env"
    path.write_text("REDIS_URL=redis://us%65r:p%40ss%0A@127.0.0.1:1/3\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "redis-cli").write_text('#!/bin/sh\nfor a; do last=$a; done\n'
                                    '[ "$last" = PING ] && echo PONG || printf "%s|%s|" "$*" "$REDISCLI_AUTH"\n')
    (fake / "redis-cli").chmod(0o755)
    done = sh(f"PATH={fake}:$PATH; {shell.redis_connect(str(path), 'x')}; {shell.REDIS_CLI} INFO")
    args, auth, _ = done.stdout.split("|")
    assert args == "-h 127.0.0.1 -p 1 -n 3 --user user INFO" and auth == "p@ss\n"


def test_a_database_url_with_a_password_parameter_is_refused_before_psql(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DATABASE_URL=postgresql://u@h/db?password=s3cret\n")
    done = sh(f"{shell.postgres_connect(str(path), 'x')}; echo reached")
    assert done.returncode == 1 and "reached" not in done.stdout and "s3cret" not in done.stderr
    assert "has a password= parameter" in done.stderr
