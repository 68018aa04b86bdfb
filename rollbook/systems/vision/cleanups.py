"""The vision rollback's one-off cleanups beside the shared Redis ones: ``analysis.context`` of
``post_enrichment`` (saved into a backup table first) and the S3 result cache (counted once per run)."""

import re

from ...core.runs import SESSION
from ...host import s3

# the result cache: vision/{tenant}/{sha256}_{model}.json
CACHE = s3.Objects("vision/", re.compile(r"^vision/[^/]+/[0-9a-f]{64}_[^/]+\.json$"), "cached vision results")


def strip_context_sql(backup_table: str) -> str:
    """Save every row's analysis.context, then remove it (one transaction)."""
    return (f"CREATE TABLE {backup_table} AS SELECT post_id, data #> '{{analysis,context}}' AS context "
            "FROM post_enrichment WHERE data -> 'analysis' ? 'context'; "
            "UPDATE post_enrichment SET data = data #- '{analysis,context}' WHERE data -> 'analysis' ? 'context';")


def s3_cache_count(target: s3.S3Target) -> int | None:
    """Cached results in the bucket, counted once per run (None: S3 did not answer, said once)."""
    return SESSION.once(("vision s3 cache", target.endpoint, target.bucket), lambda: s3.counted(lambda: s3.keys_of(target, CACHE)))
