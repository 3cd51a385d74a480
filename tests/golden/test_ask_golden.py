"""`switchboard ask` prints the same answers for the demo company at a fixed moment, as reviewed.

Each case runs the real CLI (typer) with ops.example.yml and `--now`, and compares its stdout with
tests/fixtures/golden/<case>.txt. After a deliberate change of an answer, regenerate with
`uv run pytest tests/golden --update-golden` and review the diff like code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden"
NOW = "2026-11-23T12:00:00+00:00"

CASES = {
    "help": "/ops help",
    "status": "/ops status",
    "status_team_ml_platform": "/ops status team:ml-platform",
    "pipeline_nightly_orders": "/ops pipeline nightly_orders",
    "models": "/ops models",
    "model_churn": "/ops model churn",
    "spend": "/ops spend",
    "spend_ml_by_service": "/ops spend team:ml-platform 30d by service",
    "spend_by_model_mtd": "/ops spend mtd by model",
    "budget": "/ops budget",
    "owners_churn": "/ops owners churn",
    "incidents": "/ops incidents",
    "digest_list": "/ops digest list",
    "digest_preview_weekly_ops": "/ops digest preview weekly-ops",
    "approvals": "/ops approvals",
    "spend_model_churn": "/ops spend model:churn",
    "spend_ml_last_month": "/ops spend team:ml-platform last-month",
    "spend_before_the_data": "/ops spend 400d",
    "question_churn_healthy": "is churn healthy?",
    "question_ml_spend": "what did ml spend last week?",
    "question_why_failed": "why did nightly_orders fail?",
    "question_what_it_feeds": "which models does nightly_orders feed?",
    "question_failed_last_night": "did anything fail last night",
    "question_s3_this_month": "how much did we spend on s3 this month",
    "question_who_is_on_call": "who's on call?",
    "question_not_understood": "who owns the warehouse?",
    "unknown_pipeline": "/ops pipeline nightly_ordres",
}


def _ask(text: str, tmp_path: Path) -> str:
    result = CliRunner().invoke(
        app,
        ["ask", text, "--now", NOW, "--user", "U0ML0EVA"],
        env={
            "SWITCHBOARD_CONFIG": "ops.example.yml",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'golden.db'}",
            "LOG_LEVEL": "WARNING",
        },
    )
    assert result.exit_code == 0, result.output
    # Slack date tokens carry epoch seconds that are stable for a fixed --now; nothing else varies.
    return re.sub(r"[ \t]+\n", "\n", result.stdout)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ask_output_matches_the_reviewed_golden_file(case, tmp_path, request):
    output = _ask(CASES[case], tmp_path)
    golden = GOLDEN / f"{case}.txt"
    if request.config.getoption("--update-golden"):
        golden.write_text(output)
    assert golden.is_file(), f"no golden file for {case}: run pytest with --update-golden"
    assert output == golden.read_text()
