"""The example of docs/adding-a-system.md registers itself by its package alone: built from the page
into a copy of the checkout, the registry, the data reference and validation find it there (the e2e
test converges a sandbox host with it)."""

import json
import subprocess
import sys

from tests.example_system import blocks, built, environment

CHECK = """
import json
from rollbook.core.loader import HostSettings
from rollbook.core.preflight import PreflightError
from rollbook.systems import SYSTEMS
try:
    HostSettings.validated({"search_systemd_unit": "search-api; reboot"})
    refused = ""
except PreflightError as error:
    refused = str(error)
print(json.dumps({"group": SYSTEMS["search"].group, "systems": list(SYSTEMS), "refused": refused,
                  "default": HostSettings.validated({}).search_env_file}))
"""


def test_the_page_names_every_file_of_a_system_once():
    paths = [path for kind, path, _ in blocks() if kind == "file"]
    assert len(paths) == len(set(paths))
    assert {"settings.py", "request.py", "facts.py", "steps.py", "deploy.py", "__init__.py"} <= {
        path.rsplit("/", 1)[-1] for path in paths if path.startswith("rollbook/systems/search/")}


def test_the_example_is_found_by_the_registry_the_reference_and_validation(tmp_path):
    checkout = built(tmp_path / "checkout")
    found = subprocess.run([sys.executable, "-c", CHECK], cwd=checkout, env=environment(checkout),
                           capture_output=True, text=True, check=True)
    seen = json.loads(found.stdout)
    assert seen["group"] == "search_api" and "search" in seen["systems"]
    assert seen["default"] == "/opt/search/.env"
    assert "search_systemd_unit" in seen["refused"], seen["refused"]
    schema = subprocess.run([sys.executable, "-m", "rollbook", "schema", "--json"], cwd=checkout,
                            env=environment(checkout), capture_output=True, text=True, check=True)
    assert "search_health_timeout" in schema.stdout
