"""Read a corpus: one folder per case, each with `case.yml`, a `base/` tree and a `head/` tree.

Everything is checked before any session is paid for. A case file with an unknown or misspelt
key, a location outside its head file, or a case without its trees is a usage error whose
message names the case and the key: a typo silently ignored would skew every score after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from action.errors import CanonGateError
from action.eval.match import Expected

CASE_FILE = "case.yml"
# A case's name is its folder's: it names the case in scores, reports and temporary paths.
CASE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class CorpusError(CanonGateError, ValueError):
    """The corpus cannot be used as it is; the message names the case and the key."""


class CaseFile(BaseModel):
    """What `case.yml` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Why the expected findings are the right ones, argued for a reviewer of the corpus.
    description: str = Field(min_length=1)
    # Required, so a clean control says so: `expect: []`.
    expect: list[Expected]
    tags: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Case:
    name: str
    root: Path
    description: str
    expect: tuple[Expected, ...]
    tags: tuple[str, ...] = ()

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def head(self) -> Path:
        return self.root / "head"

    @property
    def clean(self) -> bool:
        """A clean control: a change that should merge, since nothing substantive is expected."""
        return not any(e.substantive for e in self.expect)


def _where(root: Path) -> str:
    return f"case `{root.name}` ({root / CASE_FILE})"


def _parse(root: Path) -> CaseFile:
    path = root / CASE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{_where(root)}: cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        raise CorpusError(f"{_where(root)}:{line} is not valid YAML") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{_where(root)}: must be a mapping with `description` and `expect`")
    try:
        return CaseFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"`{'.'.join(str(p) for p in err['loc']) or '(top level)'}`: {err['msg']}"
            for err in exc.errors()
        ]
        raise CorpusError(f"{_where(root)}: " + "; ".join(problems)) from None


def location_problems(case: Case) -> list[str]:
    """Say which expected locations name no file, or no such lines, in the case's head tree."""
    problems = []
    for n, want in enumerate(case.expect):
        rel = PurePosixPath(want.path.removeprefix("./"))
        if rel.is_absolute() or ".." in rel.parts:
            problems.append(f"`expect.{n}.path`: {want.path} is not a path inside head/")
            continue
        path = case.head / rel
        if not path.is_file():
            problems.append(f"`expect.{n}.path`: head/{rel} does not exist")
            continue
        try:
            lines = len(path.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError):
            problems.append(f"`expect.{n}.path`: head/{rel} is not a readable text file")
            continue
        if want.end_line > lines:
            problems.append(
                f"`expect.{n}.end_line`: {want.end_line} is past the end of head/{rel} "
                f"({lines} lines)"
            )
    return problems


def load_case(root: Path) -> Case:
    """Load and check one case folder; raise CorpusError naming the case and the key."""
    if not CASE_NAME.match(root.name):
        raise CorpusError(
            f"case `{root.name}`: a case folder's name holds only letters, digits, `.`, `_` and `-`"
        )
    parsed = _parse(root)
    for tree in ("base", "head"):
        if not (root / tree).is_dir():
            raise CorpusError(f"case `{root.name}`: the `{tree}/` tree is missing")
    case = Case(root.name, root, parsed.description, tuple(parsed.expect), tuple(parsed.tags))
    if problems := location_problems(case):
        raise CorpusError(f"{_where(root)}: " + "; ".join(problems))
    return case


def load_corpus(root: Path) -> list[Case]:
    """Load every case of a corpus, in name order; a folder without `case.yml` is an error."""
    if not root.is_dir():
        raise CorpusError(f"corpus {root}: no such folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise CorpusError(f"corpus {root}: no cases (each case is a folder with {CASE_FILE})")
    for folder in folders:
        if not (folder / CASE_FILE).is_file():
            raise CorpusError(f"case `{folder.name}`: {folder / CASE_FILE} is missing")
    return [load_case(folder) for folder in folders]
