"""The separate `canon-gate/structure` check run: canon frontmatter against its schema.

Purely structural, so it may gate, but only as its own check run; it never sets the verdict.
"""

from __future__ import annotations

from action.render import structure_table, tables
from action.report import Report
from app.judge import render
from app.judge.annotations import structure_annotation
from app.judge.checkrun import CheckRunResult
from app.judge.links import Links

_NO_LINKS = Links()


def structure_result(report: Report, *, links: Links = _NO_LINKS) -> CheckRunResult | None:
    """Conclude the separate `canon-gate/structure` check run, or None when it did not run."""
    problems = report.structure
    if problems is None:
        return None
    if not problems:
        title = "Canon structure: no problems"
        parts = [render.headline("✅", title)]
        return CheckRunResult("success", title, render.page(parts, links))
    ordered = sorted(problems, key=lambda p: (p.path, p.line, p.rule))
    title = f"Canon structure: {render.plural(len(ordered), 'problem')}"
    head = render.headline("❌", title)
    intro = "Canon frontmatter in the files this pull request changes breaks the canon schema."
    budget = render.MAX_SUMMARY - len(head) - len(intro) - 128
    table = tables([structure_table(ordered)], budget, links.pointer())
    return CheckRunResult(
        conclusion="failure",
        title=title,
        summary=render.page([head, intro, table, links.markdown()], links),
        annotations=tuple(structure_annotation(p, links) for p in ordered),
    )
