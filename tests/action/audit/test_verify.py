"""The verification vote (issue 14): before a substantive finding blocks, fresh read-only sessions
confirm or refute it, through the real bundled CLI against the fake model."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, Turn, structured

from action.config import ConfigError, parse_config
from tests.action.support import assert_no_secrets, audit, make_checkouts, system_text

FINDING = {
    "classification": "substantive",
    "kind": "contradiction",
    "path": "docs/ci.md",
    "start_line": 2,
    "claim": "The guide makes a regex the merge gate, which the canon forbids.",
    "evidence": [{"quote": "a regex decides", "source": "docs/ci.md"}],
}


def refute(reason: str = "The canon allows scripts as pre-flight hints.") -> Turn:
    return structured({"verdict": "refute", "reason": reason})


def confirm() -> Turn:
    return structured({"verdict": "confirm", "reason": "The canon says the gate is a session."})


def voting(tmp_path: Path, votes: int = 3) -> tuple[Path, Path]:
    base, head = make_checkouts(tmp_path)
    for root in (base, head):
        config = root / ".github/canon-gate.yml"
        config.write_text(config.read_text() + f"verify:\n  votes: {votes}\n")
    return base, head


async def test_two_refutes_of_three_stop_a_finding_blocking_and_the_votes_are_kept(
    tmp_path: Path,
) -> None:
    script = [structured({"findings": [FINDING]}), refute(), refute(), confirm()]
    async with FakeAnthropic(script) as fake:
        report = await audit(voting(tmp_path), fake)
        verifier = system_text(fake, 1)
    assert report.evaluated
    [found] = report.findings
    assert found.verification is not None
    assert sorted(v.verdict for v in found.verification.votes) == ["confirm", "refute", "refute"]
    assert found.refuted
    assert not found.blocks
    assert report.status == "pass"
    vote = report.verification
    assert vote is not None
    assert (vote.votes, vote.verified, vote.unverified, vote.sessions) == (3, 1, 0, 3)
    # Each verifier got the finding as data, in a block only its own nonce closes.
    assert "The guide makes a regex the merge gate" in verifier
    assert "<untrusted-" in verifier
    assert "You are a verifier for canon-gate" in verifier
    assert_no_secrets(fake, report)


async def test_a_verifier_that_fails_counts_as_confirm(tmp_path: Path) -> None:
    # One refute, one confirm, and a verifier the model endpoint refuses (400, sticky).
    script = [structured({"findings": [FINDING]}), refute(), confirm(), Turn(status=400)]
    async with FakeAnthropic(script) as fake:
        report = await audit(voting(tmp_path), fake)
    [found] = report.findings
    assert found.verification is not None
    assert sum(v.failed for v in found.verification.votes) == 1
    assert [v.verdict for v in found.verification.votes if v.failed] == ["confirm"]
    assert not found.refuted
    assert report.status == "fail"


async def test_no_vote_without_the_config(tmp_path: Path) -> None:
    script = [structured({"findings": [FINDING]})]
    async with FakeAnthropic(script) as fake:
        report = await audit(make_checkouts(tmp_path), fake)
        assert len(fake.message_requests) == 1
    assert report.verification is None
    assert report.findings[0].verification is None
    assert report.status == "fail"


def test_the_vote_must_fit_the_job_with_the_session() -> None:
    with pytest.raises(ConfigError, match="the job allows 1500 s"):
        parse_config("limits:\n  wall_time_seconds: 1400\nverify:\n  votes: 3\n")
    # An even number of votes could tie.
    with pytest.raises(ConfigError, match=r"`verify\.votes`"):
        parse_config("verify:\n  votes: 2\n")
