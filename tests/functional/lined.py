"""A deployment with two lines and the default one, for the functional tests of lines and live criteria."""

from __future__ import annotations

from inspector.deployment import Deployment
from inspector.testing import labels

NAME = "lined-factory"
BUCKET = f"{NAME}-images"
REFRESH = 30
# The default line needs a widget; line-1 also forbids scratches; line-2 needs a sharp picture.
DEFAULT = {"minConfidence": 90, "require": [{"label": "Widget"}]}
LINE_1 = {"minConfidence": 90, "require": [{"label": "Widget"}], "forbid": [{"label": "Scratch"}]}
LINE_2 = {"minConfidence": 90, "require": [{"label": "Widget"}], "quality": {"minSharpness": 50}}
SCRATCHED = labels(("Widget", 97.0), ("Scratch", 93.0), quality={"Sharpness": 80})


def deployment() -> Deployment:
    return Deployment.model_validate(
        {
            "criteria": DEFAULT,
            "notify": [{"email": "audit@example.com"}],
            "lines": [
                {
                    "name": "line-1",
                    "prefix": "line-1/",
                    "criteria": LINE_1,
                    "notify": [{"email": "line-1-lead@example.com", "only": ["FAIL"]}],
                },
                {"name": "line-2", "prefix": "line-2/", "criteria": LINE_2},
            ],
            "criteriaRefreshSeconds": REFRESH,
        }
    )
