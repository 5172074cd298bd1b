"""Wiring: settings in, a ready `BatchProcessor` out, with its AWS clients made once and reused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inspector.aws import make_client
from inspector.batch import BatchProcessor
from inspector.detectors import LabelDetector
from inspector.evidence import Evidence, reference_heat
from inspector.notifier import SnsNotifier
from inspector.observability import Metrics
from inspector.pipeline import Inspector
from inspector.settings import DetectorKind, Settings
from inspector.storage import S3Store


@dataclass
class Clients:
    """boto3 clients to use instead of new ones (tests, the local mode); any left None are made."""

    s3: Any | None = None
    sns: Any | None = None
    rekognition: Any | None = None


def build_detector(settings: Settings, clients: Clients) -> LabelDetector:
    if settings.detector is DetectorKind.LOCAL:
        from inspector.detectors.local import LocalDetector  # noqa: PLC0415 - needs Pillow: local mode only

        return LocalDetector(s3_client=clients.s3)
    if settings.detector is DetectorKind.REFERENCE:
        return reference_detector(settings.reference_model or "", settings, clients)
    rekognition = clients.rekognition or make_client("rekognition", endpoint_url=settings.endpoint_url)
    from inspector.detectors.rekognition import CustomLabelsDetector, RekognitionDetector  # noqa: PLC0415

    if settings.detector is DetectorKind.CUSTOM_LABELS:
        assert settings.custom_labels_arn is not None  # noqa: S101 - guaranteed by Settings validation
        return CustomLabelsDetector(settings.custom_labels_arn, rekognition)
    return RekognitionDetector(rekognition)


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


def build_evidence(settings: Settings, store: S3Store, detector: LabelDetector) -> Evidence | None:
    """The evidence writer, with the reference detector's heat map when that is the detector."""
    if not settings.evidence:
        return None
    heat = reference_heat(detector) if hasattr(detector, "examine") else None
    return Evidence(store, heat=heat)


def build(
    settings: Settings,
    *,
    clients: Clients | None = None,
    detector: LabelDetector | None = None,
    metrics: Metrics | None = None,
) -> BatchProcessor:
    """Everything the handler needs, for these settings."""
    clients = clients or Clients()
    clients.s3 = clients.s3 or make_client("s3", endpoint_url=settings.endpoint_url)
    clients.sns = clients.sns or make_client("sns", endpoint_url=settings.endpoint_url)
    metrics = metrics or Metrics(settings.metrics_namespace)
    store = S3Store(settings.bucket, clients.s3)
    detector = detector or build_detector(settings, clients)
    inspector = Inspector(
        settings,
        store=store,
        detector=detector,
        notifier=SnsNotifier(settings.topic_arn, clients.sns),
        metrics=metrics,
        evidence=build_evidence(settings, store, detector),
    )
    return BatchProcessor(inspector, max_workers=settings.max_workers, metrics=metrics)


def build_from_env(environ: Mapping[str, str], **kwargs: Any) -> BatchProcessor:
    """`build` with settings read from `INSPECTOR_*` variables (raises `SettingsError` naming the bad one)."""
    return build(Settings.from_env(environ), **kwargs)
