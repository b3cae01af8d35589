"""What kind of picture a frame is, in words a query uses: classic image statistics only.

No captioning or CLIP weights can be had offline, so this names what cheap statistics can
say reliably and nothing else (a wrong tag costs search more than a missing one):

* ``test pattern``, ``colour bars`` / ``color bars``: vertical bands of five or more
  saturated hues over most of the width (SMPTE, EBU/PAL bars, ffmpeg ``testsrc``);
* ``photo``, ``photograph``: many colours and a high colour entropy without a synthetic
  rainbow palette;
* ``slide``: three or more horizontal text lines on a flat, few-colour background;
* ``drawing``: dark strokes on a light, few-colour background without text lines;
* ``pattern``: a busy two-tone texture (cellular automata, checkerboards);
* ``fractal``: a rainbow-palette picture with self-similar edges (box-counting dimension
  about 1.4-1.75), as escape-time fractals are;
* ``sky``, ``trees``, ``landscape``: photographs only, by colour-region layout (a smooth
  blue or hazy top band; textured green below).

Everything runs on 64- to 640-pixel-wide copies of one frame (a few ms).

Example:
    >>> frame_kind_tags(np.zeros((90, 160, 3), np.uint8))
    []
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "FrameStats",
    "frame_kind_tags",
    "frame_stats",
    "horizontal_rules",
    "text_lines",
    "text_rows",
]

_BARS = ("test pattern", "colour bars", "color bars")


@dataclass(frozen=True)
class FrameStats:
    """The statistics the kind tags are decided on (see :func:`frame_stats`)."""

    bars: bool
    colours: int
    entropy: float
    top8: float
    flat: float
    busy: float
    two_tone: float
    hues: int
    edges: float
    dimension: float
    text_lines: int
    text_top: float
    rules: int
    light: float
    sky: float
    greenery: float
    grayscale: bool
    gray_entropy: float

    @property
    def photo(self) -> bool:
        """A photograph: many colours (or gray levels), high entropy, edges, no rainbow
        palette, no test card."""
        if self.bars or self.edges < 0.02 or self.dimension > 1.9:
            return False
        if self.grayscale:
            return self.gray_entropy >= 4.8 and self.top8 < 0.9
        return self.colours >= 250 and self.entropy >= 5.0 and self.hues <= 5 and self.top8 < 0.7

    @property
    def fractal(self) -> bool:
        """An escape-time fractal: rainbow palette, many colours, self-similar edges."""
        return (
            not self.bars
            and self.hues >= 6
            and self.colours >= 400
            and 1.4 <= self.dimension <= 1.75
            and self.edges >= 0.03
            and self.text_lines < 2
        )

    @property
    def slide(self) -> bool:
        """Several text lines on a flat background of few colours, or two under a
        template's full-width rule (header bar, footer line)."""
        # A page of dense text is as busy as a texture; its many lines tell them apart.
        lines = self.text_lines >= 8 or (self.text_lines >= 3 and self.busy < 0.4)
        # Two lines only with a rule and text above the lower third: a full-width
        # lower-third bar with a name and a role is no slide.
        templated = (
            self.text_lines >= 2 and self.rules >= 1 and self.text_top < 0.6 and self.busy < 0.4
        )
        return (lines or templated) and not self.photo and not self.bars and self.top8 >= 0.85

    @property
    def drawing(self) -> bool:
        """Dark strokes on a light background, few colours, no text lines."""
        return (
            not self.photo
            and not self.bars
            and self.text_lines < 2
            and self.light >= 0.6
            and self.top8 >= 0.85
            and self.hues <= 2
            and 0.02 <= self.edges <= 0.2
            and self.busy >= 0.1
        )

    @property
    def pattern(self) -> bool:
        """A busy two-tone texture over the whole frame."""
        return (
            not self.photo
            and not self.bars
            and self.text_lines < 8
            and self.busy >= 0.4
            and self.two_tone >= 0.85
            and self.top8 >= 0.9
        )


def _crop_borders(frame: np.ndarray) -> np.ndarray:
    """``frame`` without black letterbox or pillarbox bars (the statistics would count them).

    The bars are found on a 160-px-wide copy, so a 4K frame costs no more than a small one.
    """
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (160, max(1, round(160 * h / w))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    rows = np.flatnonzero(gray.max(axis=1) > 24)
    cols = np.flatnonzero(gray.max(axis=0) > 24)
    if rows.size == 0 or cols.size == 0:
        return frame
    sy, sx = h / gray.shape[0], w / gray.shape[1]
    top, bottom = int(rows[0] * sy), int(np.ceil((rows[-1] + 1) * sy))
    left, right = int(cols[0] * sx), int(np.ceil((cols[-1] + 1) * sx))
    # Only strip real bars: a content region under a third of the frame is not a picture.
    if (bottom - top) * 3 < h or (right - left) * 3 < w:
        return frame
    return frame[top:bottom, left:right]


def _colour_bars(small: np.ndarray) -> bool:
    """Vertical bands of five or more saturated hues across the top 60 % of a 64x36 frame."""
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
    band = lab[: int(small.shape[0] * 0.6)]
    column = np.median(band, axis=0)
    if float((np.linalg.norm(band - column[None], axis=2) < 12).mean()) < 0.8:
        return False
    edges = np.flatnonzero(np.linalg.norm(np.diff(column, axis=0), axis=1) > 15) + 1
    bounds = [0, *edges.tolist(), column.shape[0]]
    covered = 0
    hues: set[int] = set()
    saturated = 0
    for a, b in itertools.pairwise(bounds):
        if b - a < 3:
            continue
        covered += b - a
        mean = column[a:b].mean(axis=0)
        da, db = float(mean[1]) - 128.0, float(mean[2]) - 128.0
        if np.hypot(da, db) > 30:
            saturated += 1
            hues.add(int((np.degrees(np.arctan2(db, da)) % 360) // 45))
    return covered >= 0.85 * column.shape[0] and saturated >= 5 and len(hues) >= 4


def text_rows(gray: np.ndarray) -> list[float]:
    """Heights (fractions of the frame, top first) of the horizontal text lines of a
    grayscale frame about 640 px wide: rows of wide, short blobs.

    The morphological gradient marks letter strokes; closing it horizontally joins the
    letters of a word or line into one blob, kept when it is 8-60 px tall, at least three
    times as wide and partly (not wholly) filled, as a line of letters is; blobs side by
    side at one height are one line.

    Example:
        >>> g = np.full((360, 640), 255, np.uint8)
        >>> for y in (80, 160, 240):
        ...     _ = cv2.putText(g, "quarterly results", (40, y), 0, 1.0, 0, 2)
        >>> [round(r, 2) for r in text_rows(g)]
        [0.19, 0.42, 0.64]
    """
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    strokes = (grad > 60).astype(np.uint8)
    joined = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, np.ones((3, 15), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    rows: list[tuple[float, float]] = []  # (centre, height) of each accepted blob
    for x, y, w, h, area in stats[1:]:
        if not 8 <= h <= 60 or w < 3 * h or w > 0.95 * gray.shape[1]:
            continue
        fill = float(strokes[y : y + h, x : x + w].mean())
        if 0.12 <= fill <= 0.75 and area >= 0.4 * w * h:
            rows.append((y + h / 2, float(h)))
    # Words of one line that the closing did not join are one line, not several.
    lines: list[float] = []
    last = -1e9
    for centre, h in sorted(rows):
        if centre - last > h / 2:
            lines.append(float(centre / gray.shape[0]))
            last = centre
    return lines


def text_lines(gray: np.ndarray) -> int:
    """How many text lines :func:`text_rows` finds.

    Example:
        >>> text_lines(np.full((360, 640), 255, np.uint8))
        0
    """
    return len(text_rows(gray))


def horizontal_rules(gray: np.ndarray) -> int:
    """Full-width horizontal edges (a slide template's header bar or footer line).

    A row counts when a strong vertical step runs across at least 80 % of its width;
    neighbouring rows are one rule. The outermost rows are skipped: a frame or crop
    border is no rule.

    Example:
        >>> g = np.zeros((360, 640), np.uint8)
        >>> g[:30] = 255  # a header bar
        >>> horizontal_rules(g)
        1
    """
    step = np.abs(np.diff(gray.astype(np.int16), axis=0)) > 40
    full = np.flatnonzero(step.mean(axis=1) >= 0.8)
    full = full[(full >= 2) & (full < gray.shape[0] - 3)]
    if full.size == 0:
        return 0
    return int(1 + np.count_nonzero(np.diff(full) > 3))


def _box_dimension(edges: np.ndarray) -> float:
    """Box-counting dimension of an edge map over boxes of 2-32 px (0 without edges)."""
    counts = []
    sizes = (2, 4, 8, 16, 32)
    for s in sizes:
        h, w = (edges.shape[0] // s) * s, (edges.shape[1] // s) * s
        counts.append(edges[:h, :w].reshape(h // s, s, w // s, s).any(axis=(1, 3)).sum())
    if min(counts) == 0:
        return 0.0
    return float(-np.polyfit(np.log(sizes), np.log(counts), 1)[0])


def frame_stats(frame: np.ndarray) -> FrameStats:
    """Colour, texture, edge, text and layout statistics of one BGR frame.

    Example:
        >>> frame_stats(np.zeros((90, 160, 3), np.uint8)).colours
        1
    """
    content = _crop_borders(frame)
    s160 = cv2.resize(content, (160, 90), interpolation=cv2.INTER_AREA)
    s64 = cv2.resize(s160, (64, 36), interpolation=cv2.INTER_AREA)
    bars = _colour_bars(s64)

    g160 = cv2.cvtColor(s160, cv2.COLOR_BGR2GRAY)
    # A dark photograph (dusk, night) has its colours squeezed into a few bins; stretch it
    # so the colour count measures the picture, not the exposure.
    peak = float(np.percentile(g160, 99))
    stretched = s160 if peak >= 160 or peak < 8 else cv2.convertScaleAbs(s160, alpha=230 / peak)
    q = (stretched // 16).reshape(-1, 3).astype(np.int32)
    counts = np.bincount(q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2], minlength=4096)
    share = counts[counts > 0] / q.shape[0]
    entropy = float(-(share * np.log2(share)).sum())
    top8 = float(np.sort(share)[::-1][:8].sum())

    # A black-and-white photograph has few colours but many gray levels.
    levels = np.bincount((g160 // 4).ravel(), minlength=64) / g160.size
    levels = levels[levels > 0]

    kernel = np.ones((3, 3), np.uint8)
    spread = cv2.dilate(g160, kernel) - cv2.erode(g160, kernel)
    hsv = cv2.cvtColor(s160, cv2.COLOR_BGR2HSV)
    vivid = (hsv[..., 1] > 90) & (hsv[..., 2] > 60)
    hue_share = np.bincount((hsv[..., 0][vivid] // 15).astype(np.int64), minlength=12) / vivid.size

    height = max(1, round(content.shape[0] * 640 / content.shape[1]))
    g640 = cv2.cvtColor(
        cv2.resize(content, (640, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY
    )
    if stretched is not s160:  # the same exposure stretch, so edges of a dark photo count
        g640 = cv2.convertScaleAbs(g640, alpha=230 / peak)
    # Every other pixel, unblurred: averaging would turn a two-tone texture into grays.
    sub = g640[::2, ::2]
    tones = np.sort(np.bincount((sub // 32).ravel(), minlength=8))[::-1]
    g320 = cv2.resize(g640, (320, max(1, height // 2)), interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(g320, 60, 150) > 0
    # Text lines only decide "slide", which needs a flat few-colour frame; a textured
    # frame would cost the most here (thousands of blobs) for nothing.
    rows = text_rows(g640) if top8 >= 0.8 else []
    lines = len(rows)
    rules = horizontal_rules(g640) if lines >= 2 else 0

    sky, greenery = _layout(s64, spread)
    return FrameStats(
        bars=bars,
        colours=int((counts > 0).sum()),
        entropy=entropy,
        top8=top8,
        flat=float((spread <= 4).mean()),
        busy=float((spread > 40).mean()),
        two_tone=float(tones[:2].sum() / sub.size),
        hues=int((hue_share > 0.02).sum()),
        edges=float(edges.mean()),
        dimension=_box_dimension(edges),
        text_lines=lines,
        text_top=rows[0] if rows else 1.0,
        rules=rules,
        light=float((g160 >= 200).mean()),
        sky=sky,
        greenery=greenery,
        grayscale=bool(float(hsv[..., 1].mean()) < 12),
        gray_entropy=float(-(levels * np.log2(levels)).sum()),
    )


def _layout(s64: np.ndarray, spread160: np.ndarray) -> tuple[float, float]:
    """``(sky, greenery)``: sky-like share of the top quarter, textured-green share below.

    Sky-like: smooth and either blue or bright and pale (haze, overcast), and the top
    band brighter than the bottom half. Greenery: green-to-olive hues with texture.
    """
    hsv = cv2.cvtColor(s64, cv2.COLOR_BGR2HSV).astype(np.int32)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    texture = cv2.resize(spread160, (64, 36), interpolation=cv2.INTER_AREA)
    smooth = texture <= 12
    blue = (h >= 90) & (h <= 130) & (s >= 30) & (v >= 110)
    pale = (s < 40) & (v >= 170)
    top = slice(0, 9)
    sky = float(((blue | pale) & smooth)[top].mean())
    if float(v[top].mean()) <= float(v[18:].mean()):
        sky = 0.0
    green = (h >= 25) & (h <= 85) & (s >= 40) & (v >= 30) & (texture >= 10)
    return sky, float(green[9:].mean())


def frame_kind_tags(frame: np.ndarray) -> list[str]:
    """The kind tags of one frame, most specific first.

    Example:
        >>> bars = np.zeros((36, 64, 3), np.uint8)
        >>> for i, bgr in enumerate([(192,) * 3, (0, 192, 192), (192, 192, 0), (0, 192, 0),
        ...                          (192, 0, 192), (0, 0, 192), (192, 0, 0), (0, 0, 0)]):
        ...     bars[:, i * 8 : i * 8 + 8] = bgr
        >>> frame_kind_tags(bars)
        ['test pattern', 'colour bars', 'color bars']
    """
    st = frame_stats(frame)
    if st.bars:
        return list(_BARS)
    tags: list[str] = []
    if st.photo:
        # Both words: the full-text index does not relate "photo" to "photograph".
        tags.extend(("photo", "photograph"))
        sky = st.sky >= 0.5
        trees = st.greenery >= 0.12
        if sky:
            tags.append("sky")
        if trees:
            tags.append("trees")
        if sky and trees:
            tags.append("landscape")
    elif st.fractal:
        tags.append("fractal")
    elif st.slide:
        tags.append("slide")
    elif st.pattern:
        tags.append("pattern")
    elif st.drawing:
        tags.append("drawing")
    return tags
