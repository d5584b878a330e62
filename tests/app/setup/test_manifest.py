"""The App Manifest flow's pure parts: the manifest, the URLs, the signed state, the .env values."""

from __future__ import annotations

from pathlib import Path

import yaml

from app import resources
from app.edge.settings import Settings
from app.setup.manifest import (
    ACCOUNT_NAME,
    Conversion,
    StateSigner,
    build_manifest,
    configured_settings,
    env_values,
    install_url,
    registration_url,
)

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\n"


def test_manifest_asks_for_least_privilege_and_the_events_the_app_handles() -> None:
    manifest = yaml.safe_load(resources.read_text(resources.MANIFEST))
    assert manifest["default_permissions"] == {
        "checks": "write",
        "actions": "write",
        "contents": "write",
        # write: suggested fixes as a review (config `suggestions`).
        "pull_requests": "write",
        "issues": "write",
        "metadata": "read",
        # GitHub sends `merge_group` only to an App with Merge queues (read).
        "merge_queues": "read",
    }
    assert set(manifest["default_events"]) == {
        "pull_request",
        "check_suite",
        "check_run",
        "workflow_run",
        "issue_comment",
        "merge_group",
        "push",
    }
    assert manifest["public"] is False
    # The URLs come from the running App's public URL, never from the file.
    assert not {"url", "redirect_url", "setup_url"} & manifest.keys()
    assert "url" not in manifest["hook_attributes"]


def test_build_manifest_fills_every_url_from_the_public_url() -> None:
    manifest = build_manifest("https://gate.example.com/")
    assert manifest["url"] == "https://gate.example.com"
    assert manifest["hook_attributes"] == {
        "active": True,
        "url": "https://gate.example.com/webhooks",
    }
    assert manifest["redirect_url"] == "https://gate.example.com/setup/callback"
    assert manifest["setup_url"] == "https://gate.example.com/setup"
    assert manifest["name"] == "canon-gate"


def test_registration_url_targets_the_account_or_the_organisation() -> None:
    assert (
        registration_url("https://github.com/", None, "s.t+1")
        == "https://github.com/settings/apps/new?state=s.t%2B1"
    )
    assert (
        registration_url("https://ghe.example.com", "my-org", "abc")
        == "https://ghe.example.com/organizations/my-org/settings/apps/new?state=abc"
    )
    assert install_url("https://github.com", "canon-gate") == (
        "https://github.com/apps/canon-gate/installations/new"
    )


def test_account_names_follow_githubs_rules() -> None:
    for good in ("octo", "my-org", "a", "A1-b2", "x" * 39):
        assert ACCOUNT_NAME.match(good), good
    for bad in ("", "-org", "org-", "my--org", "x" * 40, "a/b", "../x", "o rg", "org?x=1"):
        assert not ACCOUNT_NAME.match(bad), bad


def test_state_is_accepted_once_and_only_from_this_signer_before_it_expires() -> None:
    signer = StateSigner(ttl=60)
    state = signer.issue(now=1000)
    assert signer.check(state, now=1030) is None
    assert signer.check(state, now=1031) == "used"

    other = StateSigner(ttl=60).issue(now=1000)
    assert signer.check(other, now=1000) == "foreign"

    late = signer.issue(now=1000)
    assert signer.check(late, now=1061) == "expired"

    expiry, nonce, sig = signer.issue(now=1000).split(".")
    forged = f"{int(expiry) + 3600}.{nonce}.{sig}"  # a longer life is a different payload
    assert signer.check(forged, now=1000) == "foreign"
    for malformed in ("", "abc", "1.2", "x.y.z", "..."):
        assert signer.check(malformed, now=1000) == "malformed"


def test_conversion_becomes_env_values_and_settings_without_losing_the_rest() -> None:
    conversion = Conversion.model_validate(
        {
            "id": 7,
            "slug": "canon-gate-acme",
            "pem": PEM,
            "webhook_secret": "whsec",
            "client_id": "Iv1.x",
            "client_secret": "cs",
            "owner": {"login": "acme"},
        }
    )
    assert "whsec" not in repr(conversion)
    assert "MIIE" not in repr(conversion)
    assert env_values(conversion) == {
        "GITHUB_APP_ID": "7",
        "GITHUB_APP_SLUG": "canon-gate-acme",
        "GITHUB_APP_PRIVATE_KEY": PEM,
        "GITHUB_WEBHOOK_SECRET": "whsec",
        "GITHUB_APP_CLIENT_ID": "Iv1.x",
        "GITHUB_APP_CLIENT_SECRET": "cs",
    }
    before = Settings(_env_file=None, github_api_url="http://api", env_file=Path("x.env"))
    assert not before.configured
    after = configured_settings(before, conversion)
    assert after.configured
    assert after.github_app_id == 7
    assert after.github_app_slug == "canon-gate-acme"
    assert after.github_api_url == "http://api"
    assert after.env_file == Path("x.env")
    assert after.github_webhook_secret is not None
    assert after.github_webhook_secret.get_secret_value() == "whsec"
