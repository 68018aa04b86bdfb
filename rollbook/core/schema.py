"""One declaration per data key (``key``), in one pydantic model per part of rollbook; defaults,
validation and the reference (``docs/data.md``) come from them::

    class PhaseSettings(Settings):
        title: ClassVar[str] = "phase17 server"
        phase17_method: Literal["router", "flag"] = key("router", "How the stream is turned off and on",
                                                        origin="runbook 002")

``origin`` is where a default comes from: the runbook that shows it (``runbook NNN``) or ``rollbook``
(rollbook's assumption); the reference says it for every key.
"""

import difflib
import importlib
import re
from collections.abc import Mapping
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from .preflight import PreflightError

PIPELINE_SETTINGS = "rollbook.pipeline.settings"
_MODELS: list[type["Settings"]] = []
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def strict_flag(value) -> bool:
    """A boolean as data spells it: ``true/false, yes/no, on/off, 1/0`` (any case) and nothing else."""
    if isinstance(value, int) and value in (0, 1):  # a bool is an int too
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else None
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise PydanticCustomError("bool_parsing", "Input should be a valid boolean (true/false, yes/no, on/off, 1/0)")


def _text(value):
    """Text as data gives it: a whole number as its digits; any other number is refused (its text is lost)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError(f"the number {value!r} where text is expected (pyinfra's --data reads 1.10 as 1.1): "
                         "give text as JSON, e.g. --data 'key=\"1.10\"'")
    return value


def _number(value):
    """A number as data gives it: never a boolean (``True`` is not 1 here)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    return value


Whole = Annotated[int, BeforeValidator(_number)]
Flag = Annotated[bool, BeforeValidator(strict_flag)]
Text = Annotated[str, BeforeValidator(_text)]


# Where a key's default comes from: the runbook that shows it, or rollbook (its assumption: a name the
# runbooks do not give, or a setting of rollbook's own mechanics).
ORIGIN = re.compile(r"\A(?:runbook [0-9]{3}|rollbook)\Z")


def key(default: Any, doc: str, *, origin: str, allowed: str = "", security: bool = False, secret: bool = False,
        per_run: bool = False) -> Any:
    """Declare a data key: ``origin`` says where its default comes from (``runbook NNN``: that runbook shows
    it; ``rollbook``: rollbook's assumption); ``allowed`` says its values in words; ``security``: no
    ``--data`` may set it; ``secret``: never shown; ``per_run``: command line only (no default)."""
    if not isinstance(origin, str) or not ORIGIN.search(origin):
        raise ValueError(f"origin {origin!r}: 'runbook NNN' or 'rollbook'")
    return Field(default, description=doc, json_schema_extra={
        "allowed": allowed, "origin": origin, "security": security, "secret": secret, "per_run": per_run})


class Settings(BaseModel):
    """A part of rollbook's data keys. Subclasses register themselves."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True, protected_namespaces=(),
                              regex_engine="python-re")  # \A...\Z full matches: a trailing newline never passes
    title: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _MODELS.append(cls)


def models() -> list[type[Settings]]:
    """Every settings model: the pipeline's first, then each system's (each registers itself on import)."""
    from ..systems import SYSTEMS

    order = [PIPELINE_SETTINGS, *(system.settings_module for system in SYSTEMS.values())]
    for module in order:
        importlib.import_module(module)
    return sorted(_MODELS, key=lambda model: order.index(model.__module__) if model.__module__ in order else len(order))


def fields() -> dict[str, FieldInfo]:
    """Every declared key and its declaration."""
    return {name: info for model in models() for name, info in model.model_fields.items()}


def _extra(info: FieldInfo, what: str):
    return (info.json_schema_extra or {}).get(what)


def defaults() -> dict[str, Any]:
    """The default of every key whose default is not None (``group_data/all.py``)."""
    return {name: info.default for name, info in fields().items()
            if not _extra(info, "per_run") and info.default is not None}


def shaping_keys(module: str) -> set[str]:
    """The keys a system's settings ``module`` declares that shape its runs (neither per run nor security)::

        >>> "vision_enabled_values" in shaping_keys("rollbook.systems.vision.settings")
        True
    """
    importlib.import_module(module)
    return {name for model in _MODELS if model.__module__ == module for name, info in model.model_fields.items()
            if not _extra(info, "per_run") and not _extra(info, "security")}


def origins() -> dict[str, str]:
    """Every key's origin: ``runbook NNN`` (its default is that runbook's) or ``rollbook`` (rollbook's assumption)::

        >>> origins()["vision_smoke_timeout"], origins()["rollbook_lock_ttl"]
        ('runbook 001', 'rollbook')
    """
    return {name: _extra(info, "origin") for name, info in fields().items()}


def origin_text(origin: str) -> str:
    """How the reference says an origin: *from runbook NNN* or *rollbook's assumption*."""
    return "rollbook's assumption" if origin == "rollbook" else f"from {origin}"


def security_keys() -> set[str]:
    return {name for name, info in fields().items() if _extra(info, "security")}


def secret_keys() -> set[str]:
    return {name for name, info in fields().items() if _extra(info, "secret")}


def nearest(name: str) -> str:
    match = difflib.get_close_matches(name, list(fields()), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def refuse_override(override: Mapping):
    """``--data`` values: every key declared, and none of them a security setting::

        refuse_override({"vision_wave": "b"})  # PreflightError: unknown data key vision_wave (did you mean ...
    """
    for name in override:
        if name not in fields():
            raise PreflightError(f"unknown data key {name}{nearest(name)}: every key is in docs/data.md")
    guarded = sorted(set(override) & security_keys())
    if guarded:
        raise PreflightError(f"--data may not set the security setting {', '.join(guarded)}: it comes from the "
                             "environment's own group data (and the host's enrollment)")


_TYPE_TAGS = {"str", "bool", "int", "float", "list", "dict", "tuple", "constrained-str", "none", "literal"}


def _where(loc: tuple) -> str:
    """``key[inner][...]``: the key and the places inside its value, without pydantic's type tags."""
    parts = [str(part) for part in loc]
    inner = [part for part in parts[1:] if part not in _TYPE_TAGS and not any(c in part for c in "[(")
             and not part.startswith(("function-", "union", "chain", "lax-", "strict-"))]
    return parts[0] + "".join(f"[{part}]" for part in inner) if parts else ""


def _one_line(error: ValidationError) -> str:
    """Each bad key, once, with what is wrong and the value given."""
    said, keys = [], set()
    for item in error.errors():
        key = str(item["loc"][0]) if item["loc"] else ""
        if key in keys:
            continue  # a union's alternatives each fail: the first says it
        keys.add(key)
        if item["type"] == "value_error" and not item["loc"]:
            message = item["msg"]  # a model's own check: it names the key
        elif item["type"] == "string_pattern_mismatch":
            allowed = _extra(fields()[key], "allowed") if key in fields() else ""
            message = f"{item['input']!r} is not allowed" + (f" ({allowed})" if allowed else "")
        else:
            message = f"{item['msg']} (got {item['input']!r})"
            if item["type"] == "string_type" and isinstance(item["input"], float):
                message += ": pyinfra's --data reads 1.10 as the number 1.1; give text as JSON (--data 'key=\"1.10\"')"
        where = _where(item["loc"])
        said.append(f"{where}: {message}" if where else message)
    return "; ".join(said)


def validate(data: Mapping) -> dict[type[Settings], Settings]:
    """Every model validated from a host's merged ``data``; PreflightError naming each bad key."""
    validated = {}
    for model in models():
        present = {name: data.get(name) for name in model.model_fields if data.get(name) is not None}
        try:
            validated[model] = model.model_validate(present)
        except ValidationError as error:
            secrets = secret_keys()
            if any(str(item["loc"][0]) in secrets for item in error.errors() if item["loc"]):
                raise PreflightError(f"{', '.join(str(i['loc'][0]) for i in error.errors())}: not a valid value "
                                     "(a secret: its value is not shown)") from None
            raise PreflightError(_one_line(error)) from None
    return validated


def json_schema() -> dict:
    """Every model's JSON schema, by title: what a form is built from::

        >>> json_schema()["Pipeline (every system)"]["properties"]["rollbook_takeover"]["security"]
        False
    """
    return {model.title: model.model_json_schema(mode="validation") for model in models()}


def reference() -> str:
    """The data reference (``docs/data.md``), generated from the models."""
    lines = ["# Data reference", "",
             "Generated from the settings models by `rollbook schema --write` (a test fails when it differs).",
             "Every key below is declared once; `group_data/all.py` takes its defaults from here and",
             "`group_data/<environment or group>.py` holds only what differs. A `--data` key that is not",
             "listed here, or that is marked *security*, stops the run before any host is touched.", "",
             "The origin column says where each default comes from: *from runbook NNN* when that runbook shows",
             "the value (a name, port, path or number, as `shared/runbooks/NNN_*.md` spells it or directly",
             "implies it), *rollbook's assumption* when no runbook gives it: a name or place the runbooks leave",
             "open (a path whose file a runbook names but not its folder is one), and every setting of",
             "rollbook's own mechanics (timeouts, batches, windows, locks). Check an assumed default",
             "against the hosts and set what differs in `group_data/`.", ""]
    for model in models():
        lines += [f"## {model.title}", "", (model.__doc__ or "").strip().splitlines()[0], "",
                  "| key | type | default | origin | allowed | doc |", "|---|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            marks = [mark for mark in ("security", "secret", "per_run") if _extra(info, mark)]
            doc = info.description + (f" *({', '.join(marks).replace('per_run', 'per run')})*" if marks else "")
            per_run = _extra(info, "per_run")
            default = "—" if per_run else f"`{info.default!r}`"
            origin = "—" if per_run else origin_text(_extra(info, "origin"))
            kind = _annotated_name(info.annotation, info.metadata)
            allowed = _cell(str(_extra(info, "allowed") or ""))
            lines.append(f"| `{name}` | {kind} | {default} | {origin} | {allowed} | {_cell(doc)} |")
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


_NAMES = {str: "text", int: "int", float: "number", bool: "bool", type(None): "None", Any: "any"}
_BOUNDS = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))


def _type_name(annotation) -> str:
    """A short, readable name of a key's type (``text``, ``int > 0``, ``list of text``, ...)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        text = _annotated_name(args[0], args[1:])
    elif origin is Literal:
        text = " or ".join(repr(arg) for arg in args)
    elif origin in (Union, UnionType):
        text = " or ".join(_type_name(arg) for arg in args)
    elif origin in (list, tuple, set):
        text = f"list of {_type_name(args[0])}" if args else "list"
    elif origin is dict:
        text = f"map {_type_name(args[0])} to {_type_name(args[1])}" if args else "map"
    elif annotation in _NAMES:
        text = _NAMES[annotation]
    else:
        text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return text.replace("|", "\\|")


def _annotated_name(base, metadata) -> str:
    said = [_type_name(base)]
    for item in metadata:
        if getattr(item, "pattern", None):
            said = ["text matching a pattern"]
        said += [f"{word} {getattr(holder, bound)}" for bound, word in _BOUNDS
                 for holder in (item, *getattr(item, "metadata", ())) if getattr(holder, bound, None) is not None]
    return " ".join(said)
