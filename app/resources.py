"""Find the data files canon-gate ships: the App manifest and the audit workflow.

An installed wheel carries them as `app/_data/...` (pyproject force-includes them); a checkout has
them at the top level, which stays the source.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

MANIFEST = "manifest.yml"
WORKFLOW = "workflows/canon-gate.yml"


class ResourceMissing(FileNotFoundError):
    """A packaged data file is in neither the installed package nor the checkout."""


def locate(name: str) -> Traversable:
    """Return the data file `name` (e.g. `workflows/canon-gate.yml`), packaged copy first."""
    parts = name.split("/")
    packaged = files("app").joinpath("_data", *parts)
    if packaged.is_file():
        return packaged
    checkout = Path(__file__).resolve().parent.parent.joinpath(*parts)
    if checkout.is_file():
        return checkout
    raise ResourceMissing(f"{name} is missing from the canon-gate package and its checkout")


def read_text(name: str) -> str:
    return locate(name).read_text(encoding="utf-8")
