"""OCR candidates side by side: word recall per text kind, junk words and seconds per frame.

Frames come from :func:`tasks.video.ocr_frames.ocr_frame_set` (titles over plain colours,
gradients, photographs and busy textures; lower thirds on a dark band; small body text;
frames without text). Every candidate reads the same frames in one run, one after the other,
so load from other processes hits them alike; the load average is printed.

Then the chosen path, :func:`tasks.video.ocr.ocr_for_scenes`, runs on scenes of three
keyframes each (static text, text appearing mid-scene, moving background) to show what
skipping near-identical keyframes saves, as seconds of OCR per second of video at 6-s scenes.

With ``--corpus``, each engine also reads the development corpus (``data/corpus``, rendered
by ``python -m tasks.video.corpus``) the way ingest does: scenes split, three keyframes per
scene, :func:`ocr_for_scenes` with that engine; a text's word counts as read when it is in
the OCR of a scene overlapping the time the text shows (as ``bench/bench_retrieval.py``).

Usage:
    uv run --frozen python bench/bench_ocr.py [--per-kind 12] [--engines ppocr,tess11,...]
        [--corpus] [--verbose]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.video.ocr import clean_words, ocr_for_scenes
from tasks.video.ocr_frames import KINDS, OcrFrame, ocr_frame_set, word_recall
from tasks.video.ocr_ppocr import load_ppocr, read_frame_ppocr
from tasks.video.ocr_tesseract import read_frame_regions, read_frame_tesseract

Reader = Callable[[np.ndarray], list[tuple[str, float]]]

CANDIDATES: dict[str, tuple[str, Reader]] = {
    "ppocr": ("PP-OCRv4 det+rec (RapidOCR ONNX), whole frame", read_frame_ppocr),
    "tess11": ("tesseract whole frame x2, psm 11", lambda f: read_frame_tesseract(f, psm=11)),
    "tess6": ("tesseract whole frame x2, psm 6", lambda f: read_frame_tesseract(f, psm=6)),
    "tess3": ("tesseract whole frame x2, psm 3", lambda f: read_frame_tesseract(f, psm=3)),
    "regions": ("tesseract on merged+padded regions", read_frame_regions),
    "regions17": (
        "tesseract on narrow regions (as before)",
        lambda f: read_frame_regions(f, close_width=17),
    ),
}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (tesseract runs as one)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _score(
    reader: Reader, frames: list[OcrFrame], verbose: bool = False
) -> dict[str, tuple[float, float, float]]:
    """Per kind: (word recall, junk words per frame, CPU seconds per frame).

    CPU seconds, not wall: on a shared 2-core machine the wall time of one call moves with
    the other processes' load, its CPU time much less.
    """
    totals = {k: [0, 0, 0, 0.0, 0] for k in KINDS}
    for frame in frames:
        start = _cpu()
        raw = reader(frame.image)
        seconds = _cpu() - start
        kept = clean_words([w for w, _ in raw], [c for _, c in raw])
        text = " ".join(w for w, _ in kept)
        found, total = word_recall(frame.words, text)
        wanted = {w.lower() for w in frame.words}
        junk = sum(1 for w, _ in kept if w.lower() not in wanted)
        if verbose and (found < total or junk):
            print(f"    {frame.kind} ({frame.note}): {' '.join(frame.words)!r} -> {text!r}")
        row = totals[frame.kind]
        row[0] += found
        row[1] += total
        row[2] += junk
        row[3] += seconds
        row[4] += 1
    return {
        k: (r[0] / max(1, r[1]), r[2] / max(1, r[4]), r[3] / max(1, r[4]))
        for k, r in totals.items()
    }


def _scenes(frames: list[OcrFrame]) -> tuple[list[list[np.ndarray]], list[tuple[str, ...]]]:
    """Three keyframes per text frame: static (light noise), or text from the second on."""
    rng = np.random.default_rng(0)
    scenes: list[list[np.ndarray]] = []
    words: list[tuple[str, ...]] = []
    for i, frame in enumerate(f for f in frames if f.kind != "none"):
        keys = []
        for _ in range(3):
            noisy = frame.image.astype(np.int16) + rng.integers(-2, 3, frame.image.shape)
            keys.append(np.clip(noisy, 0, 255).astype(np.uint8))
        if i % 4 == 3:
            # Text appears mid-scene: the first keyframe is the background without it.
            plain = frames[[f.kind for f in frames].index("none")].image
            keys[0] = plain.copy()
        scenes.append(keys)
        words.append(frame.words)
    return scenes, words


_CORPUS_ENGINES = {"ppocr": "ppocr", "tess11": "tesseract", "regions": "regions"}


def corpus_run(names: list[str], verbose: bool) -> None:
    """Word recall per text kind on the development corpus, per engine, ingest-style."""
    from tasks.video.corpus import MEDIA, ensure_corpus
    from tasks.video.keyframes import extract_keyframes
    from tasks.video.probe import probe_video
    from tasks.video.scenes import split_scenes

    truth = ensure_corpus()["videos"]
    clips = []
    for name in sorted(truth):
        info = probe_video(MEDIA / name)
        spans = split_scenes(info)
        clips.append((name, spans, extract_keyframes(info, spans, 3)))
    seconds = sum(v["duration"] for v in truth.values())
    print(f"\ncorpus: {len(clips)} videos, {seconds:.0f} s, {sum(len(c[1]) for c in clips)} scenes")
    print(f"{'engine':<10}{'title':>8}{'lower-3rd':>10}{'small':>8}{'CPU s':>8}{'x real time':>12}")
    for name in names:
        engine = _CORPUS_ENGINES.get(name)
        if engine is None:
            continue
        found: dict[str, list[int]] = {}
        start = _cpu()
        read = {clip: ocr_for_scenes(frames, engine=engine) for clip, _, frames in clips}
        cpu = _cpu() - start
        for clip, spans, _ in clips:
            for scene in truth[clip]["scenes"]:
                for text in scene["texts"]:
                    seen = " ".join(
                        t.text
                        for span, t in zip(spans, read[clip], strict=True)
                        if min(span.end_s, text["end"]) - max(span.start_s, text["start"]) > 0
                    )
                    hit, total = word_recall(text["words"].split(), seen)
                    row = found.setdefault(text["kind"], [0, 0])
                    row[0] += hit
                    row[1] += total
                    if verbose and hit < total:
                        print(f"    {scene['id']} [{text['kind']}] {text['words']!r} -> {seen!r}")
        cells = "".join(
            f"{found.get(k, [0, 0])[0] / max(1, found.get(k, [0, 1])[1]):>{w}.2f}"
            for k, w in (("title", 8), ("lower-third", 10), ("small", 8))
        )
        print(f"{name:<10}{cells}{cpu:>8.1f}{seconds / max(cpu, 1e-9):>12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=12)
    parser.add_argument("--engines", default=",".join(CANDIDATES))
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    parser.add_argument("--no-scenes", action="store_true", help="skip the scene run")
    parser.add_argument("--corpus", action="store_true", help="also read data/corpus")
    args = parser.parse_args()
    frames = ocr_frame_set(per_kind=args.per_kind)
    names = [n for n in args.engines.split(",") if n]
    print(f"frames: {len(frames)} ({args.per_kind} per kind), load {os.getloadavg()[0]:.1f}")
    load_ppocr()  # model load is once per process; not part of the per-frame cost
    read_frame_ppocr(frames[0].image)
    header = f"{'candidate':<10}" + "".join(f"{k:>22}" for k in KINDS) + f"{'s/frame':>9}"
    print("word recall / junk words per frame / CPU s per frame")
    print(header)
    for name in names:
        _, reader = CANDIDATES[name]
        scores = _score(reader, frames, args.verbose)
        cells = "".join(
            f"{f'{r:.2f} / {j:.1f} / {s:.2f}':>22}" for r, j, s in (scores[k] for k in KINDS)
        )
        mean_s = float(np.mean([scores[k][2] for k in KINDS]))
        print(f"{name:<10}{cells}{mean_s:>9.3f}")
    for name in names:
        print(f"  {name}: {CANDIDATES[name][0]}")

    if args.corpus:
        corpus_run(names, args.verbose)
    if args.no_scenes:
        return
    scenes, words = _scenes(frames)
    start = _cpu()
    texts = ocr_for_scenes(scenes)
    seconds = _cpu() - start
    found = sum(word_recall(w, t.text)[0] for w, t in zip(words, texts, strict=True))
    total = sum(word_recall(w, t.text)[1] for w, t in zip(words, texts, strict=True))
    per_scene = seconds / len(scenes)
    print(
        f"ocr_for_scenes (ppocr): {len(scenes)} scenes x 3 keyframes, recall {found / total:.2f}, "
        f"{per_scene:.3f} CPU s/scene = {6.0 / per_scene:.0f}x real time at 6-s scenes"
    )


if __name__ == "__main__":
    main()
