"""Server settings, read from the environment (the unit's EnvironmentFile).

STREAMING_ENABLED is the runbook's Method 3 feature flag: main.py reads it only in its
guarded shape (``if STREAMING_ENABLED:``).
"""

import os

STREAMING_ENABLED = os.getenv("STREAMING_ENABLED", "false").lower() == "true"

# Fault injection for the sandbox: keep every stream session after its disconnect (the
# runbook's "SessionManager instances not being destroyed"). Never set in real life.
STREAM_SESSION_LEAK = os.getenv("STREAM_SESSION_LEAK", "false").lower() == "true"

# Bytes of frame buffer each stream session holds while it is connected.
STREAM_FRAME_BUFFER_BYTES = int(os.getenv("STREAM_FRAME_BUFFER_BYTES", str(2 * 1024 * 1024)))
