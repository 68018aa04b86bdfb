"""What every part of rollbook stands on: the host's settings, validated once (``loader``)."""
