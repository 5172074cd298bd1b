"""The reference detector: a variation model learnt from good photos alone (numpy core, I/O at the edges)."""

from __future__ import annotations

from inspector.reference.core import MIN_IMAGES, Finding, Scored, Scorer, TrainingError, train
from inspector.reference.detector import LABEL, ReferenceDetector
from inspector.reference.model import Calibration, ModelError, Parameters, ReferenceModel

__all__ = [
    "LABEL",
    "MIN_IMAGES",
    "Calibration",
    "Finding",
    "ModelError",
    "Parameters",
    "ReferenceDetector",
    "ReferenceModel",
    "Scored",
    "Scorer",
    "TrainingError",
    "train",
]
