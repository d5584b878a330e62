"""The client expands its URL templates exactly as gidgethub (and so `uritemplate`) would."""

from __future__ import annotations

from typing import Any

from gidgethub import sansio
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.edge.urls import format_url

TEMPLATES = [
    "/repos/{owner}/{repo}/commits/{ref}/check-runs{?check_name,filter,app_id,per_page}",
    "/repos/{owner}/{repo}/git/ref/{+ref}",
    "/repos/{owner}/{repo}/contents/{+path}{?ref}",
    "/repos/{owner}/{repo}/check-runs/{id}",
    "/app/installations?per_page=100",
    "https://api.github.com/repos/o/r/pulls?page=2",
    "/a/{x,y}/{+x,y}{?x,y}",
    # Forms the App does not write, left to gidgethub.
    "/weird/{/x}{#y}",
    "/odd/{x*}/{y:3}",
    "/p%20q/{x}",
    "x{y}",
    "",
]
BASES = ["https://api.github.com", "http://127.0.0.1:8080", "https://ghe.example.com/api/v3/"]
NAMES = ["owner", "repo", "ref", "path", "id", "x", "y", "check_name", "filter", "app_id"]
VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "a/b", "%2F", "a%", "café", "heads/main", "a b&c=d", "0" * 40]),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)


def expand(expand_with: Any, template: str, base: str, url_vars: Any) -> object:
    try:
        return expand_with(template, url_vars, base_url=base)
    except Exception as exc:  # the same failure, if any
        return type(exc)


@settings(max_examples=1500, deadline=None, database=None)
@given(
    st.sampled_from(TEMPLATES),
    st.sampled_from(BASES),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(NAMES), VALUES)),
)
@example(TEMPLATES[1], BASES[0], {"ref": "heads%2Fmain"})  # already encoded: left alone
@example(TEMPLATES[1], BASES[0], {"ref": "heads/a b%"})
@example(TEMPLATES[0], BASES[1], {"owner": "o", "repo": "r", "ref": "a/b", "filter": ""})
def test_urls_are_expanded_as_gidgethub_expands_them(
    template: str, base: str, url_vars: dict[str, Any] | None
) -> None:
    assert expand(format_url, template, base, url_vars) == expand(
        sansio.format_url, template, base, url_vars
    )
