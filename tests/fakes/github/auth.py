"""Authentication as GitHub does it: App JWTs, installation tokens and their scopes."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import BODY, GitHubError, fake_of, not_found, unprocessable
from .state import LEVELS, App, Repo, Token

routes = web.RouteTableDef()
NOT_ACCESSIBLE = "Resource not accessible by integration"


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def new_token() -> str:
    alphabet = string.ascii_letters + string.digits
    return "ghs_" + "".join(secrets.choice(alphabet) for _ in range(40))


@dataclass
class Auth:
    kind: str  # "jwt" | "installation" | "none"
    credential: str | None = None
    token: Token | None = None


AUTH: web.RequestKey[Auth] = web.RequestKey("auth", Auth)


def parse_auth(request: web.Request) -> Auth:
    """Classify the Authorization header without failing: routes decide what they accept."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not value or scheme.lower() not in ("bearer", "token"):
        return Auth("none")
    value = value.strip()
    if value.count(".") == 2 and value.startswith("eyJ"):
        return Auth("jwt", value)
    return Auth("installation", value, fake_of(request).tokens.get(value))


def require_jwt(request: web.Request) -> App:
    """Verify an App JWT as GitHub does and return its App."""
    fake = fake_of(request)
    auth: Auth = request[AUTH]
    if auth.kind != "jwt" or auth.credential is None:
        raise GitHubError(401, "A JSON web token could not be decoded")
    try:
        claims = jwt.decode(auth.credential, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise GitHubError(401, "A JSON web token could not be decoded") from exc
    iss = claims.get("iss")
    app = next(
        (a for a in fake.apps.values() if isinstance(iss, str) and iss in (str(a.id), a.client_id)),
        None,
    )
    if app is None:
        raise GitHubError(401, "'Issuer' claim ('iss') must be an Integer or a String")
    try:
        # Signatures and expiry use the wall clock: the App under test signs with it.
        jwt.decode(
            auth.credential, app.public_key_pem, algorithms=["RS256"], options={"verify_iat": False}
        )
    except jwt.ExpiredSignatureError as exc:
        raise GitHubError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time",
        ) from exc
    except jwt.PyJWTError as exc:
        raise GitHubError(401, "A JSON web token could not be decoded") from exc
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int):
        raise GitHubError(401, "'Issued at' claim ('iat') must be an Integer")
    if exp - iat > 660:
        raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")
    return app


def current_token(request: web.Request) -> Token:
    """Return the request's live installation token, or answer 401 like GitHub."""
    auth: Auth = request[AUTH]
    if auth.kind == "jwt":
        raise GitHubError(403, NOT_ACCESSIBLE)
    token = auth.token
    if token is None or token.expires_at <= fake_of(request).clock.now():
        raise GitHubError(401, "Bad credentials")
    return token


def require_repo(request: web.Request, permission: str, level: str) -> Repo:
    """Authorise an installation token on the request's repository and return the repository."""
    fake = fake_of(request)
    if request[AUTH].kind == "none":
        raise not_found()  # every fake repository is private
    token = current_token(request)
    repo = fake.repos.get(f"{request.match_info['owner']}/{request.match_info['repo']}".lower())
    if repo is None:
        raise not_found()
    scoped = token.repository_ids is None or repo.id in token.repository_ids
    if repo.installation_id != token.installation_id or not scoped:
        raise GitHubError(403, NOT_ACCESSIBLE)
    if LEVELS[token.permissions.get(permission, "none")] < LEVELS[level]:
        raise GitHubError(403, NOT_ACCESSIBLE)
    return repo


def readable_repo(request: web.Request, permission: str, level: str) -> Repo:
    """As `require_repo`, but a public repository is readable by anyone, as on GitHub."""
    name = f"{request.match_info['owner']}/{request.match_info['repo']}".lower()
    repo = fake_of(request).repos.get(name)
    if repo is not None and not repo.private:
        return repo
    return require_repo(request, permission, level)


@routes.post("/app/installations/{installation_id}/access_tokens")
async def create_token(request: web.Request) -> web.Response:
    fake = fake_of(request)
    app = require_jwt(request)
    installation = fake.installations.get(int(request.match_info["installation_id"]))
    if installation is None or installation.app_id != app.id:
        raise not_found()
    if installation.suspended:
        raise GitHubError(403, "This installation has been suspended")
    body: dict[str, Any] = request[BODY] or {}
    repos = [r for r in fake.repos.values() if r.installation_id == installation.id]
    ids: list[int] | None = None
    if "repositories" in body or "repository_ids" in body:
        by_name = {r.name: r.id for r in repos}
        wanted = [by_name.get(n, -1) for n in body.get("repositories", [])]
        wanted += list(body.get("repository_ids", []))
        if any(i not in {r.id for r in repos} for i in wanted):
            raise unprocessable(
                "There is at least one repository that does not exist or is not accessible"
                " to the parent installation."
            )
        ids = sorted(set(wanted))
    permissions = dict(app.permissions)
    if "permissions" in body:
        asked: dict[str, str] = body["permissions"]
        for name, level in asked.items():
            if LEVELS.get(level, 9) > LEVELS[app.permissions.get(name, "none")]:
                raise unprocessable(
                    "The permissions requested are not granted to this installation."
                )
        permissions = dict(asked)
    token = Token(new_token(), installation.id, app.id, permissions, ids, fake.clock.now() + 3600)
    fake.tokens[token.token] = token
    answer: dict[str, Any] = {
        "token": token.token,
        "expires_at": fake.clock.iso(token.expires_at),
        "permissions": permissions,
        "repository_selection": "all" if ids is None else "selected",
    }
    if ids is not None:
        answer["repositories"] = [r.json() for r in repos if r.id in ids]
    return web.json_response(answer, status=201)
