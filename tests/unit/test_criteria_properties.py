"""Property-based: any document either loads to criteria whose fingerprint round-trips, or is refused with
one line naming a path; never a traceback, never a silent drop (issue 11, part 1)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.cli import main
from inspector.criteria import SIMPLIFIED_COLORS, Criteria
from inspector.errors import CriteriaError

# Values as YAML and JSON documents hold them, including the surprising ones.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=120),
    st.floats(min_value=-5, max_value=120),
    st.sampled_from([float("nan"), float("inf")]),
    st.sampled_from(["", "Widget", "90", "yes", "blue", "  ", "Rust"]),
)
confidence = st.one_of(st.integers(0, 100), st.floats(0, 100), scalars)
label = st.one_of(st.sampled_from(["Widget", "Bolt", "Screw", "Rust", "Scratch", "widget"]), scalars)
count = st.fixed_dictionaries(
    {}, optional={"min": st.one_of(st.integers(0, 6), scalars), "max": st.one_of(st.integers(0, 6), scalars)}
)
KEYS = ["label", "anyOf", "any_of", "minConfidence", "min_confidence", "count", "lable", "confidence"]
entry = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "label": label,
            "anyOf": st.lists(label, max_size=3),
            "minConfidence": confidence,
            "min_confidence": confidence,
            "count": count,
            "lable": label,
        },
    ),
    label,
)
bounds = st.sampled_from(
    [
        "minBrightness",
        "maxBrightness",
        "minSharpness",
        "maxSharpness",
        "minContrast",
        "maxContrast",
        "minNoise",
    ]
)
colour = st.fixed_dictionaries(
    {},
    optional={
        "color": st.one_of(st.sampled_from([*SIMPLIFIED_COLORS, "Blue", "teal"]), scalars),
        "minPercent": confidence,
        "maxPercent": confidence,
        "percent": confidence,
    },
)
documents = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "minConfidence": confidence,
            "reviewMargin": st.one_of(st.integers(0, 30), confidence),
            "require": st.one_of(st.lists(entry, max_size=3), scalars),
            "forbid": st.one_of(st.lists(entry, max_size=3), scalars),
            "quality": st.one_of(st.dictionaries(bounds, confidence, max_size=3), scalars),
            "colors": st.one_of(st.lists(colour, max_size=3), scalars),
            "requires": st.lists(entry, max_size=1),
        },
    ),
    scalars,
    st.lists(scalars, max_size=2),
)

PATH = re.compile(r"^(\(document\)|[A-Za-z_]\w*(\[\d+\])?(\.\w+|\[\d+\])*(: | and ))")


def leaves(document: Any) -> int:
    """How many values a document holds, at any depth."""
    if isinstance(document, dict):
        return sum(leaves(value) for value in document.values())
    if isinstance(document, list):
        return sum(leaves(value) for value in document)
    return 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_document_loads_and_round_trips_or_is_refused_naming_a_path(document: Any):
    try:
        criteria = Criteria.from_document(document)
    except CriteriaError as exc:
        problems = exc.problems
    else:
        problems = []
    if problems:
        for problem in problems:
            assert "\n" not in problem
            assert PATH.match(problem), problem
        return
    # Loaded: the canonical form loads back to the same rules and the same fingerprint.
    canonical = criteria.canonical()
    again = Criteria.from_document(json.loads(json.dumps(canonical)))
    assert criteria == again
    assert criteria.fingerprint == again.fingerprint
    # Never a silent drop: every rule written is a rule loaded.
    for kind in ("require", "forbid", "colors"):
        assert len(document.get(kind) or []) == len(getattr(criteria, kind))
    if document.get("quality"):
        assert criteria.quality is not None
        # An explicit null is the bound left out (as `test_criteria`'s equivalences say), not a dropped one.
        written = [value for value in document["quality"].values() if value is not None]
        assert len(written) == len(criteria.quality.bounds())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents, st.booleans())
def test_criteria_check_of_any_document_is_exit_0_or_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: Any, as_json: bool
):
    path = tmp_path / ("criteria.json" if as_json else "criteria.yaml")
    path.write_text(json.dumps(document) if as_json else yaml.safe_dump(document), encoding="utf-8")

    status = main(["criteria", "check", str(path)])

    captured = capsys.readouterr()
    assert status in {0, 2}
    if status == 2:
        assert "" == captured.out
        (line,) = captured.err.splitlines()
        assert line.startswith("inspector: error: ")
        assert "Traceback" not in captured.err
    else:
        assert "valid criteria, fingerprint" in captured.out


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_key_written_twice_at_any_depth_is_never_silently_dropped(data: st.DataObject):
    # A valid document, written as YAML text with one key of one mapping repeated: always refused.
    document: dict[str, Any] = {
        "minConfidence": 90,
        "require": [{"label": "Widget", "count": {"min": 1, "max": 4}}],
        "forbid": [{"label": "Rust", "minConfidence": 70}],
        "quality": {"minSharpness": 40},
    }
    mappings: list[tuple[str, dict[str, Any]]] = [
        ("", document),
        ("require[0]", document["require"][0]),
        ("require[0].count", document["require"][0]["count"]),
        ("forbid[0]", document["forbid"][0]),
        ("quality", document["quality"]),
    ]
    where, mapping = data.draw(st.sampled_from(mappings))
    key = data.draw(st.sampled_from(sorted(mapping)))
    marker = "__REPEAT__"
    mapping[marker] = None
    text = json.dumps(document).replace(f'"{marker}": null', f'"{key}": {json.dumps(mapping[key])}')

    with pytest.raises(CriteriaError, match="given twice") as caught:
        Criteria.from_json(text)

    assert f"key {key!r} is given twice" + (f" in {where}" if where else "") in str(caught.value)
