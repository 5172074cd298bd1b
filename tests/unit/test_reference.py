"""The reference detector's core: regions, alignment, training refusals, model files, calibration, boxes."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inspector.criteria import Criteria
from inspector.engine import Verdict, evaluate
from inspector.errors import ImageRejected
from inspector.reference import (
    MIN_IMAGES,
    ModelError,
    ReferenceDetector,
    ReferenceModel,
    Scorer,
    TrainingError,
    train,
)
from inspector.reference import synthetic as syn
from inspector.reference.align import Aligner, Rigid, phase_correlation, warp
from inspector.reference.core import Comparator, planar, scored_regions
from inspector.reference.imaging import decode, grey, to_array
from inspector.reference.regions import regions

SIZE = (400, 300)
FORBID = Criteria.from_document({"forbid": [{"label": "Anomaly", "minConfidence": 50}]})


def jpeg(image: Image.Image, quality: int = 92, **save: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, **save)
    return out.getvalue()


@pytest.fixture(scope="module")
def model() -> ReferenceModel:
    images = [(f"good-{i:02}.jpg", syn.widget(100 + i, SIZE)) for i in range(12)]
    return train(images)


@pytest.fixture(scope="module")
def scorer(model: ReferenceModel) -> Scorer:
    return Scorer(model)


def confidence(scorer: Scorer, data: bytes) -> float:
    return scorer.score(decode(data, reduce=scorer.model.reduce)).confidence


# --- connected regions ----------------------------------------------------------------------------


def test_regions_join_diagonal_neighbours_and_keep_separate_blobs_apart() -> None:
    mask = np.zeros((8, 10), dtype=bool)
    mask[1, 1] = mask[2, 2] = mask[3, 3] = True  # one diagonal line
    mask[5:7, 6:9] = True  # a 2 x 3 block
    found = regions(mask)
    assert [(6, 5, 6, 9, 7), (3, 1, 1, 4, 4)] == [(r.area, r.top, r.left, r.right, r.bottom) for r in found]


def test_regions_sum_the_weight_over_each_region_and_sort_by_it() -> None:
    mask = np.zeros((5, 5), dtype=bool)
    mask[0, 0] = True
    mask[4, 3:5] = True
    weight = np.full((5, 5), 2.0)
    weight[0, 0] = 10.0
    assert [10.0, 4.0] == [r.weight for r in regions(mask, weight)]


def test_regions_of_a_u_shape_are_one_region() -> None:
    mask = np.zeros((6, 7), dtype=bool)
    mask[1:5, 1] = mask[1:5, 5] = True
    mask[4, 1:6] = True
    (only,) = regions(mask)
    assert (11, 1, 1, 6, 5) == (only.area, only.top, only.left, only.right, only.bottom)


def test_an_empty_mask_has_no_regions() -> None:
    assert [] == regions(np.zeros((4, 4), dtype=bool))


# --- alignment ------------------------------------------------------------------------------------


def test_phase_correlation_finds_a_whole_pixel_shift() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(128, 30, (64, 80)).astype(np.float32)
    moved = np.roll(base, (3, -5), axis=(0, 1))
    dx, dy = phase_correlation(base, moved)
    assert -5.0 == pytest.approx(dx, abs=0.2)
    assert 3.0 == pytest.approx(dy, abs=0.2)


@pytest.mark.parametrize(("dx", "dy", "degrees"), [(4.0, -3.0, 0.0), (-2.5, 1.5, 1.2), (0.0, 0.0, -2.0)])
def test_the_aligner_recovers_a_shift_and_a_rotation(dx: float, dy: float, degrees: float) -> None:
    photo = decode(syn.widget(7, SIZE, camera=syn.Camera(shift_px=0, rotation_deg=0)))
    motion = Rigid(dx, dy, np.radians(degrees))
    width, height = photo.image.size
    # warp() resamples into the reference pose; the inverse motion moves the photo by `motion`.
    inverse = np.asarray(np.linalg.inv(motion.matrix(width, height)), dtype=np.float64)
    moved = warp(photo.image, Rigid.from_matrix(inverse, width, height))
    found = Aligner(grey(to_array(photo.image))).align(grey(to_array(moved)))
    assert dx == pytest.approx(found.dx, abs=0.3)
    assert dy == pytest.approx(found.dy, abs=0.3)
    assert degrees == pytest.approx(found.degrees, abs=0.1)


# --- training refusals ----------------------------------------------------------------------------


def test_training_refuses_too_few_images_saying_how_many_it_needs_and_why() -> None:
    images = [(f"{i}.jpg", syn.widget(i, SIZE)) for i in range(3)]
    with pytest.raises(TrainingError, match=rf"3 good images given; training needs at least {MIN_IMAGES}: "):
        train(images)


def test_training_refuses_images_of_mixed_sizes_naming_two() -> None:
    images = [(f"{i}.jpg", syn.widget(i, SIZE)) for i in range(MIN_IMAGES - 1)]
    images.append(("odd.jpg", syn.widget(99, (320, 240))))
    with pytest.raises(TrainingError, match=r"mixed sizes: 0.jpg is 400x300 px, odd.jpg is 320x240 px"):
        train(images)


def test_training_refuses_an_unreadable_image_naming_it() -> None:
    images = [(f"{i}.jpg", syn.widget(i, SIZE)) for i in range(MIN_IMAGES)]
    images[4] = ("broken.jpg", images[4][1][:300])
    with pytest.raises(TrainingError, match=r"broken.jpg: cannot be used: corrupt or truncated"):
        train(images)


# --- the model file -------------------------------------------------------------------------------


def test_a_model_file_round_trips_arrays_and_metadata(model: ReferenceModel) -> None:
    again = ReferenceModel.from_bytes(model.to_bytes())
    assert np.array_equal(model.ideal, again.ideal)
    assert np.array_equal(model.variation, again.variation)
    assert np.array_equal(model.mask, again.mask)
    assert model.metadata() == again.metadata()
    assert model.fingerprint == again.fingerprint


def test_the_model_file_describes_itself(model: ReferenceModel) -> None:
    with np.load(io.BytesIO(model.to_bytes()), allow_pickle=False) as archive:
        meta = json.loads(archive["metadata"].tobytes())
    assert ("widget-inspector/reference-model", 1, [400, 300]) == (
        meta["format"],
        meta["format_version"],
        meta["size"],
    )
    assert [f"good-{i:02}.jpg" for i in range(12)] == [image["name"] for image in meta["images"]]
    assert all(len(image["sha256"]) == 64 for image in meta["images"])
    assert {"numpy", "pillow", "inspector", "python"} <= set(meta["versions"])
    assert {"k", "abs_threshold", "margin_ratio"} <= set(meta["parameters"])


def _rewrite(data: bytes, name: str, change: Any) -> bytes:
    """The model file with one member's array changed by `change`."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays[name] = change(arrays[name])
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_a_tampered_array_is_refused(model: ReferenceModel) -> None:
    def brighten(ideal: np.ndarray) -> np.ndarray:
        ideal = ideal.copy()
        ideal[10, 10] += 50
        return ideal

    tampered = _rewrite(model.to_bytes(), "ideal", brighten)
    with pytest.raises(ModelError, match=r"the 'ideal' array does not match its checksum"):
        ReferenceModel.from_bytes(tampered)


def test_a_newer_format_version_is_refused(model: ReferenceModel) -> None:
    def newer(raw: np.ndarray) -> np.ndarray:
        meta = json.loads(raw.tobytes())
        meta["format_version"] = 2
        return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    with pytest.raises(ModelError, match=r"format version 2; this version of widget-inspector reads 1"):
        ReferenceModel.from_bytes(_rewrite(model.to_bytes(), "metadata", newer))


def test_a_file_holding_a_pickled_object_is_refused_without_running_it() -> None:
    out = io.BytesIO()
    np.savez(
        out,
        metadata=np.array([{"format": "x"}], dtype=object),
        ideal=np.zeros(3),
        variation=np.zeros(3),
        mask=np.zeros(3),
    )
    with pytest.raises(ModelError, match=r"cannot be read as a numpy archive without pickle"):
        ReferenceModel.from_bytes(out.getvalue())


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xff\xd8\xff\xe0 a jpeg", r"not a model file"),
        (b"PK\x03\x04 not really a zip", r"cannot be read as a numpy archive"),
        (b"", r"not a model file"),
    ],
    ids=["jpeg", "broken-zip", "empty"],
)
def test_a_foreign_file_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(ModelError, match=why):
        ReferenceModel.from_bytes(data, source="m.npz")


def test_an_archive_with_other_members_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("weights.npy", b"")
    with pytest.raises(ModelError, match=r"it holds \['weights'\]"):
        ReferenceModel.from_bytes(out.getvalue())


# --- calibration and tolerances -------------------------------------------------------------------


def test_confidence_50_is_the_calibrated_threshold(model: ReferenceModel) -> None:
    calibration = model.calibration
    assert calibration.threshold >= model.parameters.margin_ratio * max(calibration.held_out_scores)
    assert 50.0 == pytest.approx(model.confidence(calibration.threshold))
    assert model.confidence(2 * calibration.threshold) > 50 > model.confidence(0.5 * calibration.threshold)
    assert 0.0 == calibration.false_alarm_rate


@pytest.mark.parametrize(
    "camera",
    [
        syn.Camera(shift_px=6.0),
        syn.Camera(rotation_deg=1.5),
        syn.Camera(gain=(0.82, 0.85)),
        syn.Camera(gain=(1.15, 1.18), offset=12.0),
        syn.Camera(gradient=0.15),
        syn.Camera(jpeg_quality=(60, 65), noise=(3.0, 4.0)),
    ],
    ids=["shift-6px", "rotation-1.5deg", "darker-15pct", "brighter-15pct", "light-gradient", "jpeg-60-noisy"],
)
def test_good_parts_under_camera_variation_stay_below_50(scorer: Scorer, camera: syn.Camera) -> None:
    worst = max(confidence(scorer, syn.widget(500 + i, SIZE, camera=camera)) for i in range(4))
    assert worst < 50


@pytest.mark.parametrize("defect", syn.DEFECTS)
def test_each_kind_of_defect_is_above_50(scorer: Scorer, defect: str) -> None:
    assert min(confidence(scorer, syn.widget(900 + i, SIZE, defect=defect)) for i in range(2)) > 50


# --- boxes, sizes, orientation --------------------------------------------------------------------


def _patched(seed: int, box: tuple[int, int, int, int]) -> Image.Image:
    """A good photo (decoded), with a dark square painted at `box` (left, top, right, bottom) in px."""
    opened = Image.open(io.BytesIO(syn.widget(seed, SIZE, camera=syn.Camera(shift_px=5, rotation_deg=1))))
    image = opened.convert("RGB")
    ImageDraw.Draw(image).rectangle(box, fill=(10, 10, 10))
    return image


def test_the_box_of_a_defect_is_where_it_is_in_the_photo(model: ReferenceModel) -> None:
    detector = ReferenceDetector(model)
    analysis = detector.detect(jpeg(_patched(31, (250, 180, 262, 192))), FORBID.detection_request())
    (anomaly,) = analysis.labels
    best = anomaly.instances[0].bounding_box
    assert best is not None
    assert anomaly.confidence > 50
    assert 250 / 400 == pytest.approx(best.left, abs=0.02)
    assert 180 / 300 == pytest.approx(best.top, abs=0.02)
    assert 13 / 400 == pytest.approx(best.width, abs=0.03)
    assert 13 / 300 == pytest.approx(best.height, abs=0.03)
    assert Verdict.FAIL is evaluate(analysis, FORBID).verdict


def test_a_photo_stored_sideways_with_an_exif_orientation_is_judged_upright(model: ReferenceModel) -> None:
    upright = _patched(32, (60, 200, 72, 212))
    # Stored turned a quarter, with Orientation 6 ("rotate 90 CW to view"): viewers show it upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    analysis = ReferenceDetector(model).detect(jpeg(stored, exif=exif.tobytes()), FORBID.detection_request())
    best = analysis.labels[0].instances[0].bounding_box
    assert best is not None
    assert 60 / 400 == pytest.approx(best.left, abs=0.02)
    assert 200 / 300 == pytest.approx(best.top, abs=0.02)


def test_an_image_of_another_size_is_rejected_naming_both_sizes(model: ReferenceModel) -> None:
    with pytest.raises(
        ImageRejected, match=r"image is 320x240 px but the reference model was trained on 400x300"
    ):
        ReferenceDetector(model).detect(syn.widget(1, (320, 240)), FORBID.detection_request())


def test_the_analysis_carries_quality_and_colours_when_the_criteria_ask(model: ReferenceModel) -> None:
    criteria = Criteria.from_document({"forbid": [{"label": "Anomaly"}], "quality": {"minSharpness": 1}})
    analysis = ReferenceDetector(model).detect(syn.widget(3, SIZE), criteria.detection_request())
    assert analysis.image_properties is not None
    assert analysis.quality is not None
    assert analysis.quality.sharpness is not None
    assert analysis.image_properties.dominant_colors
    assert (analysis.model_version or "").startswith("reference-1:")


def test_a_model_given_as_a_loader_is_loaded_once(model: ReferenceModel) -> None:
    calls: list[int] = []

    def load() -> ReferenceModel:
        calls.append(1)
        return model

    detector = ReferenceDetector(load)
    assert [] == calls
    for seed in (1, 2):
        detector.detect(syn.widget(seed, SIZE), FORBID.detection_request())
    assert [1] == calls


# --- specks and hairlines: the unsmoothed test ------------------------------------------------------


def test_a_speck_of_one_working_pixel_is_found_by_the_unsmoothed_test_and_not_by_the_smoothed_one() -> None:
    # At working resolution the box filter dilutes a one-pixel speck ninefold; the point test keeps it.
    h, w = 40, 50
    ideal = np.full((h, w, 3), 120.0, dtype=np.float32)
    bound = np.full((h, w, 3), 14.0, dtype=np.float32)
    mask = np.ones((h, w), dtype=bool)
    photo = planar(ideal.copy())
    photo[:, 20, 25] += 40.0  # 40 grey levels: 2.9 x the bound unsmoothed, 0.3 x it smoothed
    smoothed_only = Comparator(ideal, bound, mask, smoothing=3, point_factor=0.0)
    with_points = Comparator(ideal, bound, mask, smoothing=3, point_factor=1.5)
    assert 1.0 > smoothed_only.ratio(photo.copy(), mask).max()
    ratio = with_points.ratio(photo.copy(), mask)
    assert 40.0 / (14.0 * 1.5) == pytest.approx(float(ratio[20, 25]), rel=1e-4)
    assert [(25, 20)] == [(r.left, r.top) for r in scored_regions(ratio)]


def test_training_at_a_chosen_working_resolution_and_refusing_another() -> None:
    images = [(f"good-{i:02}.jpg", syn.widget(100 + i, SIZE)) for i in range(MIN_IMAGES)]
    assert (SIZE[0] // 2, SIZE[1] // 2) == train(images, reduce=2).ideal.shape[1::-1]
    with pytest.raises(TrainingError, match="reduce must be 1, 2, 4 or 8, got 3"):
        train(images, reduce=3)


def _lit(ideal: np.ndarray, gain: float, offset: float, slope: float) -> np.ndarray:
    """The ideal (H, W, 3) as a photo lit with a gain, an offset and a left-to-right gradient: planar."""
    u = np.linspace(-1, 1, ideal.shape[1], dtype=np.float32)[None, :, None]
    return planar((ideal * gain + offset + slope * u).astype(np.float32))


def test_light_that_saturates_what_the_ideal_would_saturate_too_is_no_defect() -> None:
    ideal = np.random.default_rng(4).uniform(60, 180, (40, 50, 3)).astype(np.float32)
    ideal[10:20, 10:30] = 235.0  # a white label
    bound = np.full_like(ideal, 14.0)
    mask = np.ones((40, 50), dtype=bool)
    photo = np.clip(_lit(ideal, 1.2, 0.0, 0.0), 0, 255)  # the label reads 255, not 282
    ratio = Comparator(ideal, bound, mask, smoothing=3, point_factor=1.5).ratio(photo, mask)
    assert 1.0 > float(ratio.max())
    assert [] == scored_regions(ratio)


def test_the_lighting_is_undone_alike_whether_or_not_some_pixel_clipped() -> None:
    # Nothing clipped: the difference is formed in place; one clipped pixel: through the lit ideal.
    rng = np.random.default_rng(5)
    ideal = rng.uniform(60, 180, (40, 50, 3)).astype(np.float32)
    bound = np.full_like(ideal, 14.0)
    mask = np.ones((40, 50), dtype=bool)
    comparator = Comparator(ideal, bound, mask, smoothing=3, point_factor=1.5)
    photo = _lit(ideal, 1.1, 6.0, 8.0)
    photo[:, 20:23, 30:33] += 45.0  # a stain
    clipped = photo.copy()
    clipped[:, 2, 2] = 255.0  # far from the stain, in the unjudged border
    fast, slow = comparator.ratio(photo.copy(), mask), comparator.ratio(clipped, mask)
    assert float(fast[21, 31]) > 1.0
    np.testing.assert_allclose(fast[5:, 5:], slow[5:, 5:], rtol=1e-4, atol=1e-4)
