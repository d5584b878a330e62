"""Measure the ledger's growth: its size after N audits, and what a default `git clone` fetches.

Builds a real git repository: a `main` branch (a small handbook with canon) and, beside it, the
`canon-gate/ledger` branch as the App writes it: one commit per record, each adding one sealed
record (`app.ledger.records` + `app.ledger.trust.seal_record`, the App's layout, names and commit
messages) on top of the previous tree, with the branch's README. Reports are realistic: full run
figures, 0-8 findings with claims, evidence quotes and suggested fixes, some not evaluated, and
waivers. Then it measures `git count-objects -vH` after `git gc`, and the pack a `git clone
--no-local` receives with the ledger branch, without it (`--single-branch`), and with the ledger
under `refs/canon-gate/ledger` instead, which a default clone does not fetch. `--compact` writes
records without indentation (the seal does not depend on formatting).

    .venv/bin/python bench/ledger.py [--audits 1000] [--prs 100] [--waivers 60] [--compact]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from action.report import (
    AuthMode,
    Classification,
    Evidence,
    Finding,
    Kind,
    Location,
    Report,
    RunInfo,
    SuggestedFix,
    Usage,
    fingerprint,
)
from app.ledger.records import (
    README,
    README_PATH,
    Record,
    Waiver,
    audit_record,
    commit_message,
    record_path,
    waiver_record,
)
from app.ledger.seal import Seal
from app.ledger.trust import seal_record

REPO = "octo-org/handbook"
BRANCH = "canon-gate/ledger"
HIDDEN_REF = "refs/canon-gate/ledger"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_VOCABULARY = (
    "the gate session canon document waiver finding ledger branch audit merge review base head "
    "maintainer workflow check run verdict governance policy contract section rule guide "
    "release process owner approval record evidence quote source claim supersedes status"
)
WORDS = _VOCABULARY.split()
CANON = [
    f"klappy://canon/{area}/{n:02d}" for area in ("constraints", "decisions") for n in range(20)
]


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def hexsha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def finding(rng: random.Random, pr: int) -> Finding:
    path = f"docs/{rng.choice(['guide', 'process', 'release', 'policy'])}-{pr % 7}.md"
    kind = rng.choice(list(Kind))
    canon = rng.sample(CANON, rng.randint(1, 2))
    quotes = [sentence(rng, 6, 18) for _ in range(rng.randint(1, 3))]
    line = rng.randint(1, 400)
    fix = rng.random() < 0.8
    return Finding(
        id=fingerprint(path, kind, canon, quotes[0]),
        classification=rng.choice([Classification.SUBSTANTIVE, Classification.COSMETIC]),
        kind=kind,
        location=Location(path=path, start_line=line, end_line=line + rng.randint(0, 6)),
        claim=" ".join(sentence(rng, 10, 25) for _ in range(rng.randint(1, 3))),
        evidence=[
            Evidence(
                quote=q,
                source=rng.choice([*canon, path]),
                line=rng.randint(1, 300),
                commit=hexsha(rng),
                verified=rng.random() < 0.9,
            )
            for q in quotes
        ],
        canon=canon,
        suggested_fix=SuggestedFix(
            description=sentence(rng, 8, 20),
            replacement=sentence(rng, 5, 30) if rng.random() < 0.5 else None,
        )
        if fix
        else None,
    )


def report(rng: random.Random, pr: int, head: str, check_run_id: int) -> Report:
    evaluated = rng.random() < 0.9
    run = RunInfo(
        repo=REPO,
        pr=pr,
        head_sha=head,
        base_sha=hexsha(rng),
        merge_base_sha=hexsha(rng),
        check_run_id=check_run_id,
        workflow_run_id=20_000_000_000 + check_run_id,
        model="claude-sonnet-4-5",
        claude_code_version="2.1.332",
        prompt_hash=f"sha256:{rng.getrandbits(256):064x}",
        canon_ref="main",
        canon_sha=hexsha(rng),
        governance_key=f"gk1-{rng.getrandbits(256):064x}",
        duration_ms=rng.randint(60_000, 600_000),
        turns=rng.randint(4, 40),
        usage=Usage(
            input_tokens=rng.randint(20_000, 400_000),
            output_tokens=rng.randint(2_000, 30_000),
            cache_creation_input_tokens=rng.randint(0, 80_000),
            cache_read_input_tokens=rng.randint(0, 900_000),
        ),
        cost_usd=round(rng.uniform(0.05, 3.0), 4),
        auth_mode=AuthMode.SUBSCRIPTION,
    )
    if not evaluated:
        return Report(run=run, error="the session hit the wall-clock limit (900 s)")
    count = min(8, int(rng.expovariate(1 / 3)))
    return Report(run=run, findings=[finding(rng, pr) for _ in range(count)])


def records(audits: int, prs: int, waivers: int, seed: int) -> Iterator[Record]:
    """The ledger's records in the order the App writes them, a few minutes apart."""
    rng = random.Random(seed)
    at = T0
    waive_at = set(rng.sample(range(audits), min(waivers, audits)))
    for n in range(audits):
        pr = rng.randint(1, prs)
        head = hexsha(rng)
        audited = report(rng, pr, head, 30_000_000_000 + n)
        at += timedelta(minutes=rng.randint(2, 40))
        substantive = [f.id for f in audited.findings if f.substantive]
        yield audit_record(
            audited,
            repo=REPO,
            conclusion="failure" if substantive or not audited.evaluated else "success",
            blocking=substantive,
            cosmetic=sum(1 for f in audited.findings if not f.substantive),
            governance_key=audited.run.governance_key,
            at=at,
        )
        if n in waive_at and audited.findings:
            waived = rng.choice(audited.findings)
            at += timedelta(minutes=rng.randint(1, 30))
            waiver = Waiver(waived.id, sentence(rng, 6, 30), "maintainer", at, pr, head)
            yield waiver_record(waiver, repo=REPO, finding=waived, conclusion="success")


def render(record: Record, seal: Seal, *, compact: bool) -> str:
    text = seal_record(record, seal)
    if not compact:
        return text
    packed = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False) + "\n"
    if not seal.verifies(json.loads(packed)):  # the seal is over the data, not its formatting
        raise SystemExit("a compact record no longer verifies")
    return packed


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import(git_dir: Path, stream: bytes) -> None:
    subprocess.run(["git", "-C", str(git_dir), "fast-import", "--quiet"], input=stream, check=True)


def main_branch(rng: random.Random, files: int, commits: int) -> bytes:
    """A small handbook: canon documents and guides, in a few commits."""
    out = bytearray()
    when = int((T0 - timedelta(days=90)).timestamp())
    for c in range(commits):
        out += b"commit refs/heads/main\n"
        out += b"committer Maintainer <m@example.com> %d +0000\n" % (when + c * 3600)
        out += _data(f"Handbook update {c}".encode())
        for f in range(c, files, commits):
            body = "\n\n".join(sentence(rng, 12, 40) for _ in range(rng.randint(8, 30)))
            folder = "canon" if f % 4 == 0 else "docs"
            text = f"---\nuri: klappy://{folder}/{f}\ntitle: {sentence(rng, 3, 6)}\n---\n{body}\n"
            out += b"M 100644 inline %s/doc-%03d.md\n" % (folder.encode(), f)
            out += _data(text.encode())
        out += b"\n"
    return bytes(out)


def ledger_branch(
    stream: Iterator[Record], seal: Seal, *, compact: bool
) -> tuple[bytes, list[int]]:
    """The ledger as the App writes it: an orphan branch, one commit per record."""
    out = bytearray()
    sizes = []
    for n, record in enumerate(stream):
        text = render(record, seal, compact=compact).encode()
        sizes.append(len(text))
        when = int(record.recorded_at.timestamp())
        out += b"commit refs/heads/%s\n" % BRANCH.encode()
        out += b"committer canon-gate[bot] <bot@users.noreply.github.com> %d +0000\n" % when
        out += _data(commit_message(record).encode())
        if n == 0:
            out += b"M 100644 inline %s\n" % README_PATH.encode()
            out += _data(README.encode())
        out += b"M 100644 inline %s\n" % record_path(record).encode()
        out += _data(text)
        out += b"\n"
    return bytes(out), sizes


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def count_objects(git_dir: Path) -> dict[str, str]:
    lines = git("--git-dir", str(git_dir), "count-objects", "-vH").splitlines()
    return dict(line.split(": ", 1) for line in lines)


def to_bytes(size: str) -> float:
    number, _, unit = size.partition(" ")
    scale = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}.get(unit or "bytes", 1)
    return float(number) * scale


def tree_json(ls_tree: list[str]) -> int:
    """The size of GitHub's answer to GET git/trees/{sha}?recursive=1 for these entries."""
    api = f"https://api.github.com/repos/{REPO}/git"
    entries = []
    for line in ls_tree:
        meta, path = line.split("\t", 1)
        mode, kind, sha, size = meta.split()
        entries.append(
            {
                "path": path,
                "mode": mode,
                "type": kind,
                "sha": sha,
                "size": int(size),
                "url": f"{api}/blobs/{sha}",
            }
        )
    body = {"sha": "0" * 40, "url": f"{api}/trees/{'0' * 40}", "tree": entries, "truncated": False}
    return len(json.dumps(body))


def clone(source: Path, target: Path, *extra: str) -> dict[str, str]:
    git("clone", "--quiet", "--bare", "--no-local", *extra, f"file://{source}", str(target))
    return count_objects(target)


def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    seal = Seal("bench")
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        root = Path(tmp)
        origin = root / "origin.git"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(origin))
        fast_import(origin, main_branch(rng, args.files, 20))
        stream = records(args.audits, args.prs, args.waivers, args.seed)
        ledger, sizes = ledger_branch(stream, seal, compact=args.compact)
        fast_import(origin, ledger)
        git("--git-dir", str(origin), "gc", "--quiet", "--prune=now")
        whole = count_objects(origin)
        tree = git("--git-dir", str(origin), "ls-tree", "-r", "-l", BRANCH).splitlines()
        commits = int(git("--git-dir", str(origin), "rev-list", "--count", BRANCH))
        default = clone(origin, root / "default.git")
        single = clone(origin, root / "single.git", "--single-branch", "--branch", "main")
        # The same ledger under a ref outside refs/heads: a default clone leaves it behind.
        git("--git-dir", str(origin), "update-ref", HIDDEN_REF, BRANCH)
        git("--git-dir", str(origin), "update-ref", "-d", f"refs/heads/{BRANCH}")
        hidden = clone(origin, root / "hidden.git")

    audits = sum(1 for line in tree if "/audits/" in line)
    waivers = len(tree) - audits - 1
    print(f"ledger: {audits} audits, {waivers} waivers, {commits} commits, {len(tree)} files")
    mean = sum(sizes) / len(sizes)
    print(
        f"record: mean {mean / 1024:.1f} KiB, largest {max(sizes) / 1024:.1f} KiB "
        f"({'compact' if args.compact else 'indented'} JSON); "
        f"raw total {sum(sizes) / 1024**2:.1f} MiB"
    )
    print(f"origin after git gc: {whole['in-pack']} objects, size-pack {whole['size-pack']}")
    print(
        f"git clone (default: every branch): {default['in-pack']} objects, {default['size-pack']}"
    )
    print(f"git clone --single-branch main:     {single['in-pack']} objects, {single['size-pack']}")
    print(f"git clone, ledger at {HIDDEN_REF}: {hidden['in-pack']} objects, {hidden['size-pack']}")
    share = to_bytes(default["size-pack"]) - to_bytes(single["size-pack"])
    print(f"  the ledger adds {share / 1024**2:.2f} MiB to every default clone")
    # What the history read used to list on every completion, before it listed one PR's folder.
    whole_tree = tree_json(tree) / 1024
    print(f"the ledger's whole recursive tree, as the API answers it: {whole_tree:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits", type=int, default=1000)
    parser.add_argument("--prs", type=int, default=100)
    parser.add_argument("--waivers", type=int, default=60)
    parser.add_argument("--files", type=int, default=300, help="files on main")
    parser.add_argument("--compact", action="store_true", help="records without indentation")
    parser.add_argument("--seed", type=int, default=0)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
