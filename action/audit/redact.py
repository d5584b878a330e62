"""Redact credential values and common secret shapes from every text field of a report."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from action.report import Report

MASK = "[REDACTED]"
# Shapes of secrets that must never reach a public annotation, whoever's they are.
_SHAPES = [
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
    ),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"),
]
# Values shorter than this are not treated as secrets (they would mask ordinary words).
_MIN_SECRET = 8


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        for shape in _SHAPES:
            value = shape.sub(MASK, value)
        return value

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        return value

    def report(self, report: Report) -> Report:
        """Return the report with every string field redacted (ids and SHAs are not secrets)."""
        return Report.model_validate(self._walk(report.model_dump(mode="json")))


def secret_values(env: dict[str, str]) -> list[str]:
    """The credential values in an environment: anything named like a token, key or secret."""
    pattern = re.compile(r"TOKEN|SECRET|PASSWORD|API_KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
    return [v for k, v in env.items() if pattern.search(k) and v]
