"""The pipeline end to end on moto with the reference detector: model in the bucket, verdicts, evidence."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from inspector.app import Clients, build
from inspector.batch import BatchProcessor
from inspector.criteria import Criteria
from inspector.evidence import deciding_boxes, render
from inspector.lines import DetectorName, Line
from inspector.reference import ReferenceDetector, ReferenceModel, train
from inspector.reference import synthetic as syn
from inspector.settings import DetectorKind
from tests.functional.world import World, failures

SIZE = (320, 240)
MODEL_KEY = "models/widget.npz"
FORBID = Criteria.from_document({"reviewMargin": 10, "forbid": [{"label": "Anomaly", "minConfidence": 50}]})


@pytest.fixture(scope="module")
def model() -> ReferenceModel:
    return train([(f"good-{i}.jpg", syn.widget(300 + i, SIZE)) for i in range(10)])


def reference_world(world: World, model: ReferenceModel) -> World:
    world.s3.put_object(Bucket=world.bucket, Key=MODEL_KEY, Body=model.to_bytes())
    return world


def processor(world: World) -> BatchProcessor:
    """The function as `inspector.app.build` makes it from settings naming the model's key."""
    settings = world.settings(
        criteria=FORBID, detector=DetectorKind.REFERENCE, reference_model=MODEL_KEY, evidence=True
    )
    return build(settings, clients=Clients(s3=world.s3, sns=world.sns, rekognition=world.rekognition))


def test_good_and_defective_widgets_are_judged_and_the_fail_has_evidence(
    world: World, model: ReferenceModel
) -> None:
    reference_world(world, model)
    world.upload("images/line-1/good.jpg", syn.widget(700, SIZE))
    world.upload("images/line-1/scratch.jpg", syn.widget(701, SIZE, defect="scratch"))
    world.upload("images/line-1/missing-screw.jpg", syn.widget(702, SIZE, defect="missing-screw"))
    assert [] == failures(world.run(processor(world)))

    good = world.record("images/line-1/good.jpg")
    assert ("PASS", None) == (good.verdict.value, good.evidence)
    assert good.analysis is not None
    assert good.analysis.labels[0].name == "Anomaly"
    assert good.analysis.labels[0].confidence < 50
    for name in ("scratch", "missing-screw"):
        found = world.record(f"images/line-1/{name}.jpg")
        assert "FAIL" == found.verdict.value
        assert f"results/line-1/{name}.jpg.evidence.jpg" == found.evidence
        assert found.analysis is not None
        (anomaly,) = found.analysis.labels
        assert anomaly.confidence > 50
        assert anomaly.instances
        assert anomaly.instances[0].bounding_box
        evidence = Image.open(io.BytesIO(world.body(found.evidence)))
        # The photo's width, and its height under the caption band.
        assert ("JPEG", SIZE[0]) == (evidence.format, evidence.size[0])
        assert SIZE[1] < evidence.size[1] < SIZE[1] + 80
    emails = {email.subject: email.body for email in world.emails()}
    fail_body = next(body for subject, body in emails.items() if "scratch" in subject)
    assert "Evidence: s3://widget-factory-images/results/line-1/scratch.jpg.evidence.jpg" in fail_body
    assert "Evidence link (valid 1 day): " in fail_body
    assert "Anomaly: " in fail_body
    assert "located" in fail_body
    pass_body = next(body for subject, body in emails.items() if "good" in subject)
    assert "Evidence" not in pass_body


def test_an_image_of_another_size_is_rejected_naming_both_sizes(world: World, model: ReferenceModel) -> None:
    reference_world(world, model)
    world.upload("images/line-1/big.jpg", syn.widget(703, (400, 300)))
    assert [] == failures(world.run(processor(world)))
    record = world.record("images/line-1/big.jpg")
    assert "REJECTED" == record.verdict.value
    assert "image is 400x300 px but the reference model was trained on 320x240 px images" in (
        record.rejection or ""
    )


def test_a_missing_model_leaves_the_image_and_its_message_for_a_retry(world: World) -> None:
    world.upload("images/line-1/w.jpg", syn.widget(704, SIZE))
    assert 1 == len(failures(world.run(processor(world))))
    assert world.exists("images/line-1/w.jpg")
    assert not world.exists("results/line-1/w.jpg.json")


# --- lines with their own models ------------------------------------------------------------------

LINE_MODEL_KEY = "models/line-1.npz"


def mirrored(data: bytes) -> bytes:
    """The widget photo mirrored left to right: another product, for a model of its own."""
    out = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(data))).save(out, format="JPEG", quality=92)
    return out.getvalue()


@pytest.fixture(scope="module")
def mirrored_model() -> ReferenceModel:
    return train([(f"good-{i}.jpg", mirrored(syn.widget(300 + i, SIZE))) for i in range(10)])


def lined_processor(world: World, *, default: dict[str, object]) -> BatchProcessor:
    """The function with the default line as `default` says and line-1 judged by its own reference model."""
    line = Line(
        name="line-1",
        prefix="line-1/",
        criteria=FORBID,
        detectors=(DetectorName.REFERENCE,),
        reference_model=LINE_MODEL_KEY,
    )
    settings = world.settings(criteria=FORBID, evidence=True, lines=(line,), **default)
    return build(settings, clients=Clients(s3=world.s3, sns=world.sns, rekognition=world.rekognition))


def test_a_line_with_its_own_reference_model_is_judged_by_that_model_and_not_the_default_lines(
    world: World, model: ReferenceModel, mirrored_model: ReferenceModel
) -> None:
    reference_world(world, model)
    world.s3.put_object(Bucket=world.bucket, Key=LINE_MODEL_KEY, Body=mirrored_model.to_bytes())
    photo = mirrored(syn.widget(710, SIZE))  # a good part of line-1's product
    world.upload("images/line-1/part.jpg", photo)
    world.upload("images/part.jpg", photo)  # the same photo on the default line, whose model is another's
    processor = lined_processor(
        world, default={"detector": DetectorKind.REFERENCE, "reference_model": MODEL_KEY}
    )
    assert [] == failures(world.run(processor))

    on_line = world.record("images/line-1/part.jpg")
    on_default = world.record("images/part.jpg")
    assert on_line.analysis is not None
    assert on_default.analysis is not None
    assert ("line-1", "PASS") == (on_line.line, on_line.verdict.value)
    assert f"reference-1:{mirrored_model.fingerprint}" == on_line.analysis.model_version
    assert ("default", "FAIL") == (on_default.line, on_default.verdict.value)
    assert f"reference-1:{model.fingerprint}" == on_default.analysis.model_version
    assert model.fingerprint != mirrored_model.fingerprint


def red_pixels(data: bytes) -> int:
    """Pixels where red clearly dominates: the heat map's overlay and the outlines."""
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)
    return int(((rgb[..., 0] - np.maximum(rgb[..., 1], rgb[..., 2])) > 60).sum())


def test_the_evidence_heat_map_comes_from_the_detector_of_the_images_own_line(
    world: World, model: ReferenceModel, mirrored_model: ReferenceModel
) -> None:
    # The default line runs Rekognition (no heat map); line-1 runs its own reference model.
    world.s3.put_object(Bucket=world.bucket, Key=LINE_MODEL_KEY, Body=mirrored_model.to_bytes())
    photo = mirrored(syn.widget(711, SIZE, defect="stain"))
    world.upload("images/line-1/stained.jpg", photo)
    assert [] == failures(world.run(lined_processor(world, default={})))

    record = world.record("images/line-1/stained.jpg")
    assert ("line-1", "FAIL") == (record.line, record.verdict.value)
    assert record.evidence is not None
    stored = world.body(record.evidence)
    # The same evidence drawn without a heat map: the stored one has the line model's heat map over it.
    without = render(photo, deciding_boxes(record), verdict=record.verdict, heat=None, caption="")
    with_heat = render(
        photo,
        deciding_boxes(record),
        verdict=record.verdict,
        heat=ReferenceDetector(mirrored_model).examine(photo, properties=False)[1].heat_map(),
        caption="",
    )
    assert red_pixels(with_heat) > red_pixels(without) + 50  # the heat map shows at this size
    assert red_pixels(stored) > red_pixels(without) + 50
