"""Redis and PostgreSQL operations as data: what their commands hold, and what they never hold."""

import pytest

from rollbook.host import postgres, redis
from rollbook.host.timeouts import Timeouts

from ..harness import op_commands

LIMITS = Timeouts(10, 600, 7)


def test_the_stream_is_saved_and_deleted_in_bounded_batches_never_trimmed_unbounded():
    (command,) = op_commands(redis.stream_emptied, env_file="/opt/vision/.env", stream="stream:posts:vision:low",
                             length=12, save_dir="/var/lib/rollbook/saved/vision", timeouts=LIMITS, batch=250)
    assert "XRANGE stream:posts:vision:low - + COUNT 250" in command and "XDEL stream:posts:vision:low" in command
    assert "XTRIM" not in command and "MAXLEN" not in command
    assert command.index("XRANGE") < command.index('>> "$f"') < command.index("XDEL")  # saved, then deleted
    assert "umask 077" in command and 'chmod 600 "$f"' in command
    assert "redis-cli -u" not in command and '"$url"' not in command.split("addr=")[-1]


def test_the_default_batch_and_a_bad_one():
    (command,) = op_commands(redis.stream_emptied, env_file="/e", stream="s", length=None, save_dir="/d",
                             timeouts=LIMITS)
    assert "COUNT 1000" in command
    with pytest.raises(ValueError, match="batch"):
        op_commands(redis.stream_emptied, env_file="/e", stream="s", length=3, save_dir="/d", timeouts=LIMITS,
                    batch=0)


def test_keys_are_deleted_with_scan_and_unlink_and_no_url_in_arguments():
    (command,) = op_commands(redis.keys_deleted, env_file="/e", pattern="vision:phash:*", count=None, timeouts=LIMITS)
    assert "--scan --pattern" in command and "UNLINK" in command and " KEYS " not in command
    assert "redis-cli -u" not in command and "export REDISCLI_AUTH" in command


def test_migration_sql_runs_with_lock_and_statement_timeouts():
    (command,) = op_commands(postgres.script, env_file="/opt/app/.env", url_key="DATABASE_URL",
                             sql="ALTER TABLE posts DROP COLUMN IF EXISTS has_video;", needed=True, summary=["x"],
                             what="migration 004 rollback", timeouts=LIMITS)
    assert postgres.with_timeouts("SELECT 1;", LIMITS) == \
        "SET lock_timeout = '7s'; SET statement_timeout = '600s'; SELECT 1;"
    assert "lock_timeout" in command and "statement_timeout" in command and "600s" in command
    assert 'psql "$db" -q -1 -v ON_ERROR_STOP=1 -c' in command and "export PGPASSWORD" in command
    assert op_commands(postgres.script, env_file="/e", url_key="DATABASE_URL", sql="x", needed=False, summary=[],
                       what="w", timeouts=LIMITS) == []


def test_keys_are_counted_again_after_the_deletion_and_a_key_left_fails_naming_it(tmp_path):
    """The deletion's shell run for real against a stand-in redis-cli (keys in a folder): UNLINK removes
    them, a writer that keeps adding one is caught by the recount."""
    import os
    import subprocess

    from rollbook.host.redis import keys_deleted
    from rollbook.host.timeouts import Timeouts

    from ..harness import op_commands

    keys, bin_dir, env = tmp_path / "keys", tmp_path / "bin", tmp_path / ".env"
    keys.mkdir()
    bin_dir.mkdir()
    env.write_text("REDIS_URL=redis://127.0.0.1:6379/0\n")
    (bin_dir / "redis-cli").write_text(
        "#!/bin/sh\nfor a; do last=$a; done\n"
        "case \" $* \" in *' PING '*) echo PONG;; *' --scan '*) ls \"$KEYS\";;\n"
        "*' UNLINK '*) shift 6; for k; do [ \"$k\" = UNLINK ] && continue; rm -f \"$KEYS/$k\"; done;"
        " [ -n \"$STUCK\" ] && touch \"$KEYS/$STUCK\"; echo 1;; esac\n")
    (bin_dir / "redis-cli").chmod(0o755)
    [command] = op_commands(keys_deleted, env_file=str(env), pattern="vision:phash:*", count=3,
                            timeouts=Timeouts(5, 30), batch=2)

    def run(stuck=""):
        for name in ("vision:phash:a", "vision:phash:b", "vision:phash:c"):
            (keys / name).touch()
        return subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "KEYS": str(keys),
                                   "STUCK": stuck})

    done = run()
    assert done.returncode == 0, done.stderr
    assert not list(keys.iterdir())
    stuck = run(stuck="vision:phash:new")
    assert stuck.returncode != 0 and "remain after the deletion (something still writes them): 1" in stuck.stderr
