"""ops.example.yml describes the demo company: same owners, a lineage the demo has, same budgets."""

from datetime import date

from bot.ops_config import load_ops_config
from integrations.demo.company import DemoCompany


def test_example_ownership_matches_the_demo_company():
    cfg = load_ops_config("ops.example.yml")
    demo = DemoCompany(42, today=date(2026, 11, 23))
    for name, team in demo.owners["pipelines"].items():
        assert cfg.team_of_pipeline(name) == team, name
    for name, team in demo.owners["models"].items():
        assert cfg.team_of_model(name) == team, name


def test_example_lineage_is_the_demo_lineage():
    cfg = load_ops_config("ops.example.yml")
    demo = DemoCompany(42, today=date(2026, 11, 23))
    for pipeline in cfg.lineage:
        assert set(cfg.models_fed_by(pipeline)) <= set(
            demo.lineage[pipeline]["trains"] + demo.lineage[pipeline]["feeds"]
        ), pipeline


async def test_example_budgets_match_the_demo_budgets():
    cfg = load_ops_config("ops.example.yml")
    demo = {b.team: b.monthly for b in await DemoCompany(42, today=date(2026, 11, 23)).budgets()}
    assert {team: b.monthly for team, b in cfg.budgets.items()} == demo
