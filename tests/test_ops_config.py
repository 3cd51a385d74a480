"""ops.yml: the sample loads, every bad config is reported with path and line, lookups answer."""

from __future__ import annotations

import copy
import re
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.ops_config import (
    ConfigIssue,
    OpsConfig,
    OpsConfigError,
    check_ops_config,
    check_ops_config_text,
    load_ops_config,
    parse_ops_config,
    yaml_lines,
)
from bot.ops_config.sources import AirflowConfig, PrometheusQueries, SourcesConfig

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "ops.example.yml"
FIXTURES = Path(__file__).parent / "fixtures" / "ops"


def issues_of(name: str) -> list[tuple[str, int | None]]:
    return [(issue.path, issue.line) for issue in check_ops_config(FIXTURES / name)]


def message_at(name: str, path: str) -> str:
    found = [i.message for i in check_ops_config(FIXTURES / name) if i.path == path]
    assert len(found) == 1, f"expected one issue at {path}, got {found}"
    return found[0]


@pytest.fixture(scope="module")
def example() -> OpsConfig:
    return load_ops_config(EXAMPLE)


def minimal(**sections: Any) -> str:
    doc: dict[str, Any] = {
        "version": 1,
        "teams": {
            "data-eng": {"channel": "C0123DATA", "members": ["U0DE0ANNA", "U0DE0BORIS"]},
            "ml-platform": {"channel": "C0123MLPLAT", "members": ["U0ML0EVA"]},
        },
    }
    doc.update(sections)
    return yaml.safe_dump(doc, sort_keys=False)


# --- the sample ------------------------------------------------------------------------


def test_example_config_has_no_issues():
    assert check_ops_config(EXAMPLE) == []


def test_example_config_describes_the_demo_company(example: OpsConfig):
    assert {"data-eng", "ml-platform", "analytics", "finance"} == set(example.teams)
    for team in ("data-eng", "ml-platform", "analytics"):
        assert 20_000 <= example.budgets[team].monthly <= 60_000
        assert example.budgets[team].currency == "USD"
    assert example.sources.is_enabled("demo") and example.sources.demo.seed == 42
    assert list(example.sources.enabled()) == ["demo"]


def test_example_weekly_digest_fires_monday_nine_in_berlin(example: OpsConfig):
    weekly = next(d for d in example.digests if d.name == "weekly-ops")
    berlin = ZoneInfo("Europe/Berlin")
    after = datetime(2026, 11, 24, 12, 0, tzinfo=berlin)  # a Tuesday
    fire = weekly.trigger().get_next_fire_time(None, after)
    assert fire == datetime(2026, 11, 30, 9, 0, tzinfo=berlin)
    assert fire.weekday() == 0


def test_digest_without_timezone_uses_the_workspace_timezone(example: OpsConfig):
    daily = next(d for d in example.digests if d.name == "ml-daily")
    assert daily.timezone == example.workspace.timezone == "Europe/Berlin"
    assert daily.teams == ["ml-platform"]


def test_team_name_defaults_to_its_slug():
    config = parse_ops_config(minimal())
    assert config.teams["data-eng"].name == "data-eng"


# --- lookups -------------------------------------------------------------------------------


def test_pipeline_owner_comes_from_globs(example: OpsConfig):
    assert example.team_of_pipeline("nightly_orders") == "data-eng"
    assert example.team_of_pipeline("fraud_training") == "ml-platform"
    assert example.team_of_pipeline("churn_features") == "ml-platform"
    assert example.team_of_pipeline("revenue_report") == "analytics"
    assert example.team_of_pipeline("unowned_thing") is None


def test_exact_name_beats_glob_and_first_glob_in_file_order_wins():
    config = parse_ops_config(
        minimal(
            ownership={
                "pipelines": {
                    "*_training": "data-eng",
                    "churn_*": "ml-platform",
                    "churn_training": "ml-platform",
                },
                "models": {"ltv": "data-eng", "*": "ml-platform"},
            }
        )
    )
    assert config.team_of_pipeline("churn_training") == "ml-platform"  # exact
    assert config.team_of_pipeline("fraud_training") == "data-eng"
    assert config.team_of_pipeline("churn_features") == "ml-platform"
    assert config.team_of_model("ltv") == "data-eng"
    assert config.team_of_model("recs") == "ml-platform"


def test_models_fed_by_lists_trained_and_fed_models_once(example: OpsConfig):
    assert example.models_fed_by("nightly_orders") == ["churn", "ltv", "recs"]
    assert example.models_fed_by("fraud_training") == ["fraud"]
    assert example.models_fed_by("no_such_pipeline") == []


def test_pipelines_feeding_a_model_include_its_training(example: OpsConfig):
    assert example.pipelines_feeding("churn") == [
        "nightly_orders",
        "churn_features",
        "churn_training",
    ]
    assert example.pipelines_training("churn") == ["churn_training"]
    assert example.pipelines_feeding("unknown-model") == []


def test_a_billed_service_belongs_to_the_team_ownership_names(example: OpsConfig):
    # (Which team a cost line's tags mean is decided in SQL: test_focus_source's allocation
    # tests check it against pandas.)
    assert example.team_of_service("Amazon SageMaker") == "ml-platform"


def test_first_matching_approval_policy_applies(example: OpsConfig):
    approvals = example.approvals
    assert approvals.policy_for("promotion", alias="production").name == "promote-to-production"
    assert approvals.policy_for("promotion", alias="staging").name == "promote"
    big = approvals.policy_for("budget_increase", amount=Decimal("5000.01"))
    assert big.name == "large-budget-increase" and big.quorum == 2
    assert "team:finance" in big.required
    assert approvals.policy_for("budget_increase", amount=Decimal("5000")).name == "budget-increase"
    assert big.ttl.total_seconds() == 5 * 86400


def test_incident_routes_match_source_and_label_globs(example: OpsConfig):
    incidents = example.incidents
    route = incidents.route_for(source="alertmanager", labels={"alertname": "ModelLatencyHigh"})
    assert (route.team, route.severity) == ("ml-platform", "critical")
    route = incidents.route_for(source="alertmanager", labels={"team": "data-platform"})
    assert route.team == "data-eng"
    assert incidents.route_for(source="generic", labels={"team": "data-platform"}) is None
    assert incidents.route_for(source="mlflow", labels={}).team == "ml-platform"


def test_promql_template_substitutes_and_escapes_the_model_name():
    queries = PrometheusQueries()
    rendered = PrometheusQueries.render(queries.drift, 'we"ird')
    assert rendered == 'max(model_drift_score{model="we\\"ird"})'
    assert "{model}" not in PrometheusQueries.render(queries.latency_p95, "churn")


# --- sources -------------------------------------------------------------------------------


def test_commented_out_sources_in_the_example_are_valid_when_uncommented():
    head, sources = EXAMPLE.read_text().split("\nsources:\n")
    uncommented = re.sub(r"(?m)^  # ", "  ", sources)
    config = parse_ops_config(f"{head}\nsources:\n{uncommented}")
    assert list(config.sources.enabled()) == [
        "demo",
        "airflow",
        "prefect",
        "dagster",
        "mlflow",
        "prometheus",
        "focus",
        "aws_cost_explorer",
    ]
    assert config.sources.mlflow.token_env == "MLFLOW_TRACKING_TOKEN"
    assert config.sources.prometheus.queries == PrometheusQueries()
    assert config.sources.focus.version == "1.2"


def test_demo_is_on_when_no_other_data_source_is_configured():
    assert SourcesConfig().is_enabled("demo")
    assert SourcesConfig.model_validate({"prometheus": {"url": "http://127.0.0.1:9090"}}).demo


def test_demo_is_off_by_default_when_a_real_source_is_configured():
    sources = SourcesConfig.model_validate({"mlflow": {"url": "http://127.0.0.1:5000"}})
    assert sources.demo is None and list(sources.enabled()) == ["mlflow"]
    both = SourcesConfig.model_validate({"mlflow": {"url": "http://x:5000"}, "demo": {"seed": 7}})
    assert both.is_enabled("demo") and both.demo.seed == 7


def test_disabled_source_block_is_kept_but_not_enabled():
    sources = SourcesConfig.model_validate({"mlflow": {"url": "http://x:5000", "enabled": False}})
    assert sources.mlflow is not None and not sources.is_enabled("mlflow")
    assert sources.is_enabled("demo")


def test_airflow_needs_username_and_password_together():
    with pytest.raises(ValidationError, match="username_env and password_env go together"):
        AirflowConfig(url="http://127.0.0.1:8080", username_env="AIRFLOW_USERNAME")


def test_secrets_in_ops_yml_are_rejected_with_the_env_form():
    found = issues_of("secrets.yml")
    assert found == [
        ("sources.mlflow.token", 6),
        ("sources.airflow.password", 10),
        ("sources.prefect.api_key", 13),
        ("sources.dagster.url", 15),
        ("sources.aws_cost_explorer.secret_access_key", 17),
        ("sources.aws_cost_explorer.profile_env", 18),
        ("slack_bot_token", 21),
    ]
    assert "`token_env: VARIABLE_NAME`" in message_at("secrets.yml", "sources.mlflow.token")
    assert "`password_env:" in message_at("secrets.yml", "sources.airflow.password")
    assert "`api_key_env:" in message_at("secrets.yml", "sources.prefect.api_key")
    assert "credentials" in message_at("secrets.yml", "sources.dagster.url")
    assert "AWS access key" in message_at("secrets.yml", "sources.aws_cost_explorer.profile_env")


def test_env_keys_must_hold_a_variable_name_not_a_secret():
    text = minimal(sources={"mlflow": {"url": "http://x:5000", "token_env": "s3cr3t-t0ken!"}})
    [issue] = check_ops_config_text(text)
    assert issue.path == "sources.mlflow.token_env"
    assert "NAME of the variable" in issue.message


# --- bad configs: exact paths and lines ----------------------------------------------------


def test_issue_reads_file_line_path_and_message():
    lines = ["version: 1", "teams:", "  ml:", "    channel: C0123MLPLAT"] + ["    # pad"] * 6
    lines += ["    members:", "      - U0ML0EVA", "      - U0ML0FARID", "      - bob"]
    [issue] = check_ops_config_text("\n".join(lines) + "\n", file="ops.yml")
    assert issue == ConfigIssue(
        path="teams.ml.members[2]",
        line=14,
        file="ops.yml",
        message="'bob' is not a Slack user id (expected U… or W…)",
    )
    assert str(issue) == (
        "ops.yml:14: teams.ml.members[2]: 'bob' is not a Slack user id (expected U… or W…)"
    )


def test_bad_slack_ids_are_reported_where_they_are():
    assert issues_of("bad_slack_ids.yml") == [
        ("workspace.admins[1]", 4),
        ("teams.ml.channel", 8),
        ("teams.ml.oncall", 9),
        ("teams.ml.usergroup", 10),
        ("teams.ml.members[2]", 14),
        ("teams.ml.members[3]", 15),
    ]
    assert "member id" in message_at("bad_slack_ids.yml", "teams.ml.members[3]")


def test_unknown_team_references_are_reported_with_their_path():
    assert issues_of("unknown_teams.yml") == [
        ("ownership.pipelines.*_training", 9),
        ("ownership.models.churn", 10),
        ("ownership.cost_allocation.team.analytics", 12),
        ("budgets.finance", 16),
        ("approvals.policies[0].approvers[1]", 21),
        ("approvals.policies[0].escalate_to", 22),
        ("digests[0].teams[1]", 24),
        ("incidents.routes[0].team", 27),
        ("incidents.default_team", 28),
    ]
    assert "did you mean 'ml-platform'" in message_at("unknown_teams.yml", "ownership.models.churn")
    assert "did you mean 'data-eng'" in message_at("unknown_teams.yml", "incidents.default_team")


def test_unknown_team_is_an_error_when_building_the_model_in_code():
    with pytest.raises(ValidationError, match=r"budgets\.ml: unknown team 'ml'"):
        OpsConfig(version=1, budgets={"ml": {"monthly": 5}})


def test_duplicate_keys_are_reported_instead_of_silently_dropped():
    assert issues_of("duplicate_keys.yml") == [
        ("teams.data-eng", 8),
        ("budgets.ml-platform.monthly", 13),
    ]
    assert "first on line 3" in message_at("duplicate_keys.yml", "teams.data-eng")
    with pytest.raises(OpsConfigError):
        load_ops_config(FIXTURES / "duplicate_keys.yml")


def test_merge_keys_may_override_without_counting_as_duplicates():
    text = (
        "version: 1\n"
        "teams:\n"
        "  data-eng: &base {channel: C0123DATA, members: [U0DE0ANNA]}\n"
        "  analytics:\n"
        "    <<: *base\n"
        "    channel: C0123ANALYT\n"
    )
    assert check_ops_config_text(text) == []
    analytics = parse_ops_config(text).teams["analytics"]
    assert (analytics.channel, analytics.members) == ("C0123ANALYT", ["U0DE0ANNA"])


def test_yaml_syntax_error_is_reported_with_its_line():
    [issue] = check_ops_config(FIXTURES / "syntax_error.yml")
    assert issue.line == 6 and issue.path == ""
    assert issue.message.startswith("YAML syntax error")
    assert "line 5" in issue.message  # where the unclosed list began


def test_unknown_keys_suggest_the_closest_known_key():
    assert issues_of("typos.yml") == [
        ("workspce", 2),
        ("teams.ml-platform.channel", 5),
        ("teams.ml-platform.chanel", 6),
        ("teams.ml-platform.memebrs", 7),
        ("digests[0].section", 12),
        ("sources.mlfow", 14),
    ]
    assert "did you mean 'workspace'" in message_at("typos.yml", "workspce")
    assert "did you mean 'sections'" in message_at("typos.yml", "digests[0].section")
    assert "did you mean 'mlflow'" in message_at("typos.yml", "sources.mlfow")


def test_every_error_in_a_file_is_reported_in_one_pass():
    found = issues_of("many_errors.yml")
    assert found == [
        ("workspace.timezone", 3),
        ("workspace.currency", 4),
        ("budgets.ml-platform.monthly", 11),
        ("budgets.ml-platform.alert_at", 12),
        ("approvals.policies[0].kind", 16),
        ("approvals.policies[0].ttl", 18),
        ("digests[0].schedule", 22),
        ("digests[0].sections[1]", 23),
        ("digests[1].name", 24),
        ("digests[1].channel", 25),
        ("digests[1].schedule", 26),
        ("incidents.routes[0].match", 29),
        ("incidents.routes[0].severity", 31),
        ("sources.prometheus.url", 34),
        ("sources.prometheus.queries.drift", 35),
        ("sources.focus.version", 36),
    ]
    with pytest.raises(OpsConfigError) as caught:
        load_ops_config(FIXTURES / "many_errors.yml")
    assert len(caught.value.issues) == len(found)
    text = str(caught.value)
    assert text.startswith(f"16 problems in {FIXTURES / 'many_errors.yml'}:")
    for issue in caught.value.issues:
        assert str(issue) in text


def test_numeric_day_of_week_is_refused_because_apscheduler_counts_from_monday():
    message = message_at("many_errors.yml", "digests[0].schedule")
    assert "MON" in message and "'0 9 * * 1'" in message


def test_quorum_that_can_never_be_reached_is_an_error():
    assert issues_of("unreachable_quorum.yml") == [
        ("approvals.policies[0].quorum", 12),
        ("approvals.policies[1].quorum", 16),
        ("approvals.policies[3].required[0]", 24),
        ("approvals.policies[4].required[0]", 29),
    ]
    assert "at most 2 distinct people" in message_at(
        "unreachable_quorum.yml", "approvals.policies[0].quorum"
    )
    assert "at most 3 distinct people" in message_at(
        "unreachable_quorum.yml", "approvals.policies[1].quorum"
    )


def test_owners_quorum_counts_the_largest_team():
    policy = {"name": "p", "kind": "promotion", "approvers": ["owners"], "quorum": 2}
    assert check_ops_config_text(minimal(approvals={"policies": [policy]})) == []
    policy["quorum"] = 3
    [issue] = check_ops_config_text(minimal(approvals={"policies": [policy]}))
    assert issue.path == "approvals.policies[0].quorum"


def test_reminder_must_come_before_expiry():
    policy = {
        "name": "p",
        "kind": "promotion",
        "approvers": ["owners"],
        "ttl": "24h",
        "remind_every": "1d",
    }
    [issue] = check_ops_config_text(minimal(approvals={"policies": [policy]}))
    assert issue.path == "approvals.policies[0].remind_every"


def test_policy_alias_must_be_allowed_and_match_fields_fit_the_kind():
    policies = [
        {
            "name": "a",
            "kind": "promotion",
            "approvers": ["owners"],
            "match": {"aliases": ["champoin"], "amount_over": 10},
        },
        {
            "name": "b",
            "kind": "budget_increase",
            "approvers": ["owners"],
            "match": {"aliases": ["champion"]},
        },
    ]
    issues = check_ops_config_text(minimal(approvals={"policies": policies}))
    assert [i.path for i in issues] == [
        "approvals.policies[0].match.aliases[0]",
        "approvals.policies[0].match.amount_over",
        "approvals.policies[1].match.aliases",
    ]
    assert "did you mean 'champion'" in issues[0].message


def test_missing_file_and_empty_file_are_issues_not_crashes(tmp_path: Path):
    [missing] = check_ops_config(tmp_path / "ops.yml")
    assert "not found" in missing.message and missing.line is None
    with pytest.raises(OpsConfigError, match="not found"):
        load_ops_config(tmp_path / "ops.yml")
    [empty] = check_ops_config(FIXTURES / "empty.yml")
    assert "empty" in empty.message
    (tmp_path / "list.yml").write_text("- version: 1\n")
    [top] = check_ops_config(tmp_path / "list.yml")
    assert "top level must be a mapping" in top.message and top.line == 1


def test_missing_version_and_wrong_version_are_reported():
    [missing] = check_ops_config_text("teams: {}\n")
    assert (missing.path, missing.line) == ("version", 1)
    assert "version: 1" in missing.message
    [wrong] = check_ops_config_text("# header\nversion: 2\n")
    assert (wrong.path, wrong.line) == ("version", 2)


def test_blank_sections_mean_defaults_but_blank_team_is_an_error():
    assert check_ops_config_text("version: 1\nteams:\nbudgets:\nsources:\n") == []
    [issue] = check_ops_config_text("version: 1\nteams:\n  ml:\n")
    assert (issue.path, issue.line) == ("teams.ml", 3)


def test_unreadable_yaml_values_are_reported_once():
    [issue] = check_ops_config_text("version: 1\nlineage:\n  x: !!python/object:os.system 1\n")
    assert (issue.path, issue.line) == ("lineage.x", 3)
    assert issue.message.startswith("cannot read this value")


# --- robustness ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["many_errors.yml", "duplicate_keys.yml", "syntax_error.yml", "unknown_teams.yml"]
)
def test_python_parser_reports_the_same_lines_as_libyaml(name, monkeypatch):
    fast = issues_of(name)
    monkeypatch.setattr(yaml_lines, "_FAST_LOADER", None)
    assert issues_of(name) == fast


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nx: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
        pytest.param(  # a long parse before the depth limit says no
            "version: 1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n",
            "nested too deeply",
            marks=pytest.mark.slow,
        ),
        ("version: 1\nlineage: &a\n  x: *a\n", "refers to itself"),
        ("version: 1\nx: \x00\n", "U+0000 is not allowed"),
        ("version: 1\n---\nversion: 1\n", "another document"),
        ("version: 1\n? [a, b]\n: 1\n", "keys must be plain values"),
        (
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
                for p, n in zip("abcde", "bcdef", strict=True)
            ),
            "document too large",
        ),
    ],
)
def test_pathological_yaml_is_an_issue_not_a_crash(text, expected):
    issues = check_ops_config_text(text)
    assert any(expected in issue.message for issue in issues), issues


_EXAMPLE_DATA = yaml.safe_load(EXAMPLE.read_text())
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(node, list) and node:
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))]
    return [path]


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "72h",
            "0 9 * * MON",
            "U0ML0EVA",
            "team:ghost",
            "{model}",
            "ml-platform",
            "http://",
            "#Chan",
            "xoxb-0000000000-secret",
            "1.2",
            "-1",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)
_MUTATION = st.tuples(
    st.sampled_from(["drop", "retype", "drop-parent"]), st.integers(0, 10**6), _ODD_VALUES
)


def _mutate(data: Any, mutations: list[tuple[str, int, Any]]) -> Any:
    data = copy.deepcopy(data)
    for op, pick, value in mutations:
        paths = [p for p in _leaf_paths(data) if p]
        if not paths:
            break
        path = paths[pick % len(paths)]
        if op == "drop-parent" and len(path) > 1:
            path = path[:-1]
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if op == "retype":
            parent[path[-1]] = value
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    return data


@pytest.mark.slow  # 150 mutated configs, each loaded and checked
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(_MUTATION, min_size=1, max_size=4))
def test_mutated_config_only_ever_fails_with_ops_config_error(mutations):
    text = yaml.dump(_mutate(_EXAMPLE_DATA, mutations), Dumper=_DUMPER, sort_keys=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ops.yml"
        path.write_text(text, encoding="utf-8")
        try:
            config = load_ops_config(path)
        except OpsConfigError as exc:
            assert exc.issues
            line_count = text.count("\n") + 1
            for issue in exc.issues:
                assert issue.message
                assert issue.line is None or 1 <= issue.line <= line_count
            assert check_ops_config(path) == exc.issues
        else:
            assert isinstance(config, OpsConfig)
            assert check_ops_config(path) == []


_EXAMPLE_TEXT = EXAMPLE.read_text()
_TEXT_EDIT = st.tuples(
    st.integers(0, len(_EXAMPLE_TEXT)),
    st.integers(0, 30),
    st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@` \n\t,?xU0<é")), max_size=8),
)


@pytest.mark.slow  # 100 edited files, each checked
@settings(max_examples=100, deadline=None)
@given(edits=st.lists(_TEXT_EDIT, min_size=1, max_size=4))
def test_check_never_raises_on_text_edits_and_lines_stay_in_the_file(edits):
    text = _EXAMPLE_TEXT
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    issues = check_ops_config_text(text)
    for issue in issues:
        assert issue.line is None or 1 <= issue.line <= len(text.splitlines()) + 1
    if not issues:
        assert isinstance(parse_ops_config(text), OpsConfig)


def test_mlflow_on_alias_targets_must_be_allowed_and_must_not_loop(tmp_path):
    path = tmp_path / "ops.yml"
    path.write_text(
        "version: 1\n"
        "approvals:\n"
        "  mlflow:\n"
        "    on_alias: {challenger: champion, champion: challenger, staging: prod}\n"
    )
    messages = [i.message for i in check_ops_config(path)]
    assert any("'prod' is not in approvals.allowed_aliases" in m for m in messages), messages
    loops = [m for m in messages if "on_alias loops" in m]
    assert loops == [
        "on_alias loops (challenger -> champion -> challenger): each approved promotion "
        "would ask for the next one forever"
    ]


# --- the FOCUS export's day zone ----------------------------------------------------------


def test_focus_days_are_cut_in_the_workspace_zone_unless_day_timezone_says_otherwise():
    plain = parse_ops_config(
        minimal(workspace={"timezone": "Europe/Berlin"}, sources={"focus": {"path": "x.csv"}})
    )
    assert plain.sources.focus is not None and plain.sources.focus.day_timezone == "Europe/Berlin"
    own = parse_ops_config(
        minimal(
            workspace={"timezone": "Europe/Berlin"},
            sources={"focus": {"path": "x.csv", "day_timezone": "America/New_York"}},
        )
    )
    assert own.sources.focus is not None and own.sources.focus.day_timezone == "America/New_York"


def test_the_old_focus_timezone_key_is_read_with_a_warning_that_names_the_new_one():
    text = minimal(sources={"focus": {"path": "x.csv", "timezone": "Asia/Tokyo"}})
    [issue] = check_ops_config_text(text)
    assert issue.severity == "warning" and issue.path == "sources.focus.timezone"
    assert "day_timezone" in issue.message and issue.line is not None
    assert str(issue).startswith(f"ops.yml:{issue.line}: sources.focus.timezone: warning: ")
    config = parse_ops_config(text)  # a warning never stops the file from loading
    assert config.sources.focus is not None and config.sources.focus.day_timezone == "Asia/Tokyo"


def test_the_old_and_new_day_zone_keys_disagreeing_is_an_error():
    text = minimal(
        sources={"focus": {"path": "x.csv", "timezone": "UTC", "day_timezone": "Asia/Tokyo"}}
    )
    errors = [i for i in check_ops_config_text(text) if i.severity == "error"]
    assert [i.path for i in errors] == ["sources.focus"]
    assert "keep day_timezone only" in errors[0].message
    with pytest.raises(OpsConfigError):
        parse_ops_config(text)
