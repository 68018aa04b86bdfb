"""voice_v2 2.0 optimization: response cache and provider pooling (the release being rolled back)."""

CACHE_TTL_SECONDS = 300
POOL_SIZE = 32
