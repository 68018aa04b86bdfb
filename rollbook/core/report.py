"""Say, once per run, what an operation is about to change on a host (pyinfra runs its generator at
prepare and at execute time; ``announce`` speaks in one of the two). Inside an operation::

    announce(["VISION_PHASH_ENABLED: true -> false"])
"""

from pyinfra import host, logger
from pyinfra.context import state


def announce(lines: list[str]):
    if state.is_executing == state.should_check_for_changes():
        return
    for line in lines:
        logger.info(f"{host.print_prefix}{line}")


def executing() -> bool:
    return bool(state.is_executing)

