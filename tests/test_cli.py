"""The `switchboard` command line, run as a user runs it (a real subprocess where it matters)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd=None
) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.slow  # a real subprocess: a new interpreter imports the bot
def test_serve_without_bot_token_is_a_one_line_error_naming_the_variable(tmp_path):
    result = run_cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: SLACK_BOT_TOKEN is not set (environment or .env)"
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # a real subprocess: a new interpreter imports the bot
def test_serve_without_signing_secret_names_it(tmp_path):
    result = run_cli("serve", env={"SLACK_BOT_TOKEN": "xoxb-1"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: SLACK_SIGNING_SECRET is not set (environment or .env)"


@pytest.mark.slow  # a real subprocess: a new interpreter imports the bot
def test_socket_mode_needs_the_app_token(tmp_path):
    result = run_cli("serve", "--socket-mode", env={"SLACK_BOT_TOKEN": "xoxb-1"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: SLACK_APP_TOKEN is not set (environment or .env)"


@pytest.mark.slow  # a real subprocess: a new interpreter imports the bot
def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\n")
    result = run_cli("serve", cwd=tmp_path)
    assert result.stderr.strip() == "error: SLACK_SIGNING_SECRET is not set (environment or .env)"


def test_ask_renders_help_as_text_without_slack():
    result = runner.invoke(app, ["ask", "/ops help"])
    assert result.exit_code == 0
    assert "Switchboard: /ops commands" in result.stdout
    assert "/ops promote MODEL VERSION to ALIAS [reason…]" in result.stdout
    assert '"type"' not in result.stdout  # text, not Block Kit JSON


# What `ask "/ops help"` must not import: each costs start-up time and help reads none of them.
HEAVY_FOR_HELP = ("duckdb", "matplotlib", "boto3", "fastapi", "slack_bolt", "sqlalchemy")
PRINT_HEAVY = """
import sys
from bot.cli import app
sys.argv = ["switchboard", *sys.argv[1:]]
try:
    app()
finally:
    heavy = {HEAVY!r}
    print("IMPORTED:" + ",".join(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
"""


def imported_heavy(
    *args: str, tmp_path: Path, heavy: tuple[str, ...] = HEAVY_FOR_HELP
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    code = PRINT_HEAVY.replace("{HEAVY!r}", repr(heavy))
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **clean,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "PYTHONPATH": str(ROOT),
            "SWITCHBOARD_CACHE_DIR": str(tmp_path / "cache"),
        },
        cwd=tmp_path,
    )
    line = [x for x in result.stderr.splitlines() if x.startswith("IMPORTED:")][-1]
    return result, {m for m in line.removeprefix("IMPORTED:").split(",") if m}


@pytest.mark.slow  # a real subprocess: a new interpreter starts, as the user's shell does
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/ops help", "Switchboard: /ops commands"),
        ("help", "Switchboard: /ops commands"),
        ("/ops help spend", "/ops spend [team:T"),
    ],
)
def test_ask_help_imports_nothing_heavy(tmp_path, text, shown):
    result, heavy = imported_heavy("ask", text, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    assert heavy == set()


@pytest.mark.slow  # a real subprocess: the probe above must see imports when they happen
def test_ask_spend_does_import_what_it_needs(tmp_path):
    result, heavy = imported_heavy("ask", "/ops spend 30d", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {"duckdb", "sqlalchemy"} <= heavy  # the probe sees real imports
    assert "fastapi" not in heavy and "slack_bolt" not in heavy  # a terminal answer serves nothing


@pytest.mark.slow  # real subprocesses: what the second run of the day skips
def test_a_second_ask_neither_migrates_nor_writes_the_demo_spend_again(tmp_path):
    first, heavy = imported_heavy("ask", "/ops spend 30d", tmp_path=tmp_path, heavy=("alembic",))
    assert first.returncode == 0, first.stderr
    assert heavy == {"alembic"}  # a new database is migrated
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*.parquet")}
    assert cached  # the demo's spend files, kept for the next run
    second, heavy = imported_heavy("ask", "/ops spend 30d", tmp_path=tmp_path, heavy=("alembic",))
    assert second.returncode == 0, second.stderr
    assert heavy == set()  # the database is at the newest revision: alembic is not needed
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*.parquet")} == cached
    spent = [
        [x for x in r.stdout.splitlines() if x.startswith("All teams spent $")]
        for r in (first, second)
    ]
    assert spent[0] == spent[1] and len(spent[1]) == 1  # the same answer from the cached files


def test_ask_suggests_the_closest_command():
    result = runner.invoke(app, ["ask", "/ops modles"])
    assert result.exit_code == 0 and "Did you mean models?" in result.stdout


# The bot scope each Web API method the bot calls needs (Slack's method reference).
METHOD_SCOPES: dict[str, set[str]] = {
    # chat:write.public: team channels the bot was never invited to; im:write: DMs it starts by
    # addressing a user id (approval cards, reminders, modal outcomes).
    "chat.postMessage": {"chat:write", "chat:write.public", "im:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "files.getUploadURLExternal": {"files:write"},  # chart uploads
    "files.completeUploadExternal": {"files:write"},
    "views.open": set(),  # modals open on the trigger_id of a command, shortcut or click
    "views.publish": set(),  # App Home needs no scope beyond the app_home feature
    "users.info": {"users:read"},  # the asker's time zone
    "usergroups.users.list": {"usergroups:read"},  # who is in an on-call user group
    "apps.connections.open": set(),  # Socket Mode: the app-level token's connections:write
}
EVENT_SCOPES = {"app_mention": "app_mentions:read", "message.im": "im:history"}
WEB_API_METHOD = re.compile(r"(?:chat|views|users|files|conversations|usergroups|apps)\.[A-Za-z.]+")


def web_api_calls() -> set[str]:
    """Every Web API method named in the bot's code: a string like "chat.update" (what the
    outbox sends) or a slack_sdk client call like `client.views_open(...)`. The sandbox plays
    Slack's side and is left out."""
    from slack_sdk.web.async_client import AsyncWebClient

    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if WEB_API_METHOD.fullmatch(node.value):
                    found.add(node.value)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if not name.startswith("_") and callable(getattr(AsyncWebClient, name, None)):
                    found.add(name.replace("_", "."))
    return found


def scopes_the_bot_uses(manifest: dict) -> set[str]:
    calls = web_api_calls()
    assert calls >= {"chat.postMessage", "views.open", "users.info"}, calls  # the scan works
    unknown = calls - set(METHOD_SCOPES)
    assert not unknown, f"add the scopes of {sorted(unknown)} to METHOD_SCOPES"
    scopes = set().union(*(METHOD_SCOPES[method] for method in calls))
    scopes |= {
        EVENT_SCOPES[e]
        for e in manifest["settings"]["event_subscriptions"]["bot_events"]
        if e in EVENT_SCOPES
    }
    if manifest["features"].get("slash_commands") or manifest["features"].get("shortcuts"):
        scopes.add("commands")
    return scopes


def test_manifest_installs_exactly_the_designed_surface():
    manifest = yaml.safe_load(runner.invoke(app, ["manifest"]).stdout)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/ops"]
    assert sorted(manifest["settings"]["event_subscriptions"]["bot_events"]) == [
        "app_home_opened",
        "app_mention",
        "message.im",
    ]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == scopes_the_bot_uses(manifest)
    urls = {
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["features"]["slash_commands"][0]["url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")


def test_manifest_for_a_host_and_for_socket_mode():
    filled = yaml.safe_load(runner.invoke(app, ["manifest", "--url", "https://sb.acme.io/"]).stdout)
    assert filled["settings"]["interactivity"]["request_url"] == "https://sb.acme.io/slack/events"
    socket = yaml.safe_load(runner.invoke(app, ["manifest", "--socket-mode"]).stdout)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert "url" not in socket["features"]["slash_commands"][0]


def test_check_config_passes_the_example_and_fails_a_broken_file(tmp_path):
    ok = runner.invoke(app, ["check-config", "ops.example.yml"])
    assert ok.exit_code == 0 and "OK" in ok.stdout
    bad = tmp_path / "ops.yml"
    bad.write_text("version: 1\nteams:\n  ml:\n    channel: nope\n    members: [bob]\n")
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4: teams.ml.channel" in result.stdout
    assert f"{bad}:5: teams.ml.members[0]" in result.stdout


@pytest.mark.slow  # a real subprocess: a new interpreter imports the bot
def test_db_upgrade_creates_the_schema(tmp_path):
    db = tmp_path / "cli.db"
    result = run_cli("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{db}"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout and db.exists()


@pytest.mark.slow  # a real subprocess: a new interpreter imports the bot
def test_serve_refuses_an_invalid_ops_yml_with_every_problem(tmp_path):
    bad = tmp_path / "ops.yml"
    bad.write_text("version: 1\nteams:\n  ml:\n    channel: nope\n    members: [bob]\n")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SWITCHBOARD_CONFIG": str(bad),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "teams.ml.channel" in result.stderr and "teams.ml.members[0]" in result.stderr
    assert "Traceback" not in result.stderr


def test_manifest_shortcuts_are_the_ones_the_bot_handles():
    from bot.views.ids import Callback

    manifest = yaml.safe_load(runner.invoke(app, ["manifest"]).stdout)
    ids = {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert ids == {Callback.shortcut_promotion, Callback.shortcut_budget_increase}


def test_ask_does_not_open_requests_nobody_would_be_told_about(tmp_path):
    import sqlite3

    db = tmp_path / "ask.db"
    env = {"SWITCHBOARD_CONFIG": "ops.example.yml", "DATABASE_URL": f"sqlite:///{db}"}
    result = runner.invoke(
        app, ["ask", "/ops promote churn 14 to champion", "--user", "U0ML0EVA"], env=env
    )
    assert result.exit_code == 0
    assert "Requests are opened in Slack" in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from approval_request").fetchone() == (0,)


def test_check_config_prints_a_warning_and_still_passes(tmp_path):
    old = tmp_path / "ops.yml"
    old.write_text("version: 1\nsources:\n  focus: {path: x.csv, timezone: UTC}\n")
    result = runner.invoke(app, ["check-config", str(old)])
    assert result.exit_code == 0, result.output
    assert "sources.focus.timezone: warning: deprecated" in result.stdout
    assert "OK (1 warning(s))" in result.stdout
