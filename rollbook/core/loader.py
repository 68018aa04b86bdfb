"""The one module that reads pyinfra's host data: a host's data validated once, at preflight, into
a frozen ``HostSettings`` that every stage, fact and operation receives::

    settings = loader.load(host)      # bad --data, security keys not the repo's, bad values: refused here
    settings.vision_waves             # 'b,c': the model's value, never host.data again
    settings.sudo                     # pyinfra's own _sudo, for commands run outside an operation
    settings.vision_wave              # AttributeError: vision_wave is not a declared data key

Once loaded, ``host.data`` is sealed: reading one of rollbook's keys (but the SSH ones) from it raises.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS
from pyinfra.api.host import HostData

from . import authority, schema
from .runs import SESSION
from .preflight import PreflightError


class ReadAfterPreflight(RuntimeError):
    """One of rollbook's keys read from pyinfra's host data after preflight loaded the settings."""


class _Sealed(HostData):
    """pyinfra's ``HostData`` once preflight loaded it: rollbook's keys (``sealed``) raise when read."""

    def __getattr__(self, key: str):
        if key in self.__dict__["sealed"]:
            raise ReadAfterPreflight(f"{key} read from host.data after preflight: a stage reads the settings "
                                     "preflight validated (rollbook.core.loader.HostSettings)")
        return super().__getattr__(key)


def _seal(target):
    if isinstance(target.data, _Sealed):
        return
    sealed = _Sealed.__new__(_Sealed)
    sealed.__dict__.update(target.data.__dict__)
    sealed.__dict__["sealed"] = frozenset(name for name in schema.fields() if not name.startswith("ssh_"))
    target.data = sealed


def _data(target) -> dict:
    """``target``'s merged data as pyinfra merges it: the one read of ``host.data`` (sealed or not)."""
    return target.data.dict()


def connection_of(target) -> dict:
    """``target``'s connector arguments as its data sets them, for commands run outside an operation."""
    data = _data(target)
    return {name: data[name] for name in CONNECTOR_ARGUMENT_KEYS if data.get(name) is not None}


def address_of(target) -> tuple[str, int, str]:
    """Where rollbook connects to ``target`` outside a run: its address, SSH port and known_hosts file."""
    data = _data(target)
    return (str(data.get("ssh_hostname") or target.name), int(data.get("ssh_port") or 22),
            str(data.get("ssh_known_hosts_file")))


class HostSettings(Mapping):
    """One host's data after preflight, frozen: every declared key's validated value, plus the run's
    ``--data`` (``override``), the declared keys as given (``given``) and pyinfra's connector keys::

        >>> settings = HostSettings({"vision_waves": "b"}, override={"vision_waves": "b"})
        >>> settings.vision_waves, settings["vision_waves"], dict(settings.override)
        ('b', 'b', {'vision_waves': 'b'})
    """

    __slots__ = ("_values", "given", "override", "connection")

    def __init__(self, values: Mapping[str, Any], override: Mapping | None = None,
                 connection: Mapping | None = None, given: Mapping | None = None):
        for slot, value in (("_values", values), ("given", values if given is None else given),
                            ("override", override or {}), ("connection", connection or {})):
            object.__setattr__(self, slot, MappingProxyType(dict(value)))

    @classmethod
    def validated(cls, data: Mapping, **context) -> "HostSettings":
        """``data`` (keys not given take their declared defaults) validated; PreflightError naming a bad key::

            >>> HostSettings.validated({"rollbook_takeover": "no"}).rollbook_takeover
            False
        """
        models = schema.validate(data)
        declared = schema.fields()
        values = {name: getattr(model, name) for model in models.values() for name in type(model).model_fields}
        return cls(values, given={key: value for key, value in data.items() if key in declared}, **context)

    def __getattr__(self, name: str):
        if name not in self._values:
            raise AttributeError(f"{name} is not a declared data key{schema.nearest(name)}")
        return self._values[name]

    def __setattr__(self, name, value):
        raise AttributeError("HostSettings is frozen: a run's settings are what preflight validated")

    def __getitem__(self, name: str):
        return self._values[name]

    def get(self, name: str, default=None):
        """``name``'s value (``default`` when None); an undeclared key raises, as a typo must."""
        value = self.__getattr__(name)
        return default if value is None else value

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    @property
    def sudo(self) -> bool:
        return bool(self.connection.get("_sudo"))


def settings_of(target) -> HostSettings:
    """The settings preflight validated for ``target`` (for an operation's body); raises before preflight."""
    try:
        return SESSION.settings[target.name]
    except KeyError:
        raise RuntimeError(f"{target.name}: settings read before preflight loaded them") from None


def uploads_of(target) -> tuple[str, str | None]:
    """Where an upload through sudo on ``target`` is staged: (rollbook_state_dir, the SSH user or None)."""
    settings = settings_of(target)
    sudo = (target.current_op_global_arguments or {}).get("_sudo", settings.sudo)
    return settings.rollbook_state_dir, (settings.ssh_user or "root") if sudo else None


def load(target) -> HostSettings:
    """``target``'s data, validated once (one line naming a bad key), then sealed."""
    data = _data(target)
    override = dict(target.inventory.get_override_data())
    schema.refuse_override(override)
    nulls = sorted(name for name, value in override.items() if value is None)
    if nulls:
        raise PreflightError(f"--data {nulls[0]}=null: pyinfra reads null as no value; give a value, or leave "
                             "the key out for its default")
    settings = HostSettings.validated(data, override=override, connection=connection_of(target))
    authority.check(data, target.groups)
    _seal(target)
    SESSION.settings[target.name] = settings
    return settings
