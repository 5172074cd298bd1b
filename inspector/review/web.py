"""The review page: a Flask app over a `ReviewDesk`, server-rendered, for one reviewer on this machine.

GET only reads (the queue, an image, its photo, its history); every change is a POST carrying the CSRF
token of the reviewer's session (Flask-WTF's `CSRFProtect`). The photo is served through the app from the
record's own filed key, never from a key the request names, so the page can show nothing but what the
records point to. Requests must name a loopback host (`TRUSTED_HOSTS`): a web page elsewhere cannot rebind
its own name to 127.0.0.1 and read the queue through the reviewer's browser.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect  # type: ignore[import-untyped]  # ships no hints
from werkzeug.wrappers import Response

from inspector.engine import Finding, Outcome, Verdict
from inspector.errors import TransientError
from inspector.formats import SNIFF_BYTES, sniff
from inspector.review.decisions import DecisionConflict, DecisionRefused
from inspector.review.desk import ReviewDesk

_BYTES = "application/octet-stream"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
SECURITY_HEADERS = {
    # Scripts and images from the app itself only; no framing; no referrer leaving the page.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_PLAIN = {
    Outcome.MET: "fine",
    Outcome.CLEAR: "fine",
    Outcome.UNCERTAIN: "unsure: in the review band, a person decides",
    Outcome.UNMET: "fails",
    Outcome.VIOLATED: "fails",
}


def create_app(desk: ReviewDesk, *, secret_key: str | None = None, hosts: list[str] | None = None) -> Flask:
    """The review app for `desk`. A fresh random `secret_key` per run unless given: sessions (and their
    CSRF tokens) last as long as the server."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        WTF_CSRF_TIME_LIMIT=None,  # the session's lifetime: a reviewer may leave a page open for hours
        MAX_CONTENT_LENGTH=64 * 1024,
        TRUSTED_HOSTS=hosts if hosts is not None else LOOPBACK_HOSTS,
    )
    CSRFProtect(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return render_template("message.html", title="Refused", message=f"Refused: {error.description}"), 400

    @app.errorhandler(TransientError)
    def _aws(error: TransientError) -> tuple[str, int]:
        # S3, SNS or STS failed (throttling, an outage, expired credentials): say so; a retry may work.
        message = f"AWS failed, nothing more was done: {error}. Reload to try again."
        return render_template("message.html", title="AWS failed", message=message), 503

    @app.get("/")
    def queue() -> str:
        line = request.args.get("line") or None
        pending = desk.queue(line=line)
        lines = sorted({p.record.line for p in pending})
        return render_template("queue.html", pending=pending, line=line, lines=lines, who=desk.who())

    @app.get("/image")
    def image() -> str | tuple[str, int]:
        key = request.args.get("key", "")
        try:
            current = desk.record(key)
            events = desk.history(key)
        except DecisionRefused as exc:
            return render_template("message.html", title="Not found", message=str(exc)), 404
        keys = [p.key for p in desk.queue()]
        here = keys.index(key) if key in keys else -1
        return render_template(
            "image.html",
            record=current.record,
            etag=current.etag,
            findings=[(f, plain(f)) for f in current.record.findings],
            events=events,
            previous=keys[here - 1] if here > 0 else None,
            following=keys[here + 1] if 0 <= here < len(keys) - 1 else None,
            position=here + 1,
            total=len(keys),
            pending=current.record.effective_verdict is Verdict.REVIEW,
            who=desk.who(),
        )

    @app.get("/photo")
    def photo() -> Response:
        key = request.args.get("key", "")
        which = request.args.get("which", "filed")
        try:
            record = desk.record(key).record
        except DecisionRefused:
            abort(404)
        source = record.evidence if which == "evidence" else record.destination
        found = desk.store.read(source) if source else None
        if found is None:
            abort(404)
        body, _ = found
        return Response(body, mimetype=_image_type(body))

    @app.post("/decide")
    def decide() -> Response | tuple[str, int]:
        form = request.form
        key, etag = form.get("key", ""), form.get("etag", "")
        verdict = form.get("verdict", "")
        if verdict not in (Verdict.PASS.value, Verdict.FAIL.value) or not key or not etag:
            return render_template("message.html", title="Refused", message="a decision is PASS or FAIL"), 400
        following = _following(desk, key)
        try:
            outcome = desk.decide(key, Verdict(verdict), note=form.get("note", ""), expected=etag)
        except DecisionConflict as exc:
            return render_template("message.html", title="Already decided", message=str(exc), key=key), 409
        except DecisionRefused as exc:
            return render_template("message.html", title="Refused", message=str(exc), key=key), 400
        flash(f"{key}: {outcome.decision.before} -> {outcome.decision.after}, filed at {outcome.destination}")
        target = url_for("image", key=following) if following else url_for("queue")
        return redirect(target, code=303)

    return app


def _following(desk: ReviewDesk, key: str) -> str | None:
    """The pending image after `key` in the queue (the next one to review once `key` is decided)."""
    keys = [p.key for p in desk.queue()]
    if key not in keys:
        return keys[0] if keys else None
    rest = keys[keys.index(key) + 1 :]
    return rest[0] if rest else None


def plain(finding: Finding) -> str:
    """A finding in plain words: `Widget: seen at 85% confidence, expected >= 90: unsure: ...`."""
    if finding.observed is None:
        observed = "not measured"
    elif finding.kind in ("require", "any_of", "forbid"):
        observed = "not seen" if finding.observed == 0 else f"seen at {finding.observed:.1f}% confidence"
    elif finding.kind == "count":
        observed = f"{finding.observed:g} found"
    elif finding.kind == "color":
        observed = f"{finding.observed:.1f}% of the image"
    else:
        observed = f"measured {finding.observed:.1f}"
    seen = f" (as {finding.matched})" if finding.matched else ""
    return f"{finding.subject}: {observed}{seen}, expected {finding.expected}: {_PLAIN[finding.outcome]}"


def _image_type(body: bytes) -> str:
    # Typed by its bytes, not by the uploader's Content-Type: only a JPEG or PNG is served as an image.
    return {"JPEG": "image/jpeg", "PNG": "image/png"}.get(sniff(body[:SNIFF_BYTES]).format or "", _BYTES)


def serve(app: Flask, *, host: str, port: int) -> Any:
    """A threaded WSGI server for `app` (werkzeug's), not yet serving: call `serve_forever()`."""
    from werkzeug.serving import make_server  # noqa: PLC0415

    return make_server(host, port, app, threaded=True)
