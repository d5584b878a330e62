"""The findings contract: the report the data plane writes and the App reads.

This module is the single source of the contract. `report.schema.json` beside it is generated from
these models (`python -m action.report`), and a test keeps the committed file current. The App
imports the models from here; it accepts the schema versions in `SUPPORTED_SCHEMA_VERSIONS`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Version 2 (2026-11-28) added the governance key and the gate, and anchors finding ids to their
# own primary evidence. Nothing had been deployed, so version 1 is no longer read. Version 3 adds
# the verification vote: a refuted finding no longer blocks, so a reader of version 2 would
# block it (it fails closed); the App reads both.
SCHEMA_VERSION = 3
SUPPORTED_SCHEMA_VERSIONS = frozenset({2, 3})
# The action release that writes SCHEMA_VERSION; named in the App's message for an unknown version.
ACTION_VERSION = "v1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
ARTIFACT_NAME = "canon-gate-report"
REPORT_FILENAME = "report.json"
# The gate of a repository that defines none: its check run is `canon-gate` itself.
DEFAULT_GATE = "canon-gate"
# The structural check's own report and check run (`structure` is no gate's name).
STRUCTURE = "structure"
# The version of the workflow `canon-gate init` writes (workflows/canon-gate.yml passes it to
# every job); the App says so in the summary when a repository's copy is older.
CALLER_VERSION = 2
# Job names in that workflow, which the App reads to tell which job judged what.
PLAN_JOB = "plan"
_GATE_JOB = "gate "


def artifact_name(gate: str) -> str:
    """The artifact holding one gate's report (or the structural check's, for `structure`)."""
    return ARTIFACT_NAME if gate == DEFAULT_GATE else f"{ARTIFACT_NAME}-{gate}"


def gate_job_name(gate: str) -> str:
    """The name of the job that runs one gate's session."""
    return _GATE_JOB + gate


def check_name(gate: str) -> str:
    """The check run a gate concludes: `canon-gate`, or `canon-gate/<gate>`."""
    return DEFAULT_GATE if gate == DEFAULT_GATE else f"{DEFAULT_GATE}/{gate}"


class _Model(BaseModel):
    # Tolerant of fields a newer producer adds; strict about the ones we read.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Classification(StrEnum):
    SUBSTANTIVE = "substantive"
    COSMETIC = "cosmetic"


class Kind(StrEnum):
    DRIFT = "drift"
    CONTRADICTION = "contradiction"
    BROKEN_SUPERSESSION = "broken_supersession"
    BROKEN_REFERENCE = "broken_reference"
    MISSING_CANON = "missing_canon"
    OTHER = "other"


class ErrorKind(StrEnum):
    """Why an audit was not evaluated: whether a person must act, or the session fell short."""

    CONFIG = "config"  # `.github/canon-gate.yml` is invalid
    NO_CREDENTIALS = "no_credentials"  # no model credential in the runner
    AWAITING_APPROVAL = "awaiting_approval"  # a fork PR waits for a maintainer's go-ahead
    SESSION = "session"  # the session ran but did not complete (error, limit, no result)
    CRASH = "crash"  # canon-gate itself failed
    NEEDS = "needs"  # a gate this one needs did not pass, so no session was started

    @property
    def needs_action(self) -> bool:
        return self in (
            ErrorKind.CONFIG,
            ErrorKind.NO_CREDENTIALS,
            ErrorKind.AWAITING_APPROVAL,
            ErrorKind.NEEDS,
        )


class AuthMode(StrEnum):
    SUBSCRIPTION = "subscription"
    API_KEY = "api_key"
    BEDROCK = "bedrock"
    VERTEX = "vertex"
    NONE = "none"


class Location(_Model):
    """Where a finding sits in the PR head."""

    path: str = Field(min_length=1)
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Location:
        if self.end_line < self.start_line:
            raise ValueError("end_line must not be before start_line")
        return self


class Evidence(_Model):
    """A quote and where it comes from: a canon URI or a path, with line and commit."""

    quote: str = Field(min_length=1)
    source: str = Field(min_length=1)
    line: int | None = Field(default=None, ge=1)
    commit: str | None = None
    # False when the quote could not be found verbatim in its cited source.
    verified: bool = False


class SuggestedFix(_Model):
    description: str
    replacement: str | None = None


class Vote(_Model):
    """One verifier's vote on one finding, and why."""

    verdict: Literal["confirm", "refute"]
    reason: str = ""
    # The verifier did not answer (an error, a timeout): its vote counts as confirm.
    failed: bool = False


class Verification(_Model):
    """The vote on a substantive finding: refuted when most votes refute it."""

    votes: list[Vote] = Field(default_factory=list)

    @property
    def refutes(self) -> int:
        return sum(v.verdict == "refute" for v in self.votes)

    @property
    def refuted(self) -> bool:
        return bool(self.votes) and self.refutes * 2 > len(self.votes)


class Finding(_Model):
    id: str = Field(pattern=r"^cg-[0-9a-f]{10}$")
    classification: Classification
    kind: Kind
    location: Location
    claim: str = Field(min_length=1)
    evidence: list[Evidence] = Field(default_factory=list)
    canon: list[str] = Field(default_factory=list)
    suggested_fix: SuggestedFix | None = None
    # The vote on it, when `verify` asked for one and it was among those verified.
    verification: Verification | None = None

    @property
    def substantive(self) -> bool:
        return self.classification is Classification.SUBSTANTIVE

    @property
    def refuted(self) -> bool:
        return self.verification is not None and self.verification.refuted

    @property
    def blocks(self) -> bool:
        """Substantive and not refuted by the vote (waivers are the App's)."""
        return self.substantive and not self.refuted


class Usage(_Model):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class ToolDenial(_Model):
    """A tool call the gate refused (a tool not offered, or a read outside the checkouts)."""

    tool: str
    target: str = ""
    reason: str = ""


class CanonSourceRun(_Model):
    """A canon source the audit read (`canon.sources`): the commit it was read at, or None."""

    prefix: str
    repo: str
    ref: str
    path: str = ""
    commit: str | None = None


class PersonaRun(_Model):
    """A canon document whose text formed a gate's task, and the commit it was read at."""

    uri: str
    path: str
    commit: str | None = None


class RunInfo(_Model):
    """Who, what and how much: everything needed to trace and price one audit."""

    repo: str | None = None
    pr: int | None = None
    head_sha: str | None = None
    base_sha: str | None = None
    # The PR's diff is taken from here (the base tip still governs); None when the diff is
    # taken from the base itself.
    merge_base_sha: str | None = None
    check_run_id: int | None = None
    workflow_run_id: int | None = None
    model: str | None = None
    claude_code_version: str | None = None
    prompt_hash: str | None = None
    canon_ref: str | None = None
    canon_sha: str | None = None
    # Canon from other repositories, each with the commit it was read at (part of the key).
    canon_sources: list[CanonSourceRun] = Field(default_factory=list)
    # What governed this audit at `base_sha` (action.governance): the App recomputes and compares.
    governance_key: str | None = None
    # The gate this report is for; `canon-gate` when the repository defines no gates, and
    # `structure` for the structural check's own report.
    gate: str = DEFAULT_GATE
    # The version of the client's workflow that ran this (None: one older than version 2).
    caller_version: int | None = None
    # The gate's persona documents (in force at the base) that formed its prompt.
    persona: list[PersonaRun] = Field(default_factory=list)
    duration_ms: int = 0
    turns: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    auth_mode: AuthMode = AuthMode.NONE
    # Tool calls the session attempted and the gate refused; recorded, never fatal by themselves.
    denials: list[ToolDenial] = Field(default_factory=list)


class VerificationRun(_Model):
    """What the vote cost: its verifier sessions, and the findings it left unverified."""

    votes: int
    verified: int = 0
    # Substantive findings beyond `verify.max_findings`: they block unverified.
    unverified: int = 0
    sessions: int = 0
    turns: int = 0
    cost_usd: float = 0.0
    duration_ms: int = 0


class HintResult(_Model):
    """One mechanical hint's output, handed to the session as input. It never sets the verdict."""

    name: str
    exit_code: int | None = None
    timed_out: bool = False
    duration_ms: int = 0
    output: str = ""


class StructureProblem(_Model):
    """A structural defect in a canon file the PR changes (frontmatter against its schema)."""

    path: str
    line: int = Field(default=1, ge=1)
    rule: str
    message: str


class Report(_Model):
    # Only the versions this release reads: an unknown one is a validation error, never a report.
    schema_version: int = SCHEMA_VERSION
    run: RunInfo = Field(default_factory=RunInfo)
    hints: list[HintResult] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    # None when the structural check did not run (e.g. the PR changes no canon file).
    structure: list[StructureProblem] | None = None
    # Set when the session did not complete; it is then the reason, and the audit is not evaluated.
    error: str | None = None
    error_kind: ErrorKind | None = None
    # The change touches none of the gate's paths: no session ran, and none was needed.
    out_of_scope: bool = False
    # The verification vote, when `verify.votes` asked for one.
    verification: VerificationRun | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            known = sorted(SUPPORTED_SCHEMA_VERSIONS)
            raise ValueError(f"schema_version {version} is not one of {known}")
        return version

    @property
    def evaluated(self) -> bool:
        return self.error is None

    @property
    def status(self) -> Literal["pass", "fail", "not_evaluated"]:
        """The outcome before waivers: what `canon-gate audit` exits with."""
        if not self.evaluated:
            return "not_evaluated"
        return "fail" if any(f.blocks for f in self.findings) else "pass"


_SPACE = re.compile(r"\s+")


def normalise_anchor(text: str) -> str:
    """Collapse case and whitespace so re-wrapped or re-cased quotes keep the same anchor."""
    return _SPACE.sub(" ", text).strip().lower()


def fingerprint(
    path: str, kind: Kind, canon: list[str], anchor: str, gate: str = DEFAULT_GATE
) -> str:
    """Compute a finding id from its stable parts only, never from the model's wording.

    The anchor is the verbatim evidence quote the finding rests on; line numbers are left out so
    a finding keeps its id when unrelated lines move. A configured gate's name is a part, so ids
    are unique across gates (a waiver of one gate's finding is never another's); the default
    gate's ids are as they were before gates existed.
    """
    parts = [path, kind.value, *sorted(set(canon)), normalise_anchor(anchor)]
    if gate != DEFAULT_GATE:
        parts.append(f"gate:{gate}")
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"cg-{digest[:10]}"


def json_schema() -> dict[str, object]:
    schema = Report.model_json_schema()
    schema["$id"] = f"https://canon-gate.dev/schema/report/v{SCHEMA_VERSION}.json"
    return schema


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render_schema())
    sys.stdout.write(f"wrote {SCHEMA_PATH}\n")
