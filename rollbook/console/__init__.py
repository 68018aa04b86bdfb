"""The web console (issue #24): staging self-service in a browser, production with a second person's
approval, one history. ``rollbook serve --config console.toml`` serves it on 127.0.0.1.

- ``config``: the settings file (port, users, state folder, approval key, environments).
- ``users`` and ``auth``: the users file of bcrypt hashes, the four roles, sessions and CSRF tokens.
- ``jobs``: one job per registered system and action, its form from the system's settings model.
- ``service``: plan (a ``--dry`` run, with its digest), approve (signed by the console's key), run, cancel:
  every rule about who may do what.
- ``runner`` and ``events``: pyinfra as a subprocess, its stored output, each host's status, streamed.
- ``store``: plans and runs in SQLite (WAL).
- ``api`` and ``pages``: the JSON API and the Jinja2/htmx pages over the same service.
"""
