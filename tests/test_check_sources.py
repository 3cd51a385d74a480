"""`switchboard check-sources`: per source, reachable / authenticated / latency / what to fix."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app
from tests.peers.runtime import free_port

runner = CliRunner()


def test_demo_source_is_reachable():
    result = runner.invoke(app, ["check-sources", "ops.example.yml"])
    assert result.exit_code == 0, result.stdout
    assert "ok   demo" in result.stdout and "41 pipelines" in result.stdout
    assert "all 1 source(s) OK" in result.stdout


def test_unreachable_source_and_unset_secret_say_what_to_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("SB_TEST_AIRFLOW_TOKEN", raising=False)
    port = free_port()
    cfg = tmp_path / "ops.yml"
    cfg.write_text(
        "version: 1\n"
        "sources:\n"
        "  demo: {enabled: true}\n"
        f"  airflow: {{url: 'http://127.0.0.1:{port}', token_env: SB_TEST_AIRFLOW_TOKEN, timeout: 2}}\n"
    )
    result = runner.invoke(app, ["check-sources", str(cfg)])
    assert result.exit_code == 1
    out = result.stdout
    assert "SB_TEST_AIRFLOW_TOKEN is not set" in out
    assert "named by sources.airflow.token_env in ops.yml" in out
    airflow_line = next(
        line
        for line in out.splitlines()
        if line.startswith("FAIL airflow") and "unreachable" in line
    )
    assert f"127.0.0.1:{port}" in out or "airflow" in airflow_line
    assert "ok   demo" in out


def test_secret_values_never_reach_the_output(tmp_path, monkeypatch):
    monkeypatch.setenv("SB_TEST_MLFLOW_TOKEN", "super-secret-token-value-123")
    cfg = tmp_path / "ops.yml"
    cfg.write_text(
        "version: 1\nsources:\n"
        f"  mlflow: {{url: 'http://127.0.0.1:{free_port()}', token_env: SB_TEST_MLFLOW_TOKEN, timeout: 2}}\n"
    )
    result = runner.invoke(app, ["check-sources", str(cfg)])
    assert result.exit_code == 1
    assert "super-secret-token-value-123" not in result.stdout + (result.stderr or "")


def test_invalid_config_is_reported_not_probed(tmp_path):
    cfg = tmp_path / "ops.yml"
    cfg.write_text("version: 1\nsources:\n  airflow: {url: 'ftp://nope', token: abc}\n")
    result = runner.invoke(app, ["check-sources", str(cfg)])
    assert result.exit_code == 2
    assert "sources.airflow" in result.stderr
