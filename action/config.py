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

from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from action.errors import CanonGateError

CONFIG_PATH = ".github/canon-gate.yml"
DEFAULT_STATUSES = ("draft", "active", "superseded", "deprecated")


class ConfigError(CanonGateError, ValueError):
    """The config file cannot be used; the message says where and why."""


class _Section(BaseModel):
    # Unknown keys are errors: a misspelt key silently ignored would weaken the gate.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CanonConfig(_Section):
    paths: list[str] = Field(default_factory=lambda: ["canon"])
    # Canon documents (URI or path) whose full text opens the system prompt.
    foundation: list[str] = Field(default_factory=list)


# One time budget governs an audit: the audit job's `timeout-minutes: 30` in the workflow that
# `canon-gate init` writes. The session (and, later, its verifiers) must end well inside it,
# leaving room for the checkouts, the install and the upload; the App's AUDIT_TIMEOUT_SECONDS
# (45 minutes) leaves room after it for a queued job. See the README, "Time limits".
JOB_TIMEOUT_SECONDS = 30 * 60
SESSION_WALL_TIME_MAX = 25 * 60


class Limits(_Section):
    max_turns: int = Field(default=40, ge=1, le=500)
    max_budget_usd: float = Field(default=5.0, gt=0)
    wall_time_seconds: int = Field(default=900, ge=10, le=SESSION_WALL_TIME_MAX)
    # Paid sessions one head may start, re-runs included; past it, audits need a person.
    sessions_per_head: int = Field(default=5, ge=1, le=100)


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


class Config(_View):
    """The data plane's view: what the runner needs to spawn and bound the session."""

    canon: CanonConfig = Field(default_factory=CanonConfig)
    model: str | None = None
    limits: Limits = Field(default_factory=Limits)
    hints: list[Hint] = Field(default_factory=list)
    audit: AuditScope = Field(default_factory=AuditScope)
    forks: Forks = Field(default_factory=Forks)
    structure: Structure = Field(default_factory=Structure)


class AppConfig(_View):
    """The App's view: what it needs to conclude, record and comment.

    `canon` and `limits` are read by both planes: the App needs the canon paths for the
    governance key, and the limit on sessions per head.
    """

    canon: CanonConfig = Field(default_factory=CanonConfig)
    limits: Limits = Field(default_factory=Limits)
    # Every verdict and waiver is committed to the `canon-gate/ledger` branch unless this is false.
    ledger: bool = True
    # One PR comment, updated in place, summarising the findings' lifecycle.
    comment: bool = False
    # Who may waive, and for how long.
    waivers: Waivers = Field(default_factory=Waivers)


ACTION_KEYS = frozenset(Config.model_fields)
APP_KEYS = frozenset(AppConfig.model_fields)
# Read by both planes, so validated by both.
SHARED_KEYS = ACTION_KEYS & APP_KEYS
Config.other_plane = APP_KEYS - SHARED_KEYS
AppConfig.other_plane = ACTION_KEYS - SHARED_KEYS
View = TypeVar("View", bound=_View)


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a 1-based line."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                # An unknown key: point at the key itself.
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def parse_config(
    text: str,
    source: str = CONFIG_PATH,
    view: type[View] = Config,  # type: ignore[assignment]
) -> View:
    """Parse and validate one plane's view of config text; raise ConfigError naming key and line."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}:{where} is not valid YAML: {exc}") from None
    if data is None:
        return view()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: line 1: the config must be a mapping of keys")
    try:
        return view.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function")
            )
            key = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(node, loc)
            problems.append(f"{source}: line {line}: `{key}`: {err['msg']}")
        raise ConfigError("\n".join(problems)) from None


def load_config(root: Path) -> Config:
    """Load the config from a checkout; a missing file means the defaults."""
    path = root / CONFIG_PATH
    if not path.is_file():
        return Config()
    return parse_config(path.read_text(encoding="utf-8"))
