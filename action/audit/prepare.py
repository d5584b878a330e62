"""Prepare one session: everything it is given, built from the checkouts before it starts.

The base tip governs (canon, config, prompt); the PR's own change is its diff from the merge-base,
or commits that landed on the base since would read as the PR reverting them. Each checkout is
read once, and its canon is shared by the prompt, the tools, evidence and the structural check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from action.audit.diff import FileChange
from action.audit.diff import changes as compute_changes
from action.audit.evidence import Sources
from action.audit.findings import output_schema
from action.audit.hints import gather as gather_hints
from action.audit.inputs import AuditInputs
from action.audit.prompt import CanonText, build_prompt, persona_docs
from action.audit.tools import SERVER, TOOL_NAMES, GateTools, qualified
from action.canon.checkout import DATA_DIR, Checkout, is_canon_path
from action.canon.index import CanonIndex
from action.canon.model import Canon, ChainProblem, load_canon, require_documents, with_changes
from action.canon.sources import FOLDER as SOURCES_FOLDER
from action.canon.sources import MANIFEST as SOURCES_MANIFEST
from action.canon.sources import Fetched, load_sources
from action.canon.structure import check_change
from action.config import Config
from action.report import DEFAULT_GATE, HintResult, StructureProblem
from action.session.guard import ReadGuard
from action.session.harness import SessionSpec


@dataclass(frozen=True)
class Prepared:
    """One session's spec, and what collecting its outcome needs besides the outcome."""

    spec: SessionSpec
    guard: ReadGuard
    own_tools: frozenset[str]
    prompt_hash: str
    model: str | None
    hints: list[HintResult]
    structure: list[StructureProblem] | None
    sources: Sources
    # The gate's persona documents, in force at the base: (uri, path, text).
    persona: list[CanonText]
    # The gate's own tools, for the verification vote's sessions (each gets its own server).
    tools: GateTools


async def prepare(
    inputs: AuditInputs,
    config: Config,
    session_env: dict[str, str],
    run_dir: Path,
    *,
    fetched: Sequence[Fetched] = (),
    persona: Sequence[str] = (),
    gate: str = DEFAULT_GATE,
    changes: list[FileChange] | None = None,
    canon: Canon | None = None,
) -> Prepared:
    """Load the canon, the diff, the hints and the structural check; build prompt, tools, spec.

    Raises `CanonProblem` when the canon cannot be used as configured (empty, a canon source
    unreadable, a foundation or persona document missing or over the cap), before any hint runs
    or any session starts. `fetched` is what the workflow fetched of `canon.sources`; `persona`
    names the gate's persona documents; `changes` is the scoped diff and `canon` the base's
    canon (`load_base_canon`), when already taken.
    """
    diff_base = inputs.merge_base_dir or inputs.base_dir
    base = _base_checkout(inputs)
    head = Checkout(inputs.head_dir)
    canon = canon if canon is not None else load_base_canon(inputs, config, fetched)
    gate_task = persona_docs(canon, persona, gate)
    base_problems = canon.chain_problems()
    file_changes = changes if changes is not None else scoped_changes(inputs, config)
    introduced = introduced_problems(canon, head, file_changes, config, base_problems)
    hints = await gather_hints(inputs, config, session_env["PATH"])
    # Purely structural: it travels in the report and gates only as its own check run.
    structure = check_change(
        base, head, ((c.path, c.status) for c in file_changes), config, canon.sources
    )
    index = CanonIndex(canon)
    prompt = build_prompt(
        canon,
        config.canon.foundation,
        file_changes,
        hints,
        inputs.pr,
        str(inputs.head_dir),
        str(inputs.base_dir),
        merge_base_dir=str(inputs.merge_base_dir) if inputs.merge_base_dir else None,
        chain_problems=base_problems,
        introduced_problems=introduced,
        persona=gate_task,
        index=index,
    )
    tools = GateTools(canon, file_changes, index)
    own = frozenset(qualified(n) for n in TOOL_NAMES)
    guard = ReadGuard([inputs.base_dir, inputs.head_dir, diff_base], inputs.base_dir, own)
    spec = SessionSpec(
        system_prompt=prompt.system,
        user_prompt=prompt.user,
        cwd=inputs.base_dir,
        run_dir=run_dir,
        env=session_env,
        output_schema=output_schema(),
        mcp_server=tools.server(),
        mcp_name=SERVER,
        can_use_tool=guard.can_use_tool,
        pre_tool_use=guard.pre_tool_use,
        max_turns=config.limits.max_turns,
        max_budget_usd=config.limits.max_budget_usd,
        wall_seconds=float(config.limits.wall_time_seconds),
        model=config.model,
    )
    merge_base = (diff_base, inputs.merge_base_sha) if inputs.merge_base_dir else None
    sources = Sources(
        canon, inputs.base_dir, inputs.head_dir, inputs.base_sha, inputs.head_sha, merge_base
    )
    return Prepared(
        spec, guard, own, prompt.hash, config.model, hints, structure, sources, gate_task, tools
    )


def _base_checkout(inputs: AuditInputs) -> Checkout:
    # The data checkouts are nested in the base workspace: their files are never the base's.
    return Checkout(inputs.base_dir, skip=[inputs.base_dir / DATA_DIR])


def load_base_canon(inputs: AuditInputs, config: Config, fetched: Sequence[Fetched] = ()) -> Canon:
    """The canon in force at the base; raise `CanonProblem` when it cannot be used (empty, or
    none of it readable): never a silent pass."""
    base = _base_checkout(inputs)
    canon = load_canon(base, config.canon.paths, sources=load_sources(inputs.base_dir, fetched))
    require_documents(canon, base, config.canon.paths)
    return canon


def scoped_changes(inputs: AuditInputs, config: Config) -> list[FileChange]:
    """The PR's changes within the audit's scope (`audit.paths`, or the gate's own paths).

    Only the data nested in the base workspace is skipped (the checkouts, the fetched canon
    sources): any other folder named `.canon-gate` is the PR's own.
    """
    nested = [d for d in (inputs.head_dir, inputs.merge_base_dir) if d is not None]
    nested += [inputs.base_dir / SOURCES_FOLDER, inputs.base_dir / SOURCES_MANIFEST]
    diff_base = inputs.merge_base_dir or inputs.base_dir
    return compute_changes(
        diff_base, inputs.head_dir, config.audit.paths, config.audit.exclude, skip=nested
    )


def structure_of_change(
    inputs: AuditInputs, config: Config, fetched: Sequence[Fetched] = ()
) -> list[StructureProblem] | None:
    """The structural check alone (the plan job's): no hints, no prompt, no session.

    Raises `CanonProblem` as `prepare` does.
    """
    base = _base_checkout(inputs)
    head = Checkout(inputs.head_dir)
    canon = load_base_canon(inputs, config, fetched)
    file_changes = scoped_changes(inputs, config)
    return check_change(
        base, head, ((c.path, c.status) for c in file_changes), config, canon.sources
    )


def introduced_problems(
    canon: Canon,
    head: Checkout,
    changes: list[FileChange],
    config: Config,
    known: list[ChainProblem],
) -> list[ChainProblem]:
    """The broken chains the PR's own canon changes add to the base's, read as data only."""
    touched = [c for c in changes if is_canon_path(c.path, config)]
    if not touched:
        return []
    changed = [
        doc
        for c in touched
        if c.status != "deleted"
        and not head.is_link(c.path)
        and (doc := head.read(c.path)).readable
    ]
    deleted = [c.path for c in touched if c.status == "deleted"]
    seen = set(known)
    return [p for p in with_changes(canon, changed, deleted).chain_problems() if p not in seen]
