"""The ``python -m rollbook`` command line.

Every failure ends with one line on stderr naming the cause and exit code 1::

    python -m rollbook sandbox up [--host NAME=ROLE ...] [--reset]
    python -m rollbook sandbox status
    python -m rollbook sandbox down
    python -m rollbook demo
"""

import argparse
import sys

from docker.errors import DockerException

from .sandbox import SandboxError


def _host_pair(text: str) -> tuple[str, str]:
    name, sep, role = text.partition("=")
    if not sep or not name or not role:
        raise argparse.ArgumentTypeError(f"expected NAME=ROLE, got {text!r}")
    return name, role


def _sandbox(args) -> int:
    from .sandbox import hosts

    if args.action == "up":
        state = hosts.up(dict(args.host) if args.host else None, reset=args.reset)
        for line in hosts.status():
            print(line)
        print(f"{len(state.hosts)} host(s) up; inventory: inventories/sandbox.py")
    elif args.action == "down":
        hosts.down()
    else:
        for line in hosts.status():
            print(line)
    return 0


def _demo(args) -> int:
    from .demo import main as demo

    return demo()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m rollbook", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="local container hosts for demos and tests")
    sandbox.add_argument("action", choices=("up", "down", "status"))
    sandbox.add_argument("--host", action="append", type=_host_pair, metavar="NAME=ROLE",
                         help="hosts to bring up (default: one host per role)")
    sandbox.add_argument("--reset", action="store_true", help="recreate the hosts from their images")
    sandbox.set_defaults(run=_sandbox)
    demo = commands.add_parser("demo", help="a real vision rollback on the sandbox (make demo)")
    demo.set_defaults(run=_demo)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SandboxError as error:
        print(f"rollbook: {error}", file=sys.stderr)
        return 1
    except DockerException as error:
        print(f"rollbook: docker engine: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
