"""A console with its own settings, users and history in a temporary folder (no host is reached: the
rules tested here refuse before pyinfra runs, and plans are put in its history directly)."""

import pytest

from rollbook.console.config import ConsoleConfig
from rollbook.console.service import Console
from rollbook.console.users import hashed

PASSWORDS = {"vera": ("viewer", "v"), "olga": ("operator", "o"), "anna": ("approver", "a"),
             "alex": ("approver", "x"), "adam": ("admin", "d")}


def console_config(folder, **extra) -> ConsoleConfig:
    users = folder / "users"
    users.write_text("".join(f"{name} {role} {hashed(password)}\n" for name, (role, password) in PASSWORDS.items()))
    users.chmod(0o600)
    return ConsoleConfig.model_validate({
        "users": str(users), "state": str(folder / "state"),
        "environments": {"sandbox": {"inventory": "inventories/sandbox.py", "self_service": True},
                         "prod": {"inventory": "inventories/sandbox_prod.py"}}, **extra})


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    return Console(console_config(tmp_path_factory.mktemp("console")))


def a_plan(console, requester="olga", environment="prod") -> dict:
    """A plan as the console keeps it after a --dry run."""
    document = {"environment": environment, "deploy": "deploys/vision_rollback.py", "hosts": ["vision-1"],
                "data": {"vision_waves": "tokens"}, "digest": "sha256:" + "0" * 64, "code": None,
                "plan": {"vision-1": {"vision": {"units": {"tokens": "rolled_back"}, "steps": [], "changes": []}}}}
    return console.store.add_plan(requester=requester, system="vision", action="rollback", environment=environment,
                                  hosts=["vision-1"], data={"vision_waves": "tokens"}, document=document)
