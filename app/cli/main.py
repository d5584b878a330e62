"""The `canon-gate` command: one subcommand per job, each importing only its own plane."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

# Each subcommand module exposes `add_arguments(parser)` and `run(args) -> int`. Modules are
# imported lazily so a runner with only the `action` extra can still run `canon-gate audit`.
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("app.cli.serve", "run the GitHub App (setup mode when it has no credentials)"),
    "audit": ("action.cli", "audit a local checkout with a spawned session"),
    "init": (
        "app.cli.init_repo",
        "write the audit workflow and a starter config into a repo",
    ),
    "receive": ("app.cli.receive", "sign a saved webhook payload and POST it to a running App"),
}


def _load(module_name: str) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]:
    import importlib

    module = importlib.import_module(module_name)
    return module.add_arguments, module.run


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="canon-gate", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = argv[0] if argv and argv[0] in _SUBCOMMANDS else None
    for name, (module_name, summary) in _SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=summary)
        if name == chosen:
            add_arguments, _ = _load(module_name)
            add_arguments(sub)
    args = parser.parse_args(argv)
    _, run = _load(_SUBCOMMANDS[args.command][0])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
