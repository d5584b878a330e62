"""The read guard: reads stay inside the checkouts, through links too, and no other tool runs."""

from __future__ import annotations

from pathlib import Path

from action.session.guard import ReadGuard
from tests.action.support import make_checkouts


def test_guard_confines_reads(tmp_path: Path) -> None:
    base, head = make_checkouts(tmp_path)
    (head / "link").symlink_to("/etc/hostname")
    guard = ReadGuard([base, head], base, frozenset({"mcp__canon_gate__pr_diff"}))
    assert guard.decide("Read", {"file_path": "docs/ci.md"}) is None
    assert guard.decide("Read", {"file_path": str(head / "docs/ci.md")}) is None
    assert guard.decide("Grep", {"pattern": "x"}) is None
    assert guard.decide("mcp__canon_gate__pr_diff", {}) is None
    assert guard.decide("Read", {"file_path": "/proc/self/environ"})
    assert guard.decide("Read", {"file_path": "~/.ssh/id_rsa"})
    assert guard.decide("Read", {"file_path": "../../x"})
    assert guard.decide("Read", {"file_path": str(head / "link")})
    assert guard.decide("Read", {"file_path": ".git/config"})
    assert guard.decide("Glob", {"pattern": "/etc/*"})
    assert guard.decide("Bash", {"command": "id"})
    assert guard.decide("mcp__other__tool", {})
