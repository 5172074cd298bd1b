"""Wiring: settings in, a ready `BatchProcessor` out, with its AWS clients made once and reused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from inspector.aws import make_client
from inspector.batch import BatchProcessor
from inspector.detectors import LabelDetector
from inspector.lines import DetectorName, Line
from inspector.notifier import SnsNotifier
from inspector.observability import Metrics
from inspector.pipeline import CriteriaSource, Inspector
from inspector.settings import Settings
from inspector.storage import S3Store

if TYPE_CHECKING:
    from datetime import datetime

    from inspector.evidence import Evidence, HeatMap


class Clients:
    """boto3 clients to use instead of new ones (tests, the local mode); any left None are made.

    A plain class rather than a dataclass: see the note on `inspector.storage.ObjectInfo`.
    """

    __slots__ = ("rekognition", "s3", "sns")

    def __init__(
        self, *, s3: Any | None = None, sns: Any | None = None, rekognition: Any | None = None
    ) -> None:
        self.s3 = s3
        self.sns = sns
        self.rekognition = rekognition


DetectorFactory = Callable[[Line, Settings, Clients], LabelDetector]


def _rekognition(clients: Clients, settings: Settings) -> Any:
    if clients.rekognition is None:
        clients.rekognition = make_client("rekognition", endpoint_url=settings.endpoint_url)
    return clients.rekognition


def _rekognition_detector(line: Line, settings: Settings, clients: Clients) -> LabelDetector:
    from inspector.detectors.rekognition import RekognitionDetector  # noqa: PLC0415

    return RekognitionDetector(_rekognition(clients, settings))


def _custom_labels_detector(line: Line, settings: Settings, clients: Clients) -> LabelDetector:
    from inspector.detectors.rekognition import CustomLabelsDetector  # noqa: PLC0415

    assert line.custom_labels_arn is not None  # noqa: S101 - guaranteed by Line validation
    return CustomLabelsDetector(line.custom_labels_arn, _rekognition(clients, settings))


def _local_detector(line: Line, settings: Settings, clients: Clients) -> LabelDetector:
    from inspector.detectors.local import LocalDetector  # noqa: PLC0415 - needs Pillow: local mode only

    return LocalDetector(s3_client=clients.s3)


def _reference_detector(line: Line, settings: Settings, clients: Clients) -> LabelDetector:
    # The line's own model, read from S3 on the line's first image and kept for the container's life.
    return reference_detector(line.reference_model or "", settings, clients)


# Each detector name's factory: what a line's `detectors` are built with, once per line and container.
DETECTOR_FACTORIES: dict[DetectorName, DetectorFactory] = {
    DetectorName.REKOGNITION: _rekognition_detector,
    DetectorName.CUSTOM_LABELS: _custom_labels_detector,
    DetectorName.LOCAL: _local_detector,
    DetectorName.REFERENCE: _reference_detector,
}


class LineDetectors:
    """Each line's detector (its `detectors`, merged), built on the line's first image and kept: a model
    a detector loads (the reference model from S3) is read once per container and line."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        factories: Mapping[DetectorName, DetectorFactory] | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.factories = dict(factories or DETECTOR_FACTORIES)
        self._built: dict[str, LabelDetector] = {}
        self._lock = threading.Lock()

    def __call__(self, line: Line) -> LabelDetector:
        with self._lock:
            detector = self._built.get(line.name)
            if detector is None:
                parts = [self.factories[name](line, self.settings, self.clients) for name in line.detectors]
                if len(parts) == 1:
                    detector = parts[0]
                else:  # only lines with several detectors need the merge
                    from inspector.detectors.combined import CombinedDetector  # noqa: PLC0415

                    detector = CombinedDetector(parts)
                self._built[line.name] = detector
            return detector


def build_detector(settings: Settings, clients: Clients) -> LabelDetector:
    """The default line's detector for these settings."""
    return LineDetectors(settings, clients)(settings.line_table.default)


def criteria_source(settings: Settings, clients: Clients, metrics: Metrics | None) -> CriteriaSource | None:
    """The live criteria store's cache when criteria are live; None: the settings' own criteria."""
    if settings.criteria_prefix is None:
        return None
    from inspector.livecriteria.cache import LiveCriteria  # noqa: PLC0415
    from inspector.livecriteria.documents import Layout  # noqa: PLC0415
    from inspector.livecriteria.store import CriteriaStore  # noqa: PLC0415

    store = CriteriaStore(settings.bucket, clients.s3, layout=Layout(settings.criteria_prefix))
    return LiveCriteria(store, refresh_seconds=settings.criteria_refresh_seconds, metrics=metrics)


def reference_detector(location: str, settings: Settings, clients: Clients) -> LabelDetector:
    """A reference detector whose model is read from S3 on first use, once per container.

    `location` is a key in the settings' bucket or an `s3://bucket/key` address. numpy and Pillow are
    imported here, so a function with another detector never loads them.
    """
    from inspector.reference.detector import ReferenceDetector  # noqa: PLC0415 - numpy: reference only
    from inspector.reference.files import read_model  # noqa: PLC0415

    def load() -> Any:
        return read_model(location, s3=clients.s3, bucket=settings.bucket)

    return ReferenceDetector(load, s3_client=clients.s3)


def build_evidence(
    settings: Settings, store: S3Store, detector: LabelDetector | Callable[[Line], LabelDetector]
) -> Evidence | None:
    """The evidence writer; each photo's heat map comes from its own line's reference detector, if any.

    `detector` judges every line, or gives each line's detector (`LineDetectors`, which builds a line's
    detectors once: the heat map reuses the model the verdict used).
    """
    if not settings.evidence:
        return None
    # Imported here: a stack with evidence off never loads it (nor Pillow's drawing).
    from inspector.evidence import Evidence, reference_heat  # noqa: PLC0415

    lines = settings.line_table

    def heat_for(line_name: str) -> HeatMap | None:
        if isinstance(detector, LabelDetector):
            chosen: LabelDetector = detector
        else:
            try:
                line = lines.named(line_name)
            except KeyError:  # a record of a line since removed: no heat map rather than another's
                return None
            chosen = detector(line)
        reference = reference_part(chosen)
        return reference_heat(reference) if reference is not None else None

    return Evidence(store, heat_for=heat_for)


def reference_part(detector: LabelDetector) -> Any | None:
    """The reference detector in `detector` (itself, or one of a `CombinedDetector`'s), or None."""
    from inspector.detectors.combined import CombinedDetector  # noqa: PLC0415 - lines with several detectors

    if hasattr(detector, "examine"):
        return detector
    if isinstance(detector, CombinedDetector):
        return next((part for part in detector.detectors if hasattr(part, "examine")), None)
    return None


def build(
    settings: Settings,
    *,
    clients: Clients | None = None,
    detector: LabelDetector | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] | None = None,
) -> BatchProcessor:
    """Everything the handler needs, for these settings.

    `clock` stamps the result records (`inspected_at`, `notified_at`: aware UTC datetimes); the wall
    clock when None. Tests and replays pass their own.
    """
    clients = clients or Clients()
    clients.s3 = clients.s3 or make_client("s3", endpoint_url=settings.endpoint_url)
    clients.sns = clients.sns or make_client("sns", endpoint_url=settings.endpoint_url)
    metrics = metrics or Metrics(settings.metrics_namespace)
    store = S3Store(settings.bucket, clients.s3)
    line_detectors = LineDetectors(settings, clients)
    detectors: LabelDetector | LineDetectors = detector or line_detectors
    inspector = Inspector(
        settings,
        store=store,
        detector=detectors,
        notifier=SnsNotifier(settings.topic_arn, clients.sns),
        metrics=metrics,
        criteria=criteria_source(settings, clients, metrics),
        # Each photo's heat map comes from its own line's reference detector (or the given detector's).
        evidence=build_evidence(settings, store, detectors),
        clock=clock,
    )
    return BatchProcessor(inspector, max_workers=settings.max_workers, metrics=metrics)


def build_from_env(environ: Mapping[str, str], **kwargs: Any) -> BatchProcessor:
    """`build` with settings read from `INSPECTOR_*` variables (raises `SettingsError` naming the bad one)."""
    return build(Settings.from_env(environ), **kwargs)
