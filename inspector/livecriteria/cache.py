"""The function's view of the live criteria store: each line's criteria behind a cache, last good kept."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from inspector.criteria import Criteria
from inspector.errors import TransientError
from inspector.lines import Line
from inspector.livecriteria.documents import SEED_VERSION, RefusedDocument, accept
from inspector.livecriteria.store import CriteriaStore, NotModified, Stored
from inspector.observability import Metrics

log = logging.getLogger("inspector.criteria")

# How far back a container that starts on a refused current.json looks for the last good version.
LOOKBACK_VERSIONS = 20


@dataclass
class _Cached:
    criteria: Criteria
    version: int
    key: str  # the object they were read from: current.json, or seed.json while nothing was published
    etag: str  # its ETag when last read, good or refused: the next read is conditional on it
    refused: str | None  # why the object at `key` with `etag` was refused; None when it is in effect
    checked: float  # monotonic time of the last look


class LiveCriteria:
    """Each line's criteria from the store, looked up at most every `refresh_seconds` per line.

    A look is one conditional GET of `current.json` (`If-None-Match` with the ETag last seen: 304 when
    nothing changed), so no image pays for it and a container reads a new version once. A document that
    fails validation never takes effect: the last good criteria stay, an ERROR is logged and the metric
    `CriteriaRejected` (dimension `Line`) counted, on every look while it is current, so the stack's alarm
    stays raised until a good version is published. A container that starts while the current document is
    refused looks back for the newest good version (then the seed). A failed look keeps the criteria in
    effect and tries again after `refresh_seconds`; with none in effect yet, it is a `TransientError`.
    """

    def __init__(
        self,
        store: CriteriaStore,
        *,
        refresh_seconds: float,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.metrics = metrics
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def current(self, line: Line) -> Criteria:
        with self._guard:
            lock = self._locks.setdefault(line.name, threading.Lock())
        with lock:
            cached = self._cache.get(line.name)
            if cached is not None and self._clock() - cached.checked < self.refresh_seconds:
                return cached.criteria
            try:
                self._cache[line.name] = self._look(line, cached)
            except TransientError:
                if cached is None:
                    raise
                log.warning("criteria store unreachable; the criteria in effect stay", exc_info=True,
                            extra={"line": line.name, "version": cached.version})  # fmt: skip
                cached.checked = self._clock()
            return self._cache[line.name].criteria

    def version(self, line: Line) -> int | None:
        """The version in effect for `line` in this container (0: the seed), None before the first look."""
        cached = self._cache.get(line.name)
        return cached.version if cached is not None else None

    def _look(self, line: Line, cached: _Cached | None) -> _Cached:
        now = self._clock()
        layout = self.store.layout
        for key in (layout.current_key(line.name), layout.seed_key(line.name)):
            unless = cached.etag if cached is not None and cached.key == key else None
            found = self.store.get(key, unless=unless)
            if found is None:
                continue  # nothing published yet: the seed
            if isinstance(found, NotModified):
                assert cached is not None  # noqa: S101 - only asked with the cached ETag
                if cached.refused is not None:
                    self._refused(line, cached.refused, cached.version)
                cached.checked = now
                return cached
            return self._take(line, found, cached, now)
        if cached is not None:
            cached.checked = now
            return cached
        raise TransientError(
            f"no criteria for line {line.name!r} in s3://{self.store.bucket}/{layout.prefix}{line.name}/: "
            "neither a published version nor the stack's seed"
        )

    def _take(self, line: Line, found: Stored, cached: _Cached | None, now: float) -> _Cached:
        try:
            version, criteria = accept(found.body, line, where=found.key)
        except RefusedDocument as exc:
            reason = str(exc)
            if cached is not None:
                self._refused(line, reason, cached.version)
                return _Cached(cached.criteria, cached.version, found.key, found.etag, reason, now)
            good = self._last_good(line)
            self._refused(line, reason, good[1] if good else None)
            if good is None:
                raise TransientError(
                    f"line {line.name!r}: {reason}; and no earlier version is good"
                ) from None
            return _Cached(good[0], good[1], found.key, found.etag, reason, now)
        if cached is None or cached.version != version.version or cached.criteria != criteria:
            log.info("criteria in effect", extra={"line": line.name, "version": version.version,
                                                  "fingerprint": criteria.fingerprint})  # fmt: skip
        return _Cached(criteria, version.version, found.key, found.etag, None, now)

    def _last_good(self, line: Line) -> tuple[Criteria, int] | None:
        numbers = self.store.version_numbers(line.name)
        for number in [*reversed(numbers[-LOOKBACK_VERSIONS:]), SEED_VERSION]:
            found = self.store.get(self.store.layout.version_key(line.name, number))
            if not isinstance(found, Stored):
                continue
            try:
                version, criteria = accept(found.body, line, where=found.key)
            except RefusedDocument:
                continue
            return criteria, version.version
        return None

    def _refused(self, line: Line, reason: str, keeping: int | None) -> None:
        log.error(
            "published criteria refused; the last good criteria stay in effect",
            extra={"line": line.name, "reason": reason, "version_in_effect": keeping},
        )
        if self.metrics is not None:
            self.metrics.count("CriteriaRejected", dimension="Line", value=line.name)
