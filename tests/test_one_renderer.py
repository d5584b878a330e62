"""One rendering of findings (issue 16): the job summary and the check run's summary show a
finding by the same escaped row, so the two cannot drift."""

from __future__ import annotations

from appkit import finding, report

from action.render import finding_cells, row
from action.summary import markdown
from app.judge import verdict


def test_the_job_summary_and_the_check_run_render_a_finding_alike() -> None:
    hostile = finding(claim="drift | with a pipe, `ticks` and <!-- a comment")
    audited = report(hostile)
    line = row(finding_cells(hostile))
    assert line in markdown(audited)
    assert line in verdict.decide(audited).summary
    # Both carry the same figures table too.
    assert "| Cost (API-equivalent) |" in markdown(audited)
    assert "| Cost (API-equivalent) |" in verdict.decide(audited).summary


def test_the_figures_name_each_canon_sources_commit() -> None:
    from action.render import session_figures
    from action.report import CanonSourceRun, RunInfo

    source = CanonSourceRun(prefix="klappy://", repo="klappy/oddkit", ref="main", commit="a" * 40)
    shown = session_figures(RunInfo(canon_sources=[source]))
    [row] = [line for line in shown.splitlines() if line.startswith("| Canon sources |")]
    assert "klappy:// klappy/oddkit@" in row
    assert row.endswith("aaaaaaaaaaaa |")  # the commit, shortened
