"""One package per system (``rollbook.systems.<system>``: its settings, request, facts, checks and @deploy),
registered once by its ``__init__``: ``SYSTEM = System(STAGES, __name__)``. ``SYSTEMS`` finds every
package here that does, on first use::

    SYSTEMS["vision"].group          # 'vision_workers'
    SYSTEMS["vision"].settings       # VisionSettings, its data keys
    SYSTEMS["vision"].deploy()       # the @deploy: every wave to its recorded state
"""

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class System:
    """A system as the rest of rollbook sees it: its stages (name, group) and its package."""

    stages: object  # the system's rollbook.pipeline.Stages
    module: str  # its package, rollbook.systems.<name>: has settings, and the @deploy named after the system

    @property
    def name(self) -> str:
        return self.stages.name

    @property
    def group(self) -> str:
        return self.stages.group

    @property
    def settings_module(self) -> str:
        return f"{self.module}.settings"

    @property
    def settings(self) -> type:
        from ..core.schema import Settings

        module = importlib.import_module(self.settings_module)
        return next(value for value in vars(module).values() if isinstance(value, type)
                    and issubclass(value, Settings) and value is not Settings and value.__module__ == module.__name__)

    @property
    def after(self) -> tuple[str, tuple]:
        """The runbook's post-rollback checklist (its title, its ``verify.AfterStep``s): ``AFTER`` in the
        system's ``checks`` module (none: ``("", ())``)."""
        return getattr(importlib.import_module(f"{self.module}.checks"), "AFTER", ("", ()))

    @property
    def deploy(self):
        return getattr(importlib.import_module(self.module), self.name)


class _Registry(Mapping):
    """Every package under ``rollbook/systems/`` that declares ``SYSTEM``, by name, in name order."""

    @cached_property
    def _systems(self) -> dict[str, System]:
        found = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda item: item.name):
            if info.ispkg:
                system = getattr(importlib.import_module(f"{__name__}.{info.name}"), "SYSTEM", None)
                if isinstance(system, System):
                    found[system.name] = system
        return found

    def __getitem__(self, name: str) -> System:
        return self._systems[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._systems)

    def __len__(self) -> int:
        return len(self._systems)


SYSTEMS = _Registry()


def converge_all():
    """Every system's ``@deploy`` without a target: each unit to its recorded state (``deploys/converge.py``
    and ``deploys/drift_correct.py`` call ``converge_all()``)."""
    for system in SYSTEMS.values():
        system.deploy()


def post_rollback() -> dict[str, tuple]:
    """Each system's post-rollback checklist from its runbook (``System.after``), by name."""
    return {name: system.after for name, system in SYSTEMS.items()}
