"""The one settings object: every environment variable Switchboard reads, and nothing else reads os.environ."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingSetting(RuntimeError):
    """A setting the chosen mode needs is not set; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-…)")
    slack_signing_secret: SecretStr | None = Field(None, description="Signing secret of the app")
    slack_app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-…), Socket Mode only"
    )
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    database_url: str = Field("sqlite:///./switchboard.db", description="SQLAlchemy database URL")
    switchboard_config: Path = Field(Path("ops.yml"), description="Path of ops.yml")
    switchboard_webhook_secret: SecretStr | None = Field(
        None, description="HMAC secret of webhooks"
    )
    port: int = Field(3000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"
    # Not part of the public contract: lets tests and the demo shrink background intervals.
    switchboard_outbox_interval: float = Field(1.0, gt=0)
    switchboard_channel_pace: float = Field(
        1.0, ge=0, description="seconds between posts per channel"
    )
    switchboard_max_body_bytes: int = Field(1_000_000, gt=0)

    @property
    def api_url(self) -> str:
        return self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"

    def require(self, *names: str) -> None:
        """Raise MissingSetting naming the first unset variable among ``names``."""
        for name in names:
            if getattr(self, name.lower()) in (None, ""):
                raise MissingSetting(f"{name.upper()} is not set (environment or .env)")

    @staticmethod
    def secret_env(name: str) -> str | None:
        """A secret named in ops.yml by its environment variable (e.g. ``token_env: AIRFLOW_TOKEN``)."""
        value = os.environ.get(name)
        return value or None

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise MissingSetting(f"{name.upper()} is not set (environment or .env)")
        return str(value.get_secret_value())


@lru_cache
def get_settings() -> Settings:
    return Settings()
