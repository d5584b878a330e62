"""The GitHub client's URLs: templates expanded as gidgethub expands them, and route labels.

Each call is one of a few per delivery on one core, so a template is compiled once and expanded
from its parts; any form the App does not write is left to gidgethub (and so to `uritemplate`).
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from gidgethub import sansio

_ID = re.compile(r"/(\d+|[0-9a-f]{40})(?=/|$)")
_REPO = re.compile(r"^/repos/[^/]+/[^/]+")
# RFC 6570 expressions as the App writes them: `{var}`, `{+var}` and `{?a,b}`, plain names only.
_EXPRESSION = re.compile(r"\{([+?]?)([A-Za-z0-9_]+(?:,[A-Za-z0-9_]+)*)\}")
_RESERVED = ":/?#[]@!$&'()*+,;="  # what `{+var}` leaves as it is (RFC 6570 section 1.5)
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")  # what no expansion ever encodes


def route_of(url: str, base_url: str) -> str:
    """Reduce a URL to a low-cardinality route label for metrics and logs."""
    path = url.removeprefix(base_url).split("?", 1)[0]
    return _ID.sub("/{id}", _REPO.sub("/{repo}", path, count=1))


Template = tuple[str | tuple[str, tuple[str, ...]], ...]


@functools.lru_cache(maxsize=256)
def _template(base_url: str, url: str) -> Template | None:
    """Split `url`, joined to `base_url` as gidgethub joins it, into literals and expressions.

    None when it holds any other expression form, which gidgethub's `format_url` then expands.
    """
    joined = urllib.parse.urljoin(base_url.removesuffix("/") + "/", url.removeprefix("/"))
    parts: list[str | tuple[str, tuple[str, ...]]] = []
    position = 0
    for match in _EXPRESSION.finditer(joined):
        parts.append(joined[position : match.start()])
        parts.append((match.group(1), tuple(match.group(2).split(","))))
        position = match.end()
    parts.append(joined[position:])
    literals = parts[::2]
    if any("{" in part or "}" in part for part in literals if isinstance(part, str)):
        return None
    return tuple(parts)


def _quote(value: str) -> str:
    """`{var}` and `{?var}`: everything but the unreserved characters is percent-encoded."""
    return value if _UNRESERVED.fullmatch(value) else urllib.parse.quote(value, "")


def _quote_reserved(value: str) -> str:
    """`{+var}`: reserved characters stay, and a value already percent-encoded is left alone."""
    if _UNRESERVED.fullmatch(value):
        return value
    if urllib.parse.unquote(value) == value:
        return urllib.parse.quote(value, _RESERVED)
    return value


def format_url(url: str, url_vars: Mapping[str, Any] | None, *, base_url: str) -> str:
    """Expand `url` exactly as `gidgethub.sansio.format_url` does, from a compiled template.

    Only string values and the three forms the App writes are expanded here; anything else goes
    to gidgethub (and so to `uritemplate`).
    """
    template = _template(base_url, url)
    values = url_vars or {}
    if template is None or any(type(value) is not str for value in values.values()):
        return sansio.format_url(url, url_vars, base_url=base_url)
    out: list[str] = []
    for part in template:
        if isinstance(part, str):
            out.append(part)
            continue
        operator, names = part
        present = [(name, values[name]) for name in names if name in values]
        if not present:
            continue
        if operator == "?":
            out.append("?" + "&".join(f"{name}={_quote(value)}" for name, value in present))
        elif operator == "+":
            out.append(",".join(_quote_reserved(value) for _, value in present))
        else:
            out.append(",".join(_quote(value) for _, value in present))
    return "".join(out)
