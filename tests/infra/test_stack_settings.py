"""Stack settings are as strict as the criteria: what `pulumi up` is given is what is deployed (issue 11)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.config import StackConfigError, load, load_stack_file
from inspector.deployment import Deployment

CRITERIA = json.dumps({"forbid": [{"label": "Rust"}]})
ARN = "arn:aws:rekognition:eu-west-1:111122223333:project/widgets/version/v1/1"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        pytest.param(
            {"forceDestroy": "yes"}, "inspector:forceDestroy: Input should be a valid boolean", id="yes"
        ),
        pytest.param(
            {"forceDestroy": "1"}, "inspector:forceDestroy: Input should be a valid boolean", id="1"
        ),
        pytest.param({"memoryMb": "true"}, "inspector:memoryMb: Input should be a valid integer", id="true"),
        pytest.param(
            {"memoryMb": "512.0"}, "inspector:memoryMb: Input should be a valid integer", id="512.0"
        ),
        pytest.param(
            {"timeoutSeconds": "1e2"}, "inspector:timeoutSeconds: Input should be a valid integer", id="1e2"
        ),
        pytest.param(
            {"oldestMessageAlarmSeconds": "1000000000"},
            "inspector:oldestMessageAlarmSeconds: Input should be less than or equal to 345600",
            id="alarm threshold beyond the queue's retention",
        ),
        pytest.param(
            {
                "notify": json.dumps(
                    [{"email": "qc@example.com"}, {"email": "QC@example.com", "only": ["FAIL"]}]
                )
            },
            "notify[0] and notify[1]: both are QC@example.com; give each address once",
            id="one address twice",
        ),
        pytest.param(
            {"opsNotify": json.dumps(["ops@example.com", "ops@example.com"])},
            "opsNotify[0] and opsNotify[1]: both are ops@example.com",
            id="one ops address twice",
        ),
        pytest.param(
            {"notify": json.dumps([{"email": "qc@example.com", "only": ["FAIL", "FAIL"]}])},
            "only: a verdict is listed twice",
            id="one verdict twice",
        ),
        pytest.param(
            {"customLabelsArn": ARN},
            "customLabelsArn is set but detector is 'rekognition', which does not use it",
            id="custom labels model beside a detector that does not use it",
        ),
        pytest.param(
            {"referenceModel": "models/widget.npz"},
            "inspector:referenceModel is set but detector is 'rekognition', which does not use it: remove "
            "inspector:referenceModel, or set detector to reference",
            id="reference model beside a detector that does not use it",
        ),
        pytest.param(
            {"referenceModel": "models/widget.npz", "detector": "custom-labels", "customLabelsArn": ARN},
            "referenceModel is set but detector is 'custom-labels', which does not use it",
            id="reference model beside custom labels",
        ),
        pytest.param(
            {
                "lines": json.dumps(
                    [
                        {
                            "name": "line-1",
                            "prefix": "line-1/",
                            "criteria": {"forbid": [{"label": "Rust"}]},
                            "detectors": ["rekognition", "custom-labels"],
                            "customLabelsArn": ARN,
                            "referenceModel": "models/line-1.npz",
                        }
                    ]
                )
            },
            "line 'line-1': referenceModel is set but its detectors (rekognition, custom-labels) do not "
            "use it",
            id="a line's reference model beside combined detectors without reference",
        ),
        pytest.param(
            {
                "lines": json.dumps(
                    [
                        {
                            "name": "line-1",
                            "prefix": "line-1/",
                            "criteria": {"forbid": [{"label": "Anomaly"}]},
                            "detectors": ["reference"],
                            "referenceModel": "models/line-1.npz",
                            "customLabelsArn": ARN,
                        }
                    ]
                )
            },
            "line 'line-1': customLabelsArn is set but its detectors (reference) do not use it",
            id="a line's custom labels model beside the reference detector",
        ),
        pytest.param(
            {"notify": '[{"email": "qc@example.com", "email": "ops@example.com"}]'},
            "key 'email' is given twice in [0]",
            id="a repeated key in a JSON value",
        ),
        pytest.param(
            {"memoryMB": "1024"},
            "inspector:memoryMB: unknown key (did you mean `inspector:memoryMb`?)",
            id="misspelt key",
        ),
        pytest.param(
            {"memoryMb": "1024", "memory_mb": "2048"},
            "`inspector:memoryMb` and `memory_mb` are two spellings of one setting",
            id="both spellings",
        ),
    ],
)
def test_bad_stack_settings_are_refused_naming_the_key(values: dict[str, str], words: str):
    with pytest.raises(StackConfigError) as refused:
        load({"criteria": CRITERIA, **values})

    assert words in str(refused.value)
    assert "\n" not in str(refused.value)


def test_pulumi_text_for_numbers_and_booleans_is_read_exactly():
    deployment = load(
        {"criteria": CRITERIA, "forceDestroy": "true", "memoryMb": "1024", "pythonVersion": "3.12"}
    )

    assert (True, 1024, "3.12") == (deployment.force_destroy, deployment.memory_mb, deployment.python_version)


def test_a_stack_file_is_read_strictly(tmp_path: Path):
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(
        "config:\n"
        "  inspector:criteria:\n"
        "    forbid: [{label: Rust}]\n"
        "  inspector:memoryMb: 1024\n"
        "  inspector:memoryMb: 2048\n"
    )

    with pytest.raises(
        StackConfigError, match=r"key 'inspector:memoryMb' is given twice in config \(line 4 and line 5\)"
    ):
        load_stack_file(stack)


def test_a_stack_file_with_yes_for_a_switch_is_refused(tmp_path: Path):
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(
        "config:\n  inspector:criteria: {forbid: [{label: Rust}]}\n  inspector:forceDestroy: yes\n"
    )

    with pytest.raises(StackConfigError, match="inspector:forceDestroy: Input should be a valid boolean"):
        load_stack_file(stack)


def test_every_number_setting_has_an_upper_bound_documented_in_the_readme():
    readme = README.read_text()
    section = readme[readme.index("### Stack settings") :]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| [^|]* \| ([^\n]*)$", section, re.M)}
    checked = 0
    for name, info in Deployment.model_fields.items():
        if info.annotation is not int:
            continue
        alias = info.alias or name
        bounds = {type(m).__name__: m for m in info.metadata}
        if alias == "logRetentionDays":  # one of CloudWatch's periods: a list, not a range
            assert "3653" in rows[alias]
            continue
        high = getattr(bounds.get("Le"), "le", None)
        low = getattr(bounds.get("Ge"), "ge", None)
        assert high is not None, f"{alias} has no upper bound"
        assert f"{low:,} to {high:,}".replace(",", ",") in rows[alias] or f"{low} to {high}" in rows[alias], (
            alias
        )
        checked += 1
    assert checked >= 9


# Values as `pulumi config set` or a stack file hand them to the program: text, or JSON for objects.
texts = st.one_of(
    st.sampled_from(["true", "false", "yes", "1", "0", "-1", "512", "512.0", "1e3", "", " 10", "3.12", "x"]),
    st.integers(-10, 2_000_000).map(str),
    st.text(max_size=8),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.text(max_size=6)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
).map(json.dumps)
keys = st.sampled_from(
    [
        *(info.alias or name for name, info in Deployment.model_fields.items() if name != "criteria"),
        "memoryMB",
        "x",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, st.one_of(texts, json_values), max_size=5))
def test_any_stack_config_loads_or_is_refused_in_one_line_naming_a_key(values: dict[str, str]):
    try:
        deployment = load({"criteria": CRITERIA, **values})
    except StackConfigError as exc:
        message = str(exc)
        assert "\n" not in message
        assert "inspector:" in message
        return
    # Loaded: every key given was taken as written, none dropped.
    for key, text in values.items():
        field = next(n for n, info in Deployment.model_fields.items() if key in {n, info.alias})
        value = getattr(deployment, field)
        if isinstance(value, bool):
            assert text == ("true" if value else "false")
        elif isinstance(value, int):
            assert int(text) == value
