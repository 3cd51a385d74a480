"""ops.yml's digest settings for what a digest says: when_quiet, grace, the opt-in idle section."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from bot.ops_config import OpsConfigError, load_ops_config
from tests.digests.conftest import EXAMPLE


def _with_digest(tmp_path, **fields):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(EXAMPLE.read_text())
    data["digests"] = [
        {"name": "d", "channel": "C0123OPSWEEK", "schedule": "0 9 * * MON", **fields}
    ]
    path = tmp_path / "ops.yml"
    path.write_text(yaml.safe_dump(data))
    return load_ops_config(path)


def test_defaults_skip_one_hour_and_no_idle_section(tmp_path):
    found = _with_digest(tmp_path).digests[0]
    assert found.when_quiet == "skip"
    assert found.grace == timedelta(hours=1)
    assert "idle" not in found.sections and found.idle_after_days == 14


def test_the_example_documents_short_full_grace_and_idle():
    digests = {d.name: d for d in load_ops_config(EXAMPLE).digests}
    assert digests["weekly-ops"].when_quiet == "full"
    assert digests["ml-daily"].when_quiet == "short"
    assert digests["ml-daily"].grace == timedelta(minutes=30)
    assert "idle" in digests["ml-daily"].sections


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"when_quiet": "sometimes"}, "when_quiet"),
        ({"grace": "soon"}, "grace"),
        ({"grace": 0}, "grace"),
        ({"idle_after_days": 0}, "idle_after_days"),
        ({"sections": ["idle", "gossip"]}, "sections"),
    ],
)
def test_bad_digest_settings_are_named(tmp_path, fields, says):
    with pytest.raises(OpsConfigError) as caught:
        _with_digest(tmp_path, **fields)
    assert says in str(caught.value)
