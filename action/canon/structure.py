"""The purely structural check of canon frontmatter, for the canon files a pull request changes.

Required fields, known `status` values, resolvable supersession and derivation links, no
supersession cycles, and YAML that parses at all. Every problem points at the exact line of the
key (or list item) at fault, so the App can annotate it. It never sets the session's verdict: its
problems travel in `Report.structure` and gate only as their own check run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from action.canon.checkout import Checkout, is_canon_path
from action.canon.document import CanonDoc, Link
from action.canon.links import Links, supersessions
from action.config import Config
from action.report import StructureProblem


def _problem(doc: CanonDoc, line: int, rule: str, message: str) -> StructureProblem:
    return StructureProblem(path=doc.path, line=max(line, 1), rule=rule, message=message)


def _check_fields(doc: CanonDoc, config: Config) -> list[StructureProblem]:
    problems = []
    for name in config.structure.required:
        value = doc.meta.get(name)
        if name not in doc.meta:
            problems.append(
                _problem(doc, 1, "required-field", f"The required field `{name}` is missing.")
            )
        elif value is None or (isinstance(value, str) and not value.strip()):
            problems.append(
                _problem(
                    doc, doc.lines[name], "required-field", f"The required field `{name}` is empty."
                )
            )
    if "status" in doc.meta and doc.meta["status"] is not None:
        status = doc.meta["status"]
        known = sorted(config.structure.known_statuses)
        if not isinstance(status, str) or status.strip() not in config.structure.known_statuses:
            problems.append(
                _problem(
                    doc,
                    doc.lines["status"],
                    "unknown-status",
                    f"`status: {status}` is not a known status; use one of {', '.join(known)}.",
                )
            )
    return problems


def _in_cycle(start: str, edges: Mapping[str, set[str]]) -> bool:
    """Tell whether `start` can reach itself by following supersession edges.

    The check's cycle rule: any path back to the document is a cycle, forks included (the
    audit's `Canon.chain_problems` follows only steps with one successor).
    """
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))
    return False


def check_structure(
    changed: Mapping[str, CanonDoc],
    base_canon: Mapping[str, CanonDoc],
    config: Config,
    *,
    deleted: Collection[str] = (),
) -> list[StructureProblem]:
    """Check the frontmatter of the changed canon files; return problems in path and line order.

    `changed` maps each canon path the PR adds or modifies to its document at the PR head;
    `base_canon` maps the base branch's canon paths to theirs; `deleted` lists canon paths the
    PR removes. Links resolve against the base canon with the PR's changes applied.
    """
    if not config.structure.enabled:
        return []
    checked = {path: doc for path, doc in changed.items() if is_canon_path(path, config)}
    union = {
        path: doc for path, doc in base_canon.items() if path not in checked and path not in deleted
    }
    union.update(checked)
    links = Links(union.values())
    edges: dict[str, set[str]] = {path: set() for path in union}

    def resolve(link: Link, doc: CanonDoc) -> CanonDoc | None:
        return links.resolve(link.target, doc.path)

    for newer, older in supersessions(union.values(), resolve):
        edges[newer.path].add(older.path)
    problems: list[StructureProblem] = []
    for path, doc in checked.items():
        problems += doc.problems
        if doc.problems and not doc.meta:
            continue  # Unparseable: its one problem says why, and there is nothing more to check.
        problems += _check_fields(doc, config)
        for link in doc.links:
            if links.resolve(link.target, path) is None:
                problems.append(
                    _problem(
                        doc,
                        link.line,
                        "dangling-link",
                        f"`{link.field}` names `{link.target}`, which is not a canon document "
                        "(by URI or path) on the base branch or in this PR.",
                    )
                )
        if _in_cycle(path, edges):
            field_line = min(
                (doc.lines[name] for name in ("supersedes", "superseded_by") if name in doc.lines),
                default=1,
            )
            problems.append(
                _problem(
                    doc,
                    field_line,
                    "supersession-cycle",
                    "The supersession chain through this document loops back to it, so no "
                    "document in the chain is in force.",
                )
            )
    return sorted(problems, key=lambda p: (p.path, p.line, p.rule))


def check_change(
    base: Checkout, head: Checkout, changes: Iterable[tuple[str, str]], config: Config
) -> list[StructureProblem] | None:
    """Run the check over a PR's change; None when it is off or the PR changes no canon.

    `changes` are the PR's own (path, status) pairs, status added, modified or deleted, taken
    from the merge-base; links resolve against the governing base checkout's canon.
    """
    if not config.structure.enabled:
        return None
    touched = [(p, s) for p, s in changes if is_canon_path(p, config)]
    if not touched:
        return None
    present = [p for p, s in touched if s != "deleted"]
    # A link is never read through: it could lead anywhere on the runner.
    links = [p for p in present if (head.root / p).is_symlink()]
    changed = {p: head.read(p) for p in present if p not in links}
    deleted = [p for p, s in touched if s == "deleted"]
    base_canon = {rel: base.read(rel) for rel in base.check_canon(config)}
    problems = check_structure(changed, base_canon, config, deleted=deleted)
    problems += [
        StructureProblem(
            path=p,
            rule="symlink",
            message="A canon document must be a file, not a symbolic link; its target is not read.",
        )
        for p in links
    ]
    return sorted(problems, key=lambda p: (p.path, p.line, p.rule))
