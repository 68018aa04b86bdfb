"""Migration 004's SQL: save before dropping, restore from the backup."""

from rollbook.systems.analyticbot import migration as ab

COLUMNS = ("has_video", "has_media")


def test_migration_sql_saves_before_dropping_and_restores_from_the_backup():
    rollback = ab.rollback_sql("posts_content_type_backup_x", COLUMNS)
    assert rollback.index("CREATE TABLE posts_content_type_backup_x AS SELECT id, has_video, has_media") < \
        rollback.index("DROP COLUMN IF EXISTS has_video")
    apply = ab.apply_sql("posts_content_type_backup_x", COLUMNS)
    assert "ADD COLUMN IF NOT EXISTS has_media" in apply and "FROM posts_content_type_backup_x AS b" in apply
    assert "UPDATE" not in ab.apply_sql("", COLUMNS)


def test_the_saved_columns_are_data_s():
    assert ab.save_sql("b", ("has_audio",)) == "CREATE TABLE b AS SELECT id, has_audio FROM posts;"
    assert ab.restore_sql("b", ("has_audio",)) == \
        "UPDATE posts AS p SET has_audio = b.has_audio FROM b AS b WHERE p.id = b.id;"
    assert ab.restore_sql("", ("has_audio",)) == ""
