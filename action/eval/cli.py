"""`canon-gate eval CORPUS`: run the real audit over a corpus of cases and score its judgment.

Exit status: 0 when it ran, 1 when `--fail-under` is given and the substantive F1 is below it
(or cannot be measured), 2 on a usage error (argparse's, or a corpus that does not load), 3 when
nothing was evaluated (no credential, so nothing ran; or every run fell short).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from action.eval.corpus import CorpusError, load_corpus
from action.eval.render import table
from action.eval.results import EvalResult
from action.eval.run import run_corpus
from action.eval.score import Run, score
from action.report import AuthMode
from action.session.environment import auth_mode
from action.session.harness import SdkHarness

SCORES_FILENAME = "eval.json"


def _samples(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("between 1 and 100")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "corpus",
        type=Path,
        metavar="CORPUS",
        help="a folder of cases (CASE/case.yml, base/, head/)",
    )
    parser.add_argument(
        "--samples",
        type=_samples,
        default=1,
        metavar="N",
        help="run each case N times (default: 1)",
    )
    parser.add_argument(
        "--gate", metavar="NAME", help="the configured gate to run (default: the only one)"
    )
    parser.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="keep every report, and the scores, in DIR"
    )
    parser.add_argument(
        "--fail-under",
        type=_fraction,
        metavar="F1",
        help="exit 1 when the substantive F1 is below this (0 to 1)",
    )


def _progress(run: Run, done: int, total: int) -> None:
    report = run.report
    outcome = (
        f"{len(report.findings)} finding(s), {report.run.turns} turns, "
        f"{report.run.duration_ms / 1000:.1f}s"
        if report.evaluated
        else f"not evaluated: {report.error}"
    )
    sys.stderr.write(f"[{done}/{total}] {run.case.name} #{run.sample}: {outcome}\n")


def run(args: argparse.Namespace) -> int:
    try:
        cases = load_corpus(args.corpus)
    except CorpusError as exc:
        sys.stderr.write(f"canon-gate eval: {exc}\n")
        return 2
    env = dict(os.environ)
    # The runner's own rule, asked before anything is staged: without a credential no session
    # could start, and a score over sessions that never ran would be a lie.
    if auth_mode(env) is AuthMode.NONE:
        sys.stderr.write(
            "canon-gate eval: no model credential (CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY) "
            "in the environment: nothing was run, and there is no score\n"
        )
        return 3
    runs = asyncio.run(
        run_corpus(
            cases,
            samples=args.samples,
            env=env,
            harness=SdkHarness(),
            gate=args.gate,
            out=args.out,
            progress=_progress,
        )
    )
    result = score(str(args.corpus), cases, runs, args.samples, args.gate)
    text = result.model_dump_json(indent=2) + "\n"
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / SCORES_FILENAME).write_text(text, encoding="utf-8")
    sys.stdout.write(text if args.json else table(result) + "\n")
    status = exit_status(result, args.fail_under)
    if status == 1:
        measured = "cannot be measured" if result.f1 is None else f"is {result.f1:.2f}"
        sys.stderr.write(
            f"canon-gate eval: the substantive F1 {measured}, under --fail-under "
            f"{args.fail_under:.2f}\n"
        )
    return status


def exit_status(result: EvalResult, fail_under: float | None) -> int:
    """Decide the exit status of a run that ran: 3 when nothing was evaluated, 1 under the bar."""
    if result.evaluated == 0:
        return 3
    if fail_under is not None and (result.f1 is None or result.f1 < fail_under):
        return 1
    return 0
