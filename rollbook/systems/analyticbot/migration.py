"""Migration 004 (``posts.has_video``, ``has_media`` and their indexes) without data loss: its rollback
saves the rows into a backup table first, its apply restores their values from the newest backup."""

from .facts import MIGRATION_COLUMNS, MIGRATION_INDEXES


def rollback_sql(backup_table: str) -> str:
    columns = ", ".join(MIGRATION_COLUMNS)
    return (f"CREATE TABLE {backup_table} AS SELECT id, {columns} FROM posts; "
            + " ".join(f"DROP INDEX IF EXISTS {index};" for index in MIGRATION_INDEXES)
            + " ALTER TABLE posts " + ", ".join(f"DROP COLUMN IF EXISTS {c}" for c in MIGRATION_COLUMNS) + ";")


def apply_sql(newest_backup: str) -> str:
    sql = ("ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_video boolean NOT NULL DEFAULT false; "
           "ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_media boolean NOT NULL DEFAULT false; "
           "CREATE INDEX IF NOT EXISTS idx_posts_content_type ON posts (has_video, has_media); "
           "CREATE INDEX IF NOT EXISTS idx_posts_date_content ON posts (date, has_video, has_media);")
    if newest_backup:
        sql += (f" UPDATE posts AS p SET has_video = b.has_video, has_media = b.has_media "
                f"FROM {newest_backup} AS b WHERE p.id = b.id;")
    return sql
