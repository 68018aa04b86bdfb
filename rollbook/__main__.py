"""``python -m rollbook ...``: see ``rollbook.cli``."""

import sys

if sys.argv[1:2] and sys.argv[1] in ("history", "incident", "approve"):
    # these commands use pyinfra's API, which runs on gevent: patch before anything imports ssl
    from gevent import monkey

    monkey.patch_all()

from .cli import main  # noqa: E402

sys.exit(main())
