"""Stand-in services baked into the sandbox images (test fixtures, not product code)."""
