"""Names shared by the library, the Lambda handler and the Pulumi program: one place to change them."""

from __future__ import annotations

from typing import Final

DEFAULT_IMAGES_PREFIX: Final = "images/"
DEFAULT_ANALYZED_PREFIX: Final = "analyzed/"
DEFAULT_REJECTED_PREFIX: Final = "rejected/"
DEFAULT_RESULTS_PREFIX: Final = "results/"

# Rekognition limits (Amazon Rekognition developer guide, "Guidelines and quotas").
REKOGNITION_MAX_S3_OBJECT_BYTES: Final = 15 * 1024 * 1024
REKOGNITION_MIN_IMAGE_SIDE_PX: Final = 80
REKOGNITION_MAX_INCLUSION_FILTERS: Final = 100
REKOGNITION_MAX_FILTER_LABEL_LENGTH: Final = 50
