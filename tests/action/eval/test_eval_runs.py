"""`canon-gate eval` through the real runner, the real SDK and the real bundled CLI, with the fake
model scripted per case: the scores are exact, and nothing is scored that did not run."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
from fakes.anthropic import Turn

from action.eval.corpus import load_corpus
from action.eval.render import table
from action.eval.run import run_corpus
from action.eval.score import score
from action.report import Report
from action.session.harness import SdkHarness
from tests.action.eval.kit import DRIFT_FINDING, NOISE_FINDING, CorpusModel, found, make_corpus
from tests.action.support import OAUTH, parent_env, run_cli

pytestmark = pytest.mark.cli

# The installed command, as a user runs it (beside the interpreter running the tests).
CANON_GATE = str(Path(sys.executable).parent / "canon-gate")
KEYS = {
    "precision",
    "recall",
    "f1",
    "clean_blocking_rate",
    "evidence_verified_rate",
    "not_evaluated",
    "per_kind",
    "cases",
}


def cli_env(model: CorpusModel | None) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    if model is not None:
        env |= {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH, "ANTHROPIC_BASE_URL": model.url}
    return env


async def test_expected_findings_score_one(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", "clean", "drift")
    out = tmp_path / "out"
    scripts = {"drift": [found(DRIFT_FINDING)], "clean": [found()]}
    async with CorpusModel(scripts) as model:
        argv = [CANON_GATE, "eval", str(corpus), "--json", "--out", str(out), "--fail-under", "0.9"]
        status, output = await run_cli(argv, cli_env(model))
    assert status == 0, output
    result = json.loads(output[: output.rindex("}") + 1])
    assert set(result) >= KEYS
    assert (result["precision"], result["recall"], result["f1"]) == (1.0, 1.0, 1.0)
    assert result["per_kind"]["drift"]["f1"] == 1.0
    assert result["per_kind"]["drift"]["kind_agreement"] == 1.0
    assert result["clean_blocking_rate"] == 0.0
    assert result["evidence_verified_rate"] == 1.0
    assert result["not_evaluated"] == []
    cases = {c["name"]: c for c in result["cases"]}
    assert [m["expected"]["path"] for m in cases["drift"]["matches"]] == ["docs/client.md"]
    assert cases["drift"]["misses"] == cases["drift"]["extras"] == []
    assert cases["clean"]["clean"] is True
    assert all(run["turns"] >= 1 for c in cases.values() for run in c["runs"])
    # --out keeps every report, and the scores.
    for name in ("clean", "drift"):
        kept = Report.model_validate_json((out / name / "sample-1" / "report.json").read_text())
        assert kept.evaluated
        assert kept.run.governance_key
    assert json.loads((out / "eval.json").read_text())["f1"] == 1.0


async def test_nothing_found_is_recall_zero_and_fails_under(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", "drift")
    async with CorpusModel({"drift": [found()]}) as model:
        argv = [CANON_GATE, "eval", str(corpus), "--fail-under", "0.5"]
        status, output = await run_cli(argv, cli_env(model))
    assert status == 1, output
    assert "missed substantive drift at docs/client.md:3-3" in output
    assert "F1 is 0.00, under --fail-under 0.50" in output


async def test_without_credentials_nothing_runs(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", "drift")
    async with CorpusModel({"drift": [found(DRIFT_FINDING)]}) as model:
        env = cli_env(None) | {"ANTHROPIC_BASE_URL": model.url}
        proc = await asyncio.create_subprocess_exec(
            CANON_GATE, "eval", str(corpus), "--json", env=env, stdout=PIPE, stderr=PIPE
        )
        out, err = await proc.communicate()
    assert proc.returncode == 3
    assert out == b""  # no score, not even an empty one
    assert err.decode().startswith("canon-gate eval: no model credential")
    assert model.requests == []


async def test_noise_on_a_clean_control_and_a_run_not_evaluated(tmp_path: Path) -> None:
    cases = load_corpus(make_corpus(tmp_path / "corpus", "clean", "drift", "silent"))
    scripts = {
        "clean": [found(NOISE_FINDING)],
        "drift": [found(DRIFT_FINDING)],
        "silent": [[Turn(text="Looks fine to me.")]],
    }
    async with CorpusModel(scripts) as model:
        runs = await run_corpus(
            cases, samples=1, env=parent_env(model), harness=SdkHarness(), out=None
        )
    result = score("corpus", cases, runs, samples=1)
    assert result.evaluated == 2
    assert (result.clean_runs, result.clean_blocked, result.clean_blocking_rate) == (1, 1, 1.0)
    # The noise is an extra; the silent case's expected drift is neither a miss nor a hit.
    assert (result.substantive.matched, result.substantive.reported) == (1, 2)
    assert (result.precision, result.recall) == (0.5, 1.0)
    assert result.per_kind["missing_canon"].precision == 0.0
    assert [(n.case, n.error_kind) for n in result.not_evaluated] == [("silent", "session")]
    silent = next(c for c in result.cases if c.name == "silent")
    assert silent.matches == silent.misses == silent.extras == []
    # The noise quoted the head truthfully; the evidence rate counts every quote.
    assert (result.evidence_verified, result.evidence_quotes) == (3, 3)
    text = table(result)
    assert "blocking rate 1.00 (1 of 1 runs blocked)" in text
    assert "silent #1: session:" in text


async def test_samples_report_their_spread(tmp_path: Path) -> None:
    cases = load_corpus(make_corpus(tmp_path / "corpus", "drift"))
    # The model finds the drift in the first session and misses it in the second.
    async with CorpusModel({"drift": [found(DRIFT_FINDING), found()]}) as model:
        runs = await run_corpus(cases, samples=2, env=parent_env(model), harness=SdkHarness())
    result = score("corpus", cases, runs, samples=2)
    assert [r.sample for r in runs] == [1, 2]
    assert result.recall == 0.5
    assert result.spread is not None
    f1 = result.spread["f1"]
    assert (f1.min, f1.max, f1.mean) == (0.0, 1.0, 0.5)
    assert result.cases[0].stable is False
