"""The review page in a real browser (Debian's chromium, driven by Playwright), over moto.

Skipped only where chromium is not installed on a developer's machine; in CI (CI=true) its absence fails.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from inspector.engine import Verdict
from inspector.errors import TransientError
from inspector.records import ResultRecord
from inspector.review import ReviewDesk
from inspector.review.web import create_app, serve
from inspector.testing import FakeDetector
from tests.functional.world import BUCKET, REVIEW_LABELS, World, image_bytes, png

REVIEWER = "arn:aws:sts::123456789012:user/moto"
FIRST, SECOND = "images/line-1/first.jpg", "images/line-2/second.jpg"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    """Debian's chromium, or a skip on a developer's machine without it (a failure in CI)."""
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (apt-get install -y chromium); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def queue(world: World) -> World:
    """Two images filed under REVIEW, the first inspected first."""
    processor = world.processor(FakeDetector(default=REVIEW_LABELS))
    for key, color in ((FIRST, (40, 90, 200)), (SECOND, (200, 90, 40))):
        world.upload(key, image_bytes("JPEG", color=color))
        world.run(processor)
    return world


@pytest.fixture
def desk(queue: World) -> ReviewDesk:
    return queue.desk()


@pytest.fixture
def site(desk: ReviewDesk) -> Iterator[str]:
    """The review page served on 127.0.0.1 at a free port, as `inspector review serve` serves it."""
    server = serve(create_app(desk), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def wait_for(page: Any, key: str) -> None:
    """Wait until the browser shows the image page of `key`."""
    page.wait_for_url(lambda url: url.endswith(f"/image?key={key}"), timeout=10_000)


def after(world: World, key: str) -> list[Verdict]:
    return [d.after for d in world.record(key).decisions]


def test_the_queue_is_decided_in_the_browser_and_the_image_moves(
    queue: World, desk: ReviewDesk, site: str, page: Any
) -> None:
    page.goto(site)

    assert [FIRST, SECOND] == page.locator("#queue a.item").all_inner_texts()  # oldest first
    page.click(f"text={FIRST}")
    assert FIRST == page.inner_text("#key")
    assert page.eval_on_selector("#photo", "img => img.complete && img.naturalWidth") == 120
    assert "Widget" in page.inner_text("#findings")
    assert "inspected: REVIEW" in page.inner_text("#history")
    page.fill("#note", "paint is even in daylight")
    page.click("#pass")

    wait_for(page, SECOND)  # on to the next image
    assert f"{FIRST}: REVIEW -> PASS, filed at analyzed/passed/line-1/first.jpg" in page.inner_text(".flash")
    assert queue.exists("analyzed/passed/line-1/first.jpg")
    assert not queue.exists("analyzed/review/line-1/first.jpg")
    (decision,) = queue.record(FIRST).decisions
    assert (REVIEWER, "paint is even in daylight") == (decision.who, decision.note)
    page.goto(f"{site}/image?key={FIRST}")
    history = page.inner_text("#history")
    assert "decided REVIEW → PASS by " + REVIEWER in history
    assert "paint is even in daylight" in history


def test_keyboard_shortcuts_move_through_the_queue_and_decide(queue: World, site: str, page: Any) -> None:
    page.goto(site)
    page.keyboard.press("j")
    wait_for(page, FIRST)
    assert FIRST == page.inner_text("#key")
    page.keyboard.press("j")
    wait_for(page, SECOND)
    page.keyboard.press("k")
    wait_for(page, FIRST)
    page.keyboard.press("n")
    page.keyboard.type("fails: chipped")  # typed into the note: "f" here must not decide
    page.keyboard.press("Escape")
    page.keyboard.press("f")

    wait_for(page, SECOND)
    assert [Verdict.FAIL] == after(queue, FIRST)
    assert "fails: chipped" == queue.record(FIRST).decisions[0].note
    assert "Keyboard shortcuts" in page.inner_text("#shortcuts")


def test_the_essentials_work_without_javascript(queue: World, browser: Any, site: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/image?key={SECOND}")
    page.click("#fail")
    page.wait_for_url(lambda url: url == f"{site}/")  # the queue: SECOND was the last one
    context.close()

    assert [Verdict.FAIL] == after(queue, SECOND)
    assert queue.exists("analyzed/failed/line-2/second.jpg")


def test_a_forged_post_without_the_csrf_token_is_refused_and_changes_nothing(
    queue: World, site: str, page: Any
) -> None:
    page.goto(f"{site}/image?key={FIRST}")  # a session exists; the forger lacks its token
    etag = page.get_attribute("input[name=etag]", "value")
    before = queue.keys()

    response = page.request.post(f"{site}/decide", form={"key": FIRST, "etag": etag or "", "verdict": "PASS"})

    assert 400 == response.status
    assert "CSRF token is missing" in response.text()
    assert before == queue.keys()
    assert [] == after(queue, FIRST)


def test_a_get_never_changes_anything(queue: World, site: str, page: Any) -> None:
    before = queue.keys()

    response = page.request.get(f"{site}/decide?key={FIRST}&verdict=PASS")
    for path in ("/", f"/image?key={FIRST}", f"/photo?key={FIRST}"):
        assert 200 == page.request.get(site + path).status

    assert 405 == response.status
    assert before == queue.keys()
    assert [] == after(queue, FIRST)


def test_a_second_reviewer_on_a_stale_page_is_told_and_nothing_is_filed_twice(
    queue: World, browser: Any, site: str
) -> None:
    pages = [browser.new_context().new_page() for _ in range(2)]
    for p in pages:
        p.goto(f"{site}/image?key={FIRST}")
    pages[0].click("#fail")
    wait_for(pages[0], SECOND)

    pages[1].click("#pass")

    assert "Already decided" in pages[1].inner_text("h1")
    assert [Verdict.FAIL] == after(queue, FIRST)
    assert queue.exists("analyzed/failed/line-1/first.jpg")
    assert not queue.exists("analyzed/passed/line-1/first.jpg")
    for p in pages:
        p.context.close()


def test_the_evidence_image_is_shown_when_the_record_names_one(queue: World, site: str, page: Any) -> None:
    evidence = "results/line-1/first.jpg.evidence.png"
    queue.s3.put_object(Bucket=BUCKET, Key=evidence, Body=png((90, 60)), ContentType="image/png")
    record_key = queue.settings().record_key(FIRST)
    record = queue.record(FIRST).model_copy(update={"evidence": evidence})
    queue.s3.put_object(Bucket=BUCKET, Key=record_key, Body=ResultRecord.to_json(record).encode())

    page.goto(f"{site}/image?key={FIRST}")

    assert page.eval_on_selector("#evidence", "img => img.complete && img.naturalWidth") == 90
    assert 1 == page.locator("#evidence").count()
    page.goto(f"{site}/image?key={SECOND}")
    assert 0 == page.locator("#evidence").count()


# --- without a browser: what the app refuses -------------------------------------------------------------


def test_a_request_naming_another_host_is_refused(desk: ReviewDesk) -> None:
    """A page elsewhere that rebinds its own name to 127.0.0.1 cannot read the queue."""
    client = create_app(desk).test_client()

    assert 200 == client.get("/", headers={"Host": "127.0.0.1:8765"}).status_code
    assert 400 == client.get("/", headers={"Host": "attacker.example:8765"}).status_code


def test_the_photo_route_serves_only_what_the_record_names(queue: World, desk: ReviewDesk) -> None:
    client = create_app(desk).test_client()

    assert 404 == client.get("/photo?key=images/line-1/none.jpg").status_code
    assert 404 == client.get(f"/photo?key={FIRST}&which=evidence").status_code  # the record names none
    response = client.get(f"/photo?key={FIRST}")
    assert ("image/jpeg", "nosniff") == (response.mimetype, response.headers["X-Content-Type-Options"])
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_an_aws_failure_is_a_page_that_says_so_not_a_traceback(
    queue: World, desk: ReviewDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_: Any, **__: Any) -> None:
        raise TransientError("S3 ListObjectsV2 analyzed/review/ failed: SlowDown: Please reduce your rate")

    monkeypatch.setattr(desk.store, "keys", failing)

    response = create_app(desk).test_client().get("/")

    assert 503 == response.status_code
    assert b"AWS failed, nothing more was done: S3 ListObjectsV2" in response.data
