"""The one settings object: every environment variable Switchboard reads, and nothing else reads os.environ."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core.core_schema import ValidationInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.redaction import remember

# Every secret Settings holds; each is redacted from the log once read (bot.redaction).
SECRET_FIELDS = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "switchboard_webhook_secret",
)


class MissingSetting(RuntimeError):
    """A setting the chosen mode needs is not set; the message names the variable."""


class InvalidSetting(RuntimeError):
    """The environment holds a value Switchboard refuses; the message names the variable."""


def _user_cache_dir() -> Path:
    """$XDG_CACHE_HOME, or ~/.cache (the XDG default)."""
    configured = os.environ.get("XDG_CACHE_HOME", "").strip()
    return Path(configured) if configured else Path.home() / ".cache"


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
    switchboard_outbox_backoff: float = Field(
        1.0, gt=0, description="first retry delay of a failed post (doubles per attempt)"
    )
    switchboard_outbox_max_attempts: int = Field(
        8, ge=1, description="failed attempts before a post is given up (dead)"
    )
    switchboard_heartbeat_seconds: float = Field(
        2.0, gt=0, description="how often a replica says it is alive (its leases stay its own)"
    )
    # What `switchboard serve` allows a client (bot.server); README: behind a reverse proxy.
    switchboard_header_timeout: float = Field(
        10.0, gt=0, description="seconds to receive a request's headers"
    )
    switchboard_body_timeout: float = Field(
        15.0, gt=0, description="seconds to receive a request's body once its headers are in"
    )
    switchboard_api_docs: bool = Field(
        False, description="serve /docs and /openapi.json (off: both answer 404)"
    )
    switchboard_detectors: bool = Field(
        True,
        description="run the internal detectors and the dead-man's switch (ops.yml "
        "incidents.detectors says which); off: only webhooks make incidents",
    )
    switchboard_cache_dir: Path = Field(
        default_factory=lambda: _user_cache_dir() / "switchboard",
        description="where the CLI keeps files it can make again (the demo company's spend) "
        "between runs",
    )
    switchboard_keep_alive_timeout: float = Field(
        5.0, gt=0, description="seconds an idle keep-alive connection stays open"
    )

    @field_validator(*SECRET_FIELDS, mode="before")
    @classmethod
    def _secret_not_blank(cls, value: object, info: ValidationInfo) -> object:
        # Set-but-empty is not "unset": an empty HMAC key verifies anyone's signature.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            raise ValueError("is set but empty: give it a value or unset it")
        return value

    def model_post_init(self, _context: object) -> None:
        remember(*(self.secret(name) for name in SECRET_FIELDS if getattr(self, name) is not None))

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
        if value is not None and value.strip():
            remember(value)
            return value
        return None

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise MissingSetting(f"{name.upper()} is not set (environment or .env)")
        return str(value.get_secret_value())


def describe_invalid(error: ValidationError) -> str:
    """One line naming each refused variable and why, never its value (it may be a secret)."""
    parts = []
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"]).upper() or "settings"
        if problem["type"] == "value_error":  # ours: phrased to follow the name
            parts.append(f"{name} {problem['msg'].removeprefix('Value error, ')}")
        else:
            parts.append(f"{name}: {problem['msg']}")
    return "; ".join(parts)


@lru_cache
def get_settings() -> Settings:
    """The process's settings; InvalidSetting (one line, naming the variables) if refused."""
    try:
        return Settings()
    except ValidationError as exc:
        raise InvalidSetting(describe_invalid(exc)) from None
