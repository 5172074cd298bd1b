"""The reference model: ideal and variation images, parameters and calibration, and its file format."""

from __future__ import annotations

import hashlib
import io
import json
import math
import platform
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from inspector.errors import InspectorError

FORMAT: Final = "widget-inspector/reference-model"
FORMAT_VERSION: Final = 1
ARRAYS: Final = ("ideal", "variation", "mask")  # the arrays of a model file, beside `metadata`
MAX_METADATA_BYTES: Final = 4 * 1024 * 1024


class ModelError(InspectorError, ValueError):
    """A file is not a reference model this version can use (foreign, tampered, damaged or newer)."""


@dataclass(frozen=True)
class Parameters:
    """How pixels are judged and regions scored (see `inspector.reference.score`).

    A pixel is defective in a channel when ``|x - ideal| > max(abs_threshold, k * variation)``.
    """

    k: float = 4.0  # multiple of the variation a pixel may depart from the ideal
    abs_threshold: float = 14.0  # grey levels (0-255): no pixel is defective for less than this
    variation_floor: float = 1.5  # grey levels: the least spread any pixel is given
    misalignment_px: float = 0.35  # residual misalignment allowed: adds this x |gradient| to the spread
    smoothing: int = 3  # side of the box filter applied to the difference image (px), odd
    # A pixel is also defective when its own, unsmoothed difference exceeds this times its bound: a speck
    # or hairline a pixel wide, which smoothing would dilute below the bound (0: smoothed test only).
    point_factor: float = 1.5
    margin_ratio: float = 1.5  # the threshold is this times the worst held-out good image's score
    min_threshold: float = 2.5  # the threshold never goes below this score
    max_regions: int = 20  # regions reported as instances, at most

    def __post_init__(self) -> None:
        checks = {
            "k": self.k > 0,
            "abs_threshold": self.abs_threshold >= 0,
            "variation_floor": self.variation_floor > 0,
            "misalignment_px": self.misalignment_px >= 0,
            "smoothing": self.smoothing >= 1 and self.smoothing % 2 == 1,
            "point_factor": self.point_factor == 0 or self.point_factor >= 1,
            "margin_ratio": self.margin_ratio >= 1,
            "min_threshold": self.min_threshold > 0,
            "max_regions": self.max_regions >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid reference parameters: {', '.join(bad)}")


@dataclass(frozen=True)
class TrainingImage:
    name: str
    sha256: str


@dataclass(frozen=True)
class Calibration:
    """What leave-some-out scoring of the good training images gave."""

    threshold: float  # the image score at Confidence 50
    held_out_scores: tuple[float, ...]  # each good image's score by a model trained without it
    folds: int

    @property
    def false_alarm_rate(self) -> float:
        """Share of held-out good images whose score reaches the threshold."""
        if not self.held_out_scores:
            return 0.0
        return sum(s >= self.threshold for s in self.held_out_scores) / len(self.held_out_scores)


@dataclass(frozen=True)
class ReferenceModel:
    """A trained variation model.

    Attributes
    ----------
    ideal : (h, w, 3) float32
        The ideal image at working resolution (per-pixel median of the aligned good images), 0-255.
    variation : (h, w, 3) float32
        The per-pixel spread (scaled MAD, widened by the misalignment allowance and floored), 0-255 units.
    mask : (h, w) bool
        The pixels judged (seen in most aligned training images).
    size : (int, int)
        (width, height) px of the full images the model was trained on, after EXIF orientation.
    reduce : int
        The working resolution is the full one divided by this (1, 2, 4 or 8), rounding up.
    """

    ideal: npt.NDArray[np.float32]
    variation: npt.NDArray[np.float32]
    mask: npt.NDArray[np.bool_]
    size: tuple[int, int]
    reduce: int
    parameters: Parameters
    calibration: Calibration
    images: tuple[TrainingImage, ...] = ()
    alignment: dict[str, float] = field(default_factory=dict)  # range of shift (px) and rotation (deg) seen
    created: str = ""  # ISO timestamp of the training
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """The first 12 hex digits of the SHA-256 of the ideal and variation images: names the model."""
        digest = hashlib.sha256(_digest(self.ideal).encode() + _digest(self.variation).encode())
        return digest.hexdigest()[:12]

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    def confidence(self, score: float) -> float:
        """The 0-100 confidence of a score: 50 at the threshold, 100 s / (s + threshold)."""
        return 100.0 * score / (score + self.threshold) if score > 0 else 0.0

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "size": list(self.size),
            "reduce": self.reduce,
            "working_shape": list(self.ideal.shape),
            "parameters": asdict(self.parameters),
            "calibration": {
                "threshold": self.calibration.threshold,
                "held_out_scores": list(self.calibration.held_out_scores),
                "folds": self.calibration.folds,
                "false_alarm_rate": self.calibration.false_alarm_rate,
            },
            "images": [asdict(image) for image in self.images],
            "alignment": self.alignment,
            "created": self.created,
            "versions": self.versions,
            "arrays": {name: _digest(getattr(self, name)) for name in ARRAYS},
        }

    def to_bytes(self) -> bytes:
        """The model file: an uncompressed .npz of plain arrays plus a JSON `metadata` entry (no pickle)."""
        buffer = io.BytesIO()
        text = json.dumps(self.metadata(), sort_keys=True)
        np.savez(
            buffer,
            metadata=np.frombuffer(text.encode(), dtype=np.uint8),
            ideal=self.ideal,
            variation=self.variation,
            mask=self.mask,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "model") -> ReferenceModel:
        """Load a model file; raises `ModelError` naming what is wrong (never runs code from the file)."""
        return _load(data, source)


def library_versions() -> dict[str, str]:
    from PIL import __version__ as pillow  # noqa: PLC0415 - only when a model is made

    from inspector import __version__ as inspector  # noqa: PLC0415

    return {
        "numpy": np.__version__,
        "pillow": pillow,
        "inspector": inspector,
        "python": platform.python_version(),
    }


def _digest(array: npt.NDArray[Any]) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _load(data: bytes, source: str) -> ReferenceModel:
    def refuse(why: str) -> ModelError:
        return ModelError(f"{source} is not a usable reference model: {why}")

    if not data.startswith(b"PK"):
        raise refuse(
            "not a model file (a reference model is a .npz archive made by `inspector reference train`)"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            names = set(archive.files)
            expected = {"metadata", *ARRAYS}
            if names != expected:
                raise refuse(f"it holds {sorted(names)}, expected {sorted(expected)}")
            raw = archive["metadata"]
            if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_METADATA_BYTES:
                raise refuse("its metadata is not a JSON document")
            arrays = {name: archive[name] for name in ARRAYS}
    except ModelError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise refuse(f"it cannot be read as a numpy archive without pickle ({exc})") from None
    try:
        meta = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError):
        raise refuse("its metadata is not a JSON document") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise refuse(f"its metadata does not name the format {FORMAT!r}")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise refuse(f"format version {version!r}; this version of widget-inspector reads {FORMAT_VERSION}")
    digests = meta.get("arrays")
    if not isinstance(digests, dict):
        raise refuse("its metadata lists no array checksums")
    for name, array in arrays.items():
        if digests.get(name) != _digest(array):
            raise refuse(f"the {name!r} array does not match its checksum (the file was altered or damaged)")
    try:
        return _from_parts(meta, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise refuse(f"its metadata is incomplete or inconsistent ({exc})") from None


def _from_parts(meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> ReferenceModel:
    ideal, variation, mask = arrays["ideal"], arrays["variation"], arrays["mask"]
    shape = tuple(meta["working_shape"])
    if (
        ideal.dtype != np.float32
        or variation.dtype != np.float32
        or mask.dtype != np.bool_
        or ideal.shape != shape
        or variation.shape != shape
        or mask.shape != shape[:2]
        or len(shape) != 3
        or shape[2] != 3
    ):
        raise ValueError("array shapes or types differ from the metadata's")
    width, height = (int(v) for v in meta["size"])
    reduce = int(meta["reduce"])
    if (math.ceil(height / reduce), math.ceil(width / reduce)) != shape[:2]:
        raise ValueError("size and working shape disagree")
    if not np.all(np.isfinite(ideal)) or not np.all(variation > 0):
        raise ValueError("ideal or variation holds values out of range")
    calibration = meta["calibration"]
    return ReferenceModel(
        ideal=ideal,
        variation=variation,
        mask=mask,
        size=(width, height),
        reduce=reduce,
        parameters=Parameters(**meta["parameters"]),
        calibration=Calibration(
            threshold=float(calibration["threshold"]),
            held_out_scores=tuple(float(s) for s in calibration["held_out_scores"]),
            folds=int(calibration["folds"]),
        ),
        images=tuple(TrainingImage(str(i["name"]), str(i["sha256"])) for i in meta["images"]),
        alignment={str(k): float(v) for k, v in meta["alignment"].items()},
        created=str(meta["created"]),
        versions={str(k): str(v) for k, v in meta["versions"].items()},
    )
