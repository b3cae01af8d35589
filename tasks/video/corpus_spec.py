"""The development corpus's spec and ground truth: what each video holds, and when.

The spec is data (``data/corpus/corpus.toml``, queries in ``data/corpus/queries.toml``).
:func:`load_spec` fills in its defaults and each scene's time range, :func:`load_queries`
resolves the benchmark queries' targets, and ``_truth`` turns a spec (with the measured
length of each spoken line) into the ``truth.json`` that :mod:`tasks.video.corpus` writes
beside the rendered media. Rendering itself is in :mod:`tasks.video.corpus_render`.

Example:
    >>> [v["name"] for v in load_spec()][:2]
    ['bakery.mp4', 'office.webm']
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import tomllib
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "corpus"
SPEC = CORPUS_DIR / "corpus.toml"
QUERIES = CORPUS_DIR / "queries.toml"
MEDIA = CORPUS_DIR / "media"
TEXT_KINDS = ("title", "lower-third", "small")
_BUSY = ("smptebars", "testsrc", "mandelbrot", "life")


def _site(package: str, *parts: str) -> Path:
    # find_spec locates a package without importing it (pyannote.audio pulls in torch).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"corpus: package {package} is not installed (make setup)")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _recording() -> tuple[Path, list[tuple[float, float, str]]]:
    """pyannote's 30-s telephone sample and its ``(start, end, words)`` transcript lines."""
    folder = _site("pyannote.audio", "sample")
    lines = []
    for row in (folder / "sample.stm").read_text().splitlines():
        f = row.split(maxsplit=5)
        if len(f) == 6:
            lines.append((float(f[3]), float(f[4]), f[5]))
    return folder / "sample.wav", lines


def load_spec(path: Path = SPEC) -> list[dict[str, Any]]:
    """The videos of the spec with defaults filled in and each scene's time range.

    Each scene gains ``start``/``end`` (its ground-truth range: cut to cut, a dissolve's
    midpoint for a dissolve) and ``shown`` (when its own frames begin, before the
    dissolve), and each video ``duration``.

    Example:
        >>> [v["name"] for v in load_spec()][:2]
        ['bakery.mp4', 'office.webm']
    """
    videos: list[dict[str, Any]] = tomllib.loads(Path(path).read_text())["video"]
    for video in videos:
        t = 0.0
        prev_overlap = 0.0
        for scene in video["scene"]:
            scene.setdefault("texts", [])
            scene.setdefault("speech", [])
            scene.setdefault("motion", "")
            scene.setdefault("bed", "")
            scene.setdefault("bed_level", 0.1 if scene["bed"] == "music" else 0.05)
            scene.setdefault("transition", "cut")
            scene.setdefault("transition_s", 1.0 if scene["transition"] == "dissolve" else 0.0)
            for s in scene["speech"]:
                s.setdefault("voice", "en-us")
                s.setdefault("at", 0.5)
            for x in scene["texts"]:
                x.setdefault("at", 0.0)
                x.setdefault("until", scene["duration"])
                x.setdefault("line", 0)
                x.setdefault("style", _default_style(scene["background"]))
                if x["kind"] not in TEXT_KINDS:
                    raise ValueError(f"corpus: {scene['id']}: text kind {x['kind']!r}")
            scene["shown"] = round(t - prev_overlap, 3)
            scene["start"] = round(t - prev_overlap / 2, 3)
            t = t - prev_overlap + scene["duration"]
            prev_overlap = scene["transition_s"] if scene["transition"] == "dissolve" else 0.0
        for scene, nxt in zip(video["scene"], [*video["scene"][1:], None], strict=True):
            scene["end"] = round(nxt["start"] if nxt else t, 3)
        video["duration"] = round(t, 3)
    return videos


def _default_style(background: str) -> str:
    if background.startswith("color:"):
        return "box"
    return "plain" if background.startswith("slide:") else "outline"


def _key(speech: dict[str, Any]) -> str:
    return hashlib.sha1(f"{speech['voice']}|{speech['text']}".encode()).hexdigest()[:16]


def _truth(videos: list[dict[str, Any]], spoken: dict[str, float]) -> dict[str, Any]:
    """Ground truth per scene in absolute seconds; raises when speech or text overruns."""
    _, stm = _recording()
    out: dict[str, Any] = {}
    for video in videos:
        scenes = []
        for scene in video["scene"]:
            base = scene["shown"]
            lines = []
            for s in scene["speech"]:
                a = base + s["at"]
                b = a + spoken[_key(s)]
                if a < scene["start"] - 1e-6 or b > scene["end"] + 1e-6:
                    raise ValueError(f"corpus: {scene['id']}: speech {s['text']!r} overruns")
                lines.append({"start": round(a, 3), "end": round(b, 3), "text": s["text"]})
            if "recording" in scene:
                r0, r1 = scene["recording"]
                for a, b, words in stm:
                    if r0 <= (a + b) / 2 < r1:
                        t0 = base + a - r0
                        lines.append({"start": round(t0, 3), "end": round(t0 + b - a, 3)})
                        lines[-1]["text"] = words
            for a, b in itertools.pairwise(lines):
                if b["start"] < a["end"] and "recording" not in scene:
                    raise ValueError(f"corpus: {scene['id']}: speech overlaps {a['text']!r}")
            texts = [
                {
                    "words": x["words"],
                    "kind": x["kind"],
                    "start": round(max(base + x["at"], scene["start"]), 3),
                    "end": round(min(base + x["until"], scene["end"]), 3),
                    "mid_scene": x["at"] > 0,
                    "over": "photo"
                    if scene["background"].startswith("photo:")
                    else "busy"
                    if scene["background"] in _BUSY
                    else "plain",
                }
                for x in scene["texts"]
            ]
            scenes.append(
                {
                    "id": scene["id"],
                    "start": scene["start"],
                    "end": scene["end"],
                    "background": scene["background"],
                    "motion": scene["motion"],
                    "bed": scene["bed"],
                    "transition": scene["transition"],
                    "script": " ".join(line["text"] for line in lines),
                    "speech": lines,
                    "texts": texts,
                }
            )
        out[video["name"]] = {
            "duration": video["duration"],
            "size": video["size"],
            "fps": video["fps"],
            "scenes": scenes,
        }
    return out


def load_queries(path: Path = QUERIES, spec: Path = SPEC) -> list[dict[str, Any]]:
    """The benchmark queries with their targets resolved to ``(video, start, end)``.

    A target is ``video#scene-id`` (the scene's range) or ``video@start-end`` (a span inside
    a scene, e.g. one topic of a long shot). Negative queries have no targets.

    Example:
        >>> q = load_queries()[0]
        >>> sorted(q)
        ['kind', 'targets', 'text']
    """
    ranges = {
        f"{v['name']}#{s['id']}": (v["name"], s["start"], s["end"])
        for v in load_spec(spec)
        for s in v["scene"]
    }
    out = []
    for q in tomllib.loads(Path(path).read_text())["query"]:
        targets = []
        for t in q.get("targets", []):
            if "@" in t:
                name, _, span = t.partition("@")
                a, _, b = span.partition("-")
                targets.append((name, float(a), float(b)))
            else:
                targets.append(ranges[t])
        out.append({"text": q["text"], "kind": q["kind"], "targets": targets})
    return out
