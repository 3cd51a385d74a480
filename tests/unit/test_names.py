"""One way to match a typed name to known ones: the policies, the typo test and service short names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from integrations import names

ROOT = Path(__file__).parents[2]


def test_a_clear_fuzzy_winner_is_taken_and_a_weak_one_only_suggested() -> None:
    pipelines = ["nightly_orders", "nightly_events", "orders_cdc_ingest"]
    assert names.resolve("Nightly-Orders", pipelines).name == "nightly_orders"
    assert names.resolve("nightly_ordrs", pipelines).name == "nightly_orders"
    vague = names.resolve("orders", pipelines)
    assert vague.name is None
    assert set(vague.suggestions) == {"nightly_orders", "orders_cdc_ingest"}


def test_two_names_equally_close_are_suggested_not_guessed() -> None:
    found = names.resolve("recs_v", ["recs_v1", "recs_v2"])
    assert found.name is None and set(found.suggestions) == {"recs_v1", "recs_v2"}


def test_one_or_two_letters_are_compared_whole_so_they_suggest_nothing_far_off() -> None:
    assert names.resolve("x", ["xgboost_ranker", "churn"]).suggestions == ()
    assert names.closest("zz", ["analytics", "data-eng"]) is None


def test_closest_prefers_the_only_name_starting_with_the_typed_word() -> None:
    assert names.closest("ml", ["ml-platform", "data-eng"]) == "ml-platform"
    assert names.closest("workspce", ["workspace", "teams"], names.KEYS) == "workspace"
    assert names.closest("banana", ["workspace", "teams"], names.KEYS) is None


@pytest.mark.parametrize(
    ("typed", "known", "typo"),
    [
        ("stauts", "status", True),  # two letters swapped
        ("spnd", "spend", True),  # one dropped
        ("chrn", "churn", True),
        ("incident", "incidents", True),
        ("aprovals", "approvals", True),
        ("statusreport", "status", False),  # contains it, but is another word
        ("xy", "xz", False),  # two letters: one edit from too many words
        ("sprnd", "spend", True),
        ("spxnx", "spend", False),
    ],
)
def test_a_typo_is_the_same_word_within_one_edit(typed: str, known: str, typo: bool) -> None:
    assert names.is_typo(typed, known) is typo


def test_one_typo_away_needs_a_single_candidate() -> None:
    assert names.one_typo_away("chrn", ["churn", "fraud"]) == "churn"
    assert names.one_typo_away("cas", ["cat", "car"]) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AmazonEC2", ["amazon", "ec2"]),
        ("AmazonS3", ["amazon", "s3"]),
        ("BigQuery", ["big", "query"]),
        ("AWSGlue", ["aws", "glue"]),
        ("Amazon Simple Storage Service", ["amazon", "simple", "storage", "service"]),
        (
            "Amazon Elastic Compute Cloud - Compute",
            ["amazon", "elastic", "compute", "cloud", "compute"],
        ),
    ],
)
def test_words_of_a_service_name_split_run_together_spellings(
    name: str, expected: list[str]
) -> None:
    assert names.words(name) == expected


AWS_CODES = ["AmazonS3", "AmazonEC2", "AmazonRDS", "AWSGlue"]
AWS_NAMES = ["Amazon Simple Storage Service", "Amazon Elastic Compute Cloud - Compute"]
GCP = ["BigQuery", "Cloud Storage", "Compute Engine", "BigQuery Reservation API"]


@pytest.mark.parametrize(
    ("typed", "services", "meant"),
    [
        ("s3", AWS_CODES, "AmazonS3"),
        ("ec2", AWS_CODES, "AmazonEC2"),
        ("rds", AWS_CODES, "AmazonRDS"),
        ("glue", AWS_CODES, "AWSGlue"),
        ("s3", AWS_NAMES, "Amazon Simple Storage Service"),
        ("ec2", AWS_NAMES, "Amazon Elastic Compute Cloud - Compute"),
        ("bq", GCP, "BigQuery"),  # the service named wholly wins over one containing it
        ("bigquery", GCP, "BigQuery"),
        ("gcs", GCP, "Cloud Storage"),
        ("gce", GCP, "Compute Engine"),
        ("s3", ["Amazon S3", "Amazon S3 Glacier Deep Archive"], "Amazon S3"),
    ],
)
def test_short_names_read_as_the_providers_service_names(
    typed: str, services: list[str], meant: str
) -> None:
    assert names.read_service(typed, services) == meant


def test_a_short_name_names_nothing_the_bill_does_not_report() -> None:
    assert names.read_service("bq", AWS_CODES) is None
    assert names.read_service("s3", GCP) is None


def test_a_part_of_a_run_together_word_names_no_service() -> None:
    assert names.service_readings("query", GCP) == []
    assert names.service_readings("big", GCP) == []


def test_two_services_named_wholly_are_both_offered() -> None:
    found = names.service_readings("s3", ["AmazonS3", "Amazon Simple Storage Service"])
    assert [r.service for r in found] == ["AmazonS3", "Amazon Simple Storage Service"]
    assert names.read_service("s3", ["AmazonS3", "Amazon Simple Storage Service"]) is None


def test_fuzzy_matching_lives_in_the_names_module_only() -> None:
    """Every typed name goes through integrations/names.py: no module scores names its own way."""
    pattern = re.compile(r"^\s*(from|import) (rapidfuzz|difflib)\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "integrations", "scheduler")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "names.py" and pattern.search(path.read_text())
    ]
    assert offenders == []
