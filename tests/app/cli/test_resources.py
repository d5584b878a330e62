"""The manifest and the workflow are found in a checkout and in an installed wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from appkit import ROOT

from action import pins
from action.report import SCHEMA_VERSION
from app import resources


def test_a_checkout_serves_the_top_level_sources() -> None:
    assert resources.read_text(resources.MANIFEST) == (ROOT / "manifest.yml").read_text()
    assert (
        resources.read_text(resources.WORKFLOW)
        == (ROOT / "workflows" / "canon-gate.yml").read_text()
    )


def test_an_installed_wheel_carries_and_finds_them(tmp_path: Path) -> None:
    # Build from a copy of the sources the wheel is made of, so the checkout is not touched.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "manifest.yml", "README.md", "hatch_build.py"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    if not (source / "README.md").exists():
        (source / "README.md").write_text("canon-gate\n")
    for package in ("app", "action", "workflows"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=source, check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = dist.glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "app/_data/manifest.yml" in names
    assert "app/_data/workflows/canon-gate.yml" in names
    # Outside the checkout, only the packaged copies can be found.
    probe = (
        "from app import resources\n"
        "print(resources.locate(resources.MANIFEST))\n"
        "print(resources.locate(resources.WORKFLOW))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path, env={"PYTHONPATH": str(site)}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert found.stdout.splitlines() == [
        str(site / "app" / "_data" / "manifest.yml"),
        str(site / "app" / "_data" / "workflows" / "canon-gate.yml"),
    ]
    # --version's four lines were fixed at build time, and read back from the wheel.
    version = subprocess.run(
        [sys.executable, "-m", "app.cli", "--version"],
        cwd=tmp_path, env={"PYTHONPATH": str(site)}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert version.stdout.splitlines() == [
        "canon-gate 0.1.0",
        f"claude-agent-sdk {pins.CLAUDE_AGENT_SDK}",
        f"claude CLI {pins.CLAUDE_CODE}",
        f"report schema {SCHEMA_VERSION}",
    ]
    assert "app/_data/build.json" in names
