"""The example system of ``docs/adding-a-system.md``, built from the page by ``tests.example_system``,
converges a sandbox host: the control host runs the page's search API (a stand-in serving ``/health``,
as its runbook describes, under the systemd unit ``search-api`` reading ``/opt/search/.env``).
Checked over SSH, not through rollbook: the env file and the main process's environment in ``/proc``."""

import shlex
import subprocess

import pytest

from tests.example_system import built, environment

from .pyinfra_run import PYINFRA, converged_twice, finished

HOST = "control-1"
ENV = "/opt/search/.env"
UNIT = """[Unit]
Description=The search API of docs/adding-a-system.md (a stand-in: /health)
[Service]
EnvironmentFile=/opt/search/.env
WorkingDirectory=/opt/search/www
ExecStart=/usr/bin/python3 -m http.server 9000 --bind 127.0.0.1
"""


@pytest.fixture(scope="module")
def example(probes, tmp_path_factory):
    """The copy of the checkout with the page's system, and the stand-in API running on the host."""
    host = probes.ssh(HOST)
    host.check_output(
        "mkdir -p /opt/search/www && echo ok > /opt/search/www/health && "
        "printf 'SEARCH_LOG_LEVEL=info\\nSEARCH_RERANK_ENABLED=true\\n' > /opt/search/.env && "
        f"printf %s {shlex.quote(UNIT)} > /etc/systemd/system/search-api.service && "
        "systemctl daemon-reload && systemctl restart search-api")
    yield built(tmp_path_factory.mktemp("example") / "checkout")
    host.run("systemctl disable --now search-api; rm -rf /etc/systemd/system/search-api.service /opt/search; "
             "systemctl daemon-reload")


def deploy(checkout, name):
    done = subprocess.run([PYINFRA, "-y", "--json", "--limit", HOST, "inventories/sandbox.py",
                           f"deploys/search_{name}.py"], cwd=checkout, env=environment(checkout),
                          capture_output=True, text=True, timeout=600)
    return finished(done.returncode, done.stdout, done.stderr)


def test_the_page_s_system_rolls_back_and_enables_a_sandbox_host_idempotently(example, probes):
    first = converged_twice(deploy, example, "rollback")
    assert {name for name, _ in first.changed} == {
        "search | Set SEARCH_RERANK_ENABLED in /opt/search/.env",
        "search | Restart search-api so the process reads SEARCH_RERANK_ENABLED"}, first.changed
    assert probes.unit_env(HOST, "search-api")["SEARCH_RERANK_ENABLED"] == "false"
    assert probes.file_text(HOST, ENV) == "SEARCH_LOG_LEVEL=info\nSEARCH_RERANK_ENABLED=false\n"
    assert "verified: the process holds SEARCH_RERANK_ENABLED=false" in first.output

    converged_twice(deploy, example, "enable")
    assert probes.unit_env(HOST, "search-api")["SEARCH_RERANK_ENABLED"] == "true"
    assert probes.ssh(HOST).check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9000/health") == "200"
