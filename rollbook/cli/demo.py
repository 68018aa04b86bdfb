"""``python -m rollbook demo``: a real vision rollback on the sandbox, and what it verified.

It enables vision first (so there is something to roll back), then runs the
operator's command and prints the verification lines; last, it installs the web
console on control-1 and prints its address and the sandbox users' file::

    pyinfra inventories/sandbox.py deploys/vision_rollback.py -y
"""

import subprocess
import sys
from pathlib import Path
from ..core.paths import checkout

REPO = checkout()
INVENTORY = "inventories/sandbox.py"


def _pyinfra(deploy: str, show: bool) -> tuple[int, list[str]]:
    cmd = [str(Path(sys.executable).with_name("pyinfra")), "-y", INVENTORY, deploy]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if show:
            print(line, end="")
    return proc.wait(), lines


def main() -> int:
    print("==> enabling vision first, so that there is something to roll back")
    code, lines = _pyinfra("deploys/vision_enable.py", show=False)
    if code:
        print("\n".join(lines[-20:]))
        return code
    print(f"==> pyinfra {INVENTORY} deploys/vision_rollback.py -y")
    code, lines = _pyinfra("deploys/vision_rollback.py", show=True)
    checks = [line.strip() for line in lines if "verified:" in line or "FAILED:" in line]
    print("\n==> what the run verified on each host:")
    print("\n".join(f"    {line}" for line in checks) or "    nothing (see the output above)")
    print("==> rollback " + ("verified" if code == 0 else f"FAILED (exit {code})"))
    if code:
        return code
    return _console()


def _console() -> int:
    """The console on control-1 (deploys/drift_timer.py, then deploys/console.py), and how to reach it."""
    from ..sandbox import SandboxError
    from ..sandbox.console import install_on_control, users_path

    print("==> the web console on control-1: deploys/drift_timer.py, then deploys/console.py")
    try:
        url = install_on_control(log=lambda line: print(f"    {line}"))
    except SandboxError as error:
        print(f"==> the console was not installed: {error}")
        return 1
    print(f"==> console: {url} (sign in with a user of {users_path()}: name role password, one per line)")
    return 0
