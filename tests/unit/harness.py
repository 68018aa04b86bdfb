"""Run pyinfra operations and facts as data, without a host: given these inputs, expect these commands.

Example::

    commands = op_commands(envfile.keys, path="/x/.env", current={"A": "1"}, target={"A": "2"})
"""

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

from pyinfra.api import Config, FileUploadCommand, Inventory, State, StringCommand
from pyinfra.context import ctx_host, ctx_state

GROUP_DATA = Path(__file__).resolve().parents[2] / "group_data"


@contextmanager
def fake_host(name: str = "host-1", data: dict | None = None, groups: tuple[str, ...] = ()):
    group_defs = {group: ([name], {}) for group in groups}
    inventory = Inventory(([name], {}), **group_defs)
    state = State(inventory, Config())
    host = inventory.get_host(name)
    host.data.override_datas.update(data or {})  # the host's own layer (an assignment would set a key)
    with ctx_state.use(state), ctx_host.use(host):
        yield host


def _as_data(command):
    if isinstance(command, FileUploadCommand):
        source = command.src
        if isinstance(source, str):  # a file on the controller
            return {"upload": command.dest, "from": source}
        source.seek(0)
        content = source.read()
        if isinstance(content, bytes):  # binary: its digest stands for it
            return {"upload": command.dest, "sha256": hashlib.sha256(content).hexdigest()}
        return {"upload": command.dest, "content": content}
    if isinstance(command, StringCommand):
        return str(command)
    return command


def op_commands(op, **kwargs) -> list:
    """The commands ``op`` yields, as data; each must be a pyinfra command object (``host.command``), never
    a bare string pasted together."""
    with fake_host() as host:
        preflighted(host)
        commands = list(op._inner(**kwargs))
    bare = [command for command in commands if isinstance(command, str)]
    assert not bare, f"{op.__name__} yields bare strings, not command objects: {bare}"
    return [_as_data(command) for command in commands]


def case_commands(operations: dict, arguments: dict, name: str, case: dict) -> list:
    """The commands operation ``operations[name]`` yields for a JSON case: its kwargs, with the JSON
    stand-ins of ``arguments`` (key -> converter) converted first."""
    kwargs = {key: arguments[key](value) if key in arguments else value for key, value in case["kwargs"].items()}
    return op_commands(operations[name], **kwargs)


def cases(folder: Path):
    """The JSON cases of one operation: ``(case name, {"kwargs": ..., "commands": [...]})``."""
    return [(path.stem, json.loads(path.read_text())) for path in sorted(folder.glob("*.json"))]


def group_data(*names: str) -> dict:
    """Group data as pyinfra merges it: ``all.py`` first, then each named file (later wins)."""
    merged = {}
    for name in ("all", *names):
        namespace: dict = {}
        exec(compile((GROUP_DATA / f"{name}.py").read_text(), f"{name}.py", "exec"), namespace)
        merged.update({key: value for key, value in namespace.items()
                       if not key.startswith("__") and not hasattr(value, "__file__")})
    return merged


def validated(data: dict):
    """``data`` as preflight hands it to the stages: validated once into a host's settings
    (``rollbook.core.loader.HostSettings``)."""
    from rollbook.core.loader import HostSettings

    return HostSettings.validated(data)


def preflighted(host):
    """What preflight leaves for ``host`` (``rollbook.core.loader.load`` without the repo's authority check):
    its data validated once into the session's settings, pyinfra's connector keys beside them."""
    from rollbook.core.loader import HostSettings, connection_of
    from rollbook.core.runs import SESSION

    data = {key: value for key, value in host.data.dict().items() if not key.startswith("_")}
    SESSION.settings[host.name] = HostSettings.validated(data, connection=connection_of(host))
    return SESSION.settings[host.name]
