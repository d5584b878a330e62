"""Every way to pay for the model (issue 16, part 4): each mode's session environment holds
exactly what it needs, a missing credential names the mode's setup step, and sessions on Amazon
Bedrock and Google Vertex AI run through the real CLI against the fake model's endpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, structured

from action.report import AuthMode
from action.session.environment import (
    CREDENTIAL_NAMES,
    NoCredentials,
    auth_mode,
    build_session_env,
)
from tests.action.support import (
    API_KEY,
    GITHUB_TOKEN,
    OAUTH,
    assert_no_secrets,
    audit,
    make_checkouts,
)

AWS_SECRET = "FAKEawsSECRETkey0123456789abcdefghijklmn"
AWS_SESSION = "FAKEawsSESSIONtoken0123456789"
EVERYTHING = {
    "PATH": "/usr/bin:/bin",
    "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
    "ANTHROPIC_API_KEY": API_KEY,
    "AWS_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "AKIAFAKE0123",
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    "AWS_SESSION_TOKEN": AWS_SESSION,
    "GOOGLE_APPLICATION_CREDENTIALS": "/runner/temp/gcp.json",
    "ANTHROPIC_VERTEX_PROJECT_ID": "acme-ml",
    "CLOUD_ML_REGION": "us-east5",
    "GITHUB_TOKEN": GITHUB_TOKEN,
    "AWS_PROFILE": "someone-elses",
}
BASE = {
    "PATH",
    "HOME",
    "TMPDIR",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_CODE_DISABLE_AUTO_MEMORY",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "CLAUDE_CODE_MAX_RETRIES",
    "API_TIMEOUT_MS",
}


@pytest.mark.parametrize(
    ("mode", "own"),
    [
        ("subscription", {"CLAUDE_CODE_OAUTH_TOKEN"}),
        ("api_key", {"ANTHROPIC_API_KEY"}),
        (
            "bedrock",
            {
                "CLAUDE_CODE_USE_BEDROCK",
                "AWS_REGION",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            },
        ),
        (
            "vertex",
            {
                "CLAUDE_CODE_USE_VERTEX",
                "GOOGLE_APPLICATION_CREDENTIALS",
                "ANTHROPIC_VERTEX_PROJECT_ID",
                "CLOUD_ML_REGION",
            },
        ),
    ],
)
def test_each_mode_hands_the_session_exactly_its_own_credential(
    tmp_path: Path, mode: str, own: set[str]
) -> None:
    env = build_session_env(EVERYTHING, tmp_path / "run", 60, mode)
    assert set(env) == BASE | own
    # Nothing of another mode, and nothing else of the parent's (its AWS profile included).
    assert {n for n in env if n in CREDENTIAL_NAMES} == own & CREDENTIAL_NAMES
    assert GITHUB_TOKEN not in env.values()


def test_auto_takes_the_first_credential_present() -> None:
    assert auth_mode(EVERYTHING) is AuthMode.SUBSCRIPTION
    cloud = {k: v for k, v in EVERYTHING.items() if "OAUTH" not in k and "API_KEY" not in k}
    assert auth_mode(cloud) is AuthMode.BEDROCK
    vertex = {k: v for k, v in cloud.items() if not k.startswith("AWS_")}
    assert auth_mode(vertex) is AuthMode.VERTEX
    assert auth_mode({"CLAUDE_CODE_USE_VERTEX": "1"}) is AuthMode.VERTEX
    assert auth_mode({"PATH": "/bin"}) is AuthMode.NONE


@pytest.mark.parametrize(
    ("mode", "parent", "says"),
    [
        ("auto", {}, "no model credential: set the repository secret CLAUDE_CODE_OAUTH_TOKEN"),
        ("subscription", {"ANTHROPIC_API_KEY": API_KEY}, "CLAUDE_CODE_OAUTH_TOKEN missing"),
        ("api_key", {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH}, "canon-gate init --auth api_key"),
        ("bedrock", {"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B"}, "AWS_REGION missing"),
        ("bedrock", {"AWS_REGION": "eu-west-1"}, "CANON_GATE_AWS_ROLE_ARN"),
        ("vertex", {"CLOUD_ML_REGION": "us-east5"}, "ANTHROPIC_VERTEX_PROJECT_ID"),
        ("vertex", {}, "CANON_GATE_GCP_WORKLOAD_IDENTITY_PROVIDER"),
    ],
)
def test_a_missing_credential_names_the_setup_step_of_the_chosen_mode(
    tmp_path: Path, mode: str, parent: dict[str, str], says: str
) -> None:
    with pytest.raises(NoCredentials) as refused:
        build_session_env({"PATH": "/bin", **parent}, tmp_path, 60, mode)
    assert says in str(refused.value)
    assert "no session was started" in str(refused.value)
    # Never a secret in the message.
    for value in parent.values():
        if len(value) > 3:
            assert value not in str(refused.value)


async def test_a_session_on_amazon_bedrock(tmp_path: Path) -> None:
    async with FakeAnthropic([structured({"findings": []})]) as fake:
        report = await audit(
            make_checkouts(tmp_path),
            fake,
            CLAUDE_CODE_OAUTH_TOKEN="",
            CLAUDE_CODE_USE_BEDROCK="1",
            AWS_REGION="eu-west-1",
            # The fake stands in for Bedrock's runtime; it cannot check AWS's signature.
            ANTHROPIC_BEDROCK_BASE_URL=fake.url,
            CLAUDE_CODE_SKIP_BEDROCK_AUTH="1",
            AWS_SECRET_ACCESS_KEY=AWS_SECRET,
        )
        paths = [r.path for r in fake.message_requests]
    assert report.error is None, report.error
    assert report.run.auth_mode is AuthMode.BEDROCK
    assert paths
    assert all(p.startswith("/model/") for p in paths)
    assert_no_secrets(fake, report)
    assert AWS_SECRET not in json.dumps([r.raw for r in fake.requests])


async def test_a_session_on_google_vertex_ai(tmp_path: Path) -> None:
    async with FakeAnthropic([structured({"findings": []})]) as fake:
        report = await audit(
            make_checkouts(tmp_path),
            fake,
            CLAUDE_CODE_OAUTH_TOKEN="",
            CLAUDE_CODE_USE_VERTEX="1",
            ANTHROPIC_VERTEX_PROJECT_ID="acme-ml",
            CLOUD_ML_REGION="us-east5",
            ANTHROPIC_VERTEX_BASE_URL=fake.url + "/v1",
            CLAUDE_CODE_SKIP_VERTEX_AUTH="1",
        )
        paths = [r.path for r in fake.message_requests]
    assert report.error is None, report.error
    assert report.run.auth_mode is AuthMode.VERTEX
    assert paths[0].startswith("/v1/projects/acme-ml/locations/us-east5/publishers/anthropic/")
    assert_no_secrets(fake, report)


def test_the_cloud_credentials_never_reach_a_job_without_them() -> None:
    """The plan and hints jobs refuse to run beside any mode's credential."""
    from action.session.environment import holds_credential

    assert not holds_credential({"PATH": os.environ["PATH"], "AWS_REGION": "eu-west-1"})
    for name in CREDENTIAL_NAMES:
        assert holds_credential({name: "x"}), name
