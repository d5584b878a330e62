"""A small corpus made in a test's tmp_path, and the fake model scripted per case.

`CorpusModel` answers each request with the script of the case whose head checkout the request's
system prompt names (eval stages every case under a folder of its name), so a corpus run is
scripted case by case, whatever the order, and each new session of a case takes its next script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from fakes.anthropic import FakeAnthropic, Recorded, Turn, structured

from tests.action.support import write_tree

RETRIES_URI = "ams://canon/policies/client-retries"
CONFIG = "limits:\n  max_turns: 6\n  wall_time_seconds: 30\n"

RETRIES = f"""\
---
uri: {RETRIES_URI}
title: Client Retries
status: active
tags: [policy, client]
---

# Client Retries

Clients retry a failed call at most 3 times, with exponential backoff.
"""

CLIENT = """\
# The HTTP client

The client retries a failed call 3 times, backing off exponentially.
Timeouts are 10 seconds.
"""

DRIFTED = CLIENT.replace("3 times, backing off exponentially", "10 times, without any backoff")

# The expected finding of the `drift` case, and the same finding as the model reports it.
DRIFT = {
    "path": "docs/client.md",
    "start_line": 3,
    "end_line": 3,
    "classification": "substantive",
    "kind": "drift",
}
DRIFT_FINDING = {
    **DRIFT,
    "claim": "The client now retries 10 times without backoff; canon allows 3, with backoff.",
    "evidence": [
        {"quote": "a failed call 10 times, without any backoff", "source": "docs/client.md"},
        {"quote": "at most 3 times, with exponential backoff", "source": RETRIES_URI},
    ],
    "canon": [RETRIES_URI],
}
# What a noisy model might say about a clean change: a blocking finding canon does not support.
NOISE_FINDING = {
    "path": "docs/client.md",
    "start_line": 4,
    "end_line": 4,
    "classification": "substantive",
    "kind": "missing_canon",
    "claim": "No canon governs timeouts.",
    "evidence": [{"quote": "Timeouts are 20 seconds.", "source": "docs/client.md"}],
    "canon": [],
}


def write_case(corpus: Path, name: str, head: dict[str, str], expect: list[dict[str, Any]]) -> None:
    base = {
        "canon/client-retries.md": RETRIES,
        "docs/client.md": CLIENT,
        ".github/canon-gate.yml": CONFIG,
    }
    write_tree(corpus / name / "base", base)
    write_tree(corpus / name / "head", {**base, **head})
    case = {"description": f"The {name} case.", "expect": expect, "tags": [name]}
    (corpus / name / "case.yml").write_text(yaml.safe_dump(case, sort_keys=False))


def make_corpus(root: Path, *names: str) -> Path:
    """A corpus of some of: `drift` (one planted drift), `clean` (a timeout raised: consistent
    with canon), `silent` (the model will answer in plain text: not evaluated)."""
    cases = {
        "drift": ({"docs/client.md": DRIFTED}, [DRIFT]),
        "clean": ({"docs/client.md": CLIENT.replace("10 seconds", "20 seconds")}, []),
        "silent": ({"docs/client.md": DRIFTED}, [DRIFT]),
    }
    for name in names:
        write_case(root, name, *cases[name])
    return root


def found(*findings: dict[str, Any]) -> list[Turn]:
    """One session's script: report these findings."""
    return [structured({"findings": list(findings), "summary": ""})]


class CorpusModel(FakeAnthropic):
    """The fake model, scripted per case: `scripts[case]` is one script per session, in order
    (the last one repeats)."""

    def __init__(self, scripts: dict[str, list[list[Turn]]]) -> None:
        super().__init__()
        self.scripts = scripts
        self.sessions: dict[str, int] = {}
        self._last: Recorded | None = None

    async def _record(self, request: web.Request) -> Recorded:
        self._last = await super()._record(request)
        return self._last

    def _case(self, body: dict[str, Any]) -> str | None:
        system = body.get("system")
        text = (
            "".join(b.get("text", "") for b in system) if isinstance(system, list) else str(system)
        )
        for name in self.scripts:
            if f"/{name}/head\n" in text:
                return name
        return None

    def _next_turn(self) -> Turn:
        body = self._last.body if self._last is not None else {}
        name = self._case(body)
        if name is None:
            return Turn(text="done.")
        done = sum(m.get("role") == "assistant" for m in body.get("messages", []))
        if done == 0:  # a session's first request
            self.sessions[name] = self.sessions.get(name, 0) + 1
        scripts = self.scripts[name]
        script = scripts[min(self.sessions.get(name, 1), len(scripts)) - 1]
        return script[done] if done < len(script) else Turn(text="done.")
