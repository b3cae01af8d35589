"""Generated frames with known on-screen words, to measure OCR word recall.

Every frame is drawn from a seed, so a bench run and a test see the same pixels. Kinds:

- ``title``: one to three big words, centred, over a plain colour, a gradient, a photograph
  or a busy texture (with a dark outline there, as video titles have);
- ``lower_third``: a name and a caption line in small type on a dark band at the bottom,
  over a photograph or a texture;
- ``small``: lines of small body text (a slide) on a plain or gradient background;
- ``none``: photographs, textures and noise without text: every word read is junk.

Fonts are DejaVu/STIX TrueType (PIL, shipped with matplotlib) and OpenCV's Hershey fonts.
Photographs are those scikit-learn and matplotlib ship (china, flower, grace_hopper).

Example:
    >>> frames = ocr_frame_set(per_kind=2)
    >>> sorted({f.kind for f in frames})
    ['lower_third', 'none', 'small', 'title']
    >>> frames[0].image.shape
    (360, 640, 3)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["KINDS", "OcrFrame", "ocr_frame_set", "photographs", "word_recall"]

KINDS = ("title", "lower_third", "small", "none")

_WORDS = (  # noqa: SIM905
    "SOURDOUGH BASICS OVEN DANGER BACKUP UMBRELLA ERROR MINERALS INVOICE OVERDUE HIRING "
    "PLAN THANK YOU PASSWORD RESET FRESH HERBS HIKING TRAIL GLACIER VALLEY PARROT LAVA "
    "HARBOUR MARKET WEATHER REPORT BUDGET REVIEW GARDEN TOOLS SUMMER CAMP NIGHT TRAIN "
    "COFFEE BREAK SECURITY UPDATE CHAPTER WINTER STORM ROBOT KITCHEN SCIENCE FAIR OCEAN "
    "CURRENT DESERT BRIDGE CASTLE ENGINE MUSEUM PLANET FOREST RIVER CANYON BAKERY "
    "LIBRARY STATION"
).split()
_NUMBERS = ("404", "230", "2024", "12", "99", "7")
_NAMES = (  # noqa: SIM905
    "Maria Lopez; Daniel Okafor; Priya Raman; Tom Becker; Aiko Tanaka; Samuel Green; "
    "Lena Fischer; Omar Haddad"
).split("; ")
_ROLES = (  # noqa: SIM905
    "field biologist; head chef; city council member; mountain guide; lead engineer; "
    "weather forecaster; museum curator; harbour pilot"
).split("; ")
_SENTENCES = (
    "Check the oven temperature before baking",
    "Quarterly revenue grew across every region",
    "Remember to water the garden twice a week",
    "The trail closes at sunset during winter",
    "Backups run every night at two o'clock",
    "Invoices are due within thirty days",
    "Glaciers carved these deep valleys",
    "Parrots live high in the forest canopy",
)


@dataclass(frozen=True)
class OcrFrame:
    """One generated frame and the words drawn on it.

    Attributes:
        kind: one of :data:`KINDS`.
        image: BGR ``uint8`` frame.
        words: the words a viewer can read, in reading order (empty for ``none``).
        note: how it was drawn (font, background), for reports.
    """

    kind: str
    image: np.ndarray
    words: tuple[str, ...]
    note: str


def _norm(word: str) -> str:
    return re.sub(r"[^0-9a-z]", "", word.lower())


def word_recall(expected: list[str] | tuple[str, ...], read: str) -> tuple[int, int]:
    """``(found, total)``: how many expected words appear among the words read.

    Case and punctuation are ignored; each expected word counts once per occurrence.
    Single letters ("a") are not counted: OCR drops them as noise and search ignores them.

    Example:
        >>> word_recall(["SOURDOUGH", "BASICS"], "do basics")
        (1, 2)
    """
    seen = {_norm(w) for w in read.split()}
    wanted = [_norm(w) for w in expected if len(_norm(w)) > 1 or _norm(w).isdigit()]
    return sum(w in seen for w in wanted), len(wanted)


@functools.cache
def photographs() -> tuple[np.ndarray, ...]:
    """The photographs scikit-learn and matplotlib ship, as BGR frames of 640x360.

    Example:
        >>> len(photographs()) >= 2
        True
    """
    import matplotlib
    import sklearn

    paths = [
        Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg",
        Path(sklearn.__file__).parent / "datasets" / "images" / "flower.jpg",
        Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg",
    ]
    out = []
    for path in paths:
        image = cv2.imread(str(path))
        if image is not None:
            out.append(_cover(image, 640, 360))
    return tuple(out)


def _cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    scale = max(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    y0 = (resized.shape[0] - height) // 2
    x0 = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])


def _fonts() -> list[str]:
    import matplotlib

    root = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    names = (
        "DejaVuSans-Bold.ttf",
        "DejaVuSans.ttf",
        "DejaVuSerif.ttf",
        "DejaVuSansMono-Bold.ttf",
        "STIXGeneralBol.ttf",
        "DejaVuSerif-Bold.ttf",
    )
    return [str(root / n) for n in names if (root / n).is_file()]


def _texture(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, str]:
    """A busy background: blocks, stripes, noise or a fractal, in colour."""
    choice = int(rng.integers(0, 4))
    if choice == 0:
        cells = rng.integers(0, 255, (height // 12 + 1, width // 12 + 1, 3), dtype=np.uint8)
        image = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
        return image, "blocks"
    if choice == 1:
        x = np.arange(width)[None, :]
        y = np.arange(height)[:, None]
        f = rng.uniform(0.05, 0.2, 3)
        chans = [(127 + 127 * np.sin(f[c] * x + (c + 1) * 0.07 * y)) for c in range(3)]
        return np.dstack(chans).astype(np.uint8), "stripes"
    if choice == 2:
        noise = rng.integers(0, 255, (height // 3, width // 3, 3), dtype=np.uint8)
        image = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
        return cv2.GaussianBlur(image, (3, 3), 0), "noise"
    xs = np.linspace(-2.2, 0.8, width)
    ys = np.linspace(-1.0, 1.0, height)
    c = xs[None, :] + 1j * ys[:, None]
    z = np.zeros_like(c)
    count = np.zeros(c.shape, np.float32)
    for _ in range(40):
        z = np.where(np.abs(z) < 4, z * z + c, z)
        count += np.abs(z) < 4
    hue = (count / 40 * 179).astype(np.uint8)
    hsv = np.dstack([hue, np.full_like(hue, 220), np.full_like(hue, 230)])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), "fractal"


def _background(
    rng: np.random.Generator, width: int, height: int, options: tuple[str, ...]
) -> tuple[np.ndarray, str]:
    pick = options[int(rng.integers(0, len(options)))]
    if pick == "plain":
        colour = rng.integers(0, 255, 3)
        return np.full((height, width, 3), colour, np.uint8), "plain"
    if pick == "gradient":
        a, b = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
        t = np.linspace(0, 1, width)[None, :, None]
        image = (a * (1 - t) + b * t).astype(np.uint8)
        return np.repeat(image, height, axis=0), "gradient"
    if pick == "photo":
        photos = photographs()
        photo = photos[int(rng.integers(0, len(photos)))]
        return cv2.resize(photo, (width, height)), "photo"
    return _texture(rng, width, height)


def _luma(image: np.ndarray) -> float:
    return float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())


def _draw_pil(
    image: np.ndarray,
    lines: list[tuple[str, int, int, int]],
    font_path: str,
    fill: tuple[int, int, int],
    stroke: int = 0,
    stroke_fill: tuple[int, int, int] = (0, 0, 0),
) -> np.ndarray:
    """Draw ``(text, x, y, size)`` lines; ``x < 0`` centres the line."""
    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    for text, x, y, size in lines:
        font = ImageFont.truetype(font_path, size)
        if x < 0:
            x = (image.shape[1] - int(draw.textlength(text, font=font))) // 2
        draw.text((x, y), text, font=font, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def _title(rng: np.random.Generator, index: int) -> OcrFrame:
    width, height = (1280, 720) if index % 5 == 4 else (640, 360)
    image, bg = _background(rng, width, height, ("plain", "gradient", "photo", "texture"))
    count = int(rng.integers(1, 4))
    words = [_WORDS[int(i)] for i in rng.choice(len(_WORDS), count, replace=False)]
    if rng.random() < 0.25:
        words.append(_NUMBERS[int(rng.integers(0, len(_NUMBERS)))])
    text = " ".join(words)
    light = _luma(image) < 110
    fill = (250, 250, 250) if light else (15, 15, 15)
    busy = bg in {"photo", "blocks", "stripes", "noise", "fractal"}
    scale = width / 640
    if index % 3 == 2:
        # Hershey fonts: what cv2.putText draws in many generated videos.
        faces = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX)
        face = faces[int(rng.integers(0, 3))]
        size = rng.uniform(1.3, 2.0) * scale
        thick = max(2, round(size * 2))
        (tw, th), _ = cv2.getTextSize(text, face, size, thick)
        while tw > width * 0.92:
            size *= 0.9
            (tw, th), _ = cv2.getTextSize(text, face, size, thick)
        org = ((width - tw) // 2, (height + th) // 2)
        colour = (255, 255, 255) if light or busy else (10, 10, 10)
        if busy:
            cv2.putText(image, text, org, face, size, (0, 0, 0), thick + 4, cv2.LINE_AA)
        cv2.putText(image, text, org, face, size, colour, thick, cv2.LINE_AA)
        note = f"hershey{face} on {bg}"
    else:
        fonts = _fonts()
        font = fonts[int(rng.integers(0, len(fonts)))]
        size = int(rng.integers(40, 72) * scale)
        probe = ImageFont.truetype(font, size)
        while probe.getlength(text) > width * 0.92:
            size = int(size * 0.9)
            probe = ImageFont.truetype(font, size)
        stroke = max(2, size // 18) if busy else 0
        colour = (255, 255, 255) if busy else fill
        image = _draw_pil(image, [(text, -1, height // 2 - size // 2, size)], font, colour, stroke)
        note = f"{Path(font).stem} {size}px on {bg}"
    return OcrFrame("title", image, tuple(words), note)


def _lower_third(rng: np.random.Generator, index: int) -> OcrFrame:
    width, height = (1280, 720) if index % 4 == 3 else (640, 360)
    image, bg = _background(rng, width, height, ("photo", "photo", "texture", "gradient"))
    name = _NAMES[int(rng.integers(0, len(_NAMES)))]
    role = _ROLES[int(rng.integers(0, len(_ROLES)))]
    scale = width / 640
    top = int(height * 0.78)
    band = image[top : int(height * 0.95)].astype(np.float32)
    image[top : int(height * 0.95)] = (band * 0.3).astype(np.uint8)  # a dark, see-through band
    fonts = _fonts()
    font = fonts[int(rng.integers(0, len(fonts)))]
    big = int(rng.integers(16, 22) * scale)
    small = int(rng.integers(12, 16) * scale)
    x = int(width * 0.06)
    lines = [(name, x, top + int(4 * scale), big), (role, x, top + int(8 * scale) + big, small)]
    image = _draw_pil(image, lines, font, (245, 245, 245))
    words = tuple(name.split() + role.split())
    return OcrFrame("lower_third", image, words, f"{Path(font).stem} {big}/{small}px on {bg}")


def _small(rng: np.random.Generator, index: int) -> OcrFrame:
    width, height = 640, 360
    image, bg = _background(rng, width, height, ("plain", "gradient"))
    fonts = _fonts()
    font = fonts[int(rng.integers(0, len(fonts)))]
    size = int(rng.integers(14, 20))
    picks = rng.choice(len(_SENTENCES), 3, replace=False)
    lines = [(_SENTENCES[int(p)], 40, 90 + k * (size + 14), size) for k, p in enumerate(picks)]
    fill = (250, 250, 250) if _luma(image) < 110 else (15, 15, 15)
    image = _draw_pil(image, lines, font, fill)
    words = tuple(w for text, *_ in lines for w in text.split())
    return OcrFrame("small", image, words, f"{Path(font).stem} {size}px on {bg}")


def _none(rng: np.random.Generator, index: int) -> OcrFrame:
    image, bg = _background(rng, 640, 360, ("photo", "texture", "texture"))
    return OcrFrame("none", image, (), bg)


def ocr_frame_set(per_kind: int = 12, seed: int = 14) -> list[OcrFrame]:
    """``per_kind`` frames of each of :data:`KINDS`, the same for the same seed.

    Example:
        >>> [f.kind for f in ocr_frame_set(per_kind=1)]
        ['title', 'lower_third', 'small', 'none']
    """
    makers = {"title": _title, "lower_third": _lower_third, "small": _small, "none": _none}
    frames: list[OcrFrame] = []
    for index in range(per_kind):
        for kind in KINDS:
            rng = np.random.default_rng([seed, KINDS.index(kind), index])
            frames.append(makers[kind](rng, index))
    return frames
