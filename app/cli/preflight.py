"""Refuse a start that cannot work, in one line: unusable settings, key or port.

`canon-gate serve` checks these before it serves anything, so a mistake gives one sentence that
names the setting and what to do, and exit status 2, never a traceback.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from pydantic import ValidationError

from app.edge.auth import make_jwt
from app.edge.logs import is_secret_field
from app.edge.settings import Settings


class StartupError(Exception):
    """A reason the server cannot start, as one line for the person who started it."""


# Settings whose variable is not simply the field's name in capitals.
_ENV_NAMES = {
    "port": "PORT",
    "admin_token": "CANON_GATE_ADMIN_TOKEN",
    "env_file": "CANON_GATE_ENV_FILE",
}
# pydantic's error types, in the words of someone editing a .env file.
_PHRASES = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
BACKLOG = 128  # aiohttp's default


def env_name(field: str) -> str:
    return _ENV_NAMES.get(field, field.upper())


def explain_settings(exc: ValidationError) -> str:
    """The first problem in the settings, naming the variable, never echoing a secret."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    if not field:
        return f"the settings cannot be used: {first['msg'].removeprefix('Value error, ')}"
    name = env_name(field)
    phrase = _PHRASES.get(first["type"]) or first["msg"].removeprefix("Value error, ")
    value: Any = first.get("input")
    shown = "" if is_secret_field(field) or not isinstance(value, str) else f", not {value!r}"
    return f"{name} {phrase}{shown}"


def load(load_settings: Callable[[], Settings], env_file: Path | None) -> Settings:
    """Call `load_settings()`, turning what the environment or a file got wrong into one line."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        raise StartupError(explain_settings(exc)) from exc
    except OSError as exc:
        # The .env file, or the key file GITHUB_APP_PRIVATE_KEY_PATH names, cannot be read.
        where = str(exc.filename or "a file")
        what = (
            "the settings file"
            if env_file is not None and Path(where) == env_file
            else "GITHUB_APP_PRIVATE_KEY_PATH"
        )
        raise StartupError(f"cannot read {what} {where}: {exc.strerror or exc}") from exc
    return settings


def check(settings: Settings) -> None:
    """Settings that parse but cannot work: a log level, a key that cannot sign."""
    if settings.log_level.upper() not in _LEVELS:
        raise StartupError(
            f"LOG_LEVEL must be one of {', '.join(_LEVELS)}, not {settings.log_level!r}"
        )
    if settings.log_format not in ("auto", "json", "text"):
        raise StartupError(f"LOG_FORMAT must be auto, json or text, not {settings.log_format!r}")
    key = settings.github_app_private_key
    if settings.github_app_id is not None and key is not None:
        try:
            make_jwt(settings.github_app_id, key.get_secret_value())
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            path = settings.github_app_private_key_path
            source = (
                f"the file GITHUB_APP_PRIVATE_KEY_PATH names ({path})"
                if path is not None
                else "GITHUB_APP_PRIVATE_KEY"
            )
            raise StartupError(
                f"{source} is not a PEM private key that can sign the App's JWT "
                f"({type(exc).__name__}); download a new key in the App's settings on GitHub"
            ) from exc


def _why_not_bound(host: str, port: int, exc: OSError) -> str:
    where = f"{host or '*'}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} is already in use on {host or 'this machine'} (is canon-gate running "
            "already?): stop that program, or choose another port with --port or PORT"
        )
    if exc.errno == errno.EACCES:
        return (
            f"not allowed to listen on {where} (ports below 1024 need privileges): choose a "
            "higher port with --port or PORT"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this machine: set --host or HOST to one, such as "
            "127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        )
    return f"cannot listen on {where}: {exc.strerror or exc}"


def bind(host: str, port: int) -> list[socket.socket]:
    """Listen on every address `host` names, as asyncio would; refuse in one line if we cannot."""
    if not 0 <= port <= 65535:
        raise StartupError(f"PORT must be between 1 and 65535, not {port}")
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(
            f"cannot listen on {host!r}: no such address on this machine ({exc}); set --host "
            "or HOST to 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # One socket per family, as asyncio's create_server does.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            # Listening now: a browser opened from the welcome waits for the App to start.
            sock.listen(BACKLOG)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise StartupError(_why_not_bound(host, port, exc)) from exc
    return sockets
