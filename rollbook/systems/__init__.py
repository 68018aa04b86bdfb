"""One package per system, each with one @deploy (the pipeline of docs/architecture.md with that system's data
and checks): ``rollbook.systems.<system>`` holds its request, facts, checks and deploy.

``SYSTEMS`` maps a system's name to its inventory group and module, for the commands
that work across systems (drift, approve)::

    SYSTEMS["vision"].group     # 'vision_workers'
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    name: str
    group: str
    module: str  # has scope_of(data) -> the data an approval binds


SYSTEMS = {system.name: system for system in (
    System("vision", "vision_workers", "rollbook.systems.vision"),
    System("analyticbot", "analyticbot_api", "rollbook.systems.analyticbot"),
    System("voice_v2", "voice_v2", "rollbook.systems.voice_v2"),
    System("phase17", "phase17_server", "rollbook.systems.phase17"),
)}


def converge_all():
    """Every system's ``@deploy`` without a target: each unit to its recorded state (``deploys/converge.py``
    and ``deploys/drift_correct.py``)::

        from rollbook.systems import converge_all
        converge_all()
    """
    import importlib

    for system in ("vision", "analyticbot", "phase17", "voice_v2"):
        getattr(importlib.import_module(SYSTEMS[system].module), system)()
