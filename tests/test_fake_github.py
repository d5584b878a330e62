"""Tests of the fake GitHub itself: it refuses what GitHub refuses, answers what it answers."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from fakes.github import FakeGitHub, Repo, sign

WORKFLOW = """\
name: canon-gate
run-name: "canon-gate ${{ inputs.check_run_id || 'manual' }}"
on:
  workflow_dispatch:
    inputs:
      check_run_id:
        description: the check run
        required: false
      pr:
        required: true
      mode:
        default: full
jobs: {}
"""
INSTALLATION = 77


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Repo:
    fake_github.add_installation(INSTALLATION, "octo")
    repo = fake_github.add_repo("octo/repo", repo_id=501, installation_id=INSTALLATION)
    repo.install_workflow(WORKFLOW)
    return repo


class Client:
    """A tiny REST client for these tests."""

    def __init__(self, fake: FakeGitHub, session: aiohttp.ClientSession, token: str) -> None:
        self.fake, self.session, self.token = fake, session, token

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"token {self.token}", "Accept": "application/vnd.github+json"}
        async with self.session.request(
            method, self.fake.base_url + path, json=body, headers=headers, **kw
        ) as r:
            text = await r.text()
            return r.status, (
                json.loads(text) if text and r.content_type == "application/json" else text
            )


@pytest.fixture
def gh(fake_github: FakeGitHub, repo: Repo, session: aiohttp.ClientSession) -> Client:
    return Client(fake_github, session, fake_github.installation_token(INSTALLATION))


def test_signature_matches_githubs_documented_vector() -> None:
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == f"sha256={expected}"


# -- app authentication -------------------------------------------------------------------------


async def test_installation_token_is_issued_narrowed_and_expires(
    fake_github: FakeGitHub, repo: Repo, session: aiohttp.ClientSession
) -> None:
    other = fake_github.add_repo("octo/other", repo_id=502, installation_id=INSTALLATION)
    app = Client(fake_github, session, fake_github.make_jwt())
    url = f"/app/installations/{INSTALLATION}/access_tokens"
    status, body = await app.call(
        "POST", url, {"repository_ids": [repo.id], "permissions": {"checks": "write"}}
    )
    assert status == 201
    assert re.fullmatch(r"ghs_[A-Za-z0-9]{40,}", body["token"])
    assert body["repository_selection"] == "selected"
    assert [r["id"] for r in body["repositories"]] == [repo.id]
    token = Client(fake_github, session, body["token"])
    assert (await token.call("GET", f"/repos/{repo.full_name}/commits/main/check-runs"))[0] == 200
    # Scoped to one repo and to checks only.
    assert (await token.call("GET", f"/repos/{other.full_name}/commits/main/check-runs"))[0] == 403
    status, err = await token.call("GET", f"/repos/{repo.full_name}/pulls/1")
    assert (status, err["message"]) == (403, "Resource not accessible by integration")
    # Wider than the App: refused.
    status, _ = await app.call("POST", url, {"permissions": {"administration": "write"}})
    assert status == 422
    fake_github.advance(3601)
    assert (await token.call("GET", f"/repos/{repo.full_name}/commits/main/check-runs"))[0] == 401
    assert (
        fake_github.calls_to("POST", "/app/installations/{installation_id}/access_tokens")[0].auth
        == "jwt"
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": 424242},  # an integer issuer
        {"exp_ahead": 1200},  # exp - iat > 660 s
        {"exp_ahead": -10},  # expired
    ],
)
async def test_bad_jwts_are_refused(
    fake_github: FakeGitHub, repo: Repo, session: aiohttp.ClientSession, claims: dict[str, Any]
) -> None:
    now = int(time.time())
    payload = {
        "iat": now - 60,
        "exp": now + claims.get("exp_ahead", 540),
        "iss": claims.get("iss", "424242"),
    }
    # PyJWT refuses to encode an integer `iss`, so sign the raw claims.
    raw = json.dumps(payload).encode()
    token = jwt.api_jws.PyJWS().encode(raw, fake_github.private_key, algorithm="RS256")
    status, _ = await Client(fake_github, session, token).call("GET", "/app")
    assert status == 401


async def test_jwt_signed_with_another_key_is_refused(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    from fakes.github.auth import generate_private_key_pem

    forged = fake_github.make_jwt(private_key=generate_private_key_pem())
    assert (await Client(fake_github, session, forged).call("GET", "/app"))[0] == 401
    status, body = await Client(fake_github, session, fake_github.make_jwt()).call("GET", "/app")
    assert (status, body["id"]) == (200, fake_github.app_id)


async def test_unknown_token_is_401_and_every_answer_has_rate_headers(gh: Client) -> None:
    gh.token = "ghs_unknown"
    async with gh.session.get(
        gh.fake.base_url + "/repos/octo/repo", headers={"Authorization": "token x"}
    ) as r:
        assert r.status == 401
        for name in ("limit", "remaining", "reset", "used", "resource"):
            assert f"x-ratelimit-{name}" in r.headers


# -- checks ------------------------------------------------------------------------------------


def annotation(i: int) -> dict[str, Any]:
    return {
        "path": "a.py",
        "start_line": i + 1,
        "end_line": i + 1,
        "annotation_level": "warning",
        "message": f"m{i}",
    }


async def test_check_run_lifecycle(gh: Client, repo: Repo) -> None:
    sha = repo.head("main")
    base = f"/repos/{repo.full_name}/check-runs"
    status, run = await gh.call(
        "POST", base, {"name": "canon-gate", "head_sha": sha, "status": "in_progress"}
    )
    assert (status, run["status"], run["conclusion"]) == (201, "in_progress", None)
    out = {"title": "t", "summary": "s", "annotations": [annotation(i) for i in range(50)]}
    assert (await gh.call("PATCH", f"{base}/{run['id']}", {"output": out}))[0] == 200
    out["annotations"] = [annotation(i) for i in range(3)]
    status, done = await gh.call(
        "PATCH", f"{base}/{run['id']}", {"conclusion": "success", "output": out}
    )
    assert (done["status"], done["conclusion"]) == ("completed", "success")
    assert done["completed_at"]
    assert done["output"]["annotations_count"] == 53
    status, listed = await gh.call(
        "GET", f"{base}/{run['id']}/annotations", params={"per_page": "100"}
    )
    assert len(listed) == 53
    # A newer run of the same name hides the older one under filter=latest, newest first.
    _, newer = await gh.call("POST", base, {"name": "canon-gate", "head_sha": sha})
    await gh.call("POST", base, {"name": "other", "head_sha": sha})
    _, latest = await gh.call(
        "GET",
        f"/repos/{repo.full_name}/commits/{sha}/check-runs",
        params={"check_name": "canon-gate"},
    )
    assert [r["id"] for r in latest["check_runs"]] == [newer["id"]]
    _, every = await gh.call(
        "GET", f"/repos/{repo.full_name}/commits/main/check-runs", params={"filter": "all"}
    )
    assert every["total_count"] == 3
    assert every["check_runs"][0]["name"] == "other"


async def test_only_the_creating_app_may_update(
    gh: Client, repo: Repo, fake_github: FakeGitHub
) -> None:
    other_app = fake_github.add_app(9, fake_github.private_key, slug="other")
    fake_github.add_installation(78, "octo", app_id=other_app.id)
    repo.installation_id = INSTALLATION
    _, run = await gh.call(
        "POST", f"/repos/{repo.full_name}/check-runs", {"name": "x", "head_sha": repo.head("main")}
    )
    token = fake_github.installation_token(INSTALLATION)
    fake_github.tokens[token].app_id = other_app.id
    gh.token = token
    status, err = await gh.call(
        "PATCH",
        f"/repos/{repo.full_name}/check-runs/{run['id']}",
        {"status": "completed", "conclusion": "neutral"},
    )
    assert status == 403
    assert err["message"].startswith("Invalid app_id")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            {
                "output": {
                    "title": "t",
                    "summary": "s",
                    "annotations": [annotation(i) for i in range(51)],
                }
            },
            "annotations",
        ),
        (
            {
                "actions": [
                    {"label": "l", "identifier": f"i{i}", "description": "d"} for i in range(4)
                ]
            },
            "actions",
        ),
        ({"actions": [{"label": "x" * 21, "identifier": "i", "description": "d"}]}, "label"),
        ({"output": {"title": "t", "summary": "x" * 65536}}, "summary"),
    ],
)
async def test_check_run_schema_violations_are_refused(
    gh: Client, repo: Repo, fake_github: FakeGitHub, body: dict[str, Any], where: str
) -> None:
    status, err = await gh.call(
        "POST",
        f"/repos/{repo.full_name}/check-runs",
        {"name": "x", "head_sha": repo.head("main"), **body},
    )
    assert status == 422
    assert err["message"].startswith("Invalid request")
    assert len(fake_github.violations) == 1
    fake_github.violations.clear()


# -- actions -----------------------------------------------------------------------------------


async def test_dispatch_validates_like_github(
    gh: Client, repo: Repo, fake_github: FakeGitHub
) -> None:
    url = f"/repos/{repo.full_name}/actions/workflows/%s/dispatches"
    assert (await gh.call("POST", url % "missing.yml", {"ref": "main"}))[0] == 404
    assert (await gh.call("POST", url % "canon-gate.yml", {"ref": "nope", "inputs": {"pr": "1"}}))[
        0
    ] == 422
    assert (
        await gh.call(
            "POST", url % "canon-gate.yml", {"ref": "main", "inputs": {"pr": "1", "zzz": "1"}}
        )
    )[0] == 422
    assert (await gh.call("POST", url % "canon-gate.yml", {"ref": "main", "inputs": {}}))[0] == 422
    too_many = {f"i{i}": "v" for i in range(26)}
    assert (await gh.call("POST", url % "canon-gate.yml", {"ref": "main", "inputs": too_many}))[
        0
    ] == 422
    assert len(fake_github.violations) == 1
    fake_github.violations.clear()
    assert (await gh.call("POST", url % "canon-gate.yml", {"ref": "main", "inputs": {"pr": "1"}}))[
        0
    ] == 204


async def test_dispatch_creates_a_run_and_completes_it_with_an_artifact(
    gh: Client, repo: Repo, fake_github: FakeGitHub
) -> None:
    pull = repo.open_pull(7, {"src.py": "print(1)\n"})
    url = f"/repos/{repo.full_name}/actions/workflows/canon-gate.yml/dispatches"
    status, details = await gh.call(
        "POST",
        url,
        {"ref": "main", "inputs": {"pr": "7", "check_run_id": "123"}, "return_run_details": True},
    )
    assert status == 200
    assert set(details) == {"workflow_run_id", "run_url", "html_url"}
    run = repo.runs[details["workflow_run_id"]]
    assert run.display_title == "canon-gate 123"
    assert run.inputs == {"check_run_id": "123", "pr": "7", "mode": "full"}
    assert run.head_sha == repo.head("main") != pull.head_sha
    manual = fake_github.start_run(repo, inputs={"pr": "7"})
    assert manual.display_title == "canon-gate manual"

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("report.json", "{}")
    payload = fake_github.complete_run(repo, run.id, "success", archive.getvalue())
    wr = payload["workflow_run"]
    assert (payload["action"], wr["id"], wr["conclusion"], wr["event"]) == (
        "completed",
        run.id,
        "success",
        "workflow_dispatch",
    )
    assert wr["display_title"] == "canon-gate 123"
    assert wr["path"] == ".github/workflows/canon-gate.yml"
    assert payload["installation"]["id"] == INSTALLATION

    _, got = await gh.call("GET", f"/repos/{repo.full_name}/actions/runs/{run.id}")
    assert got["status"] == "completed"
    _, arts = await gh.call(
        "GET",
        f"/repos/{repo.full_name}/actions/runs/{run.id}/artifacts",
        params={"name": "canon-gate-report"},
    )
    assert arts["total_count"] == 1
    zip_url = f"/repos/{repo.full_name}/actions/artifacts/{arts['artifacts'][0]['id']}/zip"
    # aiohttp follows the cross-origin redirect and drops Authorization (the blob would refuse it).
    async with gh.session.get(
        fake_github.base_url + zip_url, headers={"Authorization": f"token {gh.token}"}
    ) as r:
        assert r.status == 200
        assert await r.read() == archive.getvalue()
        assert r.history[0].status == 302
        assert "localhost" in r.url.host
    async with gh.session.get(
        fake_github.base_url + zip_url,
        headers={"Authorization": f"token {gh.token}"},
        allow_redirects=False,
    ) as r:
        location = r.headers["Location"]
    fake_github.advance(61)
    async with gh.session.get(location) as r:
        assert r.status == 403
    repo.runs[run.id].artifacts[0].expired = True
    assert (await gh.call("GET", zip_url))[0] == 410


# -- git data ----------------------------------------------------------------------------------


async def test_ledger_orphan_branch_fast_forward_and_protection(
    gh: Client, repo: Repo, fake_github: FakeGitHub
) -> None:
    base = f"/repos/{repo.full_name}/git"
    assert (await gh.call("GET", f"{base}/ref/heads/canon-gate/ledger"))[0] == 404
    _, tree = await gh.call(
        "POST",
        f"{base}/trees",
        {"tree": [{"path": "ledger/a.json", "mode": "100644", "type": "blob", "content": "{}"}]},
    )
    _, root = await gh.call(
        "POST", f"{base}/commits", {"message": "ledger", "tree": tree["sha"], "parents": []}
    )
    status, _ref = await gh.call(
        "POST", f"{base}/refs", {"ref": "refs/heads/canon-gate/ledger", "sha": root["sha"]}
    )
    assert status == 201
    assert (
        await gh.call(
            "POST", f"{base}/refs", {"ref": "refs/heads/canon-gate/ledger", "sha": root["sha"]}
        )
    )[0] == 422
    _, tree2 = await gh.call(
        "POST",
        f"{base}/trees",
        {
            "base_tree": tree["sha"],
            "tree": [{"path": "ledger/b.json", "mode": "100644", "type": "blob", "content": "[]"}],
        },
    )
    _, second = await gh.call(
        "POST", f"{base}/commits", {"message": "2", "tree": tree2["sha"], "parents": [root["sha"]]}
    )
    _, sibling = await gh.call(
        "POST",
        f"{base}/commits",
        {"message": "s", "tree": tree2["sha"], "parents": [root["sha"]]} | {"message": "sibling"},
    )
    assert (
        await gh.call(
            "PATCH", f"{base}/refs/heads/canon-gate/ledger", {"sha": second["sha"], "force": False}
        )
    )[0] == 200
    status, err = await gh.call(
        "PATCH", f"{base}/refs/heads/canon-gate/ledger", {"sha": sibling["sha"], "force": False}
    )
    assert (status, err["message"]) == (422, "Update is not a fast forward")
    _, listing = await gh.call("GET", f"{base}/trees/{second['sha']}", params={"recursive": "1"})
    assert {i["path"] for i in listing["tree"]} == {"ledger", "ledger/a.json", "ledger/b.json"}
    status, content = await gh.call(
        "GET",
        f"/repos/{repo.full_name}/contents/ledger/b.json",
        params={"ref": "canon-gate/ledger"},
    )
    assert status == 200
    assert content["encoding"] == "base64"
    assert content["sha"]
    fake_github.protect(repo, "canon-gate/ledger")
    assert (
        await gh.call(
            "PATCH", f"{base}/refs/heads/canon-gate/ledger", {"sha": sibling["sha"], "force": True}
        )
    )[0] == 422


async def test_workflow_writes_need_the_workflows_permission(
    gh: Client, repo: Repo, fake_github: FakeGitHub
) -> None:
    perms = dict(fake_github.apps[fake_github.app_id].permissions)
    perms.pop("workflows")
    gh.token = fake_github.installation_token(INSTALLATION, permissions=perms)
    base = f"/repos/{repo.full_name}/git"
    head = repo.head("main")
    _, tree = await gh.call(
        "POST",
        f"{base}/trees",
        {
            "base_tree": repo.store.commits[head].tree,
            "tree": [
                {
                    "path": ".github/workflows/x.yml",
                    "mode": "100644",
                    "type": "blob",
                    "content": "on: push",
                }
            ],
        },
    )
    _, commit = await gh.call(
        "POST", f"{base}/commits", {"message": "wf", "tree": tree["sha"], "parents": [head]}
    )
    status, _ = await gh.call("PATCH", f"{base}/refs/heads/main", {"sha": commit["sha"]})
    assert status == 403


async def test_empty_repository_refuses_an_orphan_ref(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake_github.add_installation(INSTALLATION, "octo")
    empty = fake_github.add_repo("octo/empty", repo_id=9, installation_id=INSTALLATION, files={})
    gh = Client(fake_github, session, fake_github.installation_token(INSTALLATION))
    status, err = await gh.call(
        "POST", f"/repos/{empty.full_name}/git/refs", {"ref": "refs/heads/x", "sha": "0" * 40}
    )
    assert (status, err["message"]) == (422, "Git Repository is empty.")


# -- pulls, comments, permissions ----------------------------------------------------------------


async def test_pulls_comments_reactions_and_permissions(gh: Client, repo: Repo) -> None:
    pull = repo.open_pull(3, {"x.py": "1"}, draft=True, user="mallory", fork=True)
    _, pr = await gh.call("GET", f"/repos/{repo.full_name}/pulls/3")
    assert pr["draft"]
    assert pr["head"]["repo"]["fork"]
    assert pr["head"]["sha"] == pull.head_sha
    assert pr["base"]["sha"] == repo.head("main")
    status, comment = await gh.call(
        "POST", f"/repos/{repo.full_name}/issues/3/comments", {"body": "hi"}
    )
    assert status == 201
    assert comment["user"]["type"] == "Bot"
    _, edited = await gh.call(
        "PATCH", f"/repos/{repo.full_name}/issues/comments/{comment['id']}", {"body": "bye"}
    )
    assert edited["body"] == "bye"
    _, listed = await gh.call("GET", f"/repos/{repo.full_name}/issues/3/comments")
    assert [c["body"] for c in listed] == ["bye"]
    react = f"/repos/{repo.full_name}/issues/comments/{comment['id']}/reactions"
    assert (await gh.call("POST", react, {"content": "+1"}))[0] == 201
    assert (await gh.call("POST", react, {"content": "+1"}))[0] == 200
    repo.set_permission("bob", "maintain")
    _, perm = await gh.call("GET", f"/repos/{repo.full_name}/collaborators/bob/permission")
    assert (perm["permission"], perm["role_name"]) == ("write", "maintain")


async def test_pull_files_reviews_and_review_comments_as_github_takes_them(
    gh: Client, repo: Repo, fake_github: FakeGitHub
) -> None:
    text = "".join(f"{n}\n" for n in range(1, 21))
    repo.commit("main", {"doc.md": text, "old.md": "gone\n"}, "base")
    pull = repo.open_pull(
        4, {"doc.md": text.replace("\n3\n", "\nthree\n"), "old.md": None, "logo.png": "\0PNG"}
    )
    repo.commit("main", {"unrelated.md": "later\n"})  # the base moves on: not in the PR's diff
    base = f"/repos/{repo.full_name}/pulls/4"
    _, files = await gh.call("GET", f"{base}/files?per_page=2")
    assert [(f["filename"], f["status"]) for f in files] == [
        ("doc.md", "modified"),
        ("logo.png", "added"),
    ]
    assert files[0]["patch"].startswith("@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n")
    assert (files[0]["additions"], files[0]["deletions"]) == (1, 1)
    assert "patch" not in files[1]  # binary: GitHub shows no patch
    _, rest = await gh.call("GET", f"{base}/files?per_page=2&page=2")
    assert [(f["filename"], f["status"], f["patch"]) for f in rest] == [
        ("old.md", "removed", "@@ -1 +0,0 @@\n-gone")
    ]

    def review(*comments: dict[str, Any], event: str | None = "COMMENT") -> dict[str, Any]:
        body: dict[str, Any] = {"body": "r", "commit_id": pull.head_sha, "comments": list(comments)}
        return body | ({"event": event} if event else {})

    refused = [
        {"path": "doc.md", "line": 9, "side": "RIGHT", "body": "x"},  # outside the hunk
        {"path": "doc.md", "start_line": 3, "line": 3, "side": "RIGHT", "body": "x"},
        {"path": "logo.png", "line": 1, "side": "RIGHT", "body": "x"},  # no patch
        {"path": "unrelated.md", "line": 1, "side": "RIGHT", "body": "x"},  # not in the diff
        {"path": "doc.md", "line": 3, "side": "RIGHT", "body": "x" * 65_537},
    ]
    good = {"path": "doc.md", "start_line": 2, "line": 4, "side": "RIGHT", "body": "ok"}
    for bad in refused:
        status, _ = await gh.call("POST", f"{base}/reviews", review(good, bad))
        assert status == 422, bad
    assert not repo.review_comments  # one refused comment refuses the whole review
    status, _ = await gh.call("POST", f"{base}/reviews", review(good) | {"body": ""})
    assert status == 422  # a COMMENT review needs a body
    status, made = await gh.call("POST", f"{base}/reviews", review(good))
    assert (status, made["state"], made["commit_id"]) == (200, "COMMENTED", pull.head_sha)
    removed = {"path": "old.md", "line": 1, "side": "LEFT", "body": "left"}
    status, pending = await gh.call("POST", f"{base}/reviews", review(removed, event=None))
    assert (status, pending["state"]) == (200, "PENDING")
    _, listed = await gh.call("GET", f"{base}/comments")
    [comment] = listed  # a pending review's comments are its author's alone
    assert (comment["start_line"], comment["line"], comment["side"]) == (2, 4, "RIGHT")
    assert comment["user"]["login"] == "canon-gate[bot]"
    assert comment["pull_request_review_id"] == made["id"]
    edit = f"/repos/{repo.full_name}/pulls/comments/{comment['id']}"
    _, edited = await gh.call("PATCH", edit, {"body": "edited"})
    assert edited["body"] == "edited"
    # Writing a review needs pull_requests write.
    reader = Client(
        fake_github,
        gh.session,
        fake_github.installation_token(INSTALLATION, permissions={"pull_requests": "read"}),
    )
    assert (await reader.call("POST", f"{base}/reviews", review(good)))[0] == 403
    assert (await reader.call("PATCH", edit, {"body": "no"}))[0] == 403


# -- webhooks ------------------------------------------------------------------------------------


async def test_deliveries_are_signed_logged_and_redelivered(
    fake_github: FakeGitHub, repo: Repo, session: aiohttp.ClientSession
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    answers = iter([503, 200, 200])

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=next(answers))

    receiver = web.Application()
    receiver.router.add_post("/webhooks", hook)
    server = TestServer(receiver, host="127.0.0.1")
    await server.start_server()
    fake_github.webhook_url = str(server.make_url("/webhooks"))
    fake_github.webhook_secret = "s3cret"
    pull = repo.open_pull(1, {"a": "b"})
    assert (
        await fake_github.deliver(
            "pull_request", fake_github.payloads.pull_request(repo, pull, "opened")
        )
        == 503
    )
    headers, body = received[0]
    assert headers["X-Hub-Signature-256"] == sign(body, "s3cret")
    assert headers["X-GitHub-Event"] == "pull_request"
    assert await fake_github.deliver("ping", fake_github.payloads.ping()) == 200

    app = Client(fake_github, session, fake_github.make_jwt())
    _, failed = await app.call("GET", "/app/hook/deliveries", params={"status": "failure"})
    assert [(d["status"], d["action"], d["repository_id"]) for d in failed] == [
        ("Invalid HTTP Response: 503", "opened", repo.id)
    ]
    assert (await app.call("POST", f"/app/hook/deliveries/{failed[0]['id']}/attempts"))[0] == 202
    assert received[2][0]["X-GitHub-Delivery"] == headers["X-GitHub-Delivery"]
    async with session.get(
        fake_github.base_url + "/app/hook/deliveries?per_page=2",
        headers={"Authorization": f"Bearer {app.token}"},
    ) as r:
        page = await r.json()
        assert len(page) == 2
        assert page[0]["redelivery"] is True
        assert 'rel="next"' in r.headers["Link"]
        nxt = r.headers["Link"].split(">")[0][1:]
    async with session.get(nxt, headers={"Authorization": f"Bearer {app.token}"}) as r:
        assert [d["id"] for d in await r.json()] == [1]
    await server.close()
    assert await fake_github.deliver("ping", fake_github.payloads.ping()) == 0
    assert fake_github.deliveries[-1].status != "OK"


def test_payload_builders_patch_the_real_examples(fake_github: FakeGitHub, repo: Repo) -> None:
    pull = repo.open_pull(5, {"a.py": "x"}, draft=True)
    p = fake_github.payloads.pull_request(repo, pull, "opened")
    assert (p["number"], p["pull_request"]["draft"], p["pull_request"]["head"]["sha"]) == (
        5,
        True,
        pull.head_sha,
    )
    assert p["installation"]["id"] == INSTALLATION
    assert p["repository"]["full_name"] == "octo/repo"
    suite = fake_github.payloads.check_suite(repo, pull.head_sha, "requested")
    assert suite["check_suite"]["pull_requests"][0]["number"] == 5
    c = fake_github.payloads.issue_comment(repo, 5, "/canon-gate waive", user="bob")
    assert c["issue"]["pull_request"]
    assert c["comment"]["body"] == "/canon-gate waive"
    assert fake_github.payloads.installation(INSTALLATION)["repositories"][0]["id"] == repo.id


# -- faults and manifest -------------------------------------------------------------------------


async def test_injected_faults_and_chaos(gh: Client, repo: Repo, fake_github: FakeGitHub) -> None:
    fake_github.inject("GET /repos/{owner}/{repo}", 502, times=2)
    assert [(await gh.call("GET", "/repos/octo/repo"))[0] for _ in range(3)] == [502, 502, 200]
    fake_github.inject(lambda r: r.method == "GET", 429, headers={"retry-after": "3"})
    async with gh.session.get(
        fake_github.base_url + "/repos/octo/repo", headers={"Authorization": f"token {gh.token}"}
    ) as r:
        assert (r.status, r.headers["retry-after"]) == (429, "3")
    fake_github.chaos(share=0.5, seed=1)
    statuses = [(await gh.call("GET", "/repos/octo/repo"))[0] for _ in range(40)]
    assert 200 in statuses
    assert {502, 429} & set(statuses)
    assert set(statuses) <= {200, 502, 429}


async def test_manifest_flow(fake_github: FakeGitHub, session: aiohttp.ClientSession) -> None:
    manifest = {
        "name": "canon-gate-test",
        "url": "https://example.com",
        "hook_attributes": {"url": "https://example.com/webhooks"},
        "redirect_url": "https://example.com/setup/callback",
        "default_permissions": {"checks": "write"},
        "default_events": ["check_suite"],
    }
    url = f"{fake_github.web_url}/organizations/octo/settings/apps/new?state=abc"
    async with session.post(url, data={"manifest": json.dumps(manifest)}) as r:
        assert r.status == 200
        action = re.search(r"action='([^']+)'", await r.text()).group(1)  # type: ignore[union-attr]
    async with session.post(action, allow_redirects=False) as r:
        location = r.headers["Location"]
    code = re.search(r"code=(\w+)&state=abc", location).group(1)  # type: ignore[union-attr]
    async with session.post(f"{fake_github.base_url}/app-manifests/{code}/conversions") as r:
        assert r.status == 201
        created = await r.json()
    assert created["pem"].startswith("-----BEGIN")
    assert created["webhook_secret"]
    async with session.post(f"{fake_github.base_url}/app-manifests/{code}/conversions") as r:
        assert r.status == 404  # single use
    token = fake_github.make_jwt(created["id"], private_key=created["pem"])
    status, me = await Client(fake_github, session, token).call("GET", "/app")
    assert (status, me["slug"]) == (200, "canon-gate-test")
    bad = {**manifest, "url": ""}
    async with session.post(url, data={"manifest": json.dumps(bad)}) as r:
        assert r.status == 422


async def test_compare_finds_the_merge_base_like_git(fake_github: FakeGitHub) -> None:
    fake_github.add_installation(1, "octo")
    repo = fake_github.add_repo("octo/r", repo_id=11, installation_id=1)
    forked_from = repo.head("main")
    pull = repo.open_pull(1, {"a.md": "mine\n"})
    tip = repo.commit("main", {"b.md": "landed after the PR branched\n"})
    token = fake_github.installation_token(1)
    async with aiohttp.ClientSession() as http:
        url = f"{fake_github.base_url}/repos/octo/r/compare/{tip}...{pull.head_sha}"
        async with http.get(url, headers={"Authorization": f"token {token}"}) as response:
            data = await response.json()
    assert data["status"] == "diverged"
    assert data["merge_base_commit"]["sha"] == forked_from
