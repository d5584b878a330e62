"""The report artifact through the front door: large zips arrive whole, odd ones are refused.

A signed pull_request opens the audit, the fake GitHub serves the run's artifact (302 to a blob),
and the signed workflow_run.completed makes the App download and judge it.
"""

from __future__ import annotations

import io
import os
import random
import string
import zipfile
from typing import Any

import pytest
from appkit import Gate, finding, report_for

from action.report import Classification, Kind, Report
from app.judge.artifact import MAX_ARTIFACT_BYTES
from app.ledger.store import BRANCH


def deflated(entries: dict[str, bytes]) -> bytes:
    """Zip entries as actions/upload-artifact does (deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def noisy_report(run: Any, size: int) -> Report:
    """A passing report of cosmetic findings whose evidence is `size` bytes of random text."""
    rng = random.Random(size)
    alphabet = string.ascii_letters + string.digits + " .,"
    per = 64 * 1024
    findings = [
        finding(
            classification=Classification.COSMETIC,
            kind=Kind.OTHER,
            anchor="".join(rng.choices(alphabet, k=per)),
            line=i + 1,
        )
        for i in range(max(1, size // per))
    ]
    return report_for(run, findings=findings)


@pytest.mark.parametrize("size", [1024 * 1024, 3 * 1024 * 1024])
async def test_a_large_report_arrives_whole_and_is_judged(gate: Gate, size: int) -> None:
    # This pins the download; what the ledger does with a report this large is its own matter.
    gate.repo.commit("main", {".github/canon-gate.yml": "ledger: false\n"}, "ledger off")
    pull = gate.repo.open_pull(30, {"docs/guide.md": "# Guide\nA regex gates merges.\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", opened) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    report = noisy_report(run, size)
    blob = deflated({"report.json": report.model_dump_json().encode()})
    assert len(blob) > size * 3 // 4  # random text: the zip stays large
    done = gate.fake.complete_run(gate.repo, run.id, "success", blob)
    assert await gate.deliver("workflow_run", done) == 200
    check = gate.repo.check_runs[check.id]
    assert check.conclusion == "success", check.output
    assert len(check.annotations) == len(report.findings)


async def test_a_download_longer_than_the_limit_is_refused_whole(gate: Gate) -> None:
    pull = gate.repo.open_pull(31, {"docs/guide.md": "# Guide\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", opened) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", b"PK" + os.urandom(MAX_ARTIFACT_BYTES)
    )
    # The listing claims a small artifact; the download says otherwise.
    gate.repo.runs[run.id].artifacts[0].listed_size = 1024
    assert await gate.deliver("workflow_run", done) == 200
    check = gate.repo.check_runs[check.id]
    assert check.conclusion == "failure"
    assert "Not evaluated" in check.output["title"]
    assert f"is over {MAX_ARTIFACT_BYTES} bytes" in check.output["summary"]


async def judged(gate: Gate, number: int, entries: Any) -> Any:
    """Open a PR, finish its run with a zip of `entries` (a callable of the run), judge it."""
    pull = gate.repo.open_pull(number, {"docs/guide.md": "# Guide\nA regex gates merges.\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", opened) == 200
    [check] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    [run] = gate.runs_for(check.id)
    good = report_for(run).model_dump_json().encode()
    done = gate.fake.complete_run(gate.repo, run.id, "success", deflated(entries(good)))
    assert await gate.deliver("workflow_run", done) == 200
    return gate.repo.check_runs[check.id]


async def test_a_zip_holding_only_report_json_at_its_root_judges(gate: Gate) -> None:
    check = await judged(gate, 40, lambda good: {"report.json": good})
    assert check.conclusion == "success"


@pytest.mark.parametrize(
    ("number", "entries"),
    [
        (41, lambda good: {"report.json": good, "notes.txt": b"planted beside the report"}),
        (42, lambda good: {"out/report.json": good}),
        (43, lambda good: {"old-report.json": good}),
        (44, lambda good: {"./report.json": good}),
        (45, lambda good: {"report.json/": b""}),
        (46, lambda good: {}),
    ],
)
async def test_a_zip_that_is_not_exactly_report_json_is_not_evaluated(
    gate: Gate, number: int, entries: Any
) -> None:
    check = await judged(gate, number, entries)
    assert check.conclusion == "failure"
    assert check.output["title"].startswith("Not evaluated: the artifact must hold exactly")


async def test_two_entries_named_report_json_are_not_evaluated(gate: Gate) -> None:
    def twice(good: bytes) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("report.json", good)
            with pytest.warns(UserWarning, match="Duplicate name"):
                archive.writestr("report.json", b'{"schema_version": 2, "findings": []}')
        return buffer.getvalue()

    pull = gate.repo.open_pull(47, {"docs/guide.md": "# Guide\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", opened) == 200
    [check] = [c for c in gate.check_runs() if c.head_sha == pull.head_sha]
    [run] = gate.runs_for(check.id)
    blob = twice(report_for(run).model_dump_json().encode())
    done = gate.fake.complete_run(gate.repo, run.id, "success", blob)
    assert await gate.deliver("workflow_run", done) == 200
    check = gate.repo.check_runs[check.id]
    assert check.conclusion == "failure"
    assert check.output["title"].startswith("Not evaluated: the artifact must hold exactly")


async def test_a_large_report_is_judged_and_recorded_with_the_ledger_on(gate: Gate) -> None:
    """A record holds its whole report: megabytes go up as a blob, never inline in a tree."""
    pull = gate.repo.open_pull(33, {"docs/guide.md": "# Guide\n"})
    opened = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", opened) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    report = noisy_report(run, 2 * 1024 * 1024)
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", deflated({"report.json": report.model_dump_json().encode()})
    )
    assert await gate.deliver("workflow_run", done) == 200
    check = gate.repo.check_runs[check.id]
    assert check.conclusion == "success", check.output
    ledger = gate.repo.store.files_at(gate.repo.head(BRANCH))
    [record] = [p for p in ledger if p.startswith("prs/33/audits/")]
    assert len(ledger[record]) > 2 * 1024 * 1024
    assert gate.fake.calls_to("POST", "/repos/{owner}/{repo}/git/blobs")
