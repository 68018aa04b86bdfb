"""The console's settings, one TOML file read once (``rollbook serve --config FILE``)::

    # /etc/rollbook-console/console.toml
    port = 8480                                   # on 127.0.0.1
    users = "/etc/rollbook-console/users"         # name role bcrypt-hash per line (0600)
    state = "/var/lib/rollbook-console"           # history.db (SQLite, WAL) and each run's output
    approval_key = "/etc/rollbook-console/approval_ed25519"   # signs console approvals (a listed signer)
    retention_days = 30
    collect_minutes = 5                           # hosts' own history read in (CLI and timer runs)
    [environments.staging]
    inventory = "inventories/staging.py"
    self_service = true
    [environments.prod]
    inventory = "inventories/prod.py"
    [trusted_proxy]                               # optional: who the reverse proxy says, from its address only
    header = "X-Remote-User"
    addresses = ["127.0.0.1"]

    config = ConsoleConfig.read(Path("console.toml"))
    config.environments["prod"].self_service        # False: a prod run needs another person's approval
"""

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PORT = 8480
APPROVER_DOMAIN = "rollbook-console"  # a console approval's approver is <user>@rollbook-console


class ConsoleConfigError(ValueError):
    """The console's settings file cannot be used; the message names the setting."""


class Environment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    inventory: str = Field(pattern=r"^inventories/[A-Za-z0-9_]+\.py$")
    self_service: bool = False  # an operator may run here without an approval


class TrustedProxy(BaseModel):
    """Identity from a reverse proxy that authenticated the person: the user named in ``header``, on requests
    from ``addresses`` only (the name must be in the users file, which gives the role)."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    header: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    addresses: list[str] = Field(min_length=1)


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    users: Path
    state: Path
    approval_key: Path | None = None  # without one, the console cannot approve (rollbook approve still can)
    retention_days: int = Field(30, ge=1)
    collect_minutes: int = Field(5, ge=0)  # how often the hosts' own history is read in (0: only when asked)
    environments: dict[str, Environment] = Field(min_length=1)
    trusted_proxy: TrustedProxy | None = None  # only when configured: HTTP basic and sign-in otherwise
    drift_report: Path | None = None  # the drift timer's JSON report on this host: each tick joins the history
    drift_environment: str = ""  # the environment the timer checks

    @classmethod
    def read(cls, path: Path) -> "ConsoleConfig":
        try:
            data = tomllib.loads(Path(path).read_text())
            return cls.model_validate(data)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConsoleConfigError(f"{path}: {error}") from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConsoleConfigError(f"{path}: {where}: {first['msg']}") from None
