"""Credentials in .env: quoted so they read back exactly, merged, and owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from app.edge.settings import Settings
from app.setup import envfile

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    "value", [PEM, "plain", 'quote " and \\ backslash', "tab\tand\r\nCRLF", "", "$HOME-ish"]
)
def test_quoted_values_read_back_exactly(tmp_path: Path, value: str) -> None:
    path = tmp_path / ".env"
    path.write_text(f"KEY={envfile.quote(value)}\n")
    assert dotenv_values(path)["KEY"] == value


def test_a_value_dotenv_would_expand_is_refused() -> None:
    with pytest.raises(ValueError, match="expand"):
        envfile.quote("a${HOME}b")


def test_merge_replaces_our_keys_and_keeps_every_other_line() -> None:
    existing = (
        "# operator's notes\n"
        "PORT=8080\n"
        "GITHUB_APP_ID=1\n"
        'MULTI="line one\nline two"\n'
        "GITHUB_APP_ID=2\n"
        "export LOG_LEVEL=DEBUG"
    )
    merged = envfile.merge(existing, {"GITHUB_APP_ID": "99", "GITHUB_WEBHOOK_SECRET": "s"})
    assert merged == (
        "# operator's notes\n"
        "PORT=8080\n"
        'GITHUB_APP_ID="99"\n'
        'MULTI="line one\nline two"\n'
        "export LOG_LEVEL=DEBUG\n"
        'GITHUB_WEBHOOK_SECRET="s"\n'
    )


def test_write_is_owner_only_and_settings_read_it(tmp_path: Path) -> None:
    path = tmp_path / "conf" / ".env"
    path.parent.mkdir()
    path.write_text("PORT=4000\n")
    path.chmod(0o644)
    envfile.write(
        path,
        {"GITHUB_APP_ID": "5", "GITHUB_APP_PRIVATE_KEY": PEM, "GITHUB_WEBHOOK_SECRET": "w"},
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [".env"]  # no temp file left behind
    settings = Settings(_env_file=path)
    assert settings.port == 4000
    assert settings.github_app_id == 5
    assert settings.github_app_private_key is not None
    assert settings.github_app_private_key.get_secret_value() == PEM
    assert settings.configured
