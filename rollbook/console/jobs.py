"""The console's jobs: one per registered system and action, its form taken from the system's settings
model, its data checked by the same validation as the CLI's ``--data``::

    job = job_of("vision", "rollback")
    [field.name for field in job.fields][:2]          # ['vision_waves', 'vision_compression_poc']
    checked(job, {"vision_waves": "b"})               # {'vision_waves': 'b'}; PreflightError naming a bad key
"""

from dataclasses import dataclass

from ..core import schema
from ..core.loader import HostSettings
from ..core.preflight import PreflightError
from ..systems import SYSTEMS

ACTIONS = {"rollback": "rolled_back", "enable": "enabled"}  # action -> the target its deploy converges to
RUN_KEYS = ("reason",)  # the pipeline's own keys a job's form offers
SECRET_NAME = "a secret's name"  # what a field naming a secret allows: which secret is the environment's choice


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # choice | flag | number | text
    doc: str
    default: str  # as the form shows it ('' when none)
    choices: tuple[str, ...] = ()
    allowed: str = ""


@dataclass(frozen=True)
class Job:
    system: str
    action: str
    title: str
    fields: tuple[Field, ...]

    @property
    def deploy(self) -> str:
        return f"deploys/{self.system}_{self.action}.py"


def _field(name: str, spec: dict) -> Field | None:
    """A form field for one key's JSON schema; None for a key no form sets (a table, a security setting, a
    secret or of a secret's name: those come from the environment's group data)."""
    if spec.get("security") or spec.get("secret") or spec.get("allowed") == SECRET_NAME:
        return None
    options = spec.get("anyOf", [spec])
    kinds = {option.get("type") for option in options} - {"null"}
    choices = tuple(str(value) for option in options for value in option.get("enum", ()) if value is not None)
    default = spec.get("default")
    shown = "" if default is None else ",".join(default) if isinstance(default, list) else str(default).lower() \
        if isinstance(default, bool) else str(default)
    if choices:
        kind = "choice"
    elif kinds == {"boolean"}:
        kind = "flag"
    elif kinds == {"integer"} or kinds == {"number"}:
        kind = "number"
    elif kinds <= {"string", "array"} and all(option.get("items", {}).get("type", "string") == "string"
                                               for option in options if option.get("type") == "array"):
        kind = "text"
    else:
        return None
    return Field(name, kind, spec.get("description", ""), shown, choices, spec.get("allowed", ""))


def job_of(system: str, action: str) -> Job:
    """The job running ``deploys/<system>_<action>.py``; KeyError for a system or action that has none."""
    if action not in ACTIONS:
        raise KeyError(action)
    model = SYSTEMS[system].settings
    own = model.model_json_schema(mode="validation")["properties"]
    pipeline = schema.json_schema()["Pipeline (every system)"]["properties"]
    specs = [(name, spec) for name, spec in own.items()] + [(name, pipeline[name]) for name in RUN_KEYS]
    return Job(system, action, model.title, tuple(field for name, spec in specs if (field := _field(name, spec))))


def jobs() -> list[Job]:
    """Every registered system's jobs, in the registry's order."""
    return [job_of(system, action) for system in SYSTEMS for action in ACTIONS]


def checked(job: Job, data: dict[str, str]) -> dict[str, str]:
    """``data`` as the job's run would get it with ``--data``: only the job's own fields, each validated by the
    CLI's own checks (``schema.refuse_override``, then ``HostSettings.validated``); PreflightError naming the
    key otherwise. Empty values are left out (the key's default applies)."""
    given = {key: value for key, value in data.items() if value != ""}
    schema.refuse_override(given)
    offered = {field.name for field in job.fields}
    foreign = sorted(set(given) - offered)
    if foreign:
        raise PreflightError(f"{', '.join(foreign)}: not a setting of the {job.system} {job.action} job")
    HostSettings.validated(given)
    return given
