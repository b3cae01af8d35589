"""Visual tags and thumbnails from the keyframes.

Tags are words a text query can match:

* the dominant colour names of the scene ("red", "dark blue"), ``plain <colour>`` when one
  colour fills the frame, and its brightness ("dark", "bright");
* what kind of picture it is (:mod:`tasks.video.scene_kind`): ``test pattern`` and
  ``colour bars``, ``photo`` + ``photograph``, ``slide``, ``drawing``, ``pattern``,
  ``fractal``, and on photographs ``sky``, ``trees``, ``landscape``;
* faces from OpenCV's bundled frontal-face Haar cascade: ``face`` and ``person`` for one,
  ``portrait`` when it is a close-up, ``two faces`` and ``two people`` for two.

Tag words are chosen not to collide with the cue words of queries: a one-colour frame is
``plain blue``, not ``blue screen`` (every "... on screen" query would match it).
Thumbnails are JPEGs of each scene's middle keyframe, written atomically.

Example:
    >>> visual_tags_for_scenes([[np.full((90, 160, 3), (0, 0, 255), np.uint8)]])
    [['red', 'plain red']]
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from tasks.video.scene_kind import frame_kind_tags
from tasks.video.stagelog import stage_logger

__all__ = [
    "PALETTE",
    "count_faces",
    "dominant_colors",
    "face_tags",
    "find_faces",
    "load_cascades",
    "visual_tags",
    "visual_tags_for_scenes",
    "write_thumbnails",
]

# Named colours in RGB; the names are the words people use in queries.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "dark gray": (64, 64, 64),
    "gray": (128, 128, 128),
    "light gray": (192, 192, 192),
    "white": (255, 255, 255),
    "red": (220, 20, 20),
    "dark red": (128, 0, 0),
    "pink": (255, 150, 190),
    "orange": (255, 150, 0),
    "brown": (140, 80, 30),
    "yellow": (255, 240, 0),
    "olive": (128, 128, 0),
    "green": (0, 140, 0),
    "dark green": (0, 70, 0),
    "light green": (130, 240, 130),
    "teal": (0, 128, 128),
    "cyan": (0, 230, 230),
    "light blue": (140, 190, 255),
    "blue": (0, 60, 255),
    "dark blue": (0, 0, 128),
    "purple": (128, 0, 128),
    "violet": (200, 100, 255),
    "magenta": (255, 0, 255),
}

_FACE_WIDTH = 320
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _palette_lab() -> tuple[list[str], np.ndarray]:
    names = list(PALETTE)
    rgb = np.array([[PALETTE[n] for n in names]], dtype=np.uint8)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    return names, lab


_NAMES, _LAB = _palette_lab()


def dominant_colors(frame: np.ndarray, *, min_share: float = 0.2, top: int = 2) -> list[str]:
    """Names of the colours covering at least ``min_share`` of the frame, largest first.

    Each pixel of a 64x36 thumbnail is given the nearest palette colour in CIELAB, where
    distance follows perceived difference.

    Example:
        >>> dominant_colors(np.full((36, 64, 3), (128, 0, 0), np.uint8))  # BGR navy
        ['dark blue']
    """
    small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 1, 3).astype(np.float32)
    nearest = np.argmin(((lab - _LAB[None, :, :]) ** 2).sum(axis=2), axis=1)
    counts = np.bincount(nearest, minlength=len(_NAMES)) / nearest.size
    order = np.argsort(-counts)
    return [_NAMES[i] for i in order[:top] if counts[i] >= min_share]


def brightness(frame: np.ndarray) -> str | None:
    """``"dark"`` or ``"bright"`` by mean luma, ``None`` in between.

    Example:
        >>> brightness(np.zeros((4, 4, 3), np.uint8))
        'dark'
    """
    luma = float(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).mean())
    if luma < 60:
        return "dark"
    if luma > 150:
        return "bright"
    return None


_per_thread = threading.local()


def _cascade(name: str) -> cv2.CascadeClassifier:
    # One classifier per thread: detectMultiScale on one shared CascadeClassifier from two
    # threads fails an OpenCV assertion (getScaleData), e.g. two files described at once by
    # one Dask worker of 2 threads.
    cache: dict[str, cv2.CascadeClassifier] = _per_thread.__dict__.setdefault("cascades", {})
    if name not in cache:
        path = os.path.join(cv2.data.haarcascades, name)  # type: ignore[attr-defined]
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError(f"OpenCV Haar cascade missing: {path}")
        cache[name] = cascade
    return cache[name]


_FACE_CASCADE = "haarcascade_frontalface_alt2.xml"
# A face this tall against the frame is a close-up: "portrait".
_PORTRAIT_HEIGHT = 0.3


def find_faces(frame: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Frontal faces as ``(x, y, w, h)`` fractions of the frame, from OpenCV's Haar cascade.

    The ``alt2`` frontal-face cascade: on the labelled frame set it found every face the
    ``default`` one found, plus a small one, with no false positive (``default`` took a
    flower for a face). The upper-body cascade is not used: it found no person in that set
    and took a Sierpinski carpet for one, at the cost of a second full cascade pass.

    Example:
        >>> find_faces(np.zeros((90, 160, 3), np.uint8))
        []
    """
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    # 320 px wide finds faces down to about 1/6 of the frame height and is 4x cheaper.
    if gray.shape[1] > _FACE_WIDTH:
        scale = _FACE_WIDTH / gray.shape[1]
        size = (_FACE_WIDTH, round(gray.shape[0] * scale))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    if float(gray.std()) < 8.0:  # a flat frame has nothing to find; skip the cascade
        return []
    gray = cv2.equalizeHist(gray)
    found = _cascade(_FACE_CASCADE).detectMultiScale(
        gray, scaleFactor=1.15, minNeighbors=6, minSize=(18, 18)
    )
    h, w = gray.shape
    return [(x / w, y / h, fw / w, fh / h) for x, y, fw, fh in found]


def count_faces(frame: np.ndarray) -> tuple[int, int]:
    """``(faces, people)`` in a frame; people are the faces (see :func:`find_faces`).

    Example:
        >>> count_faces(np.zeros((90, 160, 3), np.uint8))
        (0, 0)
    """
    faces = len(find_faces(frame))
    return faces, faces


def _count_words(n: int, one: str, many: str) -> str:
    word = _NUMBERS[n] if n < len(_NUMBERS) else "many"
    return f"{word} {one if n == 1 else many}"


def face_tags(faces: list[tuple[float, float, float, float]]) -> list[str]:
    """Words for the faces of a frame: ``face``/``person`` (+ ``portrait``) or counts.

    One face says ``face`` and ``person`` without a number: "one" is a word many
    queries hold for other reasons.

    Example:
        >>> face_tags([(0.4, 0.1, 0.3, 0.5)])  # half the frame tall: a close-up
        ['face', 'person', 'portrait']
        >>> face_tags([(0.1, 0.1, 0.1, 0.2), (0.6, 0.1, 0.1, 0.2)])
        ['two faces', 'two people']
    """
    if not faces:
        return []
    if len(faces) == 1:
        tags = ["face", "person"]
        if faces[0][3] >= _PORTRAIT_HEIGHT:
            tags.append("portrait")
        return tags
    return [_count_words(len(faces), "face", "faces"), _count_words(len(faces), "person", "people")]


# Kinds that are never a camera picture: the face cascade is skipped there (it is the
# costliest step of this stage and only adds false positives on them).
_NO_FACES = frozenset({"test pattern", "pattern", "fractal", "drawing"})


def visual_tags(frames: list[np.ndarray]) -> list[str]:
    """Tags for one scene from its keyframes.

    Colours are the union of the dominant colours of all keyframes; brightness, the
    one-colour ``plain`` tag, the picture kind and the faces come from the middle keyframe
    (the face cascade is the costliest part of this stage).

    Example:
        >>> visual_tags([np.zeros((90, 160, 3), np.uint8)])
        ['black', 'dark', 'plain black']
    """
    if not frames:
        return []
    colors: list[str] = []
    for frame in frames:
        for name in dominant_colors(frame):
            if name not in colors:
                colors.append(name)
    middle = frames[len(frames) // 2]
    tags = list(colors)
    level = brightness(middle)
    if level:
        tags.append(level)
    kind = frame_kind_tags(middle)
    faces = [] if _NO_FACES.intersection(kind) else find_faces(middle)
    if faces and "landscape" in kind:
        # A face in front of scenery is a picture of a person, not a landscape.
        kind = [k for k in kind if k != "landscape"]
    # "plain", not "<colour> screen": "screen" is in every "... on screen" query. A frame
    # that is a picture of something (a dark portrait on black) is not plain.
    single = dominant_colors(middle, min_share=0.6, top=1)
    if single and not kind and not faces:
        tags.append(f"plain {single[0]}")
    tags.extend(kind)
    tags.extend(face_tags(faces))
    return tags


def visual_tags_for_scenes(keyframes: list[list[np.ndarray]]) -> list[list[str]]:
    """:func:`visual_tags` for every scene.

    Example:
        >>> visual_tags_for_scenes([[np.full((9, 16, 3), 255, np.uint8)]])
        [['white', 'bright', 'plain white']]
    """
    tags = [visual_tags(frames) for frames in keyframes]
    stage_logger().info("visual: tagged %d scenes", len(tags))
    return tags


def write_thumbnails(
    keyframes: list[list[np.ndarray]],
    out_dir: Path | str,
    *,
    stem: str,
    width: int = 320,
    quality: int = 80,
    storage_options: Mapping[str, str] | None = None,
) -> list[str]:
    """Write each scene's middle keyframe as ``<out_dir>/<stem>-<index>.jpg``.

    Each file is encoded in memory, written to a temporary file in ``out_dir`` and renamed,
    so a reader never sees half a JPEG and a crash leaves no partial file. An object-store
    ``out_dir`` (``s3://bucket/tessera/thumbnails``) gets one PUT per file instead, which
    is atomic there too.

    Args:
        keyframes: per scene, its keyframes.
        out_dir: target folder (created), or an object-store URI.
        stem: file name prefix, e.g. the video's content hash.
        width: thumbnail width in pixels (height keeps the aspect ratio).
        quality: JPEG quality.
        storage_options: credentials and endpoint of an object-store ``out_dir``
            (``Settings.lancedb_storage_options``).

    Returns:
        The thumbnail paths (or URIs), one per scene.

    Example:
        >>> write_thumbnails([[frame]], Path("thumbs"), stem="abc")  # doctest: +SKIP
        ['thumbs/abc-0.jpg']
    """
    if "://" in str(out_dir) and not str(out_dir).startswith("file://"):
        return _put_thumbnails(keyframes, str(out_dir), stem, width, quality, storage_options)
    out_dir = Path(str(out_dir).removeprefix("file://"))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    for index, frames in enumerate(keyframes):
        jpeg = _thumbnail_jpeg(frames, width, quality, f"thumbnail {index} of {stem}")
        target = out_dir / f"{stem}-{index}.jpg"
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}-{index}.", suffix=".tmp", dir=out_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(jpeg)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(str(target))
    return paths


def _thumbnail_jpeg(frames: list[np.ndarray], width: int, quality: int, what: str) -> bytes:
    """The middle keyframe, resized to ``width`` and JPEG-encoded."""
    frame = frames[len(frames) // 2]
    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"{what}: JPEG encoding failed")
    return bytes(jpeg.tobytes())


def _put_thumbnails(
    keyframes: list[list[np.ndarray]],
    base: str,
    stem: str,
    width: int,
    quality: int,
    storage_options: Mapping[str, str] | None,
) -> list[str]:
    """:func:`write_thumbnails` into object storage: one PUT per thumbnail."""
    # Imported here: the store pulls in pyarrow's file systems, which local runs never need.
    from tasks.video.store import write_object

    uris: list[str] = []
    for index, frames in enumerate(keyframes):
        jpeg = _thumbnail_jpeg(frames, width, quality, f"thumbnail {index} of {stem}")
        uri = f"{base.rstrip('/')}/{stem}-{index}.jpg"
        write_object(uri, jpeg, storage_options)
        uris.append(uri)
    return uris


def load_cascades() -> None:
    """Parse the Haar cascades now (about a second), e.g. before timing or serving.

    Example:
        >>> load_cascades()
    """
    _cascade(_FACE_CASCADE)
