"""The error GitHub answers with, and the JSON shape of its error bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .server import FakeGitHub

DOCS = "https://docs.github.com/rest"
FAKE: web.AppKey[FakeGitHub] = web.AppKey("fake_github")
BODY: web.RequestKey[Any] = web.RequestKey("json", object)


class GitHubError(Exception):
    """Raised by a route handler to answer the way GitHub does (`{message, documentation_url}`)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return web.json_response(body, status=self.status, headers=self.headers)


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def unprocessable(message: str, errors: list[Any] | None = None) -> GitHubError:
    return GitHubError(422, message, errors=errors)


def fake_of(request: web.Request) -> FakeGitHub:
    """Return the FakeGitHub serving this request."""
    return request.app[FAKE]
