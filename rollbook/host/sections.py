"""Facts that gather several things in one command, printed as ``## name`` sections: one command per
fact keeps a no-op run to a handful of SSH round trips per host::

    >>> split_sections(["## env", "present", "A=1", "## redis", "ok 0 0"])
    {'env': ['present', 'A=1'], 'redis': ['ok 0 0']}
"""

import json

from pyinfra.api import FactBase

from .shell import q


def split_sections(lines: list[str]) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in lines:
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def key_values(lines: list[str]) -> dict[str, str]:
    values = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    return values


def json_object(lines: list[str]) -> dict:
    """The JSON object ``lines`` hold; {} when they hold none (empty, not JSON, or not an object)."""
    try:
        value = json.loads("\n".join(lines) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def recorded_section(recorded_file: str) -> str:
    """``## recorded``: the host's state file, whole (its last line ended, never the next section's header)."""
    return f"echo '## recorded'; {whole(recorded_file)} 2>/dev/null || true"


def whole(path: str) -> str:
    """Print a file with its last line ended: ``sed '$a\\'`` adds the final newline only when missing."""
    return f"sed -e '$a\\' {q(path)}"


def recorded_units(lines: list[str], system: str, field: str = "units") -> dict[str, str]:
    """``system``'s units in the host's recorded state (``state.json``); {} when none or unreadable.
    ``field``: another unit -> text map recorded beside them (voice-v2's ``sources``)."""
    record = json_object(lines).get(system)
    units = (record.get(field) if isinstance(record, dict) else None) or {}
    return {str(unit): str(value) for unit, value in units.items()} if isinstance(units, dict) else {}


class SectionsFact(FactBase):
    """Base: ``process`` splits the output into sections, ``parse`` builds the typed result."""

    def process(self, output):
        return self.parse(split_sections(list(output)))

    def parse(self, sections: dict[str, list[str]]):
        raise NotImplementedError
