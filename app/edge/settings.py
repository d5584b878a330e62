"""The App's settings: parsed once from the environment and an optional `.env` file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.judge.outcomes import DEFAULT_WORKFLOW_FILE


class Settings(BaseSettings):
    """Operator configuration. Credentials are configuration, never App state."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    github_app_id: int | None = None
    github_app_slug: str | None = None
    github_app_private_key: SecretStr | None = None
    github_app_private_key_path: Path | None = None
    github_webhook_secret: SecretStr | None = None
    # Seals ledger records. Default: derived from the private key. Set it to keep the ledger
    # trusted across a key rotation (every replica needs the same value).
    ledger_signing_key: SecretStr | None = None
    # Points the App at GitHub Enterprise Server, or at a test double.
    github_api_url: str = "https://api.github.com"
    # Where people go: the App Manifest flow and install links live here.
    github_web_url: str = "https://github.com"
    # This App's public URL, used to fill in the manifest's webhook and redirect URLs.
    public_url: str | None = None
    # Local development only: a smee.io-style channel (server-sent events) that GitHub delivers
    # to, read by `app.edge.proxy`. Registration names it as the webhook URL; every delivery from
    # it is still checked against the webhook secret, since anyone may post to a channel.
    webhook_proxy_url: str | None = None
    host: str = "0.0.0.0"  # noqa: S104 - a server binds all interfaces unless told otherwise
    port: int = Field(default=3000, validation_alias=AliasChoices("PORT", "CANON_GATE_PORT"))
    # Where `canon-gate serve` stores credentials after the registration flow.
    # CANON_GATE_ENV_FILE: where registration stores the credentials, and where they are read
    # from (a mounted volume in a container). See `Settings.load`.
    env_file: Path = Field(
        default=Path(".env"), validation_alias=AliasChoices("CANON_GATE_ENV_FILE", "ENV_FILE")
    )
    workflow_file: str = DEFAULT_WORKFLOW_FILE
    # GitHub wants an answer within 10 s; leave room for the response itself.
    delivery_budget_seconds: float = 8.0
    # A check run still active after this long is concluded `timed_out` (the sweep, or the next
    # event): the workflow's jobs take at most 10 + 10 + 30 + 30 minutes, plus a queue.
    audit_timeout_seconds: int = 90 * 60
    # The delivery-log reconciler: 0 turns it off.
    redeliver_interval_seconds: int = 300
    redeliver_window_hours: int = 24
    # Guards the operator's pages (setup, status, and /metrics when asked). Unset, `canon-gate
    # serve` makes one on first start, stores it in the .env file and prints it once.
    admin_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CANON_GATE_ADMIN_TOKEN", "admin_token")
    )
    # Off by default: Prometheus scrapers often send no credentials. On, /metrics needs the
    # token too (as `Authorization: Bearer`, or `?token=` in the scrape's params).
    metrics_require_token: bool = False
    log_format: str = "auto"  # auto | json | text
    log_level: str = "INFO"

    @classmethod
    def load(cls, env_file: Path | None = None, **overrides: Any) -> Settings:
        """Settings from the environment and the .env file it names (CANON_GATE_ENV_FILE)."""
        chosen = env_file or Path(os.environ.get("CANON_GATE_ENV_FILE") or ".env")
        return cls(_env_file=chosen, env_file=chosen, **overrides)

    @field_validator("webhook_proxy_url")
    @classmethod
    def _proxy_is_a_channel(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be a channel's address, such as https://smee.io/AbC123")
        return value

    @model_validator(mode="after")
    def _key_from_path(self) -> Settings:
        if self.github_app_private_key is None and self.github_app_private_key_path is not None:
            pem = self.github_app_private_key_path.read_text(encoding="utf-8")
            object.__setattr__(self, "github_app_private_key", SecretStr(pem))
        return self

    @property
    def ledger_secret(self) -> str | None:
        """What seals the ledger: its own key if set, else the App's private key."""
        chosen = self.ledger_signing_key or self.github_app_private_key
        return chosen.get_secret_value() if chosen is not None else None

    @property
    def configured(self) -> bool:
        """True when the App can authenticate and verify webhooks; else it runs in setup mode."""
        return (
            self.github_app_id is not None
            and self.github_app_private_key is not None
            and self.github_webhook_secret is not None
        )

    @property
    def missing(self) -> list[str]:
        names = {
            "GITHUB_APP_ID": self.github_app_id,
            "GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_PATH)": self.github_app_private_key,
            "GITHUB_WEBHOOK_SECRET": self.github_webhook_secret,
        }
        return [name for name, value in names.items() if value is None]
