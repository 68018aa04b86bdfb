"""The drift check's shards on a control host: one ``rollbook-drift@I.timer`` per shard, and what is left
of shards that no longer exist (``rollbook_drift_shards`` lowered, or the units before sharding).

The fact lists the drift units systemd holds (loaded or enabled) and the shards' textfiles and JSON
reports; ``retired_units`` and ``retired_files`` say which of them belong to no shard of ``count``::

    present = host.get_fact(DriftShardsPresent, textfile=control.textfile, json_out=control.json_out)
    retired_units(present["units"], 2)     # ['rollbook-drift@2.service', 'rollbook-drift@2.timer', ...]
    retired_files(present["files"], 2, [control.textfile, control.json_out])
"""

import re
from pathlib import PurePosixPath

from pyinfra.api import FactBase

from ..cli.shards import shard_index
from ..host.shell import q

TEMPLATE = "rollbook-drift@"
LEGACY_UNITS = ("rollbook-drift.service", "rollbook-drift.timer")  # the one check before shards
UNITS = "/etc/systemd/system"
_INSTANCE = re.compile(r"rollbook-drift@(?P<instance>[^.]*)\.(?:service|timer)")


def instance_units(index: int) -> tuple[str, str]:
    """The timer and service of shard ``index``.

        >>> instance_units(0)
        ('rollbook-drift@0.timer', 'rollbook-drift@0.service')
    """
    return f"{TEMPLATE}{index}.timer", f"{TEMPLATE}{index}.service"


class DriftShardsPresent(FactBase):
    """``{"units": [...], "files": [...]}``: the drift units systemd has loaded or enabled, and the files
    of ``textfile`` and ``json_out`` (each shard's, and the unsharded one) that exist."""

    def command(self, textfile: str, json_out: str):
        loaded = (f"systemctl list-units --all --plain --no-legend --no-pager {q(TEMPLATE + '*')} "
                  f"{' '.join(q(unit) for unit in LEGACY_UNITS)} 2>/dev/null | while read -r unit _; do "
                  'echo "unit $unit"; done')
        enabled = (f"for f in {UNITS}/*.wants/{q(TEMPLATE)}* {' '.join(q(f'{UNITS}/{u}') for u in LEGACY_UNITS)}; "
                   'do if [ -e "$f" ] || [ -L "$f" ]; then echo "unit ${f##*/}"; fi; done')
        patterns = " ".join(f"{q(path)} {_shard_glob(path)}" for path in (textfile, json_out))
        found = f'for f in {patterns}; do if [ -f "$f" ]; then echo "file $f"; fi; done'
        return f"{loaded}; {enabled}; {found}"

    @staticmethod
    def default():
        return {"units": [], "files": []}  # pyinfra's answer to a command that printed nothing: none of them

    def process(self, output):
        said = [line.partition(" ")[::2] for line in output]
        return {f"{kind}s": sorted({value.strip() for what, value in said if what == kind}) for kind in ("unit", "file")}


def _shard_glob(path: str) -> str:
    """A shell glob of every shard's file of ``path``: ``'/t/rollbook.shard'*'.prom'``."""
    given = PurePosixPath(path)
    return f"{q(str(given.with_name(given.stem + '.shard')))}*{q(given.suffix) if given.suffix else ''}"


def retired_units(units: list[str], count: int) -> list[str]:
    """Of ``units`` (the fact's), those of no shard below ``count``: other instances, and the units
    from before shards; timers first (a stopped service is not started again by its timer).

        >>> retired_units(["rollbook-drift@0.timer", "rollbook-drift@3.service", "rollbook-drift.timer"], 2)
        ['rollbook-drift.timer', 'rollbook-drift@3.service']
    """
    kept = {unit for index in range(count) for unit in instance_units(index)}
    stale = [unit for unit in units if unit not in kept and (_INSTANCE.fullmatch(unit) or unit in LEGACY_UNITS)]
    return sorted(stale, key=lambda unit: (not unit.endswith(".timer"), unit))


def retired_files(found: list[str], count: int, outputs: list[str]) -> list[str]:
    """Of ``found`` (the fact's files), those no shard below ``count`` writes: the files of higher shards
    and the unsharded ``outputs`` themselves (node_exporter would go on exporting their series).

        >>> retired_files(["/t/r.prom", "/t/r.shard0.prom", "/t/r.shard2.prom"], 2, ["/t/r.prom"])
        ['/t/r.prom', '/t/r.shard2.prom']
    """
    def stale(path: str) -> bool:
        indexes = [shard_index(path, output) for output in outputs]
        return path in outputs or any(index is not None and index >= count for index in indexes)

    return sorted(path for path in found if stale(path))
