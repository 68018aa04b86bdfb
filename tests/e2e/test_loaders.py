"""``rollbook.host.loaders.seen_by`` against the real loaders: one env file that hits every rule
(export, quotes, escapes, inline comments, empty values, a key without ``=``, CRLF, duplicates,
comments, whitespace, key names, multi-line values, variables, a BOM) is given to a process by
systemd's ``EnvironmentFile=`` (phase17-1, systemd 252), by docker-compose v1's ``env_file``
(vision-1, Debian's 1.29.2 against the engine) and by ``docker compose`` v2's where a host has it;
the process's ``/proc/<pid>/environ`` must be exactly what ``seen_by`` predicts for every key the
file mentions — checked against the process, not against any parser of ours.
"""

import base64
import re
import shlex
import time

import pytest

from rollbook.host.loaders import seen_by
from rollbook.sandbox.hosts import LABEL

# Every rule, in one file every loader accepts (compose v2 refuses some files outright: those cases
# are in the unit table). "\ufeff" is a UTF-8 BOM; "\r\n" lines are CRLF; no newline at the end.
ENV_FILE = (
    "\ufeffBOM_FIRST=1\n"
    "# a full-line comment\n"
    "   # an indented comment\n"
    "export SENTRY_DSN=https://k@sentry.example/1\n"
    "SINGLE='x \"y\" $B \\n \\\\ end'\n"
    'DOUBLE="t\\tn\\n q\\" d\\$ b\\\\ x\\x"\n'
    "INLINE=value # comment\n"
    "HASH=value#not\n"
    'QUOTED_COMMENT="q" # comment\n'
    "TABBED=tab\t# c\n"
    "EMPTY=\n"
    'EMPTY_QUOTED=""\n'
    "EMPTY_SINGLE=''\n"
    "LOADER_TEST_INHERITED\n"
    "LOADER_TEST_ABSENT\n"
    "DUP=1\n"
    "DUP_REF=${DUP}\n"
    "DUP=2\n"
    "# a comment ending in a backslash \\\n"
    "SWALLOWED=1\n"
    "  SPACED  =  spaced value  \n"
    'KEPT="  kept  "\n'
    "1ABC=x\n"
    "FOO-BAR=y\n"
    "FOO.BAR=z\n"
    'MULTI="l1\nl2"\n'
    "MULTI_SINGLE='l3\nl4'\n"
    "BACKSLASH=a\\ b\\#c\n"
    "CONTINUED=one\\\ntwo\n"
    "CRLF_LINE=crlf\r\n"
    'CRLF_MULTI="c1\r\nc2"\r\n'
    "VAR_HOME=$HOME\n"
    "VAR_DOLLARS=$$x\n"
    "VAR_DEFAULT=${LOADER_TEST_UNSET:-dflt}\n"
    'VAR_DOUBLE="${HOME}/x"\n'
    "VAR_SINGLE='${HOME}'\n"
    "LAST=end"
)
# every name the file could give a process, under any loader's reading of it
MENTIONED = {
    "BOM_FIRST", "\ufeffBOM_FIRST", "SENTRY_DSN", "SINGLE", "DOUBLE", "INLINE", "HASH", "QUOTED_COMMENT",
    "TABBED", "EMPTY", "EMPTY_QUOTED", "EMPTY_SINGLE", "LOADER_TEST_INHERITED", "LOADER_TEST_ABSENT", "DUP",
    "DUP_REF", "SWALLOWED", "SPACED", "KEPT", "1ABC", "FOO-BAR", "FOO.BAR", "MULTI", "MULTI_SINGLE", "BACKSLASH",
    "CONTINUED", "two", "CRLF_LINE", "CRLF_MULTI", "VAR_HOME", "VAR_DOLLARS", "VAR_DEFAULT", "VAR_DOUBLE",
    "VAR_SINGLE", "LAST", "LOADER_TEST_UNSET", "B",
}
# compose's own environment (env -i): what ${VAR} and a key without "=" may read
COMPOSE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
               "LOADER_TEST_INHERITED": "from-shell"}

SYSTEMD_HOST = "phase17-1"
COMPOSE_HOST = "vision-1"
UNIT = "rollbook-loader-test"
PROJECT_DIR = "/tmp/loader-test"


def environ_of(raw: bytes) -> dict[str, str]:
    """``/proc/<pid>/environ`` as a dict (NUL-separated; values may hold newlines)."""
    pairs = [item.decode("utf-8", "surrogateescape") for item in raw.split(b"\0") if item]
    return dict(item.split("=", 1) for item in pairs if "=" in item)


def mentioned(environ: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in environ.items() if key in MENTIONED}


def put(host, path: str, text: str):
    encoded = base64.b64encode(text.encode()).decode()
    host.check_output(f"echo {encoded} | base64 -d > {shlex.quote(path)}")


def assert_seen(loader: str, actual: dict[str, str], environ=None):
    predicted = seen_by(ENV_FILE, loader, environ=environ)
    assert set(predicted) <= MENTIONED, sorted(set(predicted) - MENTIONED)
    got = mentioned(actual)
    assert sorted(set(predicted) - set(got)) == [], f"{loader}: predicted but missing in the process"
    assert sorted(set(got) - set(predicted)) == [], f"{loader}: in the process but not predicted"
    assert got == predicted


def test_every_loader_accepts_the_file():
    # compose v2 refuses a file with a parse error; this one must reach every process
    for loader in ("systemd", "compose-v1", "compose-v2"):
        seen_by(ENV_FILE, loader, environ=COMPOSE_ENV)


def test_systemd_environment_file_gives_the_process_what_seen_by_predicts(probes):
    host = probes.ssh(SYSTEMD_HOST)
    host.run(f"systemctl stop {UNIT}; systemctl reset-failed {UNIT}")
    put(host, "/tmp/loader-test.env", ENV_FILE)
    try:
        host.check_output(f"systemd-run --unit={UNIT} -p EnvironmentFile=/tmp/loader-test.env sleep 600")
        pid = "0"
        for _ in range(50):
            pid = host.check_output(f"systemctl show -p MainPID --value {UNIT}")
            if pid not in ("", "0"):
                break
            time.sleep(0.2)
        assert pid not in ("", "0"), f"{UNIT} has no main process"
        raw = base64.b64decode(host.check_output(f"base64 -w0 /proc/{pid}/environ"))
        # systemd-run passes no environment of ours to the unit: a key without "=" has nothing to inherit
        assert_seen("systemd", environ_of(raw))
    finally:
        host.run(f"systemctl stop {UNIT}; systemctl reset-failed {UNIT}; rm -f /tmp/loader-test.env")


def compose_project(probes) -> tuple[str, str]:
    """The compose file of a one-service project in vision-1's network namespace, from the image its
    worker runs, labelled as sandbox-provision labels the worker (so the sandbox's down removes it)."""
    host_container = probes.state.host(COMPOSE_HOST).container
    image = probes.compose_container(COMPOSE_HOST, "worker").attrs["Config"]["Image"]
    project = re.sub(r"[^a-z0-9]", "", host_container.lower()) + "loadertest"
    compose_file = (
        'version: "2.4"\n'
        "services:\n"
        "  probe:\n"
        f"    image: {image}\n"
        '    command: ["sleep", "600"]\n'
        "    env_file: loader-test.env\n"
        f'    network_mode: "container:{host_container}"\n'
        "    labels:\n"
        f'      {LABEL}.host: "{host_container}"\n'
    )
    return project, compose_file


def run_compose(probes, compose: str) -> dict[str, str]:
    """Bring the probe service up with ``compose`` (``docker-compose`` or ``docker compose``) under
    COMPOSE_ENV, and return its main process's environment; always brought down again."""
    host = probes.ssh(COMPOSE_HOST)
    project, compose_file = compose_project(probes)
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in COMPOSE_ENV.items())
    run = f"cd {PROJECT_DIR} && env -i {env} {compose} -p {project}"
    host.run(f"{run} down 2>/dev/null; rm -rf {PROJECT_DIR}")
    host.check_output(f"mkdir -p {PROJECT_DIR}")
    put(host, f"{PROJECT_DIR}/docker-compose.yml", compose_file)
    put(host, f"{PROJECT_DIR}/loader-test.env", ENV_FILE)
    try:
        host.check_output(f"{run} up -d 2>&1")
        found = probes.docker.containers.list(filters={"label": [f"com.docker.compose.project={project}",
                                                                 "com.docker.compose.service=probe"]})
        assert len(found) == 1, f"expected one probe container of {project}, found {len(found)}"
        result = found[0].exec_run(["cat", "/proc/1/environ"])
        assert result.exit_code == 0, result.output
        return environ_of(result.output)
    finally:
        host.run(f"{run} down 2>&1; rm -rf {PROJECT_DIR}")


def test_compose_v1_env_file_gives_the_process_what_seen_by_predicts(probes):
    assert probes.ssh(COMPOSE_HOST).run("docker-compose version --short").stdout.startswith("1."), \
        "vision-1 should run Debian's docker-compose v1"
    assert_seen("compose-v1", run_compose(probes, "docker-compose"), environ=COMPOSE_ENV)


def test_compose_v2_env_file_gives_the_process_what_seen_by_predicts(probes):
    version = probes.ssh(COMPOSE_HOST).run("docker compose version")
    if version.rc != 0:
        pytest.skip(f"{COMPOSE_HOST} has no `docker compose` v2 (Debian bookworm ships only docker-compose v1): "
                    f"{(version.stderr or version.stdout).strip()}")
    assert_seen("compose-v2", run_compose(probes, "docker compose"), environ=COMPOSE_ENV)
