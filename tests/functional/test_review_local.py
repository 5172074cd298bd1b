"""The review, end to end in the local mode: `inspector local`'s embedded AWS (moto's server on loopback),
the demo's REVIEW samples judged by the function, then decided by command and in Chromium."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import pytest

from inspector.cli import main
from inspector.commands.local import LocalSession, load_criteria, local_deployment
from inspector.review.aws import desk as make_desk
from inspector.review.web import create_app, serve
from inspector.settings import Layout
from tests.functional.test_review_page import CHROMIUM_ARGS, chromium

SAMPLES = {
    "images/line-1/review-partly-painted.jpg": ("line-1", "review-partly-painted.jpg"),
    "images/line-2/review-small-widget.png": ("line-2", "review-small-widget.png"),
}
BY_COMMAND, IN_BROWSER = SAMPLES


@pytest.fixture
def session() -> Iterator[LocalSession]:
    criteria, _ = load_criteria(None)
    with LocalSession(local_deployment(criteria), out=io.StringIO(), errors=io.StringIO()) as session:
        for key, (line, name) in SAMPLES.items():
            data = files("inspector").joinpath("samples", "images", line, name).read_bytes()
            session.s3.put_object(Bucket=session.provisioned.bucket, Key=key, Body=data)
        session.poller.drain(timeout_seconds=30)
        yield session


def cli(capsys: pytest.CaptureFixture[str], session: LocalSession, *argv: str) -> tuple[int, Any]:
    capsys.readouterr()
    endpoint = ["--endpoint-url", session.endpoint_url, "--region", session.aws.region]
    status = main([*argv, "--bucket", session.provisioned.bucket, *endpoint, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out) if out else None


def test_in_the_local_mode_review_images_are_listed_decided_by_command_and_in_chromium(
    session: LocalSession, capsys: pytest.CaptureFixture[str]
) -> None:
    executable = chromium()
    bucket, topic = session.provisioned.bucket, session.provisioned.topic_arn

    status, listed = cli(capsys, session, "review", "list")
    assert 0 == status
    assert set(SAMPLES) == {p["key"] for p in listed["pending"]}

    status, decided = cli(
        capsys,
        session,
        "review",
        "decide",
        BY_COMMAND,
        "--verdict",
        "FAIL",
        "--note",
        "paint",
        "--topic-arn",
        topic,
    )
    assert (0, "FAIL") == (status, decided["after"])

    desk = make_desk(
        Layout(),
        bucket=bucket,
        topic_arn=topic,
        s3=session.aws.client("s3"),
        sns=session.aws.client("sns"),
        sts=session.aws.client("sts"),
    )
    server = serve(create_app(desk), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            assert [IN_BROWSER] == page.locator("#queue a.item").all_inner_texts()
            page.click("#queue a.item")
            # The photo loads after the page does: wait for it (a bounded wait, not a sleep), then check it.
            page.wait_for_function(
                "() => { const img = document.querySelector('#photo'); return img && img.complete; }",
                timeout=15_000,
            )
            assert page.eval_on_selector("#photo", "img => img.naturalWidth") > 0
            page.click("#pass")
            page.wait_for_url(lambda url: url.endswith("/"))
            assert "Nothing awaits review." == page.inner_text("#empty")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    keys = {o["Key"] for o in session.s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {
        "analyzed/failed/line-1/review-partly-painted.jpg",
        "analyzed/passed/line-2/review-small-widget.png",
    } <= keys
    assert not any(k.startswith("analyzed/review/") for k in keys)
    for key, verdict in ((BY_COMMAND, "FAIL"), (IN_BROWSER, "PASS")):
        status, history = cli(capsys, session, "history", key)
        assert 0 == status
        inspection, decision = history["events"]
        assert ("inspection", "REVIEW") == (inspection["kind"], inspection["verdict"])
        assert ("decision", verdict, "REVIEW") == (decision["kind"], decision["verdict"], decision["before"])
        assert decision["who"].startswith("arn:aws:sts::")
