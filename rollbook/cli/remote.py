"""Read files from every host of an inventory, over the inventory's own SSH settings (strict host keys)
and connector arguments (production reads the 0600 history through ``sudo``, as the runs wrote it).

Used by the commands that read what runs left on hosts (history, incident, locks)::

    for name, (ok, text) in read_everywhere("inventories/prod.py", "/var/lib/rollbook/history.jsonl").items(): ...
"""

from pathlib import Path

from pyinfra.api import Config, State
from pyinfra.api.connect import connect_all, disconnect_all
from pyinfra.context import ctx_config, ctx_inventory, ctx_state
from pyinfra_cli.inventory import make_inventory

from ..host.shell import q
from ..pipeline.record import connector_arguments
from ..core.paths import checkout

REPO = checkout()


def load_inventory(path: str):
    """The pyinfra inventory of ``path`` with its group data (no connection is made)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no inventory file {path}")
    with ctx_state.use(State()):
        return make_inventory(path, cwd=str(REPO), override_data={})


def read_everywhere(inventory_path: str, path: str, hosts: list[str] | None = None) -> dict[str, tuple[bool, str]]:
    """``{host: (ok, content or error)}`` for ``path`` on each host (all, or those named)."""
    return run_everywhere(inventory_path, f"cat {q(path)} 2>/dev/null || true", hosts)


def locks_everywhere(inventory_path: str, state_dir: str) -> dict[str, tuple[bool, str]]:
    """``{host: (ok, lines)}``: ``<system> <lock JSON>`` per lock a host holds now."""
    return run_everywhere(inventory_path, f"cd {q(state_dir + '/locks')} 2>/dev/null && for f in *.lock; do "
                          '[ -f "$f" ] && printf \'%s %s\\n\' "${f%.lock}" "$(cat "$f")"; done; true')


def run_everywhere(inventory_path: str, command: str, hosts: list[str] | None = None) -> dict[str, tuple[bool, str]]:
    """``{host: (ok, stdout or error)}`` of a read-only ``command`` on each host (all, or those named)."""
    inventory = load_inventory(inventory_path)
    config = Config()
    state = State()
    chosen = [host for host in inventory if not hosts or host.name in hosts]
    state.init(inventory, config, initial_limit=chosen)
    results = {}
    with ctx_state.use(state), ctx_inventory.use(inventory), ctx_config.use(config):
        try:
            connect_all(state)
        except Exception:  # pyinfra raises when no host at all connected; each host is reported below
            pass
        for host in chosen:
            if host not in state.activated_hosts:
                results[host.name] = (False, "could not connect")
                continue
            ok, output = host.run_shell_command(command, **connector_arguments(host))  # sudo, as the runs wrote it
            results[host.name] = (ok, output.stdout if ok else output.stderr)
        disconnect_all(state)
    return results
