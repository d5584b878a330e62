"""The running App's mutable core, kept under one typed AppKey.

It switches from setup mode to App mode in place when the registration flow stores credentials,
so no restart is needed.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from gidgethub.routing import Router

from app.edge.github import GitHubApp
from app.edge.governs import GovernsCache
from app.edge.settings import Settings

log = logging.getLogger(__name__)


class DeliveryCache:
    """Ids of fully handled deliveries: an optimisation only, since handling is idempotent."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._ids

    def add(self, delivery_id: str) -> None:
        self._ids[delivery_id] = None
        self._ids.move_to_end(delivery_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)


@dataclass
class Runtime:
    """Created with the App (so its AppKey is set before start-up), started by `cleanup_ctx`."""

    settings: Settings
    router: Router
    github_app: GitHubApp | None = None
    handled: DeliveryCache = field(default_factory=lambda: DeliveryCache())
    # What governs each base commit: immutable, so cached (an optimisation only).
    governs: GovernsCache = field(default_factory=lambda: GovernsCache())
    # Called whenever the App adopts settings (the reconciler wakes up once it is configured).
    on_configure: list[Callable[[], None]] = field(default_factory=list)
    _http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("the App has not started: no HTTP session yet")
        return self._http

    def start(self, http: aiohttp.ClientSession) -> None:
        """Adopt the App's one HTTP session and leave setup mode if the settings allow."""
        self._http = http
        self.configure(self.settings)

    def configure(self, settings: Settings) -> None:
        """Adopt new settings; with credentials the App leaves setup mode."""
        self.settings = settings
        self.github_app = GitHubApp(settings, self.http) if settings.configured else None
        log.info(
            "app.mode",
            extra={"mode": "app" if self.github_app else "setup", "app_id": settings.github_app_id},
        )
        for listener in self.on_configure:
            listener()


RUNTIME = web.AppKey("runtime", Runtime)
