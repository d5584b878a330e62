"""FakeGitHub: the aiohttp application, its setup helpers and the call-recording middleware."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import jwt
from aiohttp import web

from . import actions, apps, auth, checks, contents, deliveries, gitdata, issues, reviews, webhost
from .auth import AUTH, generate_private_key_pem, parse_auth, public_key_pem
from .errors import BODY, FAKE, GitHubError
from .faults import Chaos, Fault, Faults, Matcher
from .openapi import OpenAPI
from .payloads import Payloads
from .recording import Call, Violation, rate_headers
from .state import App, Clock, Installation, Repo, Token, WorkflowRun

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeGitHub:
    """A fake of GitHub's REST API, web host and webhook sender, for one App under test."""

    def __init__(
        self, app_id: int = 424242, private_key: str | None = None, slug: str = "canon-gate"
    ) -> None:
        self.clock = Clock()
        self.private_key = private_key or generate_private_key_pem()
        self.app_id = app_id
        self.apps: dict[int, App] = {}
        self.add_app(app_id, self.private_key, slug=slug)
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.deliveries: list[deliveries.Delivery] = []
        self.blobs: dict[str, tuple[bytes, float]] = {}
        self.manifests: dict[str, webhost.PendingManifest] = {}
        self.codes: dict[str, webhost.ManifestCode] = {}
        self.faults = Faults()
        self.openapi = OpenAPI()
        self.payloads = Payloads(self)
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.latency = 0.0
        self.base_url = ""
        self.web_url = ""
        self.blob_url = ""
        self.session: aiohttp.ClientSession | None = None
        self.rate: dict[str, int] = {}
        self.app = self._make_app()

    # -- the server ----------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        # GitHub takes blobs of up to 100 MB (POST git/blobs); aiohttp would stop at 1 MiB.
        application = web.Application(
            middlewares=[self._middleware], client_max_size=100 * 1024 * 1024
        )
        application[FAKE] = self
        for module in (auth, apps, checks, actions, contents, gitdata, issues, reviews, webhost):
            application.add_routes(module.routes)
        application.cleanup_ctx.append(self._session_ctx)
        return application

    async def _session_ctx(self, _: web.Application) -> AsyncIterator[None]:
        self.session = aiohttp.ClientSession()
        yield
        await self.session.close()
        self.session = None

    def bind(self, base_url: str) -> None:
        """Set the URLs once the server listens: API on 127.0.0.1, blobs and web on localhost."""
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        other = urlunsplit(parts._replace(netloc=f"localhost:{parts.port}"))
        self.blob_url = f"{other}/_blobs"
        self.web_url = f"{other}/_web"

    @property
    def public_api_url(self) -> str:
        return self.base_url or "https://api.github.com"

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(("/_blobs/", "/_web/")):
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else None
        call = Call(request.method, request.path, route, dict(request.query))
        call.headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        self.calls.append(call)
        request[AUTH] = parsed = parse_auth(request)
        call.auth = parsed.kind
        if parsed.token is not None:
            call.permissions = dict(parsed.token.permissions)
            call.repository_ids = parsed.token.repository_ids
        try:
            response = await self._answer(request, handler, call, route)
        except GitHubError as exc:
            response = exc.response()
        except web.HTTPNotFound:
            response = GitHubError(404, "Not Found").response()
        except web.HTTPMethodNotAllowed:
            response = GitHubError(404, "Not Found").response()
        rate_headers(self.rate, self.clock.now(), parsed, response)
        call.status = response.status
        return response

    async def _answer(
        self, request: web.Request, handler: Handler, call: Call, route: str | None
    ) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        injected = self.faults.pick(request, route)
        if injected is not None:
            call.injected = True
            return injected
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise GitHubError(400, "Problems parsing JSON") from exc
        call.json = request[BODY] = body
        if route is not None:
            errors = self.openapi.check(request.method, route, call.query, body, bool(raw))
            if errors:
                self.violations.append(Violation(call, errors))
                message = "Invalid request.\n\n" + "\n".join(errors)
                raise GitHubError(422, message)
        return await handler(request)

    # -- setup helpers -------------------------------------------------------------------------

    def add_app(
        self, app_id: int, private_key: str, *, slug: str = "canon-gate", **extra: Any
    ) -> App:
        app = App(app_id, slug, slug, public_key_pem(private_key), **extra)
        self.apps[app_id] = app
        return app

    def add_installation(
        self, installation_id: int, account_login: str, *, app_id: int | None = None
    ) -> Installation:
        installation = Installation(installation_id, account_login, app_id or self.app_id)
        self.installations[installation_id] = installation
        return installation

    def add_repo(
        self,
        full_name: str,
        *,
        repo_id: int,
        installation_id: int,
        default_branch: str = "main",
        files: dict[str, str | None] | None = None,
    ) -> Repo:
        """Add a repository; `files={}` leaves it empty (no commits), None gives it a README."""
        if installation_id not in self.installations:
            self.add_installation(installation_id, full_name.split("/")[0])
        repo = Repo(self, full_name, repo_id, installation_id, default_branch)
        self.repos[full_name.lower()] = repo
        files = {"README.md": "# hello\n"} if files is None else files
        if files:
            repo.commit(default_branch, files, "initial commit")
        return repo

    def repo(self, full_name: str) -> Repo:
        return self.repos[full_name.lower()]

    def protect(self, repo: Repo | str, branch: str) -> None:
        (self.repo(repo) if isinstance(repo, str) else repo).protect(branch)

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (token, blob-URL and manifest-code expiry follow it)."""
        self.clock.offset += seconds

    def installation_token(
        self,
        installation_id: int,
        *,
        permissions: dict[str, str] | None = None,
        repository_ids: list[int] | None = None,
    ) -> str:
        """Mint an installation token directly, as a runner's GITHUB_TOKEN stand-in."""
        installation = self.installations[installation_id]
        perms = dict(permissions or self.apps[installation.app_id].permissions)
        token = Token(
            auth.new_token(),
            installation_id,
            installation.app_id,
            perms,
            repository_ids,
            self.clock.now() + 3600,
        )
        self.tokens[token.token] = token
        return token.token

    def make_jwt(self, app_id: int | None = None, *, private_key: str | None = None) -> str:
        """Sign an App JWT the way a correct App does (iat 60 s back, exp 9 minutes ahead)."""
        now = int(time.time())
        claims = {"iat": now - 60, "exp": now + 540, "iss": str(app_id or self.app_id)}
        return jwt.encode(claims, private_key or self.private_key, algorithm="RS256")

    # -- fault injection -----------------------------------------------------------------------

    def inject(
        self,
        match: Matcher,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        body: str | None = None,
    ) -> Fault:
        """Answer the next `times` matching calls (-1: all) with `status`.

        `match` is a route template (`/repos/{owner}/{repo}/check-runs`), optionally prefixed by
        a method (`"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"`), an fnmatch pattern
        on the path, or a predicate over the aiohttp request.
        """
        fault = Fault(match, status, dict(headers or {}), times, body)
        self.faults.pending.append(fault)
        return fault

    def chaos(
        self,
        share: float = 0.2,
        statuses: tuple[int, ...] = (502, 429),
        retry_after: int = 1,
        seed: int = 0,
    ) -> None:
        """Fail a seeded random share of API calls; 429s carry `retry-after`. share=0 stops it."""
        self.faults.chaos = (
            Chaos(share, statuses, retry_after, random.Random(seed)) if share else None
        )

    # -- recording -----------------------------------------------------------------------------

    def calls_to(self, method: str, route: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.upper() and c.route == route]

    # -- webhooks and runs (see deliveries.py and actions.py) ----------------------------------

    async def deliver(
        self, event: str, payload: dict[str, Any], *, delivery_id: str | None = None
    ) -> int:
        """Sign and POST a webhook to `webhook_url`; return the app's status (0: unreachable)."""
        return await deliveries.send(self, event, payload, guid=delivery_id)

    def start_run(
        self,
        repo: Repo,
        workflow: str = "canon-gate.yml",
        *,
        ref: str | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> WorkflowRun:
        """Start a run as a manual workflow_dispatch from the Actions tab would."""
        return actions.dispatch(repo, workflow, ref or repo.default_branch, inputs or {})

    def complete_run(
        self,
        repo: Repo,
        run_id: int,
        conclusion: str = "success",
        artifact: bytes | None = None,
        artifact_name: str = "canon-gate-report",
        *,
        artifacts: dict[str, bytes] | None = None,
        jobs: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Finish a run, store its artifact zips, and return the workflow_run.completed payload.

        `artifact` is the one report of a run auditing one gate; `artifacts` names several.
        `jobs` are the run's jobs and their conclusions (default: see `actions.complete`).
        """
        stored = dict(artifacts or {})
        if artifact is not None:
            stored[artifact_name] = artifact
        actions.complete(repo, repo.runs[run_id], conclusion, stored, jobs)
        return self.payloads.workflow_run(repo, run_id, "completed")
