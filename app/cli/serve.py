"""`canon-gate serve`: run the App, in setup mode until it has credentials.

On a terminal it first says, in a few lines, where to open it and what PUBLIC_URL is for; off
one, everything is JSON log lines. Settings, a key or a port that cannot work stop it before it
serves anything, with one line and exit status 2 (`preflight.py`).
SIGTERM (and Ctrl-C) stop it gracefully: aiohttp stops accepting connections, lets the deliveries
in flight finish within the shutdown timeout, runs the cleanup contexts, and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from app.cli import preflight
from app.cli.welcome import welcome
from app.edge import logs
from app.edge.settings import Settings
from app.server import create_app
from app.setup import admin

log = logging.getLogger(__name__)

# Room, after the delivery budget, for the answer to go out before sockets are closed.
SHUTDOWN_MARGIN_SECONDS = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", help="the address to listen on (default: HOST, else 0.0.0.0: every interface)"
    )
    parser.add_argument("--port", type=int, help="the port to listen on (default: PORT, else 3000)")
    parser.add_argument(
        "--env-file",
        type=Path,
        help="where the App's credentials are read from and saved to after registering "
        "(default: CANON_GATE_ENV_FILE, else .env)",
    )


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment and the .env file, with the command line on top."""
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    return Settings.load(args.env_file, **overrides)


def event_loop() -> tuple[asyncio.AbstractEventLoop, str]:
    """uvloop where it is installed (the `app` extra installs it but on Windows), else asyncio's.

    The App's CPU goes mostly to aiohttp's HTTP and the loop's polling, both of which uvloop does
    in C (bench/app.py measures it).
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"
    return uvloop.new_event_loop(), "uvloop"


def announce(settings: Settings) -> None:
    """Say clearly which mode the App starts in, and what is missing for App mode."""
    where = settings.public_url or f"http://localhost:{settings.port}"
    if settings.configured:
        log.info(
            "serve.app_mode",
            extra={
                "app_id": settings.github_app_id,
                "slug": settings.github_app_slug,
                "api_url": settings.github_api_url,
                "listen": f"{settings.host}:{settings.port}",
            },
        )
    else:
        log.warning(
            "serve.setup_mode",
            extra={
                "missing": ", ".join(settings.missing),
                "open": f"{where.rstrip('/')}/setup",
                "env_file": str(settings.env_file),
                "listen": f"{settings.host}:{settings.port}",
            },
        )


def token_address(settings: Settings) -> str:
    """The address that signs in with the admin token (shown once, when the token is new)."""
    assert settings.admin_token is not None
    where = (settings.public_url or f"http://localhost:{settings.port}").rstrip("/")
    return f"{where}/?token={settings.admin_token.get_secret_value()}"


def show_new_token(settings: Settings, made: admin.NewToken) -> None:
    """Log a token made on this start, once, as Jupyter does.

    The log filter drops fields named like credentials; this line is the one deliberate
    exception, so the token travels inside the address to open.
    """
    log.warning(
        "serve.admin_token_created",
        extra={
            "note": "open this address to sign in; it is shown only now",
            "open": token_address(settings),
            "stored_in": str(made.stored_in) if made.stored_in else "nowhere: this process only",
        },
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = preflight.load(lambda: load_settings(args), args.env_file)
        preflight.check(settings)
        sockets = preflight.bind(settings.host, settings.port)
    except preflight.StartupError as exc:
        print(f"canon-gate serve: {exc}", file=sys.stderr)
        return 2
    # Listening on port 0 picks one: the App (and its webhook proxy) must know which.
    port = int(sockets[0].getsockname()[1])
    if port != settings.port:
        settings = settings.model_copy(update={"port": port})
    on_terminal = sys.stderr.isatty()
    logs.configure(settings.log_format, settings.log_level)
    settings, made = admin.ensure_token(settings)
    if on_terminal:
        # A person is watching: a few plain lines first, the token inside them if it is new.
        sys.stderr.write(welcome(settings, token_address(settings) if made else None))
        sys.stderr.flush()
    elif made is not None:
        show_new_token(settings, made)
    announce(settings)
    app = create_app(settings)
    loop, loop_name = event_loop()
    log.info("serve.loop", extra={"loop": loop_name})
    web.run_app(
        app,
        loop=loop,
        sock=sockets,
        shutdown_timeout=settings.delivery_budget_seconds + SHUTDOWN_MARGIN_SECONDS,
        print=None,
        access_log=None,
        handle_signals=True,
    )
    log.info("serve.stopped")
    return 0
