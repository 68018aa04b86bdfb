-- Migration 004: content-type detection columns and their indexes.
ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_video boolean NOT NULL DEFAULT false;
ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_media boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS idx_posts_content_type ON posts (has_video, has_media);
CREATE INDEX IF NOT EXISTS idx_posts_date_content ON posts (date, has_video, has_media);
