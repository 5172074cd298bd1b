"""Seeded faults for the chaos test, injected through botocore's event hooks into the pipeline's clients.

Three kinds, counted where they are injected:

- faults: a `before-call` hook answers like AWS failing (SlowDown, InternalError, Throttling...). botocore's
  retry handler runs only around the HTTP send (`_make_request`), which the hook short-circuits, so every
  fault reaches the adapter on its first attempt: whatever is counted here surfaces to the pipeline;
- lost answers: an `after-call` hook raises `RuntimeError` after the call succeeded (a read timeout after
  AWS did the work); the adapters catch it like any failure and the pipeline sees a `TransientError`;
- crashes: an `after-call` hook raises `ProcessCrash`, a `BaseException` that no `except Exception` in the
  library catches, as when Lambda's process is killed between two steps. The whole process dies: the other
  records of the invocation, running in other threads, die at their next AWS call ("collateral"), and the
  invocation fails as a whole.

Each decision draws from a `random.Random` seeded with (seed, purpose, kind, subject, n), n counting the
draws for that subject: the same seed injects the same faults into the same objects' calls, whatever order
the batch's threads happen to run in.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from tests.functional.world import FAIL_LABELS, PASS_LABELS, REVIEW_LABELS

# Transient error codes as each service sends them (HEAD errors have no body: the code is the status).
TRANSIENT: dict[str, tuple[tuple[str, int], ...]] = {
    "s3:HeadObject": (("503", 503), ("500", 500)),
    "s3": (("SlowDown", 503), ("InternalError", 500), ("ServiceUnavailable", 503)),
    "sns": (("Throttling", 400), ("InternalError", 500)),
    "rekognition": (
        ("ThrottlingException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("InternalServerError", 500),
    ),
}
OPERATIONS = {
    "s3": ("HeadObject", "GetObject", "PutObject", "CopyObject", "DeleteObject"),
    "sns": ("Publish",),
    "rekognition": ("DetectLabels",),
}
# The calls after which the work is done on AWS's side but the function may still die or lose the answer.
AFTER_POINTS = (
    "s3:PutObject(record)",
    "s3:PutObject(notified)",
    "s3:CopyObject",
    "sns:Publish",
    "s3:DeleteObject(original)",
)
TAG = re.compile(r"\[(?P<what>fault|lost) (?P<kind>[^\]]+)\]")


class ProcessCrash(BaseException):
    """The function's process dies (timeout, out of memory): nothing after this point runs."""


@dataclass(frozen=True)
class Rates:
    fault: float = 0.04  # per call of every kind
    lost: float = 0.01  # per successful call at AFTER_POINTS
    crash: float = 0.005  # per successful call at AFTER_POINTS
    duplicate: float = 0.05  # per message: S3 delivers it twice
    refuse: float = 0.03  # per recognition: Rekognition refuses the image (REJECTED)


@dataclass
class Chaos:
    """The fault plan and its tallies; `install` it on the pipeline's clients."""

    seed: int
    rates: Rates = field(default_factory=Rates)
    targets: frozenset[str] | None = None  # the kinds faults and lost answers may hit; None: every kind
    enabled: bool = True
    calls: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    collateral: Counter[str] = field(default_factory=Counter)  # calls never made: the process was dead
    recognitions: Counter[str] = field(default_factory=Counter)  # answered DetectLabels calls by key
    refusals: int = 0
    _draws: Counter[tuple[str, ...]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _dead: threading.Event = field(default_factory=threading.Event)

    def new_process(self) -> None:
        """A new invocation: whatever crashed before, the process running it is alive."""
        self._dead.clear()

    def draw(self, purpose: str, kind: str, subject: str) -> float:
        with self._lock:
            n = self._draws[(purpose, kind, subject)]
            self._draws[(purpose, kind, subject)] += 1
        # Seeded on purpose (S311 is about secrets): the same seed replays the same faults.
        return random.Random(f"{self.seed}|{purpose}|{kind}|{subject}|{n}").random()  # noqa: S311

    def install(self, client: Any, service: str) -> None:
        for operation in OPERATIONS[service]:
            events = client.meta.events
            events.register(f"before-parameter-build.{service}.{operation}", self._remember)
            events.register(f"before-call.{service}.{operation}", self._before)
            events.register(f"after-call.{service}.{operation}", self._after)

    # --- hooks ---

    @staticmethod
    def _remember(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["chaos"] = dict(params)  # the API parameters, for the hooks that see only the request

    def _before(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        service = str(model.metadata["endpointPrefix"])
        kind, subject = describe(service, model.name, context.get("chaos", {}))
        if self._dead.is_set():
            with self._lock:
                self.collateral[kind] += 1
            raise ProcessCrash(f"the process was dead before {kind} for {subject}")
        with self._lock:
            self.calls[kind] += 1
        if self._aims_at(kind) and self.draw("fault", kind, subject) < self.rates.fault:
            codes = TRANSIENT.get(kind) or TRANSIENT[service]
            code, status = codes[int(self.draw("code", kind, subject) * len(codes))]
            with self._lock:
                self.faults[kind] += 1
            return error_answer(code, status, f"injected {code} [fault {kind}]")
        if kind == "rekognition:DetectLabels":
            return self._recognize(subject)
        return None

    def _after(self, http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        service = str(model.metadata["endpointPrefix"])
        kind, subject = describe(service, model.name, context.get("chaos", {}))
        if kind not in AFTER_POINTS or not self._aims_at(kind):
            return
        if self.draw("crash", kind, subject) < self.rates.crash:
            with self._lock:
                self.crashes[kind] += 1
            self._dead.set()
            raise ProcessCrash(f"the process died after {kind} for {subject}")
        if self.draw("lost", kind, subject) < self.rates.lost:
            with self._lock:
                self.lost[kind] += 1
            raise RuntimeError(f"crash: the answer was lost [lost {kind}]")

    def _aims_at(self, kind: str) -> bool:
        return self.enabled and (self.targets is None or kind in self.targets)

    def _recognize(self, key: str) -> tuple[AWSResponse, dict[str, Any]]:
        """Rekognition by key: a verdict's labels, or (rarely) a refusal of the image itself.

        Drawn per call, so a second recognition of the same object may answer otherwise (a model update
        between attempts): only the result record keeps an image's verdict stable across retries.
        """
        with self._lock:
            self.recognitions[key] += 1
        chance = self.draw("answer", "rekognition", key)
        if chance < self.rates.refuse:
            with self._lock:
                self.refusals += 1
            return error_answer("InvalidImageFormatException", 400, "Request has invalid image format")
        answer = PASS_LABELS if chance < 0.6 else FAIL_LABELS if chance < 0.85 else REVIEW_LABELS
        return ok_answer(answer)


def describe(service: str, operation: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """The call's kind (as counted) and its subject (what the seeded draws are keyed on)."""
    kind = f"{service}:{operation}"
    if service == "s3":
        subject = str(params.get("Key", ""))
        if operation == "GetObject":
            if "Range" in params:
                kind += "(range)"
            else:  # the whole photo is read only to draw its evidence image
                kind += "(record)" if subject.endswith(".json") else "(image)"
        elif operation == "PutObject":
            body = params.get("Body", b"")
            data = body.getvalue() if hasattr(body, "getvalue") else body
            if subject.endswith(".evidence.jpg"):
                kind += "(evidence)"
            else:
                kind += "(notified)" if b'"notified_at"' in data else "(record)"
        elif operation == "DeleteObject":
            kind += "(original)"  # the one object the pipeline deletes
        return kind, subject
    if service == "rekognition":
        return kind, str(params.get("Image", {}).get("S3Object", {}).get("Name", ""))
    match = re.search(r"^Image: s3://[^/]+/(.*)$", str(params.get("Message", "")), re.MULTILINE)
    return kind, match.group(1) if match else ""


def error_answer(code: str, status: int, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    http = AWSResponse("https://chaos.invalid/", status, HTTPHeaders(), None)
    return http, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}


def ok_answer(parsed: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    http = AWSResponse("https://chaos.invalid/", 200, HTTPHeaders(), None)
    return http, {**parsed, "ResponseMetadata": {"HTTPStatusCode": 200}}


def surfaced(detail: str) -> tuple[str, str] | None:
    """("fault" or "lost", kind) when a record's failure detail names an injected failure."""
    match = TAG.search(detail)
    return (match["what"], match["kind"]) if match else None
