"""The web console's foundations (issue #24, in progress): who may do what, and what a job asks for.

- ``users``: the users file (``name role bcrypt-hash`` per line) and the four roles, each holding the rights
  of the ones before it: viewer (read), operator (plan; run in self-service environments), approver
  (approve another person's production plan), admin (locks, users).
- ``jobs``: one job per registered system and action (rollback, enable), its fields taken from the system's
  settings model (doc, choices, default) and its data checked by the CLI's own validation.
- ``api``: the JSON API served so far (``GET /api/systems``), behind HTTP basic auth.
- ``static/``: htmx and its SSE extension, vendored from the npm registry (``static/VENDORED.json``).

Not there yet: plans, runs, their live output, history, locks, approvals, the pages and ``rollbook serve``.
"""
