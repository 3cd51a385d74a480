"""The `switchboard` command line: serve, demo, ask, check-config, db upgrade, manifest, audit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bot.settings import InvalidSetting, MissingSetting, Settings, get_settings

if TYPE_CHECKING:
    from bot.services import Services
    from bot.views.reply import Reply

app = typer.Typer(
    help="Switchboard: the Slack bot where DataOps, MLOps and FinOps meet.",
    no_args_is_help=True,
    # A crash must not print local variables: they can hold the bot token.
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _utc(moment: datetime | None) -> datetime | None:
    """A `--now` option's moment; UTC when it names no zone."""
    return None if moment is None else (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@contextmanager
def _terminal_services(
    *, instead: str, now: datetime | None, sends: bool
) -> Iterator[tuple[Services, Path]]:
    """The services a terminal command reads, and the ops.yml they came from: SWITCHBOARD_CONFIG,
    or without that file the demo company's ops.example.yml (saying so on stderr: "… not found:
    {instead}"). The database is migrated first; the demo's spend files are kept between runs.
    (Imported only when needed: help reads none of it.)"""
    from bot.ops_config import OpsConfigError
    from bot.ops_config.example import example_config
    from bot.services import build_services
    from bot.store.db import upgrade

    settings = get_settings()
    with example_config() as example:
        path = settings.switchboard_config
        if not path.is_file():
            typer.secho(f"{path} not found: {instead}", err=True, fg=typer.colors.YELLOW)
            path = example
        upgrade(settings.database_url)
        try:
            services = build_services(
                settings,
                config_path=path,
                now=now,
                sends=sends,
                demo_cache=settings.switchboard_cache_dir / "demo",
            )
        except OpsConfigError as exc:
            _fail(str(exc))
        yield services, path


def _logging(settings: Settings) -> None:
    from bot.logging import configure_logging

    configure_logging(settings.log_level, settings.log_format)


@app.callback()
def _configure() -> None:
    # Logs go to stderr so command output (ask, manifest, check-*) stays clean on stdout.
    try:
        settings = get_settings()
    except InvalidSetting as exc:
        _fail(str(exc))
    _logging(settings)


@app.command()
def serve(
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="Connect to Slack over Socket Mode")
    ] = False,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "0.0.0.0",
) -> None:
    """Run the bot: HTTP mode (Slack posts to /slack/events) or Socket Mode."""
    import uvicorn
    from pydantic import SecretStr

    from bot.app import create_app
    from bot.ops_config import OpsConfigError
    from bot.server import server_config

    settings = get_settings()
    try:
        settings.require("SLACK_BOT_TOKEN")
        settings.require("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
        if socket_mode and settings.slack_signing_secret is None:
            # Socket Mode requests are not signed; bolt still wants a value to build the app.
            settings = settings.model_copy(
                update={"slack_signing_secret": SecretStr("socket-mode-unsigned")}
            )
        fastapi_app = create_app(settings, socket_mode=socket_mode)
    except MissingSetting as exc:
        _fail(str(exc))
    except OpsConfigError as exc:
        _fail(str(exc))
    uvicorn.Server(server_config(fastapi_app, settings, host=host)).run()


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the local app and sandbox")] = 3000,
    database: Annotated[
        str | None,
        typer.Option(
            help="Database URL to keep the demo's data in; default: a new SQLite file per run "
            "(the sandbox's Slack workspace lives in memory, so its threads start afresh too)"
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anyone reaching it can act as anyone")
    ] = "127.0.0.1",
    beside_real_slack: Annotated[
        bool,
        typer.Option(
            "--beside-real-slack",
            help="Start even though SLACK_BOT_TOKEN for slack.com is set (the demo never uses it)",
        ),
    ] = False,
) -> None:
    """Run everything locally with the demo company: no Slack workspace, no credentials."""
    from bot.sandbox.run import RealSlackNearby, run_demo

    if database is None:
        import tempfile

        database = f"sqlite:///{Path(tempfile.mkdtemp(prefix='switchboard-demo-')) / 'demo.db'}"
    try:
        run_demo(
            host=host,
            port=port,
            database_url=database,
            env=get_settings(),
            beside_real_slack=beside_real_slack,
        )
    except RealSlackNearby as exc:
        _fail(str(exc))


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help='A command or question, e.g. "/ops status"')],
    user: Annotated[str, typer.Option(help="Slack user id to ask as")] = "U_TERMINAL",
    now: Annotated[
        datetime | None,
        typer.Option(help="Answer as of this moment (UTC if no zone), for reproducible output"),
    ] = None,
) -> None:
    """Answer a command or question in the terminal, exactly as the bot would in Slack.

    Reads SWITCHBOARD_CONFIG; without that file it answers about the demo company.
    """
    from bot.views.help import help_reply
    from bot.views.terminal import render_blocks

    moment = _utc(now)
    # Help reads nothing: answered without the database, ops.yml or the app's services.
    reply = help_reply(text) or _answer(text, user=user, moment=moment)
    typer.echo(
        render_blocks(reply.blocks, ansi=sys.stdout.isatty()) if reply.blocks else reply.text
    )
    if reply.chart is not None:  # Slack gets the PNG; the terminal gets a sparkline
        from bot.views.charts import chart_text

        typer.echo("\n" + chart_text(reply.chart))


def _answer(text: str, *, user: str, moment: datetime | None) -> Reply:
    """The reply to `text` from the services `ask` builds (imported only when needed)."""
    from bot.commands.context import AskContext
    from bot.router import build_router

    # Nothing is sent from a terminal: commands that would open a request say so.
    instead = "answering about the demo company (ops.example.yml)"
    with _terminal_services(instead=instead, now=moment, sends=False) as (services, _path):
        ctx = AskContext(user_id=user, surface="terminal", services=services, now=moment)
        return asyncio.run(build_router().answer(text, ctx))


@app.command("check-config")
def check_config(
    path: Annotated[
        Path | None, typer.Argument(help="ops.yml to check (default: SWITCHBOARD_CONFIG)")
    ] = None,
) -> None:
    """Validate ops.yml and print every error with its path and line."""
    from bot.ops_config import check_ops_config

    target = path or get_settings().switchboard_config
    issues = check_ops_config(target)
    for issue in issues:
        typer.echo(str(issue))
    errors = [issue for issue in issues if issue.severity == "error"]
    if not errors:
        warned = f" ({len(issues)} warning(s))" if issues else ""
        typer.secho(f"{target}: OK{warned}", fg=typer.colors.GREEN)
        return
    typer.secho(f"{target}: {len(errors)} problem(s)", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@app.command("check-sources")
def check_sources(
    path: Annotated[
        Path | None, typer.Argument(help="ops.yml (default: SWITCHBOARD_CONFIG)")
    ] = None,
) -> None:
    """Probe every source ops.yml enables: reachable, authenticated, latency, and what to fix."""
    from bot.ops_config import OpsConfigError, load_ops_config
    from bot.sources import build_sources, format_probe, probe_sources

    target = path or get_settings().switchboard_config
    try:
        cfg = load_ops_config(target)
    except OpsConfigError as exc:
        _fail(str(exc))
    results = asyncio.run(probe_sources(build_sources(cfg)))
    for result in results:
        typer.echo(format_probe(result))
    failed = [r for r in results if not r.reachable or r.authenticated is False]
    if failed:
        typer.secho(
            f"{len(failed)} of {len(results)} source(s) need attention",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)
    warned = sum(len(r.warnings) for r in results)
    also = f", {warned} warning(s)" if warned else ""
    typer.secho(f"all {len(results)} source(s) OK{also}", fg=typer.colors.GREEN)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every Alembic migration to DATABASE_URL (also done at start-up)."""
    from bot.store.db import head_revision, upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    typer.echo(f"database at revision {head_revision()}")


@app.command()
def manifest(
    url: Annotated[
        str | None, typer.Option(help="Public base URL, e.g. https://switchboard.example.com")
    ] = None,
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="Manifest for Socket Mode")
    ] = False,
) -> None:
    """Print the Slack app manifest (paste it at api.slack.com/apps → Create from manifest)."""
    from bot.manifest import render_manifest

    typer.echo(render_manifest(base_url=url, socket_mode=socket_mode), nl=False)


digest_app = typer.Typer(help="Scheduled digests.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")


@digest_app.command("run")
def digest_run(
    name: Annotated[str, typer.Argument(help="The digest's name in ops.yml")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print it here as it would be posted; post nothing")
    ] = False,
    now: Annotated[
        datetime | None,
        typer.Option(help="Build it as of this moment (UTC if no zone), for reproducible output"),
    ] = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for Slack to take the post (0: only queue it)")
    ] = 60.0,
) -> None:
    """Post a digest now through the outbox, or print it with --dry-run.

    Reads SWITCHBOARD_CONFIG; without that file it uses the demo company's digests.
    """
    from bot.digests.cli import deliver, print_digest
    from bot.digests.posting import DigestPoster, Outcome
    from scheduler.runner import default_replica_id

    instead = "using the demo company's digests (ops.example.yml)"
    with _terminal_services(instead=instead, now=_utc(now), sends=not dry_run) as (services, path):
        assert services.ops_config is not None
        names = [d.name for d in services.ops_config.digests]
        if name not in names:
            known = ", ".join(names) or "none"
            _fail(f"no digest called {name!r} in {path} (digests: {known})")
        poster = DigestPoster(services, replica_id=default_replica_id())
        at = services.clock()
        if dry_run:
            composed = asyncio.run(poster.preview(name, now=at))
            typer.echo(print_digest(composed, ansi=sys.stdout.isatty()))
            return
        result = asyncio.run(poster.post_now(name, now=at, by="cli"))
        if result.outcome is Outcome.quiet:
            typer.echo(f"{name}: nothing changed since the last post, and it skips quiet runs")
            return
        if result.root_outbox_id is None:
            _fail(f"{name} could not be built (see the log above)")
        assert result.root_outbox_id is not None
        typer.echo(
            asyncio.run(deliver(services, services.settings, result.root_outbox_id, wait=wait))
        )


audit_app = typer.Typer(help="The approvals audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("export")
def audit_export(
    since: Annotated[str | None, typer.Option(help="From this date (UTC), e.g. 2026-11-01")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
) -> None:
    """Export approval audit records (one row per state change or decision), oldest first."""
    from bot.approvals.audit import audit_records
    from bot.approvals.export import parse_since, render
    from bot.store.db import engine_for

    if fmt not in ("csv", "json"):
        _fail(f"--format must be csv or json, not {fmt!r}")
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        _fail(str(exc))
    records = audit_records(engine_for(get_settings().database_url), since=start)
    text = render(records, "json" if fmt == "json" else "csv")
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"{len(records)} record(s) written to {output}", err=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
