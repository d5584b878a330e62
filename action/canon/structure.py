"""The purely structural check of canon frontmatter, for the canon files a change touches.

Required fields, known `status` values, links that name something, stems that name one
document, one document per URI, no supersession cycles, and YAML that parses at all. Every
problem points at the exact line of the key (or list item) at fault, so the App can annotate
it. It never sets the session's verdict: its problems travel in `Report.structure` and gate only
as their own check run. Links resolve by the canon model's one rule (`action.canon.links`); a
false positive blocks a merge, so only what clearly names nothing is reported.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from action.canon.checkout import Checkout, is_canon_path
from action.canon.document import CanonDoc
from action.canon.links import namespaces_of
from action.canon.model import Canon, SourceInfo, dangles
from action.config import Config
from action.report import StructureProblem

_KIND = {
    "uri": "a URI in this canon's scheme",
    "path": "a repository path",
    "stem": "a document's stem",
}


def _problem(doc: CanonDoc, line: int, rule: str, message: str) -> StructureProblem:
    return StructureProblem(path=doc.path, line=max(line, 1), rule=rule, message=message)


def known_statuses(config: Config, base: Iterable[CanonDoc]) -> frozenset[str]:
    """The defaults, the configured statuses, and those the base canon already uses."""
    learned = {s.strip() for d in base if isinstance(s := d.meta.get("status"), str) and s.strip()}
    return config.structure.known_statuses | learned


def _check_fields(
    doc: CanonDoc, config: Config, statuses: frozenset[str]
) -> list[StructureProblem]:
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
    status = doc.meta.get("status")
    if status is not None and (not isinstance(status, str) or status.strip() not in statuses):
        problems.append(
            _problem(
                doc,
                doc.lines["status"],
                "unknown-status",
                f"`status: {status}` is not a status this canon uses; use one of "
                f"{', '.join(sorted(statuses))}, or add it to `structure.statuses` in the config.",
            )
        )
    return problems


def _check_links(doc: CanonDoc, union: Canon) -> list[StructureProblem]:
    problems = []
    for link in doc.links:
        resolved = union.resolve(link, doc)
        if resolved.outcome == "ambiguous":
            paths = ", ".join(d.path for d in resolved.candidates)
            problems.append(
                _problem(
                    doc,
                    link.line,
                    "ambiguous-link",
                    f"`{link.field}` names `{link.target}`, the stem of {len(resolved.candidates)} "
                    f"canon documents ({paths}); name one by its URI or path.",
                )
            )
        elif dangles(link, resolved):
            problems.append(
                _problem(
                    doc,
                    link.line,
                    "dangling-link",
                    f"`{link.field}` names `{link.target}`, {_KIND[link.kind]} that is no canon "
                    "document and no file of the repository, with this change applied.",
                )
            )
    return problems


def check_structure(
    changed: Mapping[str, CanonDoc],
    base_canon: Mapping[str, CanonDoc],
    config: Config,
    *,
    deleted: Collection[str] = (),
    files: Iterable[str] | None = None,
    sources: Sequence[tuple[SourceInfo, Canon]] = (),
    statuses: frozenset[str] | None = None,
    opaque: Sequence[str] = (),
) -> list[StructureProblem]:
    """Check the frontmatter of the changed canon files; return problems in path and line order.

    `changed` maps each canon path the change adds or modifies to its new document;
    `base_canon` maps the base's canon paths to theirs; `deleted` lists paths the change removes.
    Links resolve against the base canon with the change applied, and against `files`, the
    repository's files after the change (default: its canon documents only), and the canon
    `sources` (URIs under an `opaque` prefix, a source not read here, are not checked). Known
    statuses are learned from the base unless `statuses` says otherwise.
    """
    if not config.structure.enabled:
        return []
    checked = {path: doc for path, doc in changed.items() if is_canon_path(path, config)}
    kept = {p: d for p, d in base_canon.items() if p not in deleted and p not in checked}
    union_docs = {**kept, **checked}
    listed = frozenset(union_docs) if files is None else frozenset(files)
    namespaces = namespaces_of(base_canon.values())
    union = Canon(list(union_docs.values()), listed, sources, namespaces, tuple(opaque))
    known = statuses if statuses is not None else known_statuses(config, base_canon.values())
    in_cycles = {doc for cycle in union.cycles() for doc in cycle}
    # Who declared a URI first: a document the change keeps, else the first changed one.
    first: dict[str, str] = {}
    for path in [*sorted(kept), *sorted(checked)]:
        if (uri := union_docs[path].declared_uri) is not None:
            first.setdefault(uri, path)
    problems: list[StructureProblem] = []
    for path, doc in checked.items():
        problems += doc.problems
        if doc.problems and not doc.meta:
            continue  # Unparseable: its one problem says why, and there is nothing more to check.
        problems += _check_fields(doc, config, known)
        problems += _check_links(doc, union)
        uri = doc.declared_uri
        if uri is not None and first.get(uri, path) != path:
            problems.append(
                _problem(
                    doc,
                    doc.lines["uri"],
                    "duplicate-uri",
                    f"`{first[uri]}` already declares `uri: {uri}`; each document needs its own.",
                )
            )
        if doc in in_cycles:
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
    base: Checkout,
    head: Checkout,
    changes: Iterable[tuple[str, str]],
    config: Config,
    sources: Sequence[tuple[SourceInfo, Canon]] = (),
) -> list[StructureProblem] | None:
    """Run the check over a PR's change; None when it is off or the PR changes no canon.

    `changes` are the PR's own (path, status) pairs, status added, modified or deleted, taken
    from the merge-base; links resolve against the governing base checkout's canon and files.
    """
    if not config.structure.enabled:
        return None
    changes = list(changes)
    touched = [(p, s) for p, s in changes if is_canon_path(p, config)]
    if not touched:
        return None
    present = [p for p, s in touched if s != "deleted"]
    # A link is never read through: it could lead anywhere on the runner.
    links = [p for p in present if head.is_link(p)]
    changed = {p: head.read(p) for p in present if p not in links}
    deleted = {p for p, s in changes if s == "deleted"}
    base_canon = {rel: base.read(rel) for rel in base.canon(config.canon.paths)}
    files = (base.files() | head.files()) - deleted
    problems = check_structure(
        changed, base_canon, config, deleted=deleted, files=files, sources=sources
    )
    problems += [
        StructureProblem(
            path=p,
            rule="symlink",
            message="A canon document must be a file, not a symbolic link; its target is not read.",
        )
        for p in links
    ]
    return sorted(problems, key=lambda p: (p.path, p.line, p.rule))
