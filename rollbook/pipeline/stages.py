"""What a system gives the pipeline: one hook per stage, called in order by ``pipeline.run`` for every
host of the system's group. A system subclasses ``Stages`` in ``rollbook/systems/<system>/steps.py``::

    class VisionStages(Stages):
        name, group = "vision", "vision_workers"
        def converge(self, ctx): return Stage([envfile.keys(...)], changes=[...])
"""

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

STATES = ("enabled", "rolled_back")


def to_record(settings, recorded: dict, units: Iterable[str], declared: Callable[[], dict]) -> tuple[dict, bool]:
    """A converge run's desired state (recorded, else declared where ``rollbook_converge_declared`` allows it)
    and whether all of it comes from the record::

        >>> from rollbook.core.loader import HostSettings
        >>> to_record(HostSettings.validated({}), {"b": "rolled_back"}, ("a", "b"), lambda: {"a": "enabled", "b": "enabled"})
        ({'b': 'rolled_back'}, True)
    """
    units = tuple(units)
    known = {unit: state for unit, state in recorded.items() if unit in units and state in STATES}
    desired = dict(declared()) if settings.rollbook_converge_declared else {}
    desired.update(known)
    return desired, set(known) == set(desired)


@dataclass
class Stage:
    """What one stage added: its operations, what they change (secrets masked) and clean up (counts)."""

    steps: list = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    cleanup: dict = field(default_factory=dict)


@dataclass
class Context:
    """One host's run of one system, as the stages after ``inspect`` see it."""

    request: Any  # the system's request: what this run converges, validated from data
    state: Any  # the system's state fact: the host before the run
    run: Any  # the pipeline's HostRun (read-only for the stages: its id, private folder, markers)
    settings: Any  # the host's settings, validated once at preflight (rollbook.core.loader.HostSettings)


class Stages:
    """The hooks of one system. Override what the system needs; the defaults do nothing."""

    name: str = ""
    group: str = ""
    desired_key: str = ""  # the scope key of a converge run's state per unit ('': none)
    bound: Callable[[Any], dict] | None = None  # settings -> the scope of a rollback or enable (a staticmethod)

    def request(self, settings, target: str | None, recorded: dict | None):
        """The host's settings -> what this run converges (``target``: enabled, rolled_back, or None for
        the recorded state, given in ``recorded`` once it is known). What the run may not do there
        raises PreflightError naming it."""
        raise NotImplementedError

    def inspect(self, request, settings):
        """The host's state before the run: one fact (``host.get_fact``); it has ``recorded``."""
        raise NotImplementedError

    def scope(self, settings, request, target: str | None) -> dict:
        """The settings an approval binds (what the run does).

        The default: a rollback or enable's ``bound(settings)``, a converge run's state per unit under
        ``desired_key`` (``{"vision_desired": "a=enabled,b=rolled_back"}``)."""
        if target is not None:
            return self.bound(settings) if self.bound else {}
        if not self.desired_key:
            return {}
        return {self.desired_key: ",".join(f"{unit}={state}" for unit, state in request.desired.items())}

    def units(self, request, state) -> dict[str, str]:
        """The state this run records for the host: unit -> enabled | rolled_back."""
        return dict(request.desired)

    def sources(self, request, state) -> dict[str, str]:
        """Recorded beside the units: where this run restores a unit from (unit -> source; voice-v2: the
        level-2 backup directory or git commit), so a converge run restores the same one. Merged key by
        key into the recorded ``sources`` (the state fact reads them back as ``state.sources``)."""
        return {}

    def from_record(self, request) -> bool:
        """Whether every unit converges to the host's recorded state (a drift correction needs no approval)."""
        return bool(getattr(request, "from_record", False))

    def differing(self, ctx: Context) -> list[str]:
        """The units whose state on the host (its files or its running process) is not the state this
        run converges them to, from the state fact alone: what a plan and a drift report name. The
        default names none (the report then names the operations only)::

            VISION.differing(ctx)   # ['b']: VISION_PHASH_ENABLED is true, wave b is recorded rolled back
        """
        return []

    def refusal(self, ctx: Context) -> str:
        """Why this run must not go on on this host ('' when it may): checked before any change."""
        return ""

    def baseline(self, ctx: Context) -> dict:
        """Metrics captured before the change, for the record."""
        return {}

    def logs(self, ctx: Context) -> str:
        """The service's recent log lines, masked (``service.log_tail_command``): read when a step fails,
        kept in the run's history and its incident report ('' reads none)."""
        return ""

    def converge(self, ctx: Context) -> Stage:
        """Files, code, image tags: each operation yields commands only when the host differs."""
        return Stage()

    def apply(self, ctx: Context) -> Stage:
        """Restart or recreate when the running process differs from the target."""
        return Stage()

    def verify(self, ctx: Context) -> None:
        """The effect (``verify.verified``): a failed verification fails the run."""

    def cleanup(self, ctx: Context) -> Stage:
        """Redis, S3, SQL: saved first, idempotent, after the effect is verified."""
        return Stage()


def hooks() -> list[tuple[str, str]]:
    """Each hook a system may give, in the order the pipeline calls them, with its doc's first paragraph
    (``docs/architecture.md`` lists them; a test keeps the two the same)::

        >>> [name for name, _ in hooks()][:3]
        ['request', 'inspect', 'scope']
    """
    return [(name, " ".join(inspect.getdoc(function).split("\n\n")[0].split()))
            for name, function in vars(Stages).items() if callable(function) and not name.startswith("_")]
