"""PR comment commands through the front door: what a reader sees, fork approval, who may waive.

Signed `issue_comment` webhooks are POSTed to the App, which answers against the fake GitHub.
"""

from __future__ import annotations

import pytest
from appkit import Gate, finding

from tests.app.flows.test_governance import audit, comment, replies


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<!--\n/canon-gate rerun\n-->", id="HTML comment"),
        pytest.param("Context:\n\n    /canon-gate rerun\n", id="indented code"),
        pytest.param("```sh\nmake\n~~~\n/canon-gate rerun\n", id="mismatched fence"),
    ],
)
async def test_a_command_hidden_from_readers_does_nothing(gate: Gate, body: str) -> None:
    pull = gate.repo.open_pull(60, {"docs/guide.md": "x\n"})
    await audit(gate, pull, [finding()])
    runs = len(gate.repo.runs)
    assert await comment(gate, pull, body) == 200
    assert len(gate.repo.runs) == runs  # no audit was started
    assert len(gate.check_runs()) == 1
    assert replies(gate, 60) == []
