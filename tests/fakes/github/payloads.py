"""Webhook payloads built from the pinned real examples, patched with the fake's state."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .state import Comment, MergeGroup, Repo, ids, user_json

if TYPE_CHECKING:
    from .server import FakeGitHub

WEBHOOKS = Path(__file__).resolve().parents[2] / "fixtures" / "webhooks"


@cache
def _read(name: str) -> str:
    return (WEBHOOKS / f"{name}.json").read_text()


def load_example(name: str) -> dict[str, Any]:
    """Return a fresh copy of a pinned example, e.g. `pull_request.opened`."""
    data: dict[str, Any] = json.loads(_read(name))
    return data


class Payloads:
    """Builders: each starts from a real example and patches ids, repo, installation, sender."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake

    def _base(
        self, name: str, repo: Repo | None, sender: str, sender_type: str = "User"
    ) -> dict[str, Any]:
        payload = load_example(name)
        if repo is not None:
            payload["repository"] = {**payload.get("repository", {}), **repo.json()}
            payload["installation"] = {
                "id": repo.installation_id,
                "node_id": f"I_{repo.installation_id}",
            }
            payload.pop("organization", None)
        payload["sender"] = user_json(sender, sender_type)
        return payload

    def pull_request(
        self, repo: Repo, pull: Any, action: str, *, sender: str | None = None
    ) -> dict[str, Any]:
        from .issues import pull_json  # the REST view is the webhook view, plus extras

        name = (
            "pull_request.opened-draft"
            if action == "opened" and pull.draft
            else f"pull_request.{action}"
        )
        payload = self._base(name, repo, sender or pull.user)
        pr = payload["pull_request"]
        pr.update(pull_json(repo, pull))
        payload["number"] = pull.number
        if action == "synchronize":
            payload["before"] = (
                repo.store.commits[pull.head_sha].parents[0]
                if repo.store.commits[pull.head_sha].parents
                else pull.head_sha
            )
            payload["after"] = pull.head_sha
        if action == "closed":
            pr["state"] = "closed"
        return payload

    def check_suite(
        self,
        repo: Repo,
        head_sha: str,
        action: str = "requested",
        *,
        head_branch: str | None = None,
    ) -> dict[str, Any]:
        payload = self._base(f"check_suite.{action}", repo, "alice")
        suite = payload["check_suite"]
        pulls = [p for p in repo.pulls.values() if p.head_sha == head_sha]
        suite.update(
            id=next(ids),
            head_sha=head_sha,
            after=head_sha,
            head_branch=head_branch or (pulls[0].head_ref if pulls else repo.default_branch),
            # "Re-run all checks" updates the suite: each request has its own time.
            updated_at=self.fake.clock.iso(),
            app=self.fake.apps[self.fake.app_id].json(),
            pull_requests=[
                {
                    "number": p.number,
                    "head": {"sha": p.head_sha, "ref": p.head_ref},
                    "base": {"sha": repo.head(p.base_ref), "ref": p.base_ref},
                }
                for p in pulls
            ],
        )
        suite["head_commit"] = {
            **suite.get("head_commit", {}),
            "id": head_sha,
            "tree_id": repo.store.commits[head_sha].tree,
        }
        return payload

    def check_run(
        self,
        repo: Repo,
        check_run_id: int,
        action: str,
        identifier: str | None = None,
        *,
        sender: str = "alice",
    ) -> dict[str, Any]:
        from .checks import run_json

        payload = self._base(f"check_run.{action}", repo, sender)
        run = repo.check_runs[check_run_id]
        payload["check_run"].update(run_json(repo, run, self.fake.public_api_url))
        payload["check_run"]["check_suite"] = {
            **payload["check_run"].get("check_suite", {}),
            "id": run.check_suite_id,
            "head_sha": run.head_sha,
            "app": self.fake.apps[run.app_id].json(),
        }
        if action == "requested_action":
            payload["requested_action"] = {"identifier": identifier or "rerun"}
        return payload

    def issue_comment(
        self,
        repo: Repo,
        number: int,
        body: str,
        action: str = "created",
        user: str = "alice",
        comment_id: int | None = None,
        *,
        on_pr: bool = True,
        user_type: str = "User",
    ) -> dict[str, Any]:
        payload = self._base(f"issue_comment.{action}", repo, user, user_type)
        issue = payload["issue"]
        issue.update(
            number=number,
            state="open",
            user=user_json(repo.pulls[number].user if number in repo.pulls else user),
        )
        api = f"{self.fake.public_api_url}/repos/{repo.full_name}"
        if on_pr:
            issue["pull_request"] = {
                "url": f"{api}/pulls/{number}",
                "html_url": f"https://github.com/{repo.full_name}/pull/{number}",
                "diff_url": f"https://github.com/{repo.full_name}/pull/{number}.diff",
                "patch_url": f"https://github.com/{repo.full_name}/pull/{number}.patch",
                "merged_at": None,
            }
        else:
            issue.pop("pull_request", None)
        comment = payload["comment"]
        cid = comment_id or next(ids)
        now = self.fake.clock.iso()
        comment.update(
            id=cid,
            body=body,
            created_at=now,
            updated_at=now,
            html_url=f"https://github.com/{repo.full_name}/pull/{number}#issuecomment-{cid}",
            user=user_json(user, user_type),
            issue_url=f"{api}/issues/{number}",
            author_association="MEMBER"
            if repo.permissions.get(user) not in (None, "none", "read")
            else "CONTRIBUTOR",
        )
        if action == "edited":
            payload["changes"] = {"body": {"from": "(previous body)"}}
        if action != "deleted":
            # GitHub holds the comment the webhook describes: reactions and replies can find it.
            repo.comments[comment["id"]] = Comment(
                comment["id"], number, body, user, None, now, now
            )
        else:
            repo.comments.pop(comment["id"], None)
        return payload

    def workflow_run(self, repo: Repo, run_id: int, action: str = "completed") -> dict[str, Any]:
        from .actions import run_json

        run = repo.runs[run_id]
        payload = self._base(f"workflow_run.{action}", repo, "canon-gate[bot]", "Bot")
        wr = payload["workflow_run"]
        wr.update(run_json(repo, run))
        wr["status"] = {"requested": "queued", "in_progress": "in_progress"}.get(action, run.status)
        wr["conclusion"] = run.conclusion if action == "completed" else None
        workflow = payload.get("workflow") or {}
        workflow.update(id=wr["workflow_id"], name=run.name, path=run.path)
        payload["workflow"] = workflow
        return payload

    def merge_group(
        self, repo: Repo, group: MergeGroup, action: str, *, reason: str | None = None
    ) -> dict[str, Any]:
        """`merge_group.checks_requested` or `.destroyed` (`reason`: merged, dequeued,
        invalidated) for a group the fake made with `Repo.enqueue`."""
        payload = self._base(f"merge_group.{action}", repo, "alice")
        commit = repo.store.commits[group.head_sha]
        payload["merge_group"].update(
            head_sha=group.head_sha,
            head_ref=group.head_ref,
            base_sha=group.base_sha,
            base_ref=group.base_ref,
        )
        payload["merge_group"]["head_commit"].update(
            id=group.head_sha, tree_id=commit.tree, message=commit.message
        )
        if action == "destroyed":
            payload["reason"] = reason or "dequeued"
        return payload

    def push(
        self, repo: Repo, before: str, after: str, *, branch: str | None = None
    ) -> dict[str, Any]:
        """A push moving `branch` (the default one) from `before` to `after`."""
        payload = self._base("push.default", repo, "alice")
        ref = f"refs/heads/{branch or repo.default_branch}"
        payload.update(
            ref=ref,
            before=before,
            after=after,
            created=False,
            deleted=False,
            forced=False,
            base_ref=None,
            compare=f"https://github.com/{repo.full_name}/compare/{before[:12]}...{after[:12]}",
        )
        commit = repo.store.commits[after]
        payload["head_commit"] = {
            **(payload.get("head_commit") or {}),
            "id": after,
            "tree_id": commit.tree,
            "message": commit.message,
        }
        return payload

    def installation(
        self, installation_id: int, action: str = "created", *, repos: list[Repo] | None = None
    ) -> dict[str, Any]:
        payload = self._base(f"installation.{action}", None, "alice")
        inst = self.fake.installations[installation_id]
        payload["installation"].update(
            id=installation_id,
            app_id=inst.app_id,
            account=user_json(inst.account, "Organization"),
            permissions=dict(self.fake.apps[inst.app_id].permissions),
        )
        chosen = (
            repos
            if repos is not None
            else [r for r in self.fake.repos.values() if r.installation_id == installation_id]
        )
        payload["repositories"] = [self._short(r) for r in chosen]
        return payload

    def installation_repositories(
        self,
        installation_id: int,
        *,
        added: list[Repo] = (),
        removed: list[Repo] = (),  # type: ignore[assignment]
    ) -> dict[str, Any]:
        action = "added" if added else "removed"
        payload = self._base(f"installation_repositories.{action}", None, "alice")
        inst = self.fake.installations[installation_id]
        payload["installation"].update(id=installation_id, app_id=inst.app_id)
        payload["action"] = action
        payload["repositories_added"] = [self._short(r) for r in added]
        payload["repositories_removed"] = [self._short(r) for r in removed]
        return payload

    def ping(self) -> dict[str, Any]:
        payload = load_example("ping.default")
        app = self.fake.apps[self.fake.app_id]
        payload["hook"] = {**payload["hook"], "type": "App", "app_id": app.id}
        payload["hook"]["config"] = {
            **payload["hook"]["config"],
            "url": self.fake.webhook_url or "",
        }
        payload.pop("repository", None)
        payload.pop("organization", None)
        return copy.deepcopy(payload)

    @staticmethod
    def _short(repo: Repo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
        }
