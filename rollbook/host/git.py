"""Git operations on an app checkout on the host."""

from pyinfra.api import operation

from ..core.report import announce
from .command import command


@operation()
def checked_out(checkout: str, ref: str, commit: str, head: str):
    """Check out ``commit`` (``ref`` resolved, from a fact) detached in ``checkout``, when ``head`` is
    another commit. Example::

        git.checked_out(name="Check out v7.4.0", checkout="/opt/app", ref="v7.4.0",
                        commit=state.ref_commit, head=state.head)
    """
    if commit == head:
        return
    announce([f"{checkout}: {head[:12]} -> {commit[:12]} ({ref})"])
    yield command("git -C {checkout} checkout -q --detach {commit}", checkout=checkout, commit=commit)
