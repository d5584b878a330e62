"""The repository's config, `.github/canon-gate.yml`, read from the base branch.

Every key has a default, so a missing file means the defaults. A broken file raises `ConfigError`
whose message names the key and the line; callers turn it into a not-evaluated report, never a
crash.

One file, with sections owned by each plane. Each plane validates the keys it reads (`Config` is
the data plane's view, `AppConfig` the App's) and accepts, without validating, the keys the other
plane owns, so a client that pins an older action can still use a newer App's keys. A key that
neither plane owns is an error: a misspelt key silently ignored would weaken the gate.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from action.config_errors import duplicate_keys, explain, line_of, yaml_problem
from action.errors import CanonGateError

CONFIG_PATH = ".github/canon-gate.yml"
DEFAULT_STATUSES = ("draft", "active", "superseded", "deprecated")


class ConfigError(CanonGateError, ValueError):
    """The config file cannot be used; the message says where and why."""


class _Section(BaseModel):
    # Unknown keys are errors: a misspelt key silently ignored would weaken the gate. Strict: a
    # value of another type is refused, never coerced (`ledger: "yes"` is not `true`, and
    # `comment: 1` is not either); only a whole number is taken where a number is asked for.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# A commit SHA in full: a source pinned to one never changes what governs.
FULL_SHA = r"^[0-9a-f]{40}$"


class CanonSource(_Section):
    """Canon from another repository, read-only: URIs under `prefix` resolve in its canon.

    `ref` is a branch, a tag or a commit SHA. Pin a SHA (or a tag you trust): whoever controls
    that repository can otherwise change what governs this gate by moving the ref.
    """

    prefix: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$", max_length=200)
    repo: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$", max_length=140)
    ref: str = Field(pattern=r"^[A-Za-z0-9._/-]+$", max_length=255)
    path: str = Field(default="canon", pattern=r"^[A-Za-z0-9._/ -]*$", max_length=255)

    @field_validator("ref", "path")
    @classmethod
    def _inside(cls, value: str) -> str:
        # Never an option to git (a leading `-`), never a path out of the repository.
        if value.startswith(("-", "/")) or ".." in value:
            raise ValueError("must not start with `-` or `/`, nor hold `..`")
        return value

    @property
    def pinned(self) -> bool:
        return re.fullmatch(FULL_SHA, self.ref) is not None


def _check_sources(sources: list[CanonSource]) -> list[CanonSource]:
    prefixes = [s.prefix for s in sources]
    for prefix in prefixes:
        if prefixes.count(prefix) > 1:
            raise ValueError(f"two canon sources share the prefix `{prefix}`")
    return sources


class CanonConfig(_Section):
    paths: list[str] = Field(default_factory=lambda: ["canon"])
    # Canon documents (URI, path or stem) whose full text opens the system prompt.
    foundation: list[str] = Field(default_factory=list)
    # Canon from other repositories, fetched read-only at run time and recorded by commit.
    sources: Annotated[list[CanonSource], AfterValidator(_check_sources)] = Field(
        default_factory=list, max_length=10
    )


# One time budget governs an audit: each gate job's `timeout-minutes: 30` in the workflow that
# `canon-gate init` writes. The session and its verifiers must end well inside it, leaving room
# for the checkouts, the install and the upload; the App's AUDIT_TIMEOUT_SECONDS (90 minutes)
# leaves room after the whole workflow for a queued job. See the README, "Time limits".
JOB_TIMEOUT_SECONDS = 30 * 60
SESSION_WALL_TIME_MAX = 25 * 60
# The hints run before the audit, in their own 10-minute job; together they must end inside it.
HINTS_BUDGET_SECONDS = 8 * 60


class Limits(_Section):
    max_turns: int = Field(default=40, ge=1, le=500)
    max_budget_usd: float = Field(default=5.0, gt=0)
    wall_time_seconds: int = Field(default=900, ge=10, le=SESSION_WALL_TIME_MAX)
    # Paid sessions one head may start, re-runs included; past it, audits need a person.
    sessions_per_head: int = Field(default=5, ge=1, le=100)
    # Sessions the repository may start in a UTC day, counted from its ledger; None: no cap.
    daily_sessions: int | None = Field(default=None, ge=1, le=100_000)


class Hint(_Section):
    name: str = Field(min_length=1)
    # An argv list, run without a shell on the base checkout; the PR head path is passed as data.
    run: list[str] = Field(min_length=1)
    timeout_seconds: int = Field(default=60, ge=1, le=900)

    @field_validator("run", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            import shlex

            return shlex.split(value)
        return value


class AuditScope(_Section):
    # Glob patterns over repository paths; a change outside them is not audited.
    paths: list[str] = Field(default_factory=lambda: ["**"])
    exclude: list[str] = Field(default_factory=list)


class Forks(_Section):
    # Fork PRs wait for a maintainer's `/canon-gate rerun` before the session sees them.
    require_approval: bool = True


class Structure(_Section):
    enabled: bool = True
    statuses: list[str] = Field(default_factory=list)
    required: list[str] = Field(default_factory=lambda: ["uri", "title", "status"])

    @property
    def known_statuses(self) -> frozenset[str]:
        return frozenset(DEFAULT_STATUSES) | frozenset(self.statuses)


# A gate's name becomes its check run's, `canon-gate/<name>`; `structure` is the structural check's.
GATE_NAME = r"^[a-z0-9-]+$"
RESERVED_GATE_NAMES = frozenset({"structure"})


class GateLimits(_Section):
    """A gate's own limits; each one unset falls back to the top-level `limits`."""

    max_turns: int | None = Field(default=None, ge=1, le=500)
    max_budget_usd: float | None = Field(default=None, gt=0)
    wall_time_seconds: int | None = Field(default=None, ge=10, le=SESSION_WALL_TIME_MAX)


class Gate(_Section):
    """One gate: a session whose task is its persona's canon, over its own paths."""

    name: str = Field(pattern=GATE_NAME, max_length=40)
    # Canon documents (URI, path or stem) whose text is the gate's task, in force at the base.
    persona: list[str] = Field(min_length=1)
    paths: list[str] = Field(default_factory=lambda: ["**"])
    exclude: list[str] = Field(default_factory=list)
    model: str | None = None
    limits: GateLimits = Field(default_factory=GateLimits)
    # What must pass before this gate's session is paid for: `structure`, or other gates.
    needs: list[str] = Field(default_factory=list)


def _check_gates(gates: list[Gate] | None) -> list[Gate] | None:
    """Names unique and not reserved; needs known, acyclic, at most one gate deep."""
    if gates is None:
        return None
    names = [g.name for g in gates]
    for name in names:
        if name in RESERVED_GATE_NAMES:
            raise ValueError(f"the gate name `{name}` is reserved for the structural check")
        if names.count(name) > 1:
            raise ValueError(f"two gates are named `{name}`")
    known = set(names) | RESERVED_GATE_NAMES
    by_name = {g.name: g for g in gates}
    for gate in gates:
        for need in gate.needs:
            if need not in known:
                raise ValueError(f"gate `{gate.name}` needs `{need}`, which is no gate")
            if need == gate.name:
                raise ValueError(f"gate `{gate.name}` needs itself")
            # Gates run in two waves: those that need only `structure`, then those that need
            # gates of the first wave. A deeper chain (or a cycle) is refused.
            needed = by_name.get(need)
            deeper = [n for n in needed.needs if n in by_name] if needed is not None else []
            if deeper:
                raise ValueError(
                    f"gate `{gate.name}` needs `{need}`, which itself needs `{deeper[0]}`: a gate "
                    "may need the structural check and gates that need nothing but it"
                )
    return gates


Gates = Annotated[list[Gate] | None, AfterValidator(_check_gates)]


class Waivers(_Section):
    # Separation of duties: by default a PR's author may not waive findings on their own PR.
    allow_author: bool = False
    # A waiver stops applying this many days after it was granted; None: while its finding lasts.
    expire_days: int | None = Field(default=None, ge=1, le=3650)


class _View(_Section):
    """One plane's view of the file: its own keys validated, the other plane's keys set aside."""

    # The top-level keys the other plane owns; filled in once both views exist.
    other_plane: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _set_aside_other_plane(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in cls.other_plane}
        return data


class Verify(_Section):
    """A vote before a finding blocks: fresh, independent, read-only sessions confirm or refute
    each substantive finding; a majority of refutes stops it blocking. Off (0 votes) by default."""

    votes: Literal[0, 1, 3, 5] = 0
    model: str | None = None
    # Substantive findings verified; any beyond block unverified, and the summary says so.
    max_findings: int = Field(default=10, ge=1, le=50)
    # The whole vote's time, after the audit's session: together they fit the job.
    wall_time_seconds: int = Field(default=300, ge=30, le=SESSION_WALL_TIME_MAX)


class Config(_View):
    """The data plane's view: what the runner needs to spawn and bound the session."""

    canon: CanonConfig = Field(default_factory=CanonConfig)
    model: str | None = None
    limits: Limits = Field(default_factory=Limits)
    hints: list[Hint] = Field(default_factory=list)
    audit: AuditScope = Field(default_factory=AuditScope)
    forks: Forks = Field(default_factory=Forks)
    structure: Structure = Field(default_factory=Structure)
    # None: one gate, `canon-gate`, with the built-in role (as before gates existed).
    gates: Gates = None

    verify: Verify = Field(default_factory=Verify)
    # How the session pays for the model: "auto" takes the first credential present.
    auth: Literal["auto", "subscription", "api_key", "bedrock", "vertex"] = "auto"
    # Upload each gate's findings to code scanning as SARIF (the workflow needs
    # `security-events: write`, which `canon-gate init --sarif` adds).
    sarif: bool = False

    @model_validator(mode="after")
    def _vote_fits_the_job(self) -> Config:
        if not self.verify.votes:
            return self
        walls = [self.limits.wall_time_seconds]
        walls += [
            g.limits.wall_time_seconds for g in self.gates or () if g.limits.wall_time_seconds
        ]
        longest = max(walls)
        if longest + self.verify.wall_time_seconds > SESSION_WALL_TIME_MAX:
            raise ValueError(
                f"a session of {longest} s and its vote of {self.verify.wall_time_seconds} s "
                f"take {longest + self.verify.wall_time_seconds} s; the job allows "
                f"{SESSION_WALL_TIME_MAX} s (lower `limits.wall_time_seconds` or "
                "`verify.wall_time_seconds`)"
            )
        return self

    @field_validator("hints")
    @classmethod
    def _hints_fit_their_job(cls, hints: list[Hint]) -> list[Hint]:
        total = sum(h.timeout_seconds for h in hints)
        if total > HINTS_BUDGET_SECONDS:
            raise ValueError(
                f"the hints may take {total} s together; their job allows {HINTS_BUDGET_SECONDS} s"
            )
        return hints


class Reaudit(_Section):
    """Re-judge open pull requests when a push to the default branch changes what governs."""

    enabled: bool = False
    # New sessions one push may start (newest pull requests first); the rest are marked.
    max_per_push: int = Field(default=5, ge=0, le=100)


class AppConfig(_View):
    """The App's view: what it needs to conclude, record and comment.

    `canon` and `limits` are read by both planes: the App needs the canon paths for the
    governance key, and the limit on sessions per head.
    """

    canon: CanonConfig = Field(default_factory=CanonConfig)
    limits: Limits = Field(default_factory=Limits)
    gates: Gates = None
    # Every verdict and waiver is committed to the `canon-gate/ledger` branch unless this is false.
    ledger: bool = True
    # One PR comment, updated in place, summarising the findings' lifecycle.
    comment: bool = False
    # `advisory` while rolling out: findings are annotated as usual, but a verdict that would
    # fail concludes neutral ("would have failed"), and the ledger records it so.
    mode: Literal["enforce", "advisory"] = "enforce"
    # Findings' suggested replacements on lines of the PR's diff, as one-click suggestions in one
    # review per audit run (all its gates); each withdrawn once its finding resolves.
    suggestions: bool = True
    # Who may waive, and for how long.
    waivers: Waivers = Field(default_factory=Waivers)
    # A merge group: `reuse` the pull request's verdict when nothing that governs it changed
    # (else audit the group), or always `audit` the group's own change.
    merge_queue: Literal["reuse", "audit"] = "reuse"
    reaudit_on_canon_change: Reaudit = Field(default_factory=Reaudit)


ACTION_KEYS = frozenset(Config.model_fields)
APP_KEYS = frozenset(AppConfig.model_fields)
# Read by both planes, so validated by both.
SHARED_KEYS = ACTION_KEYS & APP_KEYS
Config.other_plane = APP_KEYS - SHARED_KEYS
AppConfig.other_plane = ACTION_KEYS - SHARED_KEYS
# Every top-level key, in the order the file documents them: what an unknown key is offered.
TOP_LEVEL_KEYS = tuple(dict.fromkeys([*Config.model_fields, *AppConfig.model_fields]))
View = TypeVar("View", bound=_View)


def parse_config(
    text: str,
    source: str = CONFIG_PATH,
    view: type[View] = Config,  # type: ignore[assignment]
) -> View:
    """Parse and validate one plane's view of config text; raise ConfigError naming the key and
    the line of each problem, in the author's words (`action.config_errors`)."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(exc, text, source)) from None
    if data is None:
        return view()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: line 1: the config must be a mapping of keys")
    # YAML keeps the last of two equal keys: the first would be silently ignored.
    twice = duplicate_keys(node)
    if twice:
        raise ConfigError("\n".join(f"{source}: line {n}: {why}" for n, why in twice))
    try:
        return view.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function")
            )
            key = ".".join(str(p) for p in loc) or "(top level)"
            line = line_of(node, loc)
            why = explain({**err, "loc": loc}, view, TOP_LEVEL_KEYS)
            problems.append(f"{source}: line {line}: `{key}`: {why}")
        raise ConfigError("\n".join(problems)) from None


def load_config(root: Path) -> Config:
    """Load the config from a checkout; a missing file means the defaults."""
    path = root / CONFIG_PATH
    if not path.is_file():
        return Config()
    return parse_config(path.read_text(encoding="utf-8"))
