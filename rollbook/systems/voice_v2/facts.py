"""Facts of a voice-v2 host: its state before a run (per rollback level), and what it shows after one.

Example::

    state = host.get_fact(VoiceHost, settings=settings, recorded_file=..., level=2, backup="")
    state = host.get_fact(VoiceHost, settings=settings, recorded_file=..., level=(1, 3))   # a converge run
    state.code.tree, state.code.target   # sha256 over the code tree now, and over the backup chosen
    state.running_code                   # what the running process reports (its /health)
    seen = host.get_fact(VoiceEffect, settings=settings, health_timeout=30, latency_requests=6)
    seen.latencies                       # seconds of each TTS request

A tree's hash is sha256 over ``sha256sum`` of every file, sorted by path relative to the tree
(the stand-in computes the same at start), so equal hashes mean byte-identical trees.

Env values never travel: ``.env``, ``.env.previous`` and the process environment are read through
``envfile.hiding`` on the host, so only the keys in ``public`` (``envfile.public_keys``) arrive as
values, and a key holding exactly its ``targets`` value (data's, which the controller knows); every
other key arrives as ``KEY=<hidden DIGEST>``, a keyed hash under the host's own salt. Equal values
give equal digests on one host, so the run still compares ``.env`` with ``.env.previous`` and with
the running process, and copies a differing value on the host (``envfile.keys(source=..., copied=...)``)::

    state = host.get_fact(VoiceHost, settings=settings, recorded_file=..., level=1,
                          public=envfile.public_keys(host.data), targets=request.env)
    state.previous["OPENAI_API_KEY"]     # '<hidden 3f5c...>' (the value stays on the host)
"""

import json
import posixpath
from dataclasses import dataclass, field

from ...host.envfile import SALT_FILE, hide, hiding
from ...host.sections import SectionsFact, key_values, recorded_section, recorded_units
from ...host.shell import COMPOSE, q

# prints the hash of the tree at $1, or "missing"
TREE_HASH = ('th() { if [ -d "$1" ]; then (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z '
             '| xargs -0 -r sha256sum | sha256sum | cut -d" " -f1); else echo missing; fi; }')
FILE_HASH = 'fh() { if [ -f "$1" ]; then sha256sum < "$1" | cut -d" " -f1; else echo missing; fi; }'
ENV_LINE = "^[A-Za-z_][A-Za-z0-9_]*="


@dataclass(frozen=True)
class VoiceSettings:
    """Where a voice-v2 host keeps things (from group data)."""

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


@dataclass
class CodeState:
    tree: str  # hash of the code tree now ("missing")
    requirements: str  # hash of requirements.txt now
    installed: str  # hash of the requirements the venv was installed from (its stamp)
    source: str  # the backup directory or the git commit chosen ('' when none exists)
    target: str  # hash of the chosen code tree ("missing")
    target_requirements: str  # hash of the chosen requirements.txt ("missing")
    head: str = ""  # the checkout's commit ('' when not a git checkout)


@dataclass
class VenvState:
    tree: str  # hash of the venv now ("missing")
    backup: str  # hash of its backup copy ("missing")
    changed_at: int  # epoch of the venv folder's last change


@dataclass
class ImageState:
    file_tag: str  # the tag the compose file names for the image ('' when none)
    target_id: str  # image id of <image>:<tag asked for> ('' when not present on the host)
    running_id: str  # image id of the running container ('' when not running)


@dataclass
class VoiceState:
    env_file: dict[str, str] | None
    previous: dict[str, str] | None  # the known-good .env (level 1), None when missing or not read
    providers: str | None  # the provider settings file's text, None when missing
    running: dict[str, str] | None  # the process's environment (None: not running)
    started: int  # epoch of the process start (0: not running)
    health: dict  # what the running process reports on /health ({} when it does not answer)
    code: CodeState | None = None
    venv: VenvState | None = None
    image: ImageState | None = None
    recorded: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # unit -> the source a rollback recorded (code)
    env_matches_previous: bool | None = None  # .env is .env.previous apart from data's keys (None: not compared)

    @property
    def running_code(self) -> str:
        return str(self.health.get("code", ""))

    @property
    def running_requirements(self) -> str:
        return str(self.health.get("requirements", ""))

    @property
    def running_providers(self) -> str:
        return str(self.health.get("providers_sha256", ""))


def _container_id(settings: VoiceSettings) -> str:
    return (f"id=$(cd {q(settings.app_dir)} 2>/dev/null && {COMPOSE} && $c ps -q {q(settings.service)} 2>/dev/null "
            "| head -n 1)")


def process_section(settings: VoiceSettings, public=()) -> str:
    """``## process``: ``running``, ``started <epoch>``, the process's environment (values of keys not in
    ``public`` hidden: needs ``envfile.hiding`` first); or ``stopped``."""
    if settings.unit == "compose":
        return (f"echo '## process'; {_container_id(settings)}; "
                "if [ -n \"$id\" ] && [ \"$(docker inspect -f '{{.State.Running}}' \"$id\" 2>/dev/null)\" = true ]; "
                "then echo running; echo \"started $(date -d \"$(docker inspect -f '{{.State.StartedAt}}' \"$id\")\" +%s)\"; "
                f"docker inspect -f '{{{{range .Config.Env}}}}{{{{println .}}}}{{{{end}}}}' \"$id\" | {hide(public)}; "
                "else echo stopped; fi")
    return (f"echo '## process'; pid=$(systemctl show -p MainPID --value {q(settings.service)} 2>/dev/null); "
            "if [ -n \"$pid\" ] && [ \"$pid\" != 0 ] && [ -r /proc/$pid/environ ]; then echo running; "
            "echo \"started $(( $(date +%s) - $(ps -o etimes= -p $pid) ))\"; "
            f"tr '\\0' '\\n' < /proc/$pid/environ | {hide(public)}; else echo stopped; fi")


def parse_process(lines: list[str]) -> tuple[dict[str, str] | None, int]:
    if not lines or lines[0] != "running":
        return None, 0
    started, rest = 0, []
    for line in lines[1:]:
        if line.startswith("started "):
            value = line.split(" ", 1)[1].strip()
            started = int(value) if value.isdigit() else 0
        else:
            rest.append(line)
    return key_values(rest), started


def _json(lines: list[str]) -> dict:
    try:
        value = json.loads("\n".join(lines) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _env_rest_section(settings: VoiceSettings, keys: list[str]) -> str:
    """``## env_rest``: ``same`` when ``.env`` and ``.env.previous`` match byte for byte apart from the
    lines of ``keys`` (the values data sets on top), ``differs``, or ``missing``: compared on the host."""
    rest = f"grep -v -E {q('^(export[[:space:]]+)?(' + '|'.join(keys) + ')=')}" if keys else "cat"
    env, previous = q(settings.env_file), q(settings.env_previous)
    return (f"echo '## env_rest'; if [ -f {env} ] && [ -f {previous} ]; then "
            f"[ \"$({rest} < {env} | sha256sum)\" = \"$({rest} < {previous} | sha256sum)\" ] && echo same "
            "|| echo differs; else echo missing; fi")


def _file_section(name: str, path: str) -> str:
    return f"echo '## {name}'; if [ -f {q(path)} ]; then echo present; cat {q(path)}; echo; else echo missing; fi"


def _file_text(lines: list[str] | None) -> str | None:
    if not lines or lines[0] != "present":
        return None
    return "\n".join(lines[1:]).rstrip("\n") + "\n"


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
    """Everything a voice-v2 run decides on, in one command: recorded state, ``.env`` (and the
    known-good ``.env.previous`` and provider settings for level 1), the running process and its
    /health, and per level: the code tree against a backup directory or git ref (2), the virtualenv
    against its backup copy or the compose file's image tag against the one asked for (3)."""

    def command(self, settings: VoiceSettings, recorded_file: str, level: int | tuple[int, ...],
                backup: str | None = None, ref: str | None = None, image_tag: str | None = None,
                backup_root: str = "/backup", public=(), salt_file: str | None = None,
                targets: dict[str, str] | None = None):
        """``level``: one level, or the levels a converge run converges; ``public``: the env keys whose
        values may travel (every other value arrives hidden); ``targets``: values from data; a key holding
        exactly its target arrives as it is (compares); ``salt_file``: the host's digest salt (default:
        ``private/env-digest.salt`` beside ``recorded_file``)."""
        levels = {level} if isinstance(level, int) else set(level)
        app = q(settings.app_dir)
        salt = salt_file or posixpath.join(posixpath.dirname(recorded_file) or ".", "private", "env-digest.salt")
        parts = [
            TREE_HASH, FILE_HASH, hiding(salt, targets),
            recorded_section(recorded_file),
            f"echo '## env'; if [ -f {q(settings.env_file)} ]; then echo present; "
            f"{hide(public)} < {q(settings.env_file)}; else echo missing; fi",
            process_section(settings, public),
            f"echo '## health'; curl -s --max-time 5 {q(settings.base_url + '/health')}; echo",
        ]
        if 1 in levels:
            parts += [f"echo '## previous'; if [ -f {q(settings.env_previous)} ]; then echo present; "
                      f"{hide(public)} < {q(settings.env_previous)}; else echo missing; fi",
                      _env_rest_section(settings, sorted(targets or {})),
                      _file_section("providers", settings.providers_file)]
        if 2 in levels:
            code = f"{settings.app_dir}/{settings.code_dir}"
            parts.append(f"echo '## code'; echo \"tree $(th {q(code)})\"; "
                         f"echo \"requirements $(fh {app}/requirements.txt)\"; "
                         f"echo \"installed $(cat {q(settings.venv + '/rollbook-requirements.sha256')} 2>/dev/null)\"; "
                         f"echo \"head $(git -C {app} rev-parse -q HEAD 2>/dev/null)\"")
            if ref is not None:
                archive = f"git -C {app} archive \"$commit\" {q(settings.code_dir)}"
                parts.append(f"commit=$(git -C {app} rev-parse -q --verify {q(ref + '^{commit}')} 2>/dev/null); "
                             "if [ -n \"$commit\" ]; then tmp=$(mktemp -d); "
                             f"{archive} | tar -x -C \"$tmp\"; echo \"source $commit\"; "
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
                         f"echo \"at $(stat -c %Z {q(settings.venv)} 2>/dev/null || echo 0)\"")
        if 3 in levels and settings.unit == "compose":
            image = q(f"{settings.image}:{image_tag}")
            parts.append(f"echo '## image'; echo \"file_tag $(grep -oE 'image: *[\\\"]?{settings.image}:[^\\\" ]+' "
                         f"{q(settings.compose_file)} 2>/dev/null | head -n 1 | sed 's/.*://')\"; "
                         f"echo \"target_id $(docker image inspect -f '{{{{.Id}}}}' {image} 2>/dev/null)\"; "
                         f"{_container_id(settings)}; "
                         "echo \"running_id $([ -n \"$id\" ] && docker inspect -f '{{.Image}}' \"$id\" 2>/dev/null)\"")
        return "; ".join(parts)

    def parse(self, sections):
        env = sections.get("env", ["missing"])
        previous = sections.get("previous")
        running, started = parse_process(sections.get("process", []))
        state = VoiceState(
            env_file=key_values(env[1:]) if env[:1] == ["present"] else None,
            previous=key_values(previous[1:]) if previous and previous[0] == "present" else None,
            providers=_file_text(sections.get("providers")),
            running=running, started=started, health=_json(sections.get("health", [])),
            recorded=recorded_units(sections.get("recorded", []), "voice_v2"),
            sources=recorded_units(sections.get("recorded", []), "voice_v2", "sources"),
            env_matches_previous={"same": True, "differs": False}.get((sections.get("env_rest") or [""])[0]),
        )
        if "code" in sections:
            values = dict(line.split(" ", 1) for line in sections["code"] if " " in line)
            values.update((line, "") for line in sections["code"] if " " not in line)
            state.code = CodeState(tree=values.get("tree", "missing"), requirements=values.get("requirements", "missing"),
                                   installed=values.get("installed", ""), source=values.get("source", ""),
                                   target=values.get("target", "missing"),
                                   target_requirements=values.get("target_requirements", "missing"),
                                   head=values.get("head", ""))
        if "venv" in sections:
            values = dict(line.split(" ", 1) for line in sections["venv"] if " " in line)
            at = values.get("at", "0")
            state.venv = VenvState(tree=values.get("tree", "missing"), backup=values.get("backup", "missing"),
                                   changed_at=int(at) if at.isdigit() else 0)
        if "image" in sections:
            values = {}
            for line in sections["image"]:
                key, _, value = line.partition(" ")
                values[key] = value.strip()
            state.image = ImageState(file_tag=values.get("file_tag", ""), target_id=values.get("target_id", ""),
                                     running_id=values.get("running_id", ""))
        return state


@dataclass
class VoiceObservation:
    running: dict[str, str] | None
    health_code: int
    health: dict
    providers_code: int
    providers: dict
    stt_code: int
    stt: dict
    tts_code: int
    tts: dict
    latencies: list[float]  # seconds per TTS request (failed requests excluded)
    latency_failures: int
    memory_mb: float | None  # resident memory of the service (None: not measured)
    image: ImageState | None = None


def _memory_section(settings: VoiceSettings) -> str:
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


def _call(name: str, url: str) -> str:
    return (f"echo '## {name}'; curl -s -o /tmp/rollbook-voice.$$ -w '%{{http_code}}\\n' --max-time 30 {q(url)}; "
            f"cat /tmp/rollbook-voice.$$ 2>/dev/null; echo; rm -f /tmp/rollbook-voice.$$")


class VoiceEffect(SectionsFact):
    """What the service shows after a run (the runbook's validation): /health (waited for), the
    provider connectivity, an STT and a TTS smoke request, ``latency_requests`` timed TTS requests,
    the service's resident memory, its process environment, and (``image_tag``) the image it runs."""

    def command(self, settings: VoiceSettings, health_timeout: int, latency_requests: int,
                image_tag: str | None = None, public=(), salt_file: str = SALT_FILE,
                targets: dict[str, str] | None = None):
        """``public``, ``targets`` and ``salt_file`` as for ``VoiceHost`` (the same salt: digests compare)."""
        base = settings.base_url
        texts = ("Короткий тест", "Средний по длине тест для проверки производительности",
                 "Длинный тест для проверки производительности системы после отката изменений")
        urls = " ".join(q(f"{base}/tts?text={text.replace(' ', '+')}") for text in texts)
        parts = [
            hiding(salt_file, targets),
            process_section(settings, public),
            f"echo '## health'; for i in $(seq {int(health_timeout) * 2}); do "
            f"code=$(curl -s -o /tmp/rollbook-health.$$ -w '%{{http_code}}' --max-time 2 {q(base + '/health')}); "
            f"[ \"$code\" = 200 ] && break; sleep 0.5; done; echo \"$code\"; cat /tmp/rollbook-health.$$ 2>/dev/null; "
            f"echo; rm -f /tmp/rollbook-health.$$",
            _call("providers", f"{base}/providers"),
            _call("stt", f"{base}/stt?language=ru"),
            _call("tts", f"{base}/tts?text=test&language=ru"),
            f"echo '## latency'; n=0; while [ $n -lt {int(latency_requests)} ]; do for u in {urls}; do "
            f"[ $n -lt {int(latency_requests)} ] && curl -s -o /dev/null -w '%{{http_code}} %{{time_total}}\\n' "
            "--max-time 30 \"$u\"; n=$((n+1)); done; done",
            _memory_section(settings),
        ]
        if image_tag is not None and settings.unit == "compose":
            parts.append(f"echo '## image'; echo \"target_id $(docker image inspect -f '{{{{.Id}}}}' "
                         f"{q(settings.image + ':' + image_tag)} 2>/dev/null)\"; {_container_id(settings)}; "
                         "echo \"running_id $([ -n \"$id\" ] && docker inspect -f '{{.Image}}' \"$id\" 2>/dev/null)\"")
        return "; ".join(parts)

    def parse(self, sections):
        running, _ = parse_process(sections.get("process", []))

        def code_and_body(name):
            lines = sections.get(name, ["0"])
            first = lines[0].strip() if lines else "0"
            return (int(first) if first.isdigit() else 0), _json(lines[1:])

        health_code, health = code_and_body("health")
        providers_code, providers = code_and_body("providers")
        stt_code, stt = code_and_body("stt")
        tts_code, tts = code_and_body("tts")
        latencies, failures = [], 0
        for line in sections.get("latency", []):
            code, _, seconds = line.partition(" ")
            if code == "200":
                latencies.append(float(seconds))
            else:
                failures += 1
        memory = sections.get("memory", [])
        image = None
        if "image" in sections:
            values = dict((line.partition(" ")[0], line.partition(" ")[2].strip()) for line in sections["image"])
            image = ImageState(file_tag="", target_id=values.get("target_id", ""),
                               running_id=values.get("running_id", ""))
        return VoiceObservation(running=running, health_code=health_code, health=health,
                                providers_code=providers_code, providers=providers, stt_code=stt_code, stt=stt,
                                tts_code=tts_code, tts=tts, latencies=latencies, latency_failures=failures,
                                memory_mb=parse_memory(memory[0]) if memory else None, image=image)
