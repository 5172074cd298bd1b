"""`inspector reference train` and `analyze --detector reference`, on disk and against moto's server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

import inspector.reference
from inspector.cli import main
from inspector.local import LocalAws
from inspector.reference import ReferenceModel
from inspector.reference import synthetic as syn
from tests.support import without_aws_credentials

REGION = "us-east-1"
SIZE = (320, 240)


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> Run:
        status = main(list(argv))
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run


def one_line_error(run: Run) -> str:
    assert 2 == run.status, run
    assert "" == run.out
    assert 1 == len(run.err.splitlines()), run.err
    assert "Traceback" not in run.err
    return run.err


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    for i in range(10):
        (folder / f"good-{i:02}.jpg").write_bytes(syn.widget(200 + i, SIZE))
    return folder


@pytest.fixture(scope="module")
def trained(good_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("model") / "widget.npz"
    status = main(["reference", "train", str(good_folder), "--out", str(out)])
    assert 0 == status
    return out, ""


def test_training_prints_what_it_learnt_and_the_criteria_to_use(
    cli: Any, good_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m" / "widget.npz"
    run = cli("reference", "train", str(good_folder), "--out", str(out))
    assert 0 == run.status
    assert "trained on 10 good images of 320x240 px" in run.out
    assert "alignment applied: shift up to " in run.out
    assert "defects smaller than about 2 px of the photo may be missed (1/1 scale)\n" in run.out
    assert "calibrated threshold: score " in run.out
    assert "= Anomaly confidence 50" in run.out
    assert "held-out false alarms: 0 of 10 good images (0.0%" in run.out
    assert "forbid:\n  - label: Anomaly\n    minConfidence: 50\n" in run.out
    model = ReferenceModel.from_bytes(out.read_bytes())
    assert [f"good-{i:02}.jpg" for i in range(10)] == [image.name for image in model.images]


def test_training_refuses_too_few_images_in_one_line(cli: Any, good_folder: Path, tmp_path: Path) -> None:
    few = tmp_path / "few"
    few.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (few / name).write_bytes((good_folder / "good-00.jpg").read_bytes())
    err = one_line_error(cli("reference", "train", str(few), "--out", str(tmp_path / "m.npz")))
    assert "2 good images given; training needs at least 10" in err


def test_training_refuses_mixed_sizes_in_one_line(cli: Any, good_folder: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in sorted(good_folder.iterdir()):
        (mixed / path.name).write_bytes(path.read_bytes())
    (mixed / "zz-other.jpg").write_bytes(syn.widget(1, (400, 300)))
    err = one_line_error(cli("reference", "train", str(mixed), "--out", str(tmp_path / "m.npz")))
    assert "mixed sizes: good-00.jpg is 320x240 px, zz-other.jpg is 400x300 px" in err


def test_training_refuses_an_unreadable_image_in_one_line(
    cli: Any, good_folder: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in sorted(good_folder.iterdir()):
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "good-03.jpg").write_bytes(b"not a picture")
    err = one_line_error(cli("reference", "train", str(broken), "--out", str(tmp_path / "m.npz")))
    assert "good-03.jpg: cannot be used: not a JPEG or PNG image" in err


def test_training_refuses_a_missing_folder_in_one_line(cli: Any, tmp_path: Path) -> None:
    err = one_line_error(cli("reference", "train", str(tmp_path / "nope"), "--out", str(tmp_path / "m.npz")))
    assert "no such folder" in err


def test_analyze_with_the_reference_detector_prints_json_verdicts(
    cli: Any, trained: tuple[Path, str], tmp_path: Path
) -> None:
    model, _ = trained
    images = tmp_path / "inspect"
    images.mkdir()
    (images / "good.jpg").write_bytes(syn.widget(600, SIZE))
    (images / "stain.jpg").write_bytes(syn.widget(601, SIZE, defect="stain"))
    (images / "other-size.jpg").write_bytes(syn.widget(602, (400, 300)))
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text("forbid:\n  - label: Anomaly\n    minConfidence: 50\n")
    run = cli(
        "analyze", "--detector", "reference", "--reference-model", str(model), "--criteria", str(criteria),
        "--json", str(images),
    )  # fmt: skip
    assert 0 == run.status, run.err
    verdicts = {Path(image["file"]).name: image["verdict"] for image in json.loads(run.out)["images"]}
    assert {"good.jpg": "PASS", "stain.jpg": "FAIL", "other-size.jpg": "REJECTED"} == verdicts


def analyze_one(cli: Any, model: Path, criteria: str, folder: Path) -> Run:
    """`inspector analyze --detector reference` on one good photo in `folder`, under `criteria` (YAML)."""
    (folder / "criteria.yaml").write_text(criteria)
    (folder / "w.jpg").write_bytes(syn.widget(5, SIZE))
    run: Run = cli(
        "analyze", "--detector", "reference", "--reference-model", str(model),
        "--criteria", str(folder / "criteria.yaml"), str(folder),
    )  # fmt: skip
    return run


def test_analyze_refuses_a_tampered_model_in_one_line(
    cli: Any, trained: tuple[Path, str], tmp_path: Path
) -> None:
    model, _ = trained
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a bit flipped in the middle of the arrays
    tampered = tmp_path / "tampered.npz"
    tampered.write_bytes(bytes(data))
    err = one_line_error(analyze_one(cli, tampered, "forbid: [{label: Anomaly}]\n", tmp_path))
    assert "is not a usable reference model" in err


def test_analyze_refuses_labels_the_reference_detector_never_reports(
    cli: Any, trained: tuple[Path, str], tmp_path: Path
) -> None:
    err = one_line_error(analyze_one(cli, trained[0], "require: [{label: Widget}]\n", tmp_path))
    assert "reports only the label Anomaly" in err


@pytest.mark.parametrize(
    "criteria",
    [
        "quality: {minSharpness: 10}\n",
        "colors: [{color: grey, maxPercent: 99}]\n",
        "require: [{anyOf: [Anomaly]}]\n",
    ],
    ids=["quality-only", "colours-only", "anomaly-required"],
)
def test_analyze_refuses_criteria_with_no_rule_that_fails_on_anomaly(
    cli: Any, trained: tuple[Path, str], tmp_path: Path, criteria: str
) -> None:
    # Quality-only criteria under the reference detector would PASS every defect, silently.
    err = one_line_error(analyze_one(cli, trained[0], criteria, tmp_path))
    assert "no rule forbids it, so every defect it finds would PASS" in err
    assert "add `forbid: [{label: Anomaly, minConfidence: 50}]`" in err


def test_analyze_json_carries_labels_boxes_and_the_evidence_it_wrote(
    cli: Any, trained: tuple[Path, str], tmp_path: Path
) -> None:
    model, _ = trained
    images = tmp_path / "inspect"
    (images / "a").mkdir(parents=True)
    (images / "b").mkdir()
    (images / "good.jpg").write_bytes(syn.widget(600, SIZE))
    (images / "a" / "w.jpg").write_bytes(syn.widget(601, SIZE, defect="stain"))
    (images / "b" / "w.jpg").write_bytes(syn.widget(602, SIZE, defect="scratch"))
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text("forbid:\n  - label: Anomaly\n    minConfidence: 50\n")
    evidence = tmp_path / "evidence"
    run = cli(
        "analyze", "--detector", "reference", "--reference-model", str(model), "--criteria", str(criteria),
        "--evidence", str(evidence), "--json", str(images),
    )  # fmt: skip
    assert 0 == run.status, run.err
    found = {
        Path(image["file"]).relative_to(images).as_posix(): image for image in json.loads(run.out)["images"]
    }
    assert {"good.jpg": "PASS", "a/w.jpg": "FAIL", "b/w.jpg": "FAIL"} == {
        k: v["verdict"] for k, v in found.items()
    }
    assert "evidence" not in found["good.jpg"]
    for name in ("a/w.jpg", "b/w.jpg"):
        (anomaly,) = found[name]["labels"]
        assert "Anomaly" == anomaly["name"]
        assert anomaly["confidence"] > 50
        box = anomaly["instances"][0]["bounding_box"]
        assert 0 <= box["left"] < box["left"] + box["width"] <= 1
        assert 0 <= box["top"] < box["top"] + box["height"] <= 1
        written = Path(found[name]["evidence"])
        assert evidence == written.parent
        assert written.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    # Two files named w.jpg in two folders: two evidence images, neither overwriting the other.
    assert found["a/w.jpg"]["evidence"] != found["b/w.jpg"]["evidence"]
    assert 2 == len(list(evidence.iterdir()))


def test_analyze_text_says_where_each_defect_is_and_names_its_evidence(
    cli: Any, trained: tuple[Path, str], tmp_path: Path
) -> None:
    (tmp_path / "stain.jpg").write_bytes(syn.widget(601, SIZE, defect="stain"))
    (tmp_path / "criteria.yaml").write_text("forbid: [{label: Anomaly, minConfidence: 50}]\n")
    run = cli(
        "analyze", "--detector", "reference", "--reference-model", str(trained[0]),
        "--criteria", str(tmp_path / "criteria.yaml"), "--evidence", str(tmp_path / "ev"),
        str(tmp_path / "stain.jpg"),
    )  # fmt: skip
    assert 0 == run.status, run.err
    assert "where: Anomaly " in run.out
    assert " of the photo" in run.out
    assert f"evidence: {tmp_path / 'ev' / 'stain.jpg.evidence.jpg'}" in run.out


def test_analyze_evidence_must_be_a_folder(
    trained: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exited:
        main(
            ["analyze", "--detector", "reference", "--reference-model", str(trained[0]),
             "--criteria", "c.yaml", "--evidence", str(tmp_path / "file"), str(tmp_path)]
        )  # fmt: skip
    assert 2 == exited.value.code
    (line,) = capsys.readouterr().err.splitlines()
    assert "is a file, not a folder: give a folder to write into" in line


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    with LocalAws(region=REGION) as aws:
        yield aws


def test_training_reads_an_s3_prefix_and_writes_the_model_to_s3(
    cli: Any, local_aws: LocalAws, good_folder: Path
) -> None:
    s3 = local_aws.client("s3")
    bucket = f"widgets-{uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for path in sorted(good_folder.iterdir()):
        s3.put_object(Bucket=bucket, Key=f"good/line-1/{path.name}", Body=path.read_bytes())
    aws = ["--endpoint-url", local_aws.endpoint_url, "--region", REGION]
    run = cli(
        "reference", "train", f"s3://{bucket}/good/line-1/", "--out", f"s3://{bucket}/models/line-1.npz", *aws
    )
    assert 0 == run.status, run.err
    body = s3.get_object(Bucket=bucket, Key="models/line-1.npz")["Body"].read()
    model = ReferenceModel.from_bytes(body)
    assert "good/line-1/good-00.jpg" == model.images[0].name


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    without_aws_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def test_training_to_s3_without_credentials_is_refused_before_training(
    cli: Any, good_folder: Path, no_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_: object, **__: object) -> None:
        raise AssertionError("trained before the destination was checked")

    monkeypatch.setattr(inspector.reference, "train", never)
    err = one_line_error(cli("reference", "train", str(good_folder), "--out", "s3://widgets/models/w.npz"))
    assert "--out s3://widgets/models/w.npz: no AWS credentials found: configure some" in err
    assert "NoCredentialsError" not in err


def test_training_to_a_bucket_that_is_not_there_is_refused_before_training(
    cli: Any, local_aws: LocalAws, good_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inspector.reference, "train", lambda *_, **__: pytest.fail("trained first"))
    aws = ["--endpoint-url", local_aws.endpoint_url, "--region", REGION]
    err = one_line_error(
        cli("reference", "train", str(good_folder), "--out", "s3://no-such-bucket-x/m.npz", *aws)
    )
    assert "no bucket named 'no-such-bucket-x'" in err


def test_training_given_a_file_for_images_says_it_is_a_file(
    cli: Any, good_folder: Path, tmp_path: Path
) -> None:
    image = good_folder / "good-00.jpg"
    err = one_line_error(cli("reference", "train", str(image), "--out", str(tmp_path / "m.npz")))
    assert f"{image} is a file, not a folder: give the folder holding the good images" in err


def test_training_from_s3_without_credentials_is_one_clear_line(
    cli: Any, tmp_path: Path, no_credentials: None
) -> None:
    err = one_line_error(cli("reference", "train", "s3://widgets/good/", "--out", str(tmp_path / "m.npz")))
    assert "no AWS credentials found" in err
    assert "NoCredentialsError" not in err


def test_training_at_a_finer_working_resolution_with_reduce(
    cli: Any, good_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fine.npz"
    run = cli("reference", "train", str(good_folder), "--out", str(out), "--reduce", "1", "--json")
    assert 0 == run.status
    document = json.loads(run.out)
    assert ([320, 240], [320, 240]) == (document["size"], document["working_size"])
    assert 1 == ReferenceModel.from_bytes(out.read_bytes()).reduce


def test_training_says_how_to_see_smaller_defects(cli: Any, good_folder: Path, tmp_path: Path) -> None:
    run = cli("reference", "train", str(good_folder), "--out", str(tmp_path / "coarse.npz"), "--reduce", "4")
    assert 0 == run.status
    assert "(judged at 80x60 px)\n" in run.out
    assert (
        "defects smaller than about 8 px of the photo may be missed (1/4 scale); --reduce 2 sees half that "
        "size at about 4x the time per image\n" in run.out
    )


def test_training_refuses_a_reduce_that_is_not_a_power_of_two(
    capsys: pytest.CaptureFixture[str], good_folder: Path, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["reference", "train", str(good_folder), "--out", str(tmp_path / "m.npz"), "--reduce", "3"])
    assert 2 == exited.value.code
    assert "argument --reduce: invalid choice: 3 (choose from 1, 2, 4, 8)" in capsys.readouterr().err
