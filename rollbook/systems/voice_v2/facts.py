"""Facts of a voice-v2 host: its state before a run (per rollback level), and what it shows after one::

    state = host.get_fact(VoiceHost, settings=settings, recorded_file=..., level=(1, 3))
    state.code.changed > state.started   # the process started before its code last changed on disk
    state.previous["OPENAI_API_KEY"]     # '<hidden 3f5c...>' (the value stays on the host)
    seen = host.get_fact(VoiceEffect, settings=settings, health_timeout=30, latency_requests=6)

A tree's hash covers every file but compiled bytecode (the running service writes it). Whether the process
runs what is on disk comes from the files' change times (``ctime``: ``cp -a`` cannot set it back) against
its start. Env values arrive through ``envfile.hiding``: only ``public`` keys and keys holding their
``targets`` value as values, every other one as a digest under the host's salt.
"""

import posixpath
from dataclasses import dataclass, field, fields

from ...host import process
from ...host.envfile import SALT_FILE, hide, hiding, misshapen, read_keys, section, values
from ...host.sections import SectionsFact, json_object, recorded_section, recorded_units
from ...host.scripts import source
from ...host.shell import COMPOSE, PROCESS_STARTED, file_inside, health_section, q

# prints the hash of the tree at $1, or "missing"
TREE_HASH = ('th() { if [ -d "$1" ]; then (cd "$1" && find . \\( -name __pycache__ -o -name "*.pyc" \\) -prune '
             '-o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d" " -f1); '
             'else echo missing; fi; }')
# prints the newest change time (epoch, sub-second) of the files under its arguments, compiled bytecode aside
NEWEST_CHANGE = ('nc() { find "$@" \\( -name __pycache__ -o -name "*.pyc" \\) -prune -o -type f -printf "%C@\\n" '
                 '2>/dev/null | sort -n | tail -n 1; }')
FILE_HASH = 'fh() { if [ -f "$1" ]; then sha256sum < "$1" | cut -d" " -f1; else echo missing; fi; }'


@dataclass(frozen=True)
class VoicePlaces:
    """Where a host of voice-v2 keeps things, derived from its settings (settings.VoiceSettings)."""

    unit: str  # systemd | compose
    service: str  # the systemd unit, or the compose service
    app_dir: str  # the app's checkout, and its compose project
    env_file: str
    env_previous: str  # the known-good .env
    providers_file: str  # the provider settings the service reads (JSON)
    code_dir: str  # the code tree, relative to app_dir (app/services/voice_v2)
    venv: str  # the service's virtualenv
    venv_backup: str  # its backup copy
    compose_file: str
    image: str  # the image repository in the compose file (voice-v2)
    base_url: str  # the service as seen from the host
    pip_args: str = ""  # extra pip install arguments (the sandbox: --no-index)
    health_path: str = "/health"  # under base_url


@dataclass
class CodeState:
    tree: str = "missing"  # hash of the code tree now
    requirements: str = "missing"  # hash of requirements.txt now
    installed: str = ""  # hash of the requirements the venv was installed from (its stamp)
    source: str = ""  # the backup directory or the git commit chosen ('' when none exists)
    target: str = "missing"  # hash of the chosen code tree
    target_requirements: str = "missing"  # hash of the chosen requirements.txt
    head: str = ""  # the checkout's commit ('' when not a git checkout)
    changed: float = 0.0  # newest change (epoch) of a file of the code tree, requirements.txt or the venv


@dataclass
class VenvState:
    tree: str = "missing"  # hash of the venv now
    backup: str = "missing"  # hash of its backup copy
    changed: float = 0.0  # newest change (epoch) of a file in the venv (0: none)


@dataclass
class ImageState:
    file_tag: str = ""  # the tag the compose file names for the image
    target_id: str = ""  # image id of <image>:<tag asked for> ('' when not present on the host)
    running_id: str = ""  # image id of the running container ('' when not running)


@dataclass
class VoiceState:
    env_file: dict[str, str] | None
    previous: dict[str, str] | None  # the known-good .env (level 1), None when missing or not read
    providers: str | None  # the provider settings file's text, None when missing
    running: dict[str, str] | None  # the process's environment (None: not running)
    started: float  # epoch of the process start, sub-second (0: not running)
    providers_changed: float = 0.0  # change time (epoch) of the provider settings file (0: missing, or not read)
    code: CodeState | None = None
    venv: VenvState | None = None
    image: ImageState | None = None
    recorded: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # unit -> the source a rollback recorded (code)
    env_matches_previous: bool | None = None  # .env is .env.previous apart from data's keys (None: not compared)
    misshapen: list[str] = field(default_factory=list)  # data's keys whose .env line the edit does not handle

    @property
    def providers_stale(self) -> bool:
        """The process started before the provider settings file last changed (it reads them at start)."""
        return self.running is not None and self.providers_changed > self.started


def _container_id(settings: VoicePlaces) -> str:
    return (f"id=$(cd {q(settings.app_dir)} 2>/dev/null && {COMPOSE} && $c ps -q {q(settings.service)} 2>/dev/null "
            "| head -n 1)")


def _image_ids(settings: VoicePlaces, tag: str) -> str:
    """``target_id``: the id of ``<image>:<tag>`` on the host; ``running_id``: the running container's image."""
    return (f"echo \"target_id $(docker image inspect -f '{{{{.Id}}}}' {q(f'{settings.image}:{tag}')} 2>/dev/null)\"; "
            f"{_container_id(settings)}; "
            "echo \"running_id $([ -n \"$id\" ] && docker inspect -f '{{.Image}}' \"$id\" 2>/dev/null)\"")


def process_section(settings: VoicePlaces, public=()) -> str:
    """``## process``: ``running``, ``started <epoch, sub-second>``, the process's environment (values of
    keys not in ``public`` hidden: needs ``envfile.hiding`` first); or ``stopped``."""
    if settings.unit == "compose":
        return (f"echo '## process'; {_container_id(settings)}; "
                "if [ -n \"$id\" ] && [ \"$(docker inspect -f '{{.State.Running}}' \"$id\" 2>/dev/null)\" = true ]; "
                "then echo running; echo \"started $(date -d \"$(docker inspect -f '{{.State.StartedAt}}' \"$id\")\" +%s.%N)\"; "
                f"docker inspect -f '{{{{json .Config.Env}}}}' \"$id\" | {hide(public, 'json')}; "
                "else echo stopped; fi")
    return (f"echo '## process'; pid=$(systemctl show -p MainPID --value {q(settings.service)} 2>/dev/null); "
            "if [ -n \"$pid\" ] && [ \"$pid\" != 0 ] && [ -r /proc/$pid/environ ]; then echo running; "
            f"{PROCESS_STARTED}; "
            f"{hide(public, 'environ')} < /proc/$pid/environ; else echo stopped; fi")


def _number(text: str) -> float:
    try:
        return float(text.strip() or 0)
    except ValueError:
        return 0.0


def _process(sections) -> dict:
    """``running`` (the process's environment) and ``started`` (None, 0.0: not running); ``providers_changed``."""
    running = process.parse(sections.get("process", []))
    return dict(running=running.env if running else None, started=running.started if running else 0.0,
                providers_changed=_number((sections.get("providers_changed") or ["0"])[0]))


def _words(lines: list[str]) -> dict[str, str]:
    """``key value`` lines as a dict (a line without a value: '')."""
    return {key: value.strip() for key, _, value in (line.partition(" ") for line in lines)}


def _parsed(cls, lines: list[str] | None):
    """A ``cls`` from its fields' ``key value`` lines (a float field's as a number; a field without a line
    keeps its default); None without a section: ``_parsed(VenvState, ["tree ab12", "changed 1.5"])``."""
    if lines is None:
        return None
    values = _words(lines)
    return cls(**{f.name: _number(values[f.name]) if isinstance(f.default, float) else values[f.name]
                  for f in fields(cls) if f.name in values})


def _code_section(settings: VoicePlaces, *names: str) -> str:
    """``## code``: ``<name> <value>`` lines of the code, requirements and venv on disk (after ``th``, ``fh``,
    ``nc``): ``_code_section(settings, "tree")`` -> ``... echo "tree $(th /opt/voice_v2/app/services/voice_v2)"``"""
    app, code, venv = q(settings.app_dir), q(f"{settings.app_dir}/{settings.code_dir}"), q(settings.venv)
    commands = {"tree": f"th {code}", "requirements": f"fh {app}/requirements.txt",
                "installed": f"cat {q(settings.venv + '/rollbook-requirements.sha256')} 2>/dev/null",
                "head": f"git -C {app} rev-parse -q HEAD 2>/dev/null",
                "changed": f"nc {code} {app}/requirements.txt {venv}",
                "venv": f"th {venv}", "backup": f"th {q(settings.venv_backup)}"}
    return "; ".join(["echo '## code'"] + [f"echo \"{name} $({commands[name]})\"" for name in names])


def _env_rest_section(settings: VoicePlaces, keys: list[str]) -> str:
    """``## env_rest``: ``same`` when ``.env`` and ``.env.previous`` match byte for byte apart from the
    lines of ``keys`` (the values data sets on top), ``differs``, or ``missing``: compared on the host."""
    rest = f"grep -v -E {q('^(export[[:space:]]+)?(' + '|'.join(keys) + ')=')}" if keys else "cat"
    env, previous = q(settings.env_file), q(settings.env_previous)
    return (f"echo '## env_rest'; if [ -f {env} ] && [ -f {previous} ]; then "
            f"[ \"$({rest} < {env} | sha256sum)\" = \"$({rest} < {previous} | sha256sum)\" ] && echo same "
            "|| echo differs; else echo missing; fi")


def _file_text(lines: list[str] | None) -> str | None:
    return "\n".join(lines[1:]).rstrip("\n") + "\n" if lines and lines[0] == "present" else None


class VoiceRecorded(SectionsFact):
    """voice-v2's recorded state on the host: its units and the sources recorded with them (what a
    converge run reads first, to know which levels and which level-2 source to inspect)."""

    def command(self, recorded_file: str):
        return recorded_section(recorded_file)

    def parse(self, sections):
        lines = sections.get("recorded", [])
        return Recorded(units=recorded_units(lines, "voice_v2"), sources=recorded_units(lines, "voice_v2", "sources"))


@dataclass
class Recorded:
    units: dict[str, str]  # unit -> enabled | rolled_back
    sources: dict[str, str]  # unit -> source (level 2: the backup directory or git commit a rollback restored)


class VoiceHost(SectionsFact):
    """Everything a voice-v2 run decides on, in one command: recorded state, ``.env``, the running process,
    and per level: ``.env.previous`` and the provider settings (1), the code tree against a backup directory
    or git ref (2), the virtualenv against its backup copy or the compose file's image tag (3)."""

    def command(self, settings: VoicePlaces, recorded_file: str, level: int | tuple[int, ...],
                backup: str | None = None, ref: str | None = None, image_tag: str | None = None,
                backup_root: str = "/backup", public=(), salt_file: str | None = None,
                targets: dict[str, str] | None = None):
        """``level``: one level, or a converge run's; ``salt_file``: default ``private/env-digest.salt`` beside
        ``recorded_file``."""
        levels = {level} if isinstance(level, int) else set(level)
        app = q(settings.app_dir)
        salt = salt_file or posixpath.join(posixpath.dirname(recorded_file) or ".", "private", "env-digest.salt")
        parts = [
            TREE_HASH, FILE_HASH, NEWEST_CHANGE, hiding(salt, targets),
            recorded_section(recorded_file),
            section(settings.env_file, f"{hide(public, settings.unit)} < {q(settings.env_file)}"
                    + (f"; {read_keys(settings.env_file, sorted(targets))} | grep '^!'" if targets else "")),
            process_section(settings, public),
        ]
        if 1 in levels:
            parts += [section(settings.env_previous, f"{hide(public, settings.unit)} < {q(settings.env_previous)}",
                              name="previous"),
                      _env_rest_section(settings, sorted(targets or {})),
                      section(settings.providers_file, f"cat {q(settings.providers_file)}; echo",
                              file_inside(settings.providers_file), name="providers"),
                      f"echo '## providers_changed'; stat -L -c %.9Z {q(settings.providers_file)} 2>/dev/null || echo 0"]
        if 2 in levels:
            parts.append(_code_section(settings, "tree", "requirements", "installed", "head", "changed"))
            if ref is not None:
                parts.append(f"commit=$(git -C {app} rev-parse -q --verify {q(ref + '^{commit}')} 2>/dev/null); "
                             "if [ -n \"$commit\" ]; then tmp=$(mktemp -d); "
                             f"git -C {app} archive \"$commit\" {q(settings.code_dir)} | tar -x -C \"$tmp\"; "
                             "echo \"source $commit\"; "
                             f"echo \"target $(th \"$tmp\"/{q(settings.code_dir)})\"; rm -rf \"$tmp\"; "
                             f"echo \"target_requirements $(git -C {app} show \"$commit\":requirements.txt 2>/dev/null "
                             "| sha256sum | cut -d' ' -f1)\"; fi")
            else:
                pick = (f"b={q(backup)}" if backup else
                        f"b=$(ls -1d {q(backup_root)}/voice_v2_[0-9]* 2>/dev/null | sort | tail -n 1)")
                parts.append(f"{pick}; if [ -n \"$b\" ] && [ -d \"$b\" ]; then echo \"source $b\"; "
                             f"echo \"target $(th \"$b\"/{q(settings.code_dir)})\"; "
                             "echo \"target_requirements $(fh \"$b\"/requirements.txt)\"; fi")
        if 3 in levels and settings.unit == "systemd":
            parts.append(f"echo '## venv'; echo \"tree $(th {q(settings.venv)})\"; "
                         f"echo \"backup $(th {q(settings.venv_backup)})\"; "
                         f"echo \"changed $(nc {q(settings.venv)})\"")
        if 3 in levels and settings.unit == "compose":
            parts.append(f"echo '## image'; echo \"file_tag $(grep -oE 'image: *[\\\"]?{settings.image}:[^\\\" ]+' "
                         f"{q(settings.compose_file)} 2>/dev/null | head -n 1 | sed 's/.*://')\"; "
                         + _image_ids(settings, image_tag))
        return "; ".join(parts)

    def parse(self, sections):
        env, recorded = sections.get("env", ["missing"]), VoiceRecorded().parse(sections)
        return VoiceState(
            env_file=values(env), previous=values(sections.get("previous")), recorded=recorded.units,
            providers=_file_text(sections.get("providers")), sources=recorded.sources, **_process(sections),
            env_matches_previous={"same": True, "differs": False}.get((sections.get("env_rest") or [""])[0]),
            misshapen=misshapen(env), code=_parsed(CodeState, sections.get("code")),
            venv=_parsed(VenvState, sections.get("venv")), image=_parsed(ImageState, sections.get("image")),
        )


@dataclass
class VoiceObservation:
    running: dict[str, str] | None
    started: float  # epoch of the process start (0: not running)
    health_code: int
    health: dict
    validation: dict  # what the runbook's validation printed (``scripts/validation.py``; {}: nothing)
    memory_mb: float | None  # resident memory of the service (None: not measured)
    image: ImageState | None = None
    providers_changed: float = 0.0  # change time of the provider settings file (0: not read)
    code: dict[str, str] = field(default_factory=dict)  # tree, installed, changed (and venv, backup): on disk

    @property
    def latencies(self) -> list[float]:
        return [float(value) for value in self.validation.get("latencies") or []]

    @property
    def latency_failures(self) -> int:
        return int(self.validation.get("latency_failures") or 0)


def _memory_section(settings: VoicePlaces) -> str:
    if settings.unit == "compose":
        return (f"echo '## memory'; {_container_id(settings)}; [ -n \"$id\" ] && "
                "docker top \"$id\" -o pid,rss | awk 'NR > 1 {s += $2} END {if (NR > 1) print s \"kB\"}'")
    return (f"echo '## memory'; pid=$(systemctl show -p MainPID --value {q(settings.service)}); "
            "[ -n \"$pid\" ] && [ \"$pid\" != 0 ] && awk '/^VmRSS:/ {print $2 \"kB\"}' /proc/$pid/status")


def parse_memory(text: str) -> float | None:
    """MB from ``123456kB`` (VmRSS, or the RSS sum of ``docker top``) or ``12.5MiB`` / ``1.2GiB``."""
    text = text.strip().replace(" ", "")
    for unit, factor in (("GiB", 1024), ("MiB", 1), ("KiB", 1 / 1024), ("kB", 1 / 1024), ("B", 1 / 1024 / 1024)):
        if text.endswith(unit):
            try:
                return round(float(text[: -len(unit)]) * factor, 2)
            except ValueError:
                return None
    return None


VALIDATION = source("validation", __file__)  # runs on the host: rollbook/systems/voice_v2/scripts/validation.py


def _validation_section(settings: VoicePlaces, requests: int, seconds: int) -> str:
    """``## validation``: the runbook's checks, run by the service's own interpreter where the service
    runs (its app directory, or inside its container). The heredoc ends the command's line."""
    python = q(f"{settings.venv.rstrip('/')}/bin/python")
    where = (f"{_container_id(settings)}; [ -n \"$id\" ] && timeout {int(seconds)} docker exec -i \"$id\""
             if settings.unit == "compose" else f"cd {q(settings.app_dir)} && timeout {int(seconds)}")
    run = f"{where} {python} -B - {int(requests)}"
    return (f"echo '## validation'; ( {run} <<'ROLLBOOK_VALIDATION'\n{VALIDATION}\nROLLBOOK_VALIDATION\n"
            ") 2>/dev/null | tail -n 1\n")


class VoiceEffect(SectionsFact):
    """What the service shows after a run: ``GET /health`` (waited for), runbook 003's validation run with
    the service's own virtualenv (``scripts/validation.py``), its memory, environment and start; with
    ``code``, ``venv`` or ``image_tag``: what is on disk, or the image the container runs."""

    def command(self, settings: VoicePlaces, health_timeout: int, latency_requests: int,
                image_tag: str | None = None, public=(), salt_file: str = SALT_FILE,
                targets: dict[str, str] | None = None, code: bool = False, venv: bool = False,
                validation_timeout: int = 120):
        """``public``, ``targets`` and ``salt_file`` as for ``VoiceHost`` (the same salt: digests compare)."""
        parts = [
            TREE_HASH, NEWEST_CHANGE, hiding(salt_file, targets),
            health_section(settings.base_url + settings.health_path, health_timeout),
            process_section(settings, public),
            _memory_section(settings),
            f"echo '## providers_changed'; stat -L -c %.9Z {q(settings.providers_file)} 2>/dev/null || echo 0",
        ]
        if code or venv:
            names = ("tree", "installed") * code + ("venv", "backup") * venv
            parts.append(_code_section(settings, "changed", *names))
        if image_tag is not None and settings.unit == "compose":
            parts.append("echo '## image'; " + _image_ids(settings, image_tag))
        # the validation's heredoc ends its line: it comes last
        return "; ".join(parts) + "; " + _validation_section(settings, latency_requests, validation_timeout)

    def parse(self, sections):
        lines = sections.get("health", ["0"])
        first = lines[0].strip() if lines else "0"
        memory = sections.get("memory", [])
        return VoiceObservation(
            **_process(sections), health_code=int(first) if first.isdigit() else 0,
            health=json_object(lines[1:]), validation=json_object(sections.get("validation", [])),
            memory_mb=parse_memory(memory[0]) if memory else None,
            image=_parsed(ImageState, sections.get("image")), code=_words(sections.get("code", [])))
