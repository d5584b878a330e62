"""Collect one session's outcome into the report: did it complete, and what did it find.

Never trust the CLI's `subtype` alone: an API failure says "success" with `is_error`, a model
that answers in plain text ends "success" without a structured result, and a denied tool of the
gate's own means the model judged without seeing what it needed. Each is not evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from action.audit.findings import InvalidResult, dedupe, parse_result, to_finding
from action.audit.prepare import Prepared
from action.report import ErrorKind, Report, ToolDenial, Usage
from action.session.harness import SessionOutcome

# The CLI's error subtypes, said in the words a reader of the check run needs.
_STOPS = {
    "error_max_turns": "the session reached its turn limit (`limits.max_turns`) without a result",
    "error_max_budget_usd": "the session reached its budget (`limits.max_budget_usd`) "
    "without a result",
    "error_max_structured_output_retries": "the model's structured result failed validation "
    "on every retry",
    "error_during_execution": "the session failed while running",
}
# The network errors the CLI names (Node's codes), and what each says about the endpoint.
_UNREACHABLE = re.compile(
    r"\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b"
)
_NETWORK = {
    "ECONNREFUSED": "refused the connection",
    "ENOTFOUND": "has a host name that was not found",
    "EAI_AGAIN": "has a host name that could not be looked up",
}
# The variables that choose the session's model endpoint, most specific first.
ENDPOINT_VARIABLES = (
    "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_VERTEX_BASE_URL",
    "ANTHROPIC_BASE_URL",
)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))[:200]


def unreachable(texts: list[str], env: Mapping[str, str]) -> str | None:
    """Why the model endpoint could not be reached, and what to check, or None if it was."""
    found = next((m.group(1) for t in texts if (m := _UNREACHABLE.search(t))), None)
    if found is None:
        return None
    what = f"the model endpoint {_NETWORK.get(found, 'could not be reached')} ({found})"
    name = next((n for n in ENDPOINT_VARIABLES if env.get(n)), None)
    if name is None:
        return (
            f"{what}: ANTHROPIC_BASE_URL is not set, so this was Anthropic's own API; check the "
            "network, a firewall or a proxy (HTTPS_PROXY), or set ANTHROPIC_BASE_URL to the "
            "endpoint to use"
        )
    return (
        f"{what}: {name} is {_without_userinfo(env[name])}; check that the endpoint it names is "
        f"running and reachable, or unset {name} to use the provider's own"
    )


def fail(report: Report, error: str, kind: ErrorKind = ErrorKind.SESSION) -> Report:
    """Mark the report not evaluated, saying why."""
    return report.model_copy(update={"error": error, "error_kind": kind})


def outcome_error(
    out: SessionOutcome, own_tools: frozenset[str], env: Mapping[str, str] | None = None
) -> str | None:
    """Decide whether the session completed; return why not. Never trust `subtype` alone.

    `env` is the session's environment: a model endpoint that could not be reached is named
    by the variable that chose it.
    """
    if out.timed_out:
        return "the session hit the wall-clock limit and was killed"
    status = out.api_error_status
    if status == 401 or any("auth" in e.lower() for e in out.assistant_errors):
        return f"the model API refused the credential (HTTP {status or 401}): check the token"
    if status == 429 or any("rate" in e.lower() for e in out.assistant_errors):
        return "the model quota or rate limit is exhausted (HTTP 429); re-run later"
    if status is not None:
        return f"the model API failed (HTTP {status})"
    texts = [out.exception or "", out.result_text or "", *out.errors, *out.assistant_errors]
    if (out.exception or out.is_error) and (why := unreachable(texts, env or {})) is not None:
        return why
    if out.exception and out.subtype is None:
        # The SDK's message runs on with a stderr pointer; its first line says what happened.
        return f"the session failed before a result: {out.exception.splitlines()[0][:300]}"
    if out.is_error or (out.subtype and out.subtype != "success"):
        # An API failure says "success" with is_error; the CLI's own text is in `result`.
        if out.subtype == "success":
            what = "the model API call failed"
        else:
            stop = _STOPS.get(out.subtype or "") or "the session ended with an error"
            what = f"{stop} ({out.subtype})" if out.subtype else stop
        reasons = out.errors or [out.result_text or "", *out.assistant_errors]
        detail = "; ".join(r for r in reasons if r)[:300]
        return f"{what}{': ' + detail if detail else ''}"
    if out.num_turns == 0:
        return "the session ran zero turns"
    denied = {str(d.get("tool_name")) for d in out.permission_denials} & own_tools
    if denied:
        return f"the gate's own tools were denied: {', '.join(sorted(denied))}"
    if out.structured_output is None:
        return "the session ended without a structured result (the model answered in plain text)"
    return None


def collect(prepared: Prepared, out: SessionOutcome, report: Report) -> Report:
    """Add the session's figures, denials and verified findings, or why it was not evaluated."""
    denials = list(prepared.guard.denials)
    seen = {(d.tool, d.target) for d in denials}
    for d in out.permission_denials:
        target = str((d.get("tool_input") or {}).get("file_path") or "")
        if (str(d.get("tool_name")), target) not in seen:
            denials.append(ToolDenial(tool=str(d.get("tool_name")), target=target, reason="denied"))
    usage = out.usage or {}
    run = report.run.model_copy(
        update={
            "model": out.model or prepared.model,
            "prompt_hash": prepared.prompt_hash,
            "turns": out.num_turns,
            "cost_usd": out.cost_usd,
            "usage": Usage(**{k: int(usage.get(k) or 0) for k in Usage.model_fields}),
            "denials": denials,
        }
    )
    report = report.model_copy(
        update={"run": run, "hints": prepared.hints, "structure": prepared.structure}
    )
    error = outcome_error(out, prepared.own_tools, prepared.spec.env)
    if error is not None:
        return fail(report, error)
    try:
        result = parse_result(out.structured_output)
    except InvalidResult as exc:
        return fail(report, str(exc))
    gate = report.run.gate
    findings = dedupe([to_finding(raw, prepared.sources, gate) for raw in result.findings])
    return report.model_copy(update={"findings": findings})
