"""The Pulumi program: read and validate the stack config, then declare the inspection pipeline."""

from __future__ import annotations

import pulumi

from inspector.criteria import Criteria
from inspector.errors import CriteriaError

config = pulumi.Config("inspector")
try:
    criteria = Criteria.from_document(config.require_object("criteria"))
except CriteriaError as exc:
    raise pulumi.RunError(f"inspector:criteria: {exc}") from None

# The resources themselves (bucket, queues, function, topic, alarms) are declared by the
# InspectionPipeline component in infra/, which a later change adds.
pulumi.export("criteriaFingerprint", criteria.fingerprint)
