"""Host mechanics any system reuses: pyinfra operations and facts that know nothing of a system.

Operations (generators that yield commands only when the host differs). What they yield are pyinfra
command objects, built by ``command``: shell in a template, every value quoted by pyinfra
(``QuoteString``), rollbook's own shell snippets inlined with ``program``:

- ``envfile``: env files (``KEY=value``): the change plan, said without secret values, and ``keys``
- ``files``: a whole file's content (``content``)
- ``code``: exact source lines commented out or restored (``lines_commented``)
- ``git``: a checkout at a ref (``checked_out``)
- ``service``: restart or recreate a systemd unit or compose service when the running process
  differs, and put back what the run replaced when it does not get ready (``restarted_when_stale``,
  ``restarted``)
- ``redis``, ``postgres``: cleanups and scripts run on the host (``keys_deleted``,
  ``stream_emptied``, ``script``)
- ``s3``: buckets from the controller with boto3 (``objects_purged``; listing, purging, copying)
- ``verify``: the effect, judged from a fact (``verified``)

Facts and helpers:

- ``sections``: facts that gather several things in one command (``SectionsFact``)
- ``compose``: a compose service's running container, read inside a fact's command
- ``command``: command objects from a template and quoted values (``command``, ``program``, ``joined``)
- ``shell``: shell snippets (quoting, env values, backups, Redis and PostgreSQL connections, timed steps)
- ``scripts``: the Python and awk programs that run on the hosts, as real files
- ``timeouts``: ``rollbook_connect_timeout`` / ``rollbook_command_timeout`` from data
"""
