"""Settings refuse a secret that is set but empty or blank, at start-up, naming the variable
and never echoing a value; a missing secret is still "not set"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import SECRET_FIELDS, InvalidSetting, Settings, get_settings

REPO = Path(__file__).resolve().parents[1]
BLANKS = ["", " ", "\t", "\n", "  \r\n "]


@pytest.mark.parametrize("field", SECRET_FIELDS)
@pytest.mark.parametrize("blank", BLANKS)
def test_a_blank_secret_is_refused(field: str, blank: str) -> None:
    with pytest.raises(ValidationError, match="is set but empty"):
        Settings(_env_file=None, **{field: blank})  # type: ignore[arg-type, call-arg]


@pytest.mark.parametrize("field", SECRET_FIELDS)
def test_an_unset_secret_is_none_and_a_real_one_is_kept(field: str) -> None:
    assert getattr(Settings(_env_file=None), field) is None  # type: ignore[call-arg]
    value = "a-real-secret-value-0123"
    kept = Settings(_env_file=None, **{field: value})  # type: ignore[arg-type, call-arg]
    assert kept.secret(field) == value


def test_get_settings_names_every_refused_variable_on_one_line_without_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWITCHBOARD_WEBHOOK_SECRET", "")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "   ")
    monkeypatch.setenv("PORT", "not-a-port-value")
    get_settings.cache_clear()
    with pytest.raises(InvalidSetting) as refused:
        get_settings()
    message = str(refused.value)
    assert "\n" not in message
    assert "SLACK_SIGNING_SECRET is set but empty: give it a value or unset it" in message
    assert "SWITCHBOARD_WEBHOOK_SECRET is set but empty: give it a value or unset it" in message
    assert message.count("PORT: ") == 1 and "not-a-port-value" not in message


def test_secret_env_treats_a_blank_variable_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_TOKEN", "  ")
    assert Settings.secret_env("AIRFLOW_TOKEN") is None
    monkeypatch.setenv("AIRFLOW_TOKEN", "af-token-0123456789")
    assert Settings.secret_env("AIRFLOW_TOKEN") == "af-token-0123456789"


def _run(module: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))}
    return subprocess.run(
        [sys.executable, "-m", *module],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "PYTHONPATH": str(REPO), "DATABASE_URL": f"sqlite:///{cwd}/x.db", **env},
        cwd=cwd,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SWITCHBOARD_WEBHOOK_SECRET", ""), ("SLACK_SIGNING_SECRET", "   "), ("SLACK_BOT_TOKEN", "")],
)
def test_serve_with_an_empty_secret_is_a_one_line_error_naming_it(
    variable: str, value: str, tmp_path: Path
) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "signing-0123456789",
        variable: value,
    }
    result = _run(["bot.cli", "serve"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {variable} is set but empty: give it a value or unset it"
    )


def test_the_scheduler_alone_refuses_an_empty_secret_the_same_way(tmp_path: Path) -> None:
    result = _run(["scheduler"], {"SWITCHBOARD_WEBHOOK_SECRET": " "}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: SWITCHBOARD_WEBHOOK_SECRET is set but empty: give it a value or unset it"
    )
