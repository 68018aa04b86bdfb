"""Migration 004 (``posts.has_video``, ``has_media`` and their indexes) without data loss. By default the
checkout's own SQL files run (runbook 004: ``\\i infra/db/migrations/004_rollback.sql``); rollbook saves
the columns the rollback drops (``analyticbot_migration_saved_columns``) into a backup table first, and
an apply restores their values from the newest backup after the file re-created them::

    >>> save_sql("posts_content_type_backup_x", ("has_video",))
    'CREATE TABLE posts_content_type_backup_x AS SELECT id, has_video FROM posts;'

``rollback_sql``/``apply_sql`` are rollbook's own statements: a fallback, run only with
``analyticbot_migration_sql=rollbook``.
"""

from .facts import MIGRATION_INDEXES


def save_sql(backup_table: str, columns) -> str:
    return f"CREATE TABLE {backup_table} AS SELECT id, {', '.join(columns)} FROM posts;"


def restore_sql(newest_backup: str, columns) -> str:
    """Values back from the newest backup ('' when there is none: nothing to restore)."""
    if not newest_backup:
        return ""
    return (f"UPDATE posts AS p SET {', '.join(f'{c} = b.{c}' for c in columns)} "
            f"FROM {newest_backup} AS b WHERE p.id = b.id;")


def rollback_sql(backup_table: str, columns) -> str:
    return (save_sql(backup_table, columns) + " "
            + " ".join(f"DROP INDEX IF EXISTS {index};" for index in MIGRATION_INDEXES)
            + " ALTER TABLE posts " + ", ".join(f"DROP COLUMN IF EXISTS {c}" for c in columns) + ";")


def apply_sql(newest_backup: str, columns) -> str:
    sql = ("ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_video boolean NOT NULL DEFAULT false; "
           "ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_media boolean NOT NULL DEFAULT false; "
           "CREATE INDEX IF NOT EXISTS idx_posts_content_type ON posts (has_video, has_media); "
           "CREATE INDEX IF NOT EXISTS idx_posts_date_content ON posts (date, has_video, has_media);")
    restore = restore_sql(newest_backup, columns)
    return f"{sql} {restore}" if restore else sql
