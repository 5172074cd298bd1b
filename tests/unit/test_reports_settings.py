"""The settings the reports add: recipients' choices, the daily copies' place, the reports' prefix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from inspector.criteria import Criteria
from inspector.deployment import Deployment, Recipient
from inspector.engine import Verdict
from inspector.errors import SettingsError
from inspector.reports.digest import compose_digest
from inspector.reports.model import Rows, summarize
from inspector.reports.sql import Params
from inspector.settings import Settings

CRITERIA = Criteria.model_validate({"require": [{"label": "Widget"}]})
TOPIC = "arn:aws:sns:eu-west-1:123456789012:verdicts"


@pytest.mark.parametrize(
    ("recipient", "policy"),
    [
        pytest.param({}, {"kind": [{"anything-but": ["digest"]}]}, id="every-verdict"),
        pytest.param({"only": ["FAIL"]}, {"verdict": ["FAIL"]}, id="failures"),
        pytest.param({"immediate": False, "digest": True}, {"kind": ["digest"]}, id="digest-only"),
        pytest.param({"digest": True}, None, id="everything"),
        pytest.param(
            {"only": ["FAIL", "REVIEW"], "digest": True},
            {"$or": [{"verdict": ["FAIL", "REVIEW"]}, {"kind": ["digest"]}]},
            id="failures-and-digest",
        ),
    ],
)
def test_each_choice_of_a_recipient_has_its_filter_policy(recipient: dict[str, Any], policy: Any) -> None:
    assert policy == Recipient.model_validate({"email": "qc@example.com", **recipient}).filter_policy()


@pytest.mark.parametrize(
    ("recipient", "message"),
    [
        pytest.param({"immediate": False}, "would receive nothing", id="nothing"),
        pytest.param({"immediate": False, "digest": True, "only": ["FAIL"]}, "immediate is false", id="only"),
    ],
)
def test_a_recipient_that_cannot_receive_what_it_asks_is_refused(recipient: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        Recipient.model_validate({"email": "qc@example.com", **recipient})


def test_the_daily_copies_are_on_by_default_in_a_deployment_and_can_be_turned_off():
    assert "daily/" == Deployment(criteria=CRITERIA).daily_prefix
    assert None is Deployment.model_validate({"criteria": CRITERIA, "dailyPrefix": "null"}).daily_prefix
    settings = Deployment(criteria=CRITERIA).settings(topic_arn=TOPIC, bucket="widgets")
    assert "daily/" == settings.daily_prefix
    assert "daily/" == Settings.from_env(settings.to_env()).daily_prefix


def test_the_reports_prefix_may_not_overlap_another():
    with pytest.raises(ValidationError, match="reportsPrefix"):
        Deployment.model_validate({"criteria": CRITERIA, "reportsPrefix": "results/"})


@pytest.mark.parametrize(
    ("daily", "compact"),
    [("daily/", "compact/"), ("qc/daily/", "qc/compact/"), (None, None)],
    ids=["default", "nested", "no-daily-copies"],
)
def test_the_compacted_days_go_beside_the_daily_copies(daily: str | None, compact: str | None):
    deployment = Deployment.model_validate({"criteria": CRITERIA, "dailyPrefix": daily or "null"})

    assert compact == deployment.compact_prefix
    assert compact == deployment.settings(topic_arn=TOPIC, bucket="widgets").layout.compact_prefix


def test_a_prefix_overlapping_the_compacted_days_is_refused():
    with pytest.raises(ValidationError, match="where the compacted days go"):
        Deployment.model_validate({"criteria": CRITERIA, "resultsPrefix": "compact/"})


def test_a_daily_prefix_overlapping_the_results_is_refused():
    with pytest.raises((ValidationError, SettingsError), match="overlap"):
        Settings(topic_arn=TOPIC, criteria=CRITERIA, bucket="widgets", daily_prefix="results/daily/")


def test_the_daily_copy_is_filed_under_the_utc_day_of_the_inspection():
    settings = Settings(topic_arn=TOPIC, criteria=CRITERIA, bucket="widgets", daily_prefix="daily/")
    late_evening_in_new_york = datetime(2026, 11, 28, 22, 30, tzinfo=timezone(timedelta(hours=-5)))

    assert "daily/dt=2026-11-29/line-3/w1.jpg.json" == settings.daily_key(
        "images/line-3/w1.jpg", late_evening_in_new_york
    )


def test_settings_without_a_daily_prefix_keep_no_copies():
    settings = Settings(topic_arn=TOPIC, criteria=CRITERIA, bucket="widgets")

    assert None is settings.daily_prefix
    with pytest.raises(ValueError, match="no daily prefix"):
        settings.daily_key("images/w1.jpg", datetime(2026, 11, 28, tzinfo=UTC))


def test_the_digest_subject_is_ascii_one_line_and_at_most_100_characters():
    day = datetime(2026, 11, 28, tzinfo=UTC)
    rows = Rows(
        params=Params(since=day, until=day + timedelta(days=1), by="hour"),
        verdicts=({"line": "l" * 63, "verdict": "FAIL", "effective": "FAIL", "images": 3},),
        subgroups=({"line": "l" * 63, "subgroup": "2026-11-28T09", "judged": 3, "failed": 3},),
        reasons=(),
        backlog=(),
        agreement=(),
    )

    email = compose_digest(summarize(rows, engine="duckdb", line="l" * 63), link=None, link_expiry_seconds=60)

    assert len(email.subject) <= 100
    assert email.subject.isascii()
    assert "\n" not in email.subject
    assert {"kind": "digest", "line": "l" * 63} == email.attributes
    assert "Full report: no link could be made" in email.body
    assert Verdict.FAIL.value in email.body
