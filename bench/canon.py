"""Benchmark large canons: a script, not a test.

For canons of 100, 1,000 and 10,000 documents (default; or the sizes given), each in a fresh
process, against the fake model, with a pull request that changes 5 files by 200 lines:

- canon loading and indexing: parse every document, resolve every link, the supersession graph
  and its problems, and the full-text index; then the structural check of every document;
- the system prompt's size in tokens (estimated as characters / 4);
- the time from the audit's start (and from the process's start) to the first model request;
- whether the audit completes;
- the static prefix's share of the first request: the tools and the system prompt up to the
  per-PR part, which are the same for every PR on the same canon (so cacheable);
- with --cli, how long `canon-gate audit` takes to lay the base and head trees out on disk.

    .venv/bin/python bench/canon.py [--cli] [N ...]
"""

# ruff: noqa: E402  (the clock starts before the imports it measures)
from __future__ import annotations

import time

STARTED = time.monotonic()

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

AREAS = ("decisions", "constraints", "principles", "methods", "policies", "glossary")
STATUSES = ("active",) * 6 + ("proposed", "draft", "deprecated")
WORDS = re.findall(
    r"\w+",
    "relay delivery tenant shard budget latency tier queue retry backoff metadata transit audit "
    "gate canon session evidence finding waiver ledger verdict review release lock hash schema "
    "contract config token secret runner workflow dispatch check annotation summary journal "
    "decision learning risk owner incident pager rotation retention archive index search prompt "
    "cache model cost subscription substrate sandbox isolation boundary",
)


def document(rng: random.Random, i: int, n: int) -> tuple[str, str]:
    """One canon document in the conventions real canon uses; its path and text."""
    area = AREAS[i % len(AREAS)]
    stem = f"D{i:05d}-" + "-".join(rng.sample(WORDS, 3))
    links = []
    for _ in range(rng.randint(1, 3)):
        j = rng.randrange(n)
        links.append(
            f"ams://canon/{AREAS[j % len(AREAS)]}/D{j:05d} (the {rng.choice(WORDS)}, "
            f"and the {rng.choice(WORDS)})"
        )
    links.append("journal/2026-05-03-day3.tsv (Decision row, Learning row)")
    links.append(f"klappy://canon/methods/{rng.choice(WORDS)} (upstream)")
    status = STATUSES[i % len(STATUSES)]
    extra = ""
    if i % 50 == 1:  # a supersession chain: this document is superseded by the next one
        status = "superseded"
        extra = f"superseded_by: ams://canon/{AREAS[(i + 1) % len(AREAS)]}/D{i + 1:05d}\n"
    if i % 50 == 2:
        extra = f"supersedes: ams://canon/{AREAS[(i - 1) % len(AREAS)]}/D{i - 1:05d}\n"
    body = "\n\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))).capitalize() + "."
        for _ in range(rng.randint(6, 14))
    )
    text = (
        f'---\nuri: ams://canon/{area}/D{i:05d}\ntitle: "{stem.replace("-", " ").title()}"\n'
        f"tier: {i % 4}\nstatus: {status}\ntags: [{area}, {rng.choice(WORDS)}]\n"
        f'date: 2026-0{1 + i % 9}-1{i % 10}\n{extra}derives_from: "{", ".join(links)}"\n'
        f"---\n\n# {stem}\n\n{body}\n"
    )
    return f"canon/{area}/D{i:05d}.md", text


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def repository(n: int) -> dict[str, str]:
    """A repository with `n` canon documents, some code, and the config."""
    rng = random.Random(n)
    files = dict(document(rng, i, n) for i in range(n))
    files["journal/2026-05-03-day3.tsv"] = "kind\ttext\nDecision\tThree tiers.\n"
    files[".github/canon-gate.yml"] = (
        "canon:\n  paths: [canon]\n  foundation: [ams://canon/decisions/D00000]\n"
        "limits:\n  max_turns: 8\n"
    )
    for k in range(40):
        files[f"src/relay/module{k:02d}.py"] = "".join(
            f"def handler_{k}_{m}(message):\n    return message\n\n" for m in range(40)
        )
    return files


def pull_request(files: dict[str, str]) -> dict[str, str]:
    """The head: 5 files changed, 200 lines in all (40 lines rewritten in each)."""
    head = dict(files)
    for k in range(5):
        rel = f"src/relay/module{k:02d}.py"
        lines = head[rel].splitlines(keepends=True)
        lines[:40] = [f"RETRY_BUDGET_{k}_{m} = {m} * 2  # relay retry budget\n" for m in range(40)]
        head[rel] = "".join(lines)
    return head


def measure_load(base: Path) -> dict[str, float]:
    from action.canon.checkout import Checkout
    from action.canon.index import CanonIndex
    from action.canon.model import load_canon
    from action.canon.structure import check_structure
    from action.config import Config

    t0 = time.monotonic()
    canon = load_canon(Checkout(base, skip=[base / ".canon-gate"]), ["canon"])
    t1 = time.monotonic()
    problems = canon.chain_problems()
    t2 = time.monotonic()
    CanonIndex(canon)
    t3 = time.monotonic()
    # The structural check of every document at once (what `canon-gate structure` does).
    docs = {doc.path: doc for doc in canon.docs}
    found = check_structure(docs, docs, Config(), files=canon.files)
    t4 = time.monotonic()
    return {
        "documents": len(canon.docs),
        "parse_and_resolve_s": round(t1 - t0, 3),
        "chain_problems_s": round(t2 - t1, 3),
        "chain_problems": len(problems),
        "fts_index_s": round(t3 - t2, 3),
        "load_and_index_s": round(t3 - t0, 3),
        "structure_all_s": round(t4 - t3, 3),
        "structure_problems": len(found),
    }


async def measure_audit(base: Path, head: Path) -> dict[str, object]:
    from fakes.anthropic import FakeAnthropic, ToolCall, Turn, structured

    from action.audit.inputs import AuditInputs
    from action.audit.runner import run_audit
    from action.session.harness import SdkHarness

    first: list[float] = []
    script = [
        Turn(tool_calls=[ToolCall("mcp__canon_gate__canon_search", {"query": "relay retry"})]),
        structured({"findings": []}),
    ]
    async with FakeAnthropic(script) as fake:
        fake.on_request = lambda: first.append(time.monotonic())
        env = {
            "PATH": os.environ["PATH"],
            "CLAUDE_CODE_OAUTH_TOKEN": "oat-bench-token-0123456789",
            "ANTHROPIC_BASE_URL": fake.url,
        }
        t0 = time.monotonic()
        inputs = AuditInputs(base, head, pr=1, hints_in_process=True)
        report = await run_audit(inputs, env, SdkHarness())
        t1 = time.monotonic()
        request = fake.message_requests[0] if fake.message_requests else None
    if request is None:
        return {"report_error": report.error, "audit_total_s": round(t1 - t0, 3)}
    texts = [b["text"] for b in request.body["system"]]
    ours = texts[-1]
    marker = ours.index("\nThis run: pull request")
    static = len(json.dumps(request.body.get("tools", []))) + len("".join(texts[:-1])) + marker
    return {
        "report_error": report.error,
        "audit_completed": report.error is None,
        "audit_start_to_first_request_s": round(first[0] - t0, 3),
        "process_start_to_first_request_s": round(first[0] - STARTED, 3),
        "audit_total_s": round(t1 - t0, 3),
        "system_prompt_tokens": len(ours) // 4,
        "system_static_tokens": marker // 4,
        "first_request_chars": len(request.raw),
        "static_share_of_first_request": round(static / len(request.raw), 3),
    }


def make_repository(files: dict[str, str], head_files: dict[str, str], repo: Path) -> str:
    """A git repository at the base, with the pull request's edits in its working tree."""
    write(repo, files)
    git = ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    write(repo, {k: v for k, v in head_files.items() if files.get(k) != v})
    done = subprocess.run([*git, "rev-parse", "main"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def measure_cli(repo: Path, sha: str) -> dict[str, float]:
    """How long `canon-gate audit` takes to lay out the trees it audits (no session)."""
    from action import cli

    t0 = time.monotonic()
    with cli.trees(repo, sha, sha, worktree=True) as laid_out:
        t1 = time.monotonic()
        assert (laid_out.base_dir / ".github/canon-gate.yml").is_file()
    return {"cli_trees_s": round(t1 - t0, 3)}


def child(argv: list[str]) -> dict[str, object]:
    """Run one measurement in a fresh process: its clock started at its own start."""
    done = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv}: failed\n{done.stderr[-3000:]}")
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def one(n: int, with_cli: bool) -> dict[str, object]:
    """Write the fixture, then measure it in fresh processes."""
    files = repository(n)
    head_files = pull_request(files)
    figures: dict[str, object] = {"n": n}
    with tempfile.TemporaryDirectory(prefix="canon-bench-") as tmp:
        base = Path(tmp) / "ws"
        write(base, files)
        write(base / ".canon-gate" / "head", head_files)
        figures.update(child(["--measure", str(base)]))
        if with_cli:
            sha = make_repository(files, head_files, Path(tmp) / "repo")
            figures.update(child(["--trees", str(Path(tmp) / "repo"), sha]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1_000, 10_000])
    parser.add_argument("--cli", action="store_true", help="also time the local CLI's trees")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--trees", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        base = Path(args.measure)
        found: dict[str, object] = dict(measure_load(base))
        found.update(asyncio.run(measure_audit(base, base / ".canon-gate" / "head")))
        print(json.dumps(found))
        return
    if args.trees:
        print(json.dumps(measure_cli(Path(args.trees[0]), args.trees[1])))
        return
    rows = [one(n, args.cli) for n in args.sizes]
    for key in rows[0]:
        print(f"{key:36}" + "".join(f"{r.get(key)!s:>14}" for r in rows))


if __name__ == "__main__":
    main()
