"""Host mechanics any system reuses: pyinfra operations (generators that yield commands only when the
host differs: ``envfile``, ``files``, ``code``, ``git``, ``service``, ``redis``, ``postgres``, ``s3``,
``verify``) and the facts' shell (``sections``, ``process``, ``shell``), knowing nothing of a
system. Every command is built by ``command``: shell in a template, every value quoted by pyinfra.
"""
