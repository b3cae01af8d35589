"""The pages in a real browser: Playwright driving Debian's Chromium (never a downloaded one)
against the app under uvicorn, over a really ingested video. Every request leaving
127.0.0.1 is recorded and refused, so a CDN dependency would fail the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import WebEnv

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (make setup installs it)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served: str) -> Iterator[Any]:
    context = browser.new_context(base_url=served, viewport={"width": 1200, "height": 900})
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(served):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert outside == [], f"the pages asked for something off this machine: {outside}"
    assert errors == [], f"script errors: {errors}"


def _player(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(
        "() => { const v = document.getElementById('player');"
        " return {t: v.currentTime, paused: v.paused, label:"
        " document.getElementById('player-label').textContent}; }"
    )
    return state


def test_search_click_plays_the_scene(page: Any) -> None:
    page.goto("/")
    page.fill("input[name=q]", "the word PIZZA on screen")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("#results")
    assert "q=the+word+PIZZA+on+screen" in page.url  # the query is in the URL: shareable
    first = page.locator("#results li.card").first
    assert first.get_attribute("data-label").startswith("narrated.mp4 · scene 3")
    assert first.locator("mark").first.inner_text() == "PIZZA"
    start = float(first.get_attribute("data-start"))
    end = float(first.get_attribute("data-end"))
    first.click()
    # As soon as it plays it is inside the scene (not at 0:00 on its way there) ...
    page.wait_for_function("() => !document.getElementById('player').paused", timeout=20_000)
    assert start <= _player(page)["t"] <= end
    # ... and it really advances there.
    page.wait_for_function(
        f"() => document.getElementById('player').currentTime > {start} + 0.5", timeout=20_000
    )
    assert start <= _player(page)["t"] <= end
    # It stops at the scene's end (about 4 s later) and says so.
    page.wait_for_function(
        "() => document.getElementById('player').paused", timeout=(end - start + 10) * 1000
    )
    stopped = _player(page)
    assert end - 0.3 <= stopped["t"] <= end + 0.5
    assert stopped["label"].startswith("End of narrated.mp4 · scene 3")


def test_split_query_shows_both_parts(page: Any) -> None:
    page.goto("/?q=umbrella+and+the+word+EXIT")
    summary = page.locator("#summary").inner_text()
    assert "split into" in summary and "umbrella" in summary and "the word EXIT" in summary
    cards = page.locator("#results li.card")
    parts = {
        cards.nth(i).get_attribute("data-label").split(" · ")[1]: cards.nth(i)
        .locator(".matched .part")
        .first.inner_text()
        for i in range(cards.count())
        if cards.nth(i).get_attribute("data-label").startswith("narrated.mp4")
    }
    assert parts["scene 2"] == "umbrella"
    assert parts["scene 1"] == "the word EXIT"


def test_moved_video_card_says_why_it_cannot_play(page: Any, web_env: WebEnv) -> None:
    page.goto(f"/?q=the+word+EXIT&video={web_env.gone_id}")
    card = page.locator("#results li.card").first
    assert "moved or been deleted since ingest" in card.inner_text()
    card.click()
    label = page.locator("#player-label")
    assert "has moved or been deleted since ingest" in label.inner_text()


def test_library_and_video_pages(page: Any, web_env: WebEnv) -> None:
    page.goto("/library")
    narrated = page.locator(f"li.video[data-id='{web_env.narrated_id}']")
    assert narrated.locator(".strip img").count() == 6
    page.wait_for_function(  # the thumbnails really load (served by scene key)
        "() => [...document.querySelectorAll('.strip img')].every(i => i.naturalWidth > 0)"
    )
    narrated.locator("h2 a").click()
    page.wait_for_selector("#scenes")
    rows = page.locator("#scenes tbody tr")
    assert rows.count() == 6
    assert "PIZZA MENU" in rows.nth(3).inner_text()
    rows.nth(4).click()
    page.wait_for_function("() => !document.getElementById('player').paused", timeout=20_000)
    assert 18.5 <= _player(page)["t"] <= 24.0


def test_jobs_page_shows_a_submitted_job(page: Any, web_env: WebEnv) -> None:
    from tasks.training.spec import JobSpec
    from tasks.training.store import JobStore

    page.goto("/jobs")
    assert page.locator("#jobs tr[data-job='digits-cnn'] .state").inner_text() == "running"
    assert page.locator("#chart svg polygon").count() == 3
    assert page.locator("#deployment").get_attribute("href") == "http://127.0.0.1:9/deployments"
    store = JobStore(web_env.settings.job_store_url)
    try:
        store.submit(JobSpec(name="browser-job", model="cnn", epochs=3))
    finally:
        store.close()
    # Jobs are running, so the page refreshes itself (every 5 s) and shows the new one.
    row = page.locator("#jobs tr[data-job='browser-job']")
    row.wait_for(timeout=15_000)
    assert "queued" in row.inner_text()
