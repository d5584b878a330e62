"""Store credentials in a `.env` file: quoted for python-dotenv, merged, owner-only (0600)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream


def quote(value: str) -> str:
    """Quote a value so python-dotenv (and pydantic-settings) reads back exactly `value`.

    Double quotes keep a PEM on one line with `\\n` escapes, so the file stays line-oriented.
    python-dotenv expands `${NAME}` in every value and offers no escape for it, so such a value
    is refused rather than silently changed.
    """
    if "${" in value:
        raise ValueError("a .env value cannot contain '${': python-dotenv would expand it")
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def merge(existing: str, values: Mapping[str, str]) -> str:
    """Set `values` in the text of a .env file, keeping every other line as it was."""
    out: list[str] = []
    written: set[str] = set()
    for binding in parse_stream(io.StringIO(existing)):
        key = binding.key
        if key is not None and key in values:
            if key not in written:
                out.append(f"{key}={quote(values[key])}\n")
                written.add(key)
            continue  # a later duplicate of a key we set would override it: drop it
        text = binding.original.string
        out.append(text if text.endswith("\n") or not text else text + "\n")
    out.extend(f"{key}={quote(value)}\n" for key, value in values.items() if key not in written)
    return "".join(out)


def write(path: Path, values: Mapping[str, str]) -> None:
    """Merge `values` into the .env file at `path`, atomically, readable by its owner only."""
    path = path.expanduser()
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    text = merge(existing, values)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600, so the secrets are never readable by others, even briefly.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
