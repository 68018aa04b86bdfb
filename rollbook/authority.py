"""Where a run's security settings come from: the repo's own group data, never the run.

pyinfra merges ``--group-data DIR``, a ``group_data/`` folder in the working directory, the
inventory's host data and ``--data`` into one dict (``host.data``), and cannot say which source a
value came from. So rollbook loads the repo's ``group_data/`` itself, computes what each security
key must be for a host's groups, and refuses a run whose value differs, naming the key — whatever
the source (another folder's group data, inventory host data, an environment variable read by a
data file elsewhere). ``ROLLBOOK_CHECKOUT`` may not move the checkout away from the code running::

    >>> expected_for(["vision_workers", "prod"])["rollbook_environment"]
    'prod'
    >>> differing({"rollbook_environment": "sandbox"}, ["vision_workers", "prod"])
    ['rollbook_environment']

This module is the one adapter to pyinfra's inventory loader: pyinfra offers no public call that
reads a group-data folder, so ``_group_files`` uses ``pyinfra_cli.inventory._get_group_data``,
which reads the files exactly as a pyinfra run does.
"""

import functools
import os
from pathlib import Path

from . import schema
from .paths import checkout, source_checkout
from .preflight import PreflightError


@functools.cache
def _group_files(folder: str) -> dict[str, dict]:
    from types import SimpleNamespace

    from pyinfra.context import ctx_state
    from pyinfra_cli.inventory import _get_group_data

    if ctx_state.isset():  # inside a pyinfra run
        return _get_group_data(folder)
    with ctx_state.use(SimpleNamespace(current_exec_filename=None)):  # the one attribute its exec_file sets
        return _get_group_data(folder)


def repo_group_data() -> dict[str, dict]:
    """The repo's ``group_data/``: group name -> its data (``all`` holds every host's defaults)."""
    return _group_files(str(checkout() / "group_data"))


def expected_for(groups) -> dict:
    """The security keys' values for a host in ``groups``, as the repo's group data sets them
    (``all.py``, then each group in the order pyinfra layers them: the last group wins)."""
    files = repo_group_data()
    merged = dict(files.get("all", {}))
    for group in groups:
        merged.update(files.get(group, {}))
    return {name: merged.get(name) for name in schema.security_keys()}


def differing(data, groups) -> list[str]:
    """The security keys whose value in ``data`` (a host's merged data) is not the repo's."""
    expected = expected_for(groups)
    return sorted(name for name, value in expected.items() if data.get(name) != value)


def check_checkout():
    """``ROLLBOOK_CHECKOUT`` may name only the checkout whose code runs (or, for an installed
    rollbook, any checkout): never another folder holding other group data or signers."""
    named = os.environ.get("ROLLBOOK_CHECKOUT")
    running = source_checkout()
    if named and running is not None and Path(named).resolve() != running:
        raise PreflightError(f"ROLLBOOK_CHECKOUT={named} is not the checkout rollbook runs from ({running}): "
                             "unset it (the security settings come from the running checkout's group data)")


def check(data, groups):
    """Refuse, with one line naming the key, a host whose security settings are not the repo's."""
    check_checkout()
    wrong = differing(data, groups)
    if wrong:
        raise PreflightError(f"the security setting {', '.join(wrong)} differs from the repo's group data "
                             f"({checkout() / 'group_data'}): it comes from there only (not from --group-data, "
                             "another folder's group_data/, inventory host data or --data)")
