"""A model endpoint that cannot be reached says which variable chose it, and what to check
(issue 15, item 7); the CLI's result subtype never leaks into the reason as "(success)"."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from action.audit.collect import outcome_error
from action.audit.inputs import AuditInputs
from action.audit.runner import run_audit
from action.report import ErrorKind
from action.session.harness import SdkHarness, SessionOutcome
from tests.action.support import OAUTH

REFUSED = "API Error: Connection refused (ECONNREFUSED)"


def failed(text: str) -> SessionOutcome:
    """What the CLI reports when its API call failed: subtype `success`, with `is_error`."""
    return SessionOutcome(subtype="success", is_error=True, result_text=text)


def test_a_refused_connection_names_the_base_url_it_went_to() -> None:
    env = {"ANTHROPIC_BASE_URL": "http://user:hunter2@127.0.0.1:9/v1"}
    said = outcome_error(failed(REFUSED), frozenset(), env) or ""
    assert said.startswith(
        "the model endpoint refused the connection (ECONNREFUSED): ANTHROPIC_BASE_URL is "
        "http://127.0.0.1:9/v1; "
    )
    assert "unset ANTHROPIC_BASE_URL" in said
    assert "hunter2" not in said


def test_a_refused_connection_without_a_base_url_says_it_was_anthropics_api() -> None:
    said = outcome_error(failed(REFUSED), frozenset(), {}) or ""
    assert said.startswith("the model endpoint refused the connection (ECONNREFUSED): ")
    assert "ANTHROPIC_BASE_URL is not set" in said


def test_a_cloud_endpoint_is_named_by_its_own_variable() -> None:
    env = {"ANTHROPIC_BEDROCK_BASE_URL": "https://bedrock.internal", "ANTHROPIC_BASE_URL": "x"}
    said = outcome_error(failed("getaddrinfo ENOTFOUND bedrock.internal"), frozenset(), env)
    assert (said or "").startswith(
        "the model endpoint has a host name that was not found (ENOTFOUND): "
        "ANTHROPIC_BEDROCK_BASE_URL is https://bedrock.internal"
    )


def test_a_failed_api_call_does_not_leak_the_subtype() -> None:
    said = outcome_error(failed("API Error: 500 overloaded"), frozenset(), {}) or ""
    assert said == "the model API call failed: API Error: 500 overloaded"
    assert "(success)" not in said
    # A stop the CLI names keeps its name, after the words that explain it.
    stopped = SessionOutcome(subtype="error_max_turns", is_error=True, num_turns=8)
    assert (outcome_error(stopped, frozenset(), {}) or "").startswith(
        "the session reached its turn limit (`limits.max_turns`) without a result (error_max_turns)"
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.cli
async def test_the_real_cli_against_a_closed_port_names_anthropic_base_url(
    checkouts: tuple[Path, Path],
) -> None:
    base, head = checkouts
    url = f"http://127.0.0.1:{closed_port()}"
    inputs = AuditInputs(base_dir=base, head_dir=head, head_sha="h" * 40, base_sha="b" * 40)
    env = {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH, "ANTHROPIC_BASE_URL": url}
    report = await run_audit(inputs, env, SdkHarness())
    assert report.error_kind is ErrorKind.SESSION
    assert (report.error or "").startswith(
        f"the model endpoint refused the connection (ECONNREFUSED): ANTHROPIC_BASE_URL is {url}"
    ), report.error
