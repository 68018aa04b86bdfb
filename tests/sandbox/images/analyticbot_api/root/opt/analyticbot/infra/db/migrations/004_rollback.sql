-- Rollback of migration 004 (drops the content-type data: back it up first).
DROP INDEX IF EXISTS idx_posts_content_type;
DROP INDEX IF EXISTS idx_posts_date_content;
ALTER TABLE posts DROP COLUMN IF EXISTS has_video;
ALTER TABLE posts DROP COLUMN IF EXISTS has_media;
