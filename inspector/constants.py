"""Names shared by the library, the Lambda handler and the Pulumi program: one place to change them."""

from __future__ import annotations

from typing import Final

DEFAULT_IMAGES_PREFIX: Final = "images/"
DEFAULT_ANALYZED_PREFIX: Final = "analyzed/"
DEFAULT_REJECTED_PREFIX: Final = "rejected/"
DEFAULT_RESULTS_PREFIX: Final = "results/"
DEFAULT_CRITERIA_PREFIX: Final = "criteria/"
# One-line copies of the finished records by UTC day (`daily/dt=2026-11-28/line-3/w1.jpg.json`): what the
# reports' Athena table reads, one partition per day.
DEFAULT_DAILY_PREFIX: Final = "daily/"
# Each closed day's daily copies merged into one Parquet file (`compact/dt=2026-11-28/records.parquet`),
# beside the daily prefix: what the reports read for days that have one (inspector/reports/compact.py).
DEFAULT_COMPACT_PREFIX: Final = "compact/"
DEFAULT_REPORTS_PREFIX: Final = "reports/"  # the digest's HTML reports: reports/<line>/<day>.html
DEFAULT_METRICS_NAMESPACE: Final = "WidgetInspector"
EVIDENCE_SUFFIX: Final = ".evidence.jpg"  # beside the result record: results/<rel>.evidence.jpg
# The `kind` message attribute: subscriptions filter on it to receive verdict emails, digests, or both
# (`decision` is the review desk's, inspector.review).
KIND_INSPECTION: Final = "inspection"
KIND_DIGEST: Final = "digest"
REFERENCE_LABEL: Final = "Anomaly"  # the one label the reference detector reports

# Rekognition limits (Amazon Rekognition developer guide, "Guidelines and quotas").
REKOGNITION_MAX_S3_OBJECT_BYTES: Final = 15 * 1024 * 1024
REKOGNITION_MIN_IMAGE_SIDE_PX: Final = 80
REKOGNITION_MAX_INCLUSION_FILTERS: Final = 100
REKOGNITION_MAX_FILTER_LABEL_LENGTH: Final = 50

# Environment variables of the Lambda function (and of the local mode): the settings contract between the
# Pulumi program, which sets them, and the handler, which reads them. Documented in the README.
ENV_TOPIC_ARN: Final = "INSPECTOR_TOPIC_ARN"
ENV_CRITERIA: Final = "INSPECTOR_CRITERIA"
ENV_BUCKET: Final = "INSPECTOR_BUCKET"
ENV_DETECTOR: Final = "INSPECTOR_DETECTOR"
ENV_CUSTOM_LABELS_ARN: Final = "INSPECTOR_CUSTOM_LABELS_ARN"
ENV_LINES: Final = "INSPECTOR_LINES"  # the lines with a prefix, as JSON (inspector.lines)
ENV_CRITERIA_PREFIX: Final = "INSPECTOR_CRITERIA_PREFIX"  # live criteria: where they are published
ENV_CRITERIA_REFRESH_SECONDS: Final = "INSPECTOR_CRITERIA_REFRESH_SECONDS"
ENV_EVIDENCE: Final = "INSPECTOR_EVIDENCE"  # true/false: evidence images for FAIL and REVIEW
ENV_REFERENCE_MODEL: Final = "INSPECTOR_REFERENCE_MODEL"  # a key in the bucket (e.g. models/w.npz) or s3://
ENV_IMAGES_PREFIX: Final = "INSPECTOR_IMAGES_PREFIX"
ENV_ANALYZED_PREFIX: Final = "INSPECTOR_ANALYZED_PREFIX"
ENV_REJECTED_PREFIX: Final = "INSPECTOR_REJECTED_PREFIX"
ENV_RESULTS_PREFIX: Final = "INSPECTOR_RESULTS_PREFIX"
ENV_DAILY_PREFIX: Final = "INSPECTOR_DAILY_PREFIX"
ENV_LINK_EXPIRY_SECONDS: Final = "INSPECTOR_LINK_EXPIRY_SECONDS"
ENV_MAX_WORKERS: Final = "INSPECTOR_MAX_WORKERS"
ENV_LOG_LEVEL: Final = "INSPECTOR_LOG_LEVEL"
ENV_METRICS_NAMESPACE: Final = "INSPECTOR_METRICS_NAMESPACE"
ENV_ENDPOINT_URL: Final = "INSPECTOR_ENDPOINT_URL"  # local mode only: the embedded AWS endpoint
# The digest function's own (with INSPECTOR_BUCKET, INSPECTOR_TOPIC_ARN, INSPECTOR_LINK_EXPIRY_SECONDS, ...).
ENV_ATHENA_WORKGROUP: Final = "INSPECTOR_ATHENA_WORKGROUP"
ENV_ATHENA_DATABASE: Final = "INSPECTOR_ATHENA_DATABASE"
ENV_ATHENA_TABLE: Final = "INSPECTOR_ATHENA_TABLE"
ENV_ATHENA_COMPACT_TABLE: Final = "INSPECTOR_ATHENA_COMPACT_TABLE"
ENV_COMPACT_PREFIX: Final = "INSPECTOR_COMPACT_PREFIX"
ENV_REPORTS_PREFIX: Final = "INSPECTOR_REPORTS_PREFIX"
