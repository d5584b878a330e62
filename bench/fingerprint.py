"""Measure how stable finding ids are across the rewordings a model produces between pushes.

A fixture workspace (canon documents at the base, hard-wrapped prose in the PR head) and a set of
findings quoting it, as a model would write them. Each perturbation rewrites every finding the way
a later push's session might; the share of ids that stay the same is measured through the real
path (`action.audit.findings.to_finding`, which verifies the evidence and calls
`action.report.fingerprint`). "merged" counts distinct findings that share an id.

    .venv/bin/python bench/fingerprint.py [--findings N] [--seed S]
"""

from __future__ import annotations

import argparse
import copy
import random
import shlex
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from action.audit.evidence import Sources
from action.audit.findings import RawFinding, to_finding
from action.canon.checkout import Checkout
from action.canon.model import load_canon

SUBJECTS = [
    "the merge gate",
    "a pre-flight hint",
    "the audit session",
    "every canon document",
    "the ledger branch",
    "a maintainer",
    "the check run",
    "the workflow",
    "a fork PR",
    "the supersession chain",
    "the foundation canon",
    "a waiver comment",
]
VERBS = [
    "must not depend on",
    "is decided by",
    "records",
    "waits for",
    "is superseded by",
    "never executes",
    "quotes",
    "is fetched from",
    "may only read",
    "reports",
]
OBJECTS = [
    "a regex over the diff",
    "the canon in force at the base branch",
    "the PR head as data",
    "the findings report",
    "a spawned agent session",
    "the maintainer's go-ahead",
    "the runner's own token",
    "every verdict and waiver",
    "the documents it governs",
    "a stable fingerprint",
    "the structured result",
    "the job summary",
]
KINDS = ["drift", "contradiction", "broken_reference", "missing_canon", "other"]
RENAMED = "docs/renamed/"


WRAP = 88


def prose(rng: random.Random, sentences: int) -> list[str]:
    """Markdown prose, hard-wrapped (quotes cross line ends) or, with WRAP=0, one paragraph
    per line, as in repositories that never wrap."""
    text = " ".join(
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        f"{rng.choice(['', ' when the PR changes canon', ' before merge', ', as the canon says'])}."
        for _ in range(sentences)
    )
    return textwrap.wrap(text, WRAP) if WRAP else [text]


def fixture(rng: random.Random) -> tuple[dict[str, str], dict[str, str]]:
    """Return the base files (canon) and the PR head files (docs under review)."""
    canon = {}
    for n in range(6):
        lines = ["---", f"uri: bench://canon/doc-{n}", f"title: Doc {n}", "status: active", "---"]
        canon[f"canon/doc-{n}.md"] = "\n".join([*lines, f"# Doc {n}", *prose(rng, 12)]) + "\n"
    head = {
        f"docs/page-{n}.md": "\n".join([f"# Page {n}", *prose(rng, 14)]) + "\n" for n in range(4)
    }
    return canon, head


def span(rng: random.Random, text: str, skip: int) -> tuple[list[str], int]:
    """Pick 6-10 consecutive words of the prose (after `skip` header lines); return them and
    their start in the word stream."""
    words = " ".join(text.splitlines()[skip:]).split()
    size = rng.randint(6, 10)
    start = rng.randrange(2, len(words) - size - 2)
    return words[start : start + size], start


def _line_of(text: str, word: int) -> int:
    """The 1-based line of the page that holds word number `word` of its prose (after the title)."""
    seen = 0
    for number, line in enumerate(text.splitlines()[1:], start=2):
        seen += len(line.split())
        if word < seen:
            return number
    raise ValueError(word)


def findings(rng: random.Random, canon: dict[str, str], head: dict[str, str], n: int) -> list[Any]:
    """Findings as a model writes them; each keeps its word streams for the perturbations."""
    out = []
    used: set[tuple[str, int]] = set()
    while len(out) < n:
        path = rng.choice(sorted(head))
        words, start = span(rng, head[path], 1)
        if (path, start) in used:
            continue
        used.add((path, start))
        cpath = rng.choice(sorted(canon))
        cwords, _ = span(rng, canon[cpath], 6)
        uris = sorted({f"bench://canon/{Path(p).stem}" for p in (cpath, rng.choice(sorted(canon)))})
        line = _line_of(head[path], start)
        raw = {
            "classification": rng.choice(["substantive", "cosmetic"]),
            "kind": rng.choice(KINDS),
            "path": path,
            "start_line": line,
            "claim": f"The page departs from {uris[0]}.",
            "evidence": [
                {"quote": " ".join(words), "source": path},
                {"quote": " ".join(cwords), "source": f"bench://canon/{Path(cpath).stem}"},
            ],
            "canon": uris,
        }
        stream = " ".join(head[path].splitlines()[1:]).split()
        out.append((raw, stream, start, len(words)))
    return out


Perturb = Callable[[dict[str, Any], list[str], int, int], dict[str, Any]]


def _set_quote(raw: dict[str, Any], text: str) -> dict[str, Any]:
    raw["evidence"][0]["quote"] = text
    return raw


def _far_quote(stream: list[str], at: int) -> dict[str, Any]:
    """Six words from the other end of the page than the finding's quote: another line (when the
    page is wrapped) that a PR could have planted for an earlier finding."""
    words = stream[:6] if at > len(stream) // 2 else stream[-6:]
    return {"quote": " ".join(words), "source": ""}


def _add_quote(raw: dict[str, Any], stream: list[str], at: int, first: bool) -> dict[str, Any]:
    extra = {**_far_quote(stream, at), "source": raw["path"]}
    raw["evidence"] = [extra, *raw["evidence"]] if first else [*raw["evidence"], extra]
    return raw


PERTURBATIONS: dict[str, Perturb] = {
    "unchanged": lambda r, s, a, n: r,
    "claim reworded": lambda r, s, a, n: {**r, "claim": "Reworded: " + r["claim"][::-1]},
    "quote re-wrapped": lambda r, s, a, n: _set_quote(
        r, " ".join(s[a : a + n // 2]) + "\n" + " ".join(s[a + n // 2 : a + n])
    ),
    "quote re-cased": lambda r, s, a, n: _set_quote(r, r["evidence"][0]["quote"].upper()),
    "quote extra whitespace": lambda r, s, a, n: _set_quote(r, "  " + "   ".join(s[a : a + n])),
    "quote with diff markers": lambda r, s, a, n: _set_quote(r, "+" + " ".join(s[a : a + n])),
    "quote trimmed at the end": lambda r, s, a, n: _set_quote(r, " ".join(s[a : a + n - 2])),
    "quote trimmed at the start": lambda r, s, a, n: _set_quote(r, " ".join(s[a + 2 : a + n])),
    "quote extended at the end": lambda r, s, a, n: _set_quote(r, " ".join(s[a : a + n + 2])),
    "quote extended at the start": lambda r, s, a, n: _set_quote(r, " ".join(s[a - 2 : a + n])),
    "evidence order swapped": lambda r, s, a, n: {**r, "evidence": r["evidence"][::-1]},
    "canon reordered + duplicate": lambda r, s, a, n: {
        **r,
        "canon": [*r["canon"][::-1], r["canon"][0]],
    },
    "canon cited by path": lambda r, s, a, n: {
        **r,
        "canon": [u.replace("bench://", "") + ".md" for u in r["canon"]],
    },
    "path as ./path": lambda r, s, a, n: {**r, "path": "./" + r["path"]},
    "quote of another line added": lambda r, s, a, n: _add_quote(r, s, a, first=False),
    "quote of another line added first": lambda r, s, a, n: _add_quote(r, s, a, first=True),
}
# These two change the PR head itself, not only the model's wording.
SHIFTED = "lines shifted (3 lines added above)"
RENAME = "path renamed"


def build(
    root: Path, canon: dict[str, str], head: dict[str, str], shift: bool, rename: bool
) -> Sources:
    base, head_dir = root / "base", root / "head"
    for rel, text in canon.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
    for rel, text in head.items():
        if shift:
            lines = text.splitlines(keepends=True)
            text = lines[0] + "\n<!-- added -->\n\n" + "".join(lines[1:])
        target = head_dir / (rel.replace("docs/", RENAMED) if rename else rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return Sources(load_canon(Checkout(base), ["canon"]), base, head_dir, "b" * 40, "h" * 40)


def ids(sources: Sources, raws: list[dict[str, Any]]) -> list[str]:
    return [to_finding(RawFinding.model_validate(r), sources).id for r in raws]


def verified(sources: Sources, raws: list[dict[str, Any]]) -> float:
    found = [to_finding(RawFinding.model_validate(r), sources) for r in raws]
    quotes = [e.verified for f in found for e in f.evidence]
    return sum(quotes) / len(quotes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--unwrapped", action="store_true", help="one paragraph per line")
    args = parser.parse_args(argv)
    global WRAP
    WRAP = 0 if args.unwrapped else WRAP
    rng = random.Random(args.seed)
    canon, head = fixture(rng)
    cases = findings(rng, canon, head, args.findings)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        plain = build(Path(tmp, "plain"), canon, head, shift=False, rename=False)
        before = ids(plain, [c[0] for c in cases])
        merged = len(before) - len(set(before))
        share = verified(plain, [c[0] for c in cases])
        # The hard case for merging: every finding of one kind citing the same canon.
        alike = [{**c[0], "kind": "drift", "canon": [c[0]["canon"][0]]} for c in cases]
        same = ids(plain, alike)
        merged_alike = len(same) - len(set(same))
        for name, perturb in PERTURBATIONS.items():
            after = ids(plain, [perturb(copy.deepcopy(r), s, a, n) for r, s, a, n in cases])
            rows.append((name, sum(x == y for x, y in zip(before, after, strict=True))))
        shifted = build(Path(tmp, "shift"), canon, head, shift=True, rename=False)
        raws = [{**copy.deepcopy(r), "start_line": r["start_line"] + 3} for r, *_ in cases]
        rows.append((SHIFTED, sum(x == y for x, y in zip(before, ids(shifted, raws), strict=True))))
        renamed = build(Path(tmp, "rename"), canon, head, shift=False, rename=True)
        raws = []
        for r, *_ in cases:
            moved = copy.deepcopy(r)
            moved["path"] = r["path"].replace("docs/", RENAMED)
            moved["evidence"][0]["source"] = moved["path"]
            raws.append(moved)
        rows.append((RENAME, sum(x == y for x, y in zip(before, ids(renamed, raws), strict=True))))
    total = len(cases)
    print("$ " + shlex.join([".venv/bin/python", "bench/fingerprint.py", *sys.argv[1:]]))
    print(
        f"{total} findings over {len(head)} PR files and {len(canon)} canon documents; "
        f"quotes verified: {100 * share:.0f}%"
    )
    print(
        f"distinct findings sharing an id: {merged}; "
        f"if all had one kind and one canon URI: {merged_alike}"
    )
    width = max(len(n) for n, _ in rows)
    print(f"| {'perturbation':<{width}} | same id |")
    print(f"|{'-' * (width + 2)}|---------|")
    for name, same in rows:
        print(f"| {name:<{width}} | {100 * same / total:6.1f}% |")


if __name__ == "__main__":
    main()
