"""The /ops grammar: what parses, what does not, and the suggestions users get."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.grammar import COMMANDS, ParsedCommand, ParseProblem, parse


def test_empty_text_is_help():
    assert parse("   ") == ParsedCommand("help")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status team:data-eng", ParsedCommand("status", filters={"team": "data-eng"})),
        (
            "spend team:ml-platform 30d by service",
            ParsedCommand(
                "spend", filters={"team": "ml-platform"}, period="30d", group_by="service"
            ),
        ),
        (
            "spend model:churn last-7d",
            ParsedCommand("spend", filters={"model": "churn"}, period="7d"),
        ),
        ("spend 2026-10", ParsedCommand("spend", period="2026-10")),
        ("SPEND mtd", ParsedCommand("spend", period="mtd")),
        ("pipeline nightly_orders", ParsedCommand("pipeline", ("nightly_orders",))),
        (
            "promote churn 14 to champion beats v12",
            ParsedCommand("promote", ("churn", "14", "to", "champion", "beats", "v12")),
        ),
        (
            "budget-increase ml-platform 5000 'Q4 retraining'",
            ParsedCommand("budget-increase", ("ml-platform", "5000", "Q4 retraining")),
        ),
        ("digest preview monday", ParsedCommand("digest", ("preview", "monday"))),
    ],
)
def test_commands_of_the_design_parse(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("stauts", "status"),
        ("spnd", "spend"),
        ("modles", "models"),
        ("aprovals", "approvals"),
        ("incidnets", "incidents"),
    ],
)
def test_unknown_command_suggests_the_closest(typo, meant):
    problem = parse(typo)
    assert isinstance(problem, ParseProblem)
    assert problem.suggestion == meant
    assert typo in problem.message


def test_nonsense_gets_no_misleading_suggestion():
    problem = parse("xyzzyqq")
    assert isinstance(problem, ParseProblem) and problem.suggestion is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("spend team:", "`team:` needs a value"),
        ("spend colour:red", "`colour:` is not a filter of `spend`"),
        ("status model:churn", "`model:` is not a filter of `status`"),
        ("spend by", "`by` needs a dimension"),
        ("spend 30days", "I don't understand `30days`"),
        ("promote churn 14 champion", "`promote` needs more"),
        ("promote churn 14 into champion", "reads `MODEL VERSION to ALIAS`"),
        ("digest explode x", "not a digest action"),
        ("digest run", "needs a digest name"),
        ("pipeline", "`pipeline` needs more"),
    ],
)
def test_malformed_commands_say_what_is_wrong(text, fragment):
    problem = parse(text)
    assert isinstance(problem, ParseProblem)
    assert fragment in problem.message


def test_group_by_typo_is_suggested():
    problem = parse("spend by srvice")
    assert isinstance(problem, ParseProblem) and problem.suggestion == "service"


def test_every_command_in_the_design_is_listed():
    """DESIGN.md's grammar, plus `/ops incident ID` (an incident's timeline, from Incidents)."""
    names = {c.name for c in COMMANDS}
    assert names == {
        "incident",
        "status",
        "pipeline",
        "models",
        "model",
        "spend",
        "budget",
        "owners",
        "promote",
        "budget-increase",
        "approvals",
        "incidents",
        "digest",
        "help",
    }


@given(st.text(max_size=300))
def test_random_text_never_raises(text):
    assert isinstance(parse(text), ParsedCommand | ParseProblem)
