"""Check requests against the pinned extract of GitHub's OpenAPI description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

OPERATIONS = Path(__file__).resolve().parents[2] / "fixtures" / "openapi" / "operations.json"


def draft4(schema: Any) -> Any:
    """Turn OpenAPI 3.0 `nullable: true` into a Draft 4 type union, everywhere in a schema."""
    if isinstance(schema, list):
        return [draft4(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: draft4(v) for k, v in schema.items() if k not in ("nullable", "example", "examples")}
    if schema.get("nullable"):
        if "type" in out:
            kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*kinds, "null"]
        for key in ("anyOf", "oneOf"):
            if key in out:
                out[key] = [*out[key], {"type": "null"}]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def coerce(value: str, schema: dict[str, Any]) -> Any:
    """Read a query string value as the schema's type, as GitHub's parameter parser does."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


class OpenAPI:
    """The pinned operations, keyed by (METHOD, path template)."""

    def __init__(self, path: Path = OPERATIONS) -> None:
        data = json.loads(path.read_text())
        self.version: str = data["version"]
        self.operations: dict[tuple[str, str], dict[str, Any]] = {
            (op["method"], op["path"]): op for op in data["operations"]
        }
        self._validators: dict[tuple[str, str], Draft4Validator] = {}

    def operation(self, method: str, route: str) -> dict[str, Any] | None:
        return self.operations.get((method.upper(), route))

    def check(
        self, method: str, route: str, query: dict[str, str], body: Any, has_body: bool
    ) -> list[str]:
        """Return every way the request breaks the operation's schema (empty when valid)."""
        op = self.operation(method, route)
        if op is None:
            return []
        errors: list[str] = []
        for param in op["parameters"]:
            if param["in"] != "query" or param["name"] not in query:
                continue
            value = coerce(query[param["name"]], param.get("schema", {}))
            schema = draft4(param.get("schema", {}))
            for error in Draft4Validator(schema).iter_errors(value):
                errors.append(f"query parameter {param['name']!r}: {error.message}")
        schema = op.get("requestBody")
        if schema is None:
            return errors
        if not has_body:
            if op.get("requestBodyRequired"):
                errors.append("a request body is required")
            return errors
        key = (method.upper(), route)
        if key not in self._validators:
            self._validators[key] = Draft4Validator(draft4(schema))
        for error in self._validators[key].iter_errors(body):
            where = "/".join(str(p) for p in error.absolute_path) or "body"
            errors.append(f"{where}: {error.message[:300]}")
        return errors
