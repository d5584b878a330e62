"""The contract both planes share: config errors naming key and line, stable ids, the schema."""

from __future__ import annotations

import pytest

from action.config import ConfigError, parse_config
from action.report import SCHEMA_PATH, Kind, fingerprint, render_schema

NEW = "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"


def test_config_error_names_key_and_line() -> None:
    with pytest.raises(ConfigError, match=r"line 4: `limits.max_turns`"):
        parse_config("canon:\n  paths: [canon]\nlimits:\n  max_turns: lots\n")


def test_fingerprint_ignores_wording_and_lines() -> None:
    a = fingerprint("docs/ci.md", Kind.DRIFT, [NEW], "The gate is  a regex")
    assert a == fingerprint("docs/ci.md", Kind.DRIFT, [NEW, NEW], "the gate is a regex")
    assert a != fingerprint("docs/ci.md", Kind.CONTRADICTION, [NEW], "the gate is a regex")


def test_report_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text() == render_schema()
