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
