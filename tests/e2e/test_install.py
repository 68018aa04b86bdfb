"""rollbook installs as a package: ``pip install .`` gives the ``rollbook`` command, and the runtime-only
lock (requirements-runtime.txt) runs ``rollbook history`` against real hosts without the docker SDK,
moto or matplotlib."""

import json
import shutil
import subprocess
import sys

import pytest

from .pyinfra_run import REPO


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run(pip + ["-r", str(REPO / "requirements-runtime.txt")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    source = venv.parent / "source"  # the package's own files only: the build never writes into the checkout
    shutil.copytree(REPO / "rollbook", source / "rollbook", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    done = subprocess.run(pip + ["--no-deps", str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return venv


def test_the_runtime_set_has_no_sandbox_test_or_bench_packages(runtime_venv):
    for module in ("docker", "moto", "matplotlib"):
        found = subprocess.run([str(runtime_venv / "bin" / "python"), "-c", f"import {module}"], capture_output=True)
        assert found.returncode != 0, f"{module} is in the runtime set"


def test_the_console_script_answers_help_version_and_usage_errors(runtime_venv):
    rollbook = str(runtime_venv / "bin" / "rollbook")
    shown = subprocess.run([rollbook, "--help"], capture_output=True, text=True, cwd=REPO)
    assert shown.returncode == 0 and "exit codes" in shown.stdout and "drift" in shown.stdout
    assert subprocess.run([rollbook, "--version"], capture_output=True, text=True).stdout.startswith("rollbook ")
    wrong = subprocess.run([rollbook, "drift"], capture_output=True, text=True, cwd=REPO)
    assert wrong.returncode == 64, wrong.stderr


def test_history_runs_from_the_runtime_set_against_the_sandbox(sandbox, runtime_venv):
    done = subprocess.run([str(runtime_venv / "bin" / "rollbook"), "history", "inventories/sandbox.py", "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), list)
