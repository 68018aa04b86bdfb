"""The data an authorized run recorded with its state (digests in the host's ``state.json``): a drift
correction converges with that data, never with fresh data::

    >>> recorded = digests({"vision_service": "vision-worker"}, {"vision_service"})
    >>> changed(recorded, {"vision_service": "other"})
    ['vision_service']
"""

from pyinfra.api import FactBase

from ..host.sections import json_object
from ..host.shell import q
from ..systems import SYSTEMS
from ..core import schema
from .plan import resolved


def shaping_keys(system: str, override) -> set[str]:
    """``system``'s keys a run records: those that shape its converge, less the ones ``--data`` set."""
    return schema.shaping_keys(SYSTEMS[system].settings_module) - set(override)


def digests(data, keys) -> dict[str, str]:
    """``{key: "sha256:..."}`` of each of ``keys`` that ``data`` holds (values never recorded as such)."""
    return resolved(data, keys, secrets=set(keys))


def changed(recorded: dict, data) -> list[str]:
    """The recorded keys whose value in ``data`` is not the one recorded."""
    now = digests(data, set(recorded))
    return sorted(key for key, digest in recorded.items() if now.get(key) != digest)


class RecordedData(FactBase):
    """The data digests ``system``'s last recorded run left in ``state_file`` ({} when none)::

        host.get_fact(RecordedData, state_file="/var/lib/rollbook/state.json", system="vision")
    """

    def command(self, state_file: str, system: str):
        return f"cat {q(state_file)} 2>/dev/null || true"

    def process(self, output):
        return json_object(output)  # the system's part is picked in ``of``


def of(state: dict, system: str) -> dict[str, str]:
    record = state.get(system) if isinstance(state, dict) else None
    data = record.get("data") if isinstance(record, dict) else None
    return {str(key): str(value) for key, value in data.items()} if isinstance(data, dict) else {}
