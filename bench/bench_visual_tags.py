"""Visual tags: precision and recall per tag on labelled frames, and ms per frame.

Two labelled sets built from what ships here (``tests/video/visual_frames.py``): the
**dev** set the thresholds were chosen on (ffmpeg test sources, scikit-learn and
matplotlib photographs and their crops, cv2 slides, drawings, flat colours, noise; JPEG
round trip) and the **check** set that was not looked at while tuning (other sizes up to
1280x720, seeds, fonts, crops, a document page, a chart slide, grayscale and dark photos;
H.264 round trip). With ``--corpus`` the frames of the shared development corpus
(``data/corpus``) are tagged too and their tags printed per video, for reading.

Speed: :func:`tasks.video.visual.visual_tags` on scenes of three keyframes, per scene and
per keyframe, beside the same function from an older commit (``--before``, default the
commit before the picture-kind tags), interleaved in one process so both see the same load.

Example:
    $ uv run python bench/bench_visual_tags.py               # both sets + timing (~3 min)
    $ uv run python bench/bench_visual_tags.py --quick       # dev set only, 3 timing rounds
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tasks.video.visual import load_cascades, visual_tags  # noqa: E402
from tests.video.visual_frames import (  # noqa: E402
    SCORED,
    LabelledFrame,
    check_frames,
    labelled_frames,
)

# How each scored label shows in the tag text ("test pattern" is not a "pattern").
_SHOWN = {
    "photograph": "photo",
    "face": "faces?",
    "colour bars": "colou?r bars",
    "pattern": "(?<!test )pattern",
}
PATTERNS = {t: re.compile(r"(?<!\w)" + _SHOWN.get(t, re.escape(t)) + r"(?!\w)") for t in SCORED}


Item = tuple[str, list[np.ndarray], set[str], set[str]]
"""One labelled scene: name, keyframes, tags it must get, tags not scored."""


def as_items(frames: list[LabelledFrame]) -> list[Item]:
    """Labelled frames as one-keyframe scenes."""
    return [(f.name, [f.frame], f.tags, f.ignore) for f in frames]


def score(
    items: list[Item], tagger: Callable[[list[np.ndarray]], list[str]], show: bool = False
) -> tuple[dict[str, list[int]], list[str]]:
    """``tag -> [tp, fp, fn]`` and one line per mistake (``show``: print every scene's tags)."""
    counts = {t: [0, 0, 0] for t in SCORED}
    mistakes = []
    for name, frames, want_tags, ignore in items:
        tags = tagger(frames)
        text = ", ".join(tags)
        if show:
            print(f"  {name}: {tags}")
        for tag in SCORED:
            if tag in ignore:
                continue
            got, want = bool(PATTERNS[tag].search(text)), tag in want_tags
            if got and want:
                counts[tag][0] += 1
            elif got:
                counts[tag][1] += 1
                mistakes.append(f"  false {tag!r:15} {name}: {tags}")
            elif want:
                counts[tag][2] += 1
                mistakes.append(f"  missed {tag!r:14} {name}: {tags}")
    return counts, mistakes


def print_scores(title: str, counts: dict[str, list[int]], mistakes: list[str]) -> None:
    print(f"\n{title}")
    print(f"| {'tag':14} | {'tp':>3} | {'fp':>3} | {'fn':>3} | precision | recall |")
    print(f"|{'-' * 16}|----:|----:|----:|----------:|-------:|")
    totals = [0, 0, 0]
    for tag, (tp, fp, fn) in counts.items():
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        p = f"{tp / (tp + fp):.2f}" if tp + fp else "-"
        r = f"{tp / (tp + fn):.2f}" if tp + fn else "-"
        print(f"| {tag:14} | {tp:3d} | {fp:3d} | {fn:3d} | {p:>9} | {r:>6} |")
    tp, fp, fn = totals
    print(
        f"| {'all':14} | {tp:3d} | {fp:3d} | {fn:3d} | {tp / max(1, tp + fp):9.2f} "
        f"| {tp / max(1, tp + fn):6.2f} |"
    )
    for line in mistakes:
        print(line)


def load_before(ref: str) -> ModuleType | None:
    """``tasks/video/visual.py`` as it was at ``ref``, imported under another name."""
    try:
        source = subprocess.run(
            ["git", "show", f"{ref}:tasks/video/visual.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except subprocess.CalledProcessError:
        return None
    path = Path(tempfile.mkdtemp()) / "visual_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("visual_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def print_speed(
    title: str,
    scenes: list[list[np.ndarray]],
    taggers: dict[str, Callable[..., list[str]]],
    rounds: int,
) -> None:
    """Median seconds per scene of each tagger over ``rounds`` interleaved rounds."""
    seconds: dict[str, list[float]] = {name: [] for name in taggers}
    for _ in range(rounds):
        for name, tagger in taggers.items():
            start = time.perf_counter()
            for frames in scenes:
                tagger(frames)
            seconds[name].append((time.perf_counter() - start) / len(scenes))
    print(f"\nspeed on {title}:")
    for name, values in seconds.items():
        med = statistics.median(values) * 1000
        print(
            f"  {name:6} {med:7.1f} ms per scene, {med / 3:6.1f} ms per keyframe "
            f"(median of {rounds}; min {min(values) * 1000:.1f})"
        )


def _corpus_labels(background: str, texts: int) -> tuple[set[str], set[str]]:
    """``(tags, ignore)`` of a corpus scene from its background (``corpus.toml``)."""
    kind, _, name = background.partition(":")
    if kind == "photo":
        tags = {"photograph"} | ({"face"} if name == "grace" else set())
        # Pans and zooms show varying crops: sky, trees and close-up are not scored.
        return tags, {"sky", "trees", "landscape", "portrait"}
    if background in ("smptebars", "testsrc"):
        return {"test pattern", "colour bars"}, set()
    if background == "mandelbrot":
        return {"fractal"}, {"pattern"}
    if background == "life":
        return {"pattern"}, {"fractal"}
    if kind == "slide":
        return {"slide"}, set()
    return set(), {"slide"} if texts >= 3 else set()


def corpus_frames(media: Path) -> list[tuple[str, list[np.ndarray], set[str], set[str]]]:
    """Every scene of the shared development corpus: id, keyframes, tags, ignored tags.

    Keyframes are read at the true scene spans of ``truth.json``, three per scene, as the
    ingest reads them.
    """
    import json

    from tasks.video.keyframes import extract_keyframes
    from tasks.video.probe import probe_video
    from tasks.video.records import SceneSpan

    truth = json.loads((media / "truth.json").read_text())
    out = []
    for name, video in truth["videos"].items():
        info = probe_video(media / name)
        scenes = video["scenes"]
        spans = [SceneSpan(i, sc["start"], sc["end"]) for i, sc in enumerate(scenes)]
        for sc, frames in zip(scenes, extract_keyframes(info, spans, 3), strict=True):
            tags, ignore = _corpus_labels(sc["background"], len(sc["texts"]))
            out.append((f"{name}:{sc['id']} ({sc['background']})", frames, tags, ignore))
    return out


def tag_retrieval(corpus: list[Item], before: ModuleType | None, queries: Path) -> None:
    """The tags vector alone, before and after: the rank of each visual query's first
    target among the corpus scenes, and how many scenes clear the tags threshold (0.40)
    for queries about on-screen words, which should match no tag."""
    import tomllib

    from tasks.settings import Settings
    from tasks.video.encode import Encoder

    names = [name.split(" ")[0].replace(":", "#") for name, _, _, _ in corpus]
    encoder = Encoder.load(Settings().embedding_model)
    versions = {"after": visual_tags} | ({"before": before.visual_tags} if before else {})
    vectors = {
        v: encoder.encode_texts([", ".join(tag(frames)) for _, frames, _, _ in corpus])
        for v, tag in versions.items()
    }
    spec = tomllib.loads(queries.read_text())["query"]
    print("\ntags vector alone on the corpus: rank of the first target of each visual query")
    for q in (q for q in spec if q["kind"] == "visual"):
        qv = encoder.encode_queries([q["text"]])[0]
        ranks = {}
        for v, vec in vectors.items():
            order = list(np.argsort(-(vec @ qv)))
            ranks[v] = min(order.index(names.index(t)) + 1 for t in q["targets"] if t in names)
        print(f"  {q['text']!r:42} " + "  ".join(f"{v} {r}" for v, r in sorted(ranks.items())))
    print("scenes whose tags vector clears 0.40 for queries about on-screen words")
    texts = [q["text"] for q in spec if "screen" in q["text"] or "the word" in q["text"]]
    for text in [*texts, "what is written on screen"]:
        qv = encoder.encode_queries([text])[0]
        counts = {v: int((vec @ qv >= 0.40).sum()) for v, vec in vectors.items()}
        print(f"  {text!r:60} " + "  ".join(f"{v} {c}" for v, c in sorted(counts.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="dev set only, 3 timing rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds")
    parser.add_argument("--before", default="070b24c^", help="git ref of the older visual.py")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=ROOT / "data" / "corpus" / "media",
        help="rendered development corpus (python -m tasks.video.corpus); skipped if absent",
    )
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    load_cascades()
    start = time.perf_counter()
    dev = labelled_frames()
    print(f"dev set: {len(dev)} frames (built in {time.perf_counter() - start:.0f} s)")
    print_scores("dev set (thresholds chosen on it)", *score(as_items(dev), visual_tags))
    check: list[LabelledFrame] = []
    if not args.quick:
        check = check_frames()
        print(f"\ncheck set: {len(check)} frames")
        print_scores("check set (not used for tuning)", *score(as_items(check), visual_tags))
    corpus: list[Item] = []
    if (args.corpus / "truth.json").is_file():
        corpus = corpus_frames(args.corpus)
        print(f"\ndevelopment corpus: {len(corpus)} scenes, tags of each:")
        counts, mistakes = score(corpus, visual_tags, show=True)
        print_scores("development corpus (3 keyframes per scene)", counts, mistakes)
    else:
        print(f"\n(no corpus at {args.corpus}: python -m tasks.video.corpus renders it)")

    before = load_before(args.before)
    taggers: dict[str, Callable[..., list[str]]] = {"after": visual_tags}
    if before is not None:
        before.load_cascades()
        taggers = {"before": before.visual_tags, "after": visual_tags}
    rounds = args.rounds or (3 if args.quick else 5)
    for name, frames in (("dev", dev), ("check", check)):
        if frames:
            # Scenes of three keyframes, as the ingest reads them: the frame and two shifted.
            scenes = [[f.frame, np.roll(f.frame, 4, axis=1), f.frame[:, ::-1]] for f in frames]
            print_speed(
                f"the {name} set ({len(scenes)} scenes of 3 keyframes)", scenes, taggers, rounds
            )
    if corpus:
        tag_retrieval(corpus, before, args.corpus.parent / "queries.toml")
        scenes = [frames for _, frames, _, _ in corpus]
        print_speed(f"the corpus ({len(scenes)} scenes of 3 keyframes)", scenes, taggers, rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
