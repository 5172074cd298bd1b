"""`inspector reference train`: learn a reference model from good images (a folder or an S3 prefix)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, TextIO

from inspector.commands import EXIT_OK, UserError, add_aws_arguments, aws_client, progress


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "reference", help="the reference detector: train a model from good images"
    )
    sub = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    train = sub.add_parser(
        "train",
        help="learn a reference model (ideal and variation images) from good images only",
        description=(
            "Train a variation model from photos of good parts taken by one fixed camera: a folder "
            "(its .jpg/.jpeg/.png files, recursively) or s3://bucket/prefix. Prints what it learnt and "
            "the criteria snippet to use with it."
        ),
    )
    train.add_argument("images", metavar="IMAGES", help="a folder of good images, or s3://bucket/prefix")
    train.add_argument(
        "--out", required=True, metavar="MODEL", help="where to write the model: a path or s3://"
    )
    train.add_argument(
        "--reduce",
        type=int,
        choices=(1, 2, 4, 8),
        metavar="N",
        help="judge at 1/N of the photo's size (1, 2, 4 or 8; default: the largest that keeps the longest "
        "side at least 240 px). Smaller finds smaller defects and costs about 4x the time per halving",
    )
    train.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    add_aws_arguments(train)
    train.set_defaults(run=run_train)


def _writable_destination(args: argparse.Namespace) -> Any:
    """An S3 client for --out s3://bucket/key, once credentials are found and the bucket is there.

    `HeadBucket` needs `s3:ListBucket`, which a role that may only write the model can lack: a refusal
    (403) is let through, and the write itself says whether it is allowed.
    """
    from inspector.aws import error_code  # noqa: PLC0415
    from inspector.commands import NO_CREDENTIALS, parse_s3_uri  # noqa: PLC0415

    bucket, key = parse_s3_uri(args.out)
    if not key:
        raise UserError(f"--out {args.out!r} names no object key: e.g. s3://{bucket}/models/widget.npz")
    import boto3  # noqa: PLC0415

    # The chain boto3.client() resolves (environment, profile, instance role), asked without a request.
    if (boto3.DEFAULT_SESSION or boto3.Session()).get_credentials() is None:
        raise UserError(f"--out {args.out}: {NO_CREDENTIALS}")
    s3 = aws_client(args, "s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        if error_code(exc) in {"403", "AccessDenied", "Forbidden"}:
            return s3
        if error_code(exc) in {"404", "NoSuchBucket", "NotFound"}:
            raise UserError(
                f"--out {args.out}: no bucket named {bucket!r} (or not in this account)"
            ) from None
        raise
    return s3


def _writable_path(path: Path) -> None:
    """Refuse, before training, a model path that cannot be written: a folder, or under a file."""
    if path.is_dir():
        raise UserError(f"--out {path} is a folder; name the model file, e.g. {path / 'widget.npz'}")
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UserError(f"--out {path}: {parent} is a file, not a folder")
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--out {path}: cannot write in {parent} (permission denied)")


def _smallest(reduce: int) -> str:
    """What the working resolution means for the smallest defect, and how to see smaller ones."""
    seen = f"defects smaller than about {2 * reduce} px of the photo may be missed (1/{reduce} scale)"
    if reduce == 1:
        return f"{seen}\n"
    return f"{seen}; --reduce {reduce // 2} sees half that size at about 4x the time per image\n"


def run_train(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from inspector.reference import TrainingError, train  # noqa: PLC0415 - numpy only when used
        from inspector.reference.files import training_images, write_model  # noqa: PLC0415
    except ImportError:
        raise UserError(
            "the reference detector needs numpy and Pillow: pip install 'widget-inspector[local]'"
        ) from None

    if args.out.endswith("/"):
        raise UserError(f"--out {args.out!r} is a folder; name the model file, e.g. {args.out}widget.npz")
    # Where the model goes is checked before the (long) training, not after it.
    out_s3 = _writable_destination(args) if args.out.startswith("s3://") else None
    if not args.out.startswith("s3://"):
        _writable_path(Path(args.out))
    if not args.images.startswith("s3://") and Path(args.images).is_file():
        raise UserError(
            f"{args.images} is a file, not a folder: give the folder holding the good images "
            "(every .jpg, .jpeg and .png under it is used) or s3://bucket/prefix"
        )
    images = training_images(args.images, s3_factory=lambda: aws_client(args, "s3"))
    if not images:
        raise UserError(f"{args.images}: no .jpg, .jpeg or .png images there")
    started = time.perf_counter()
    try:
        model = train(
            images,
            reduce=args.reduce,
            progress=lambda items: progress(items, total=len(images), description="train"),
        )
    except TrainingError as exc:
        raise UserError(str(exc)) from None
    elapsed = time.perf_counter() - started
    size = write_model(model, args.out, s3=out_s3)
    calibration = model.calibration
    snippet = "forbid:\n  - label: Anomaly\n    minConfidence: 50\n"
    if args.json:
        document = {
            "model": args.out,
            "bytes": size,
            "images": len(model.images),
            "size": list(model.size),
            "working_size": [model.ideal.shape[1], model.ideal.shape[0]],
            "alignment": model.alignment,
            "threshold": calibration.threshold,
            "held_out_false_alarm_rate": calibration.false_alarm_rate,
            "held_out_scores": list(calibration.held_out_scores),
            "fingerprint": model.fingerprint,
            "seconds": round(elapsed, 2),
            "criteria": {"forbid": [{"label": "Anomaly", "minConfidence": 50}]},
        }
        out.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK
    width, height = model.size
    worst = max(calibration.held_out_scores)
    flagged = sum(s >= calibration.threshold for s in calibration.held_out_scores)
    out.write(
        f"trained on {len(model.images)} good images of {width}x{height} px in {elapsed:.1f} s "
        f"(judged at {model.ideal.shape[1]}x{model.ideal.shape[0]} px)\n"
        f"{_smallest(model.reduce)}"
        f"alignment applied: shift up to {model.alignment['max_shift_px']:.1f} px, rotation "
        f"{model.alignment['min_rotation_deg']:+.2f} to {model.alignment['max_rotation_deg']:+.2f} deg\n"
        f"calibrated threshold: score {calibration.threshold:.2f} = Anomaly confidence 50 "
        f"(highest held-out good score {worst:.2f}, x{model.parameters.margin_ratio:g}, at least "
        f"{model.parameters.min_threshold:g})\n"
        f"held-out false alarms: {flagged} of {len(calibration.held_out_scores)} good images "
        f"({100 * calibration.false_alarm_rate:.1f}%, {calibration.folds} folds, leave-some-out)\n"
        f"model {model.fingerprint} written to {args.out} ({size:,} bytes)\n"
        f"criteria to use with it:\n{snippet}"
    )
    return EXIT_OK
