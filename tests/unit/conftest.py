"""What unit tests share: a local webhook receiver on 127.0.0.1 (a real HTTP server; Apprise is not mocked)."""

import pytest

from tests.webhook import receiver


@pytest.fixture
def endpoint():
    """``(url, received)``: ``tests.webhook.receiver()`` for the test's duration."""
    with receiver() as (url, received):
        yield url, received
