"""Regenerate the web UI screenshots in ``docs/img/`` (search, library, jobs).

Renders two sample videos, ingests them in this process into a temporary store, fills a
temporary job store with sample jobs, serves ``tessera ui`` on a free local port and
photographs the pages with Playwright driving Debian's Chromium (``/usr/bin/chromium``;
nothing is downloaded). About two minutes on a busy 2-core machine.

Example:
    $ uv run --frozen python docs/screenshots.py            # writes docs/img/web-*.png
    $ uv run --frozen python docs/screenshots.py --out /tmp/shots
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "web-search": "/?q=umbrella+and+the+word+EXIT",
    "web-library": "/library",
    "web-jobs": "/jobs",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    """Build the sample state, serve it, and write one PNG per page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "img")
    args = parser.parse_args()

    from tasks.settings import Settings, apply_offline_env

    apply_offline_env()
    import uvicorn
    from playwright.sync_api import sync_playwright

    from flows.web.app import create_app
    from flows.web.sample import ingest_here, sample_jobs
    from tasks.video.encode import Encoder
    from tasks.video.samples import long_scenes, make_sample_video, standard_scenes
    from tasks.video.search import SceneSearcher

    root = Path(tempfile.mkdtemp(prefix="tessera-shots-"))
    settings = Settings(
        data_dir=root,
        lancedb_uri=str(root / "lancedb"),
        thumbnail_dir=root / "thumbnails",
        job_store_url=f"sqlite:///{root / 'jobs.db'}",
    )
    videos = [root / "videos" / "narrated.mp4", root / "videos" / "city-tour.mp4"]
    make_sample_video(videos[0], standard_scenes())
    make_sample_video(videos[1], long_scenes(total_s=36, shot_s=6))
    encoder = Encoder.load(settings.embedding_model)
    store = ingest_here(videos, settings, encoder)
    sample_jobs(settings.job_store_url)
    app = create_app(settings, searcher=SceneSearcher(store, encoder))

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(
                base_url=f"http://127.0.0.1:{port}", viewport={"width": 1200, "height": 860}
            )
            for name, url in PAGES.items():
                page.goto(url)
                if name == "web-search":
                    # Show the player too: play the first result and pause inside the scene.
                    page.locator("#results li.card").first.click()
                    page.wait_for_function(
                        "() => { const v = document.getElementById('player');"
                        " return !v.paused && v.currentTime > 6; }"
                    )
                    page.evaluate("document.getElementById('player').pause()")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(args.out / f"{name}.png"), full_page=False)
                print(args.out / f"{name}.png")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
