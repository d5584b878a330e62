"""canon-gate: a merge gate for GitHub pull requests. A Claude Code session checks
each change against the repository's own governance documents (its canon), and
the verdict is a check run that branch protection can require.

Start here:
  canon-gate serve    run the GitHub App, then open the setup page it names
  canon-gate init     add the audit workflow to a repository (in a checkout of it)
  canon-gate audit    see on your machine what the gate would say about a branch
Each command explains itself: canon-gate COMMAND --help
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    module: str
    summary: str
    # Modules the subcommand needs, and the extra that installs them.
    needs: tuple[str, ...] = ()
    extra: str | None = None


_APP = ("aiohttp", "gidgethub", "jwt", "pydantic_settings", "prometheus_client", "stamina")
# Each module exposes `add_arguments(parser)` and `run(args) -> int`; it is imported only when
# chosen, so a runner with only the action's dependencies can still run `canon-gate audit`.
SUBCOMMANDS: dict[str, Subcommand] = {
    "serve": Subcommand(
        "app.cli.serve", "run the GitHub App: a setup page until it is registered", _APP, "app"
    ),
    "audit": Subcommand(
        "action.cli",
        "check this branch's change against the canon, as the gate would, on your machine",
        ("claude_agent_sdk",),
        "action",
    ),
    "eval": Subcommand(
        "action.eval.cli",
        "run the real audit over a corpus of cases and score its judgment",
        ("claude_agent_sdk",),
        "action",
    ),
    "structure": Subcommand(
        "action.structure_cli",
        "check canon frontmatter on this working tree, as the canon-gate/structure check does",
    ),
    "init": Subcommand(
        "app.cli.init_repo", "add canon-gate's workflow and a starter config to this repository"
    ),
    "receive": Subcommand(
        "app.cli.receive",
        "send a saved webhook payload to a running App, signed as GitHub would, and show why it "
        "acted, ignored or refused it",
        ("aiohttp",),
        "app",
    ),
}


def missing_extra(name: str) -> str | None:
    """Say how to install what a subcommand needs, when it is not installed."""
    sub = SUBCOMMANDS[name]
    absent = [m for m in sub.needs if importlib.util.find_spec(m) is None]
    if not absent or sub.extra is None:
        return None
    return (
        f"canon-gate {name} needs canon-gate's `{sub.extra}` dependencies ({', '.join(absent)} "
        f"missing). Install them with:\n  pip install 'canon-gate[{sub.extra}]'\n"
        "or, in a checkout of canon-gate, run ./scripts/serve once: it installs everything."
    )


def _load(module_name: str) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]:
    module = importlib.import_module(module_name)
    return module.add_arguments, module.run


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="canon-gate",
        description=__doc__,
        # The description is laid out by hand: keep its lines.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="store_true", help="print the version and the judge it pins"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    if chosen is not None and (problem := missing_extra(chosen)) is not None:
        print(problem, file=sys.stderr)
        return 2
    for name, sub in SUBCOMMANDS.items():
        parser_of = subparsers.add_parser(name, help=sub.summary, description=sub.summary)
        if name == chosen:
            add_arguments, _ = _load(sub.module)
            add_arguments(parser_of)
    args = parser.parse_args(argv)
    if args.version:
        from app.buildinfo import current

        print("\n".join(current().lines()))
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    _, run = _load(SUBCOMMANDS[args.command].module)
    return int(run(args))


if __name__ == "__main__":
    sys.exit(main())
