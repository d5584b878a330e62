"""Hatch build hook: fix the build's identity into the wheel as app/_data/build.json.

`canon-gate --version` and `canon-gate init` read it, so an installed canon-gate names exactly
the judge it pins and the action release it belongs to. The release workflow sets
CANON_GATE_ACTION_REPO, CANON_GATE_ACTION_SHA and CANON_GATE_ACTION_TAG; otherwise git says.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BuildInfoHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        spec = importlib.util.spec_from_file_location(
            "canon_gate_buildinfo", Path(self.root) / "app" / "buildinfo.py"
        )
        if spec is None or spec.loader is None:
            raise RuntimeError("app/buildinfo.py is missing from the source tree")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while it executes
        spec.loader.exec_module(module)
        info = module.from_source(Path(self.root), self.metadata.version)
        out = Path(tempfile.mkdtemp(prefix="canon-gate-build-")) / "build.json"
        out.write_text(module.to_json(info))
        build_data["force_include"][str(out)] = "app/_data/build.json"
