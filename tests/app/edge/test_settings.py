"""Settings: CANON_GATE_ENV_FILE names the .env that is read, and the one registration writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.edge.settings import Settings


def test_the_env_file_is_read_from_and_written_to_where_canon_gate_env_file_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume = tmp_path / "volume" / ".env"
    volume.parent.mkdir()
    volume.write_text("GITHUB_APP_ID=5\nGITHUB_APP_SLUG=gate\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANON_GATE_ENV_FILE", str(volume))
    settings = Settings.load()
    assert settings.env_file == volume  # registration writes the credentials here
    assert (settings.github_app_id, settings.github_app_slug) == (5, "gate")


def test_the_default_env_file_is_dot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CANON_GATE_ENV_FILE", raising=False)
    (tmp_path / ".env").write_text("GITHUB_APP_ID=7\n")
    settings = Settings.load()
    assert settings.env_file == Path(".env")
    assert settings.github_app_id == 7
