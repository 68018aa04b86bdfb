"""Shards of an inventory: shard ``i`` of ``n`` holds the hosts whose ``sha256(name) mod n == i``.

A host's shard depends on its name and ``n`` only, so adding a host moves no other host; the shard is
handed to pyinfra as one ``--limit`` per host (pyinfra connects to every inventory host it is not
limited from, so an empty shard never reaches pyinfra: ``EmptyShard``)::

    shard = parse_shard("1/4")                      # Shard(index=1, count=4), label "1/4"
    shard_of("vision-1", 4)                         # 0..3
    limit_args(hosts, ["--limit", "vision_workers"], shard, "inventories/prod.py")   # --limit per host
    shard_file("/var/lib/rollbook-drift/drift.json", 1)   # '/var/lib/rollbook-drift/drift.shard1.json'
"""

import hashlib
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0 to ``count`` - 1) of ``count``."""

    index: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


class EmptyShard(Exception):
    """The shard holds none of the hosts the check selects: nothing to check (exit 0)."""


def parse_shard(text: str) -> Shard:
    """``I/N`` as a ``Shard``; anything else raises ``ValueError`` saying what is expected::

        >>> parse_shard("0/2")
        Shard(index=0, count=2)
    """
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match:
        raise ValueError(f"--shard {text!r}: expected I/N, e.g. 0/4 (shard I of N, I from 0 to N-1)")
    index, count = int(match[1]), int(match[2])
    if count < 1 or index >= count:
        raise ValueError(f"--shard {text}: I must be 0 to N-1 and N at least 1 (the hosts whose "
                         f"sha256(name) mod N == I)")
    return Shard(index, count)


def parse_count(text: str) -> int:
    """``--shards N``: a whole number of at least 1.

        >>> parse_count("4")
        4
    """
    if not re.fullmatch(r"\d+", text.strip()) or int(text) < 1:
        raise ValueError(f"--shards {text!r}: expected a whole number of shards, at least 1")
    return int(text)


def shard_of(name: str, count: int) -> int:
    """The shard of host ``name`` among ``count``: ``sha256(name) mod count``.

        >>> shard_of("vision-1", 1)
        0
    """
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % count


def partition(names: list[str], count: int) -> list[list[str]]:
    """``names`` split into ``count`` shards (each in the order given).

        >>> partition(["a", "b", "c"], 1)
        [['a', 'b', 'c']]
    """
    shards: list[list[str]] = [[] for _ in range(count)]
    for name in names:
        shards[shard_of(name, count)].append(name)
    return shards


def selected(hosts: dict[str, tuple[str, ...]], limit: list[str]) -> list[str]:
    """The names of ``hosts`` (name -> groups) that pyinfra's ``--limit`` arguments select, as pyinfra
    matches them: each pattern a group name, else a host-name pattern; every host without a limit."""
    patterns = limit[1::2]
    if not patterns:
        return list(hosts)
    return [name for name, groups in hosts.items()
            if any(pattern in groups for pattern in patterns)
            or any(fnmatch(name, pattern) for pattern in patterns if not _is_group(hosts, pattern))]


def _is_group(hosts: dict[str, tuple[str, ...]], pattern: str) -> bool:
    return any(pattern in groups for groups in hosts.values())


def exact(name: str) -> str:
    """A ``--limit`` pattern that matches host ``name`` only (``*``, ``?`` and ``[`` bracketed).

        >>> exact("web[1]")
        'web[[]1]'
    """
    return re.sub(r"([*?[])", r"[\1]", name)


def limit_args(hosts: dict[str, tuple[str, ...]], limit: list[str], shard: Shard, inventory: str) -> list[str]:
    """pyinfra's ``--limit`` arguments for the hosts ``limit`` selects that lie in ``shard``: one per host.

    When ``limit`` selects no host at all, ``limit`` itself (the check then says nothing was checked, as
    an unsharded one does); when the shard holds none of the selected hosts, ``EmptyShard`` naming it.
    A shard host whose name is also a group name is refused (as a ``--limit`` it would select the group).
    """
    chosen = selected(hosts, limit)
    if not chosen:
        return limit
    mine = [name for name in chosen if shard_of(name, shard.count) == shard.index]
    if not mine:
        raise EmptyShard(f"shard {shard.label} holds none of the {len(chosen)} host(s) this check selects in "
                         f"{inventory}: nothing to check")
    clash = sorted(name for name in mine if _is_group(hosts, name))
    if clash:
        raise ValueError(f"host {', '.join(clash)} is also a group name: a shard cannot limit pyinfra to it")
    return [arg for name in mine for arg in ("--limit", exact(name))]


def shard_file(path: str, index: int | str) -> str:
    """Where shard ``index`` writes what an unsharded check writes to ``path`` (``%i``: systemd's instance).

        >>> shard_file("/var/lib/rollbook-drift/textfile/rollbook.prom", 3)
        '/var/lib/rollbook-drift/textfile/rollbook.shard3.prom'
    """
    given = PurePosixPath(path)
    return str(given.with_name(f"{given.stem}.shard{index}{given.suffix}"))


def shard_index(path: str, of: str) -> int | None:
    """The shard whose file ``path`` is (``shard_file(of, index)``), None when it is no shard's file.

        >>> shard_index("/x/drift.shard12.json", "/x/drift.json"), shard_index("/x/drift.json", "/x/drift.json")
        (12, None)
    """
    given, plain = PurePosixPath(path), PurePosixPath(of)
    match = re.fullmatch(re.escape(plain.stem) + r"\.shard(\d+)" + re.escape(plain.suffix), given.name)
    return int(match[1]) if match and given.parent == plain.parent else None
