"""Benchmark the session harness outside the model: a script, not a test.

Figures for a fixture repo with 20 canon documents and a 500-line diff, against the fake model:
process start to first model request, report writing, peak RSS of runner + CLI, and the bytes of
the first model request split into the static prefix and the per-PR part.

    .venv/bin/python bench/session.py
"""

# ruff: noqa: E402  (the clock starts before the imports it measures)
from __future__ import annotations

import time

STARTED = time.monotonic()  # before the heavy imports: "process start"

import asyncio
import json
import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from action.audit.inputs import AuditInputs
from action.audit.runner import run_audit
from action.entrypoint import write_outputs
from action.session.harness import SdkHarness
from tests.fakes.anthropic import FakeAnthropic, structured


def fixture(root: Path) -> tuple[Path, Path]:
    base, head = root / "ws", root / "ws/.canon-gate/head"
    for tree in (base, head):
        for i in range(20):
            path = tree / f"canon/doc{i:02d}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            body = "\n".join(f"Rule {i}.{n}: documents MUST cite canon {n}." for n in range(60))
            path.write_text(
                f"---\nuri: bench://canon/doc{i:02d}\ntitle: Doc {i}\nstatus: active\n"
                f"tags: [bench]\n---\n{body}\n"
            )
    foundation = "canon:\n  foundation: [bench://canon/doc00, bench://canon/doc01]\n"
    (base / ".github").mkdir(parents=True)
    (base / ".github/canon-gate.yml").write_text(foundation)
    (base / "src").mkdir()
    (head / "src").mkdir()
    (base / "src/app.py").write_text("".join(f"x{n} = {n}\n" for n in range(250)))
    (head / "src/app.py").write_text("".join(f"y{n} = {n} * 2\n" for n in range(250)))
    return base, head


def peak_children_rss() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


async def main() -> None:
    first_request: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        base, head = fixture(Path(tmp))
        async with FakeAnthropic([structured({"findings": []})]) as fake:
            fake.on_request = lambda: first_request.append(time.monotonic())
            env = {
                "PATH": os.environ["PATH"],
                "CLAUDE_CODE_OAUTH_TOKEN": "oat-bench-token-0123456789",
                "ANTHROPIC_BASE_URL": fake.url,
            }
            t0 = time.monotonic()
            report = await run_audit(AuditInputs(base, head, pr=1), env, SdkHarness())
            t1 = time.monotonic()
            write_outputs(report, {"CANON_GATE_REPORT": str(Path(tmp) / "report.json")})
            t2 = time.monotonic()
            body = fake.message_requests[0].body
    system = body["system"]
    texts = [b["text"] for b in system]
    ours = texts[-1]
    marker = ours.index("\nThis run: pull request")
    figures = {
        "report_error": report.error,
        "process_start_to_first_request_s": round(first_request[0] - STARTED, 3),
        "audit_start_to_first_request_s": round(first_request[0] - t0, 3),
        "audit_total_s": round(t1 - t0, 3),
        "report_write_ms": round((t2 - t1) * 1000, 2),
        "peak_rss_runner_mib": round(peak_children_rss()[0], 1),
        "peak_rss_cli_mib": round(peak_children_rss()[1], 1),
        "first_request_bytes": len(fake.message_requests[0].raw.encode()),
        "system_static_prefix_bytes": len(("".join(texts[:-1]) + ours[:marker]).encode()),
        "system_per_pr_bytes": len(ours[marker:].encode()),
        "tools_bytes": len(json.dumps(body.get("tools", [])).encode()),
        "messages_bytes": len(json.dumps(body.get("messages", [])).encode()),
    }
    for key, value in figures.items():
        print(f"{key:36} {value}")


if __name__ == "__main__":
    asyncio.run(main())
