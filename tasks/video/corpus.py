"""The development corpus of issue 14: real-video difficulties, rendered with known truth.

The spec is data (``data/corpus/corpus.toml``, queries in ``data/corpus/queries.toml``);
this module renders it with ffmpeg and espeak-ng into ``data/corpus/media/`` (git-ignored)
and writes ``truth.json`` there: per scene its time range, on-screen words (kind, when
shown, over what background) and spoken script. Photographs come from installed packages
(scikit-learn, matplotlib), the real recording from pyannote's telephone sample, so the
corpus needs no download. Rendering is deterministic: the same spec gives the same content.

The spec and truth model live in :mod:`tasks.video.corpus_spec` (re-exported here), the
ffmpeg filter graphs and espeak-ng speech in :mod:`tasks.video.corpus_render`; this module
renders the corpus, caches it and tells when it is stale.

Example:
    >>> truth = ensure_corpus()  # doctest: +SKIP
    >>> truth["videos"]["bakery.mp4"]["scenes"][0]["id"]  # doctest: +SKIP
    'bake-title'
"""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tasks.video.corpus_render import _render, _speak, _spec_hash
from tasks.video.corpus_spec import (  # re-exported: callers import them from here
    CORPUS_DIR,
    MEDIA,
    QUERIES,
    SPEC,
    TEXT_KINDS,
    _key,
    _truth,
    load_queries,
    load_spec,
)
from tasks.video.samples import _require

__all__ = [
    "CORPUS_DIR",
    "MEDIA",
    "QUERIES",
    "SPEC",
    "TEXT_KINDS",
    "ensure_corpus",
    "load_queries",
    "load_spec",
    "render_corpus",
]


def render_corpus(
    spec: Path = SPEC, media: Path = MEDIA, only: list[str] | None = None, workers: int = 2
) -> dict[str, Any]:
    """Render the spec's videos (or ``only`` those names) into ``media``; return the truth.

    ``truth.json`` in ``media`` holds the spec hash, so :func:`ensure_corpus` knows when the
    media are stale.

    Example:
        >>> truth = render_corpus(only=["portrait.mp4"])  # doctest: +SKIP
        >>> truth["videos"]["portrait.mp4"]["duration"]  # doctest: +SKIP
        16.0
    """
    _require("ffmpeg")
    _require("espeak-ng")
    videos = [v for v in load_spec(spec) if only is None or v["name"] in only]
    media.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tessera-corpus-") as tmpdir:
        tmp = Path(tmpdir)
        spoken: dict[str, float] = {}
        for video in videos:
            for scene in video["scene"]:
                for s in scene["speech"]:
                    if _key(s) not in spoken:
                        spoken[_key(s)] = _speak(s["text"], s["voice"], tmp / f"{_key(s)}.wav")
        truth = {"spec_hash": _spec_hash(spec), "videos": _truth(videos, spoken)}
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            jobs = [pool.submit(_render, v, media / v["name"], spoken, tmp) for v in videos]
            for job in jobs:
                job.result()
    tmp_truth = media / f".truth.{os.getpid()}.part"
    tmp_truth.write_text(json.dumps(truth, indent=1))
    os.replace(tmp_truth, media / "truth.json")
    return truth


def ensure_corpus(spec: Path = SPEC, media: Path = MEDIA) -> dict[str, Any]:
    """The corpus truth, rendering the media first when missing or older than the spec.

    Example:
        >>> sorted(ensure_corpus()["videos"])[0]  # doctest: +SKIP
        'bakery.mp4'
    """
    path = media / "truth.json"
    if path.is_file():
        truth: dict[str, Any] = json.loads(path.read_text())
        names = truth.get("videos", {})
        if truth.get("spec_hash") == _spec_hash(spec) and all((media / n).is_file() for n in names):
            return truth
    return render_corpus(spec, media)


if __name__ == "__main__":
    # `python -m tasks.video.corpus` renders (or confirms) data/corpus/media.
    done = ensure_corpus()
    total = sum(v["duration"] for v in done["videos"].values())
    print(f"{len(done['videos'])} videos, {total:.0f} s, in {MEDIA}")
