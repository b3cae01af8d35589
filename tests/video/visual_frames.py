"""A labelled frame set for the visual tags, built only from what ships here.

Sources: ffmpeg ``lavfi`` test sources (colour bars, test cards, fractals, cellular
automata, gradients), the photographs bundled with scikit-learn (a temple over a lake,
a flower) and matplotlib (Grace Hopper's portrait), slides and title cards drawn with
``cv2.putText``, line drawings, flat colours and noise. Every frame goes through a JPEG
round trip, as keyframes decoded from a lossy video do.

Each frame carries the tags it must get (``tags``) and the tags whose presence is not
scored either way (``ignore``: e.g. "pattern" on a Sierpinski carpet); every other scored
tag is a false positive when it appears.

Example:
    >>> frames = labelled_frames(include_photos=False)  # doctest: +SKIP
    >>> frames[0].name, sorted(frames[0].tags)  # doctest: +SKIP
    ('smptebars', ['colour bars', 'test pattern'])
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

SCORED = (
    "test pattern",
    "colour bars",
    "photograph",
    "face",
    "portrait",
    "people",
    "slide",
    "drawing",
    "sky",
    "trees",
    "landscape",
    "fractal",
    "pattern",
)
"""The tags the labelled set scores (colour names and brightness are scored elsewhere)."""

SIZE = (640, 360)


@dataclass
class LabelledFrame:
    """One BGR frame with the tags it must and may get."""

    name: str
    frame: np.ndarray
    tags: set[str] = field(default_factory=set)
    ignore: set[str] = field(default_factory=set)


def _jpeg(frame: np.ndarray, quality: int = 75) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def lavfi_frame(source: str, *, t: float = 1.0, size: tuple[int, int] = SIZE) -> np.ndarray:
    """One BGR frame at ``t`` seconds of an ffmpeg ``lavfi`` source.

    Example:
        >>> lavfi_frame("smptebars").shape  # doctest: +SKIP
        (360, 640, 3)
    """
    w, h = size
    sized = {"colorchart", "mptestsrc", "allrgb", "allyuv"}
    spec = source if source.split("=")[0] in sized else f"{source}=size={w}x{h}:rate=25"
    if "=" in source and source.split("=")[0] not in sized:
        spec = f"{source}:size={w}x{h}:rate=25"
    out = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "lavfi", "-i", spec, "-ss", str(t)),
            *("-frames:v", "1", "-vf", f"scale={w}:{h}", "-f", "rawvideo"),
            *("-pix_fmt", "bgr24", "-"),
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(out, np.uint8).reshape(h, w, 3).copy()


def shipped_photo(name: str) -> np.ndarray | None:
    """A photograph shipped with scikit-learn or matplotlib, or ``None`` when missing.

    ``name`` is ``china``, ``flower`` (scikit-learn) or ``grace_hopper`` (matplotlib).

    Example:
        >>> shipped_photo("china").shape  # doctest: +SKIP
        (427, 640, 3)
    """
    try:
        if name == "grace_hopper":
            import matplotlib

            path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        else:
            import sklearn.datasets

            path = Path(sklearn.datasets.__file__).parent / "images" / f"{name}.jpg"
    except ImportError:
        return None
    image = cv2.imread(str(path))
    return image


def _fit(image: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """``image`` centre-cropped to the aspect of ``size`` and resized to it."""
    w, h = size
    ih, iw = image.shape[:2]
    if iw / ih > w / h:
        cw = round(ih * w / h)
        x = (iw - cw) // 2
        image = image[:, x : x + cw]
    else:
        ch = round(iw * h / w)
        y = (ih - ch) // 2
        image = image[y : y + ch]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def _pillarbox(image: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """``image`` scaled to the frame height with black bars left and right."""
    w, h = size
    scaled = cv2.resize(image, (round(image.shape[1] * h / image.shape[0]), h))
    out = np.zeros((h, w, 3), np.uint8)
    x = (w - scaled.shape[1]) // 2
    out[:, x : x + scaled.shape[1]] = scaled[:, : w - x]
    return out


_WORDS = [
    *("quarterly", "results", "revenue", "grew", "twelve", "percent", "costs", "fell"),
    *("hiring", "plan", "next", "steps", "agenda", "introduction", "budget", "review"),
    *("questions", "timeline", "summary", "welcome", "project", "goals", "risks"),
    *("owners", "status", "update", "customer", "feedback", "roadmap", "launch"),
]


def text_slide(
    seed: int,
    *,
    lines: int = 5,
    background: tuple[int, int, int] = (255, 255, 255),
    ink: tuple[int, int, int] = (20, 20, 20),
    size: tuple[int, int] = SIZE,
    title: bool = True,
) -> np.ndarray:
    """A slide: a title and ``lines`` bullet lines of words drawn with ``cv2.putText``.

    Example:
        >>> text_slide(0).shape
        (360, 640, 3)
    """
    rng = np.random.default_rng(seed)
    w, h = size
    frame = np.full((h, w, 3), background, np.uint8)
    y = 50
    if title:
        words = " ".join(rng.choice(_WORDS, 2)).upper()
        cv2.putText(frame, words, (30, y), cv2.FONT_HERSHEY_DUPLEX, 1.2, ink, 2, cv2.LINE_AA)
        y += 50
    step = max(24, (h - y - 10) // max(lines, 1))
    for _ in range(lines):
        words = " ".join(rng.choice(_WORDS, int(rng.integers(3, 6))))
        cv2.circle(frame, (40, y - 7), 4, ink, -1, cv2.LINE_AA)
        cv2.putText(frame, words, (55, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, ink, 1, cv2.LINE_AA)
        y += step
    return frame


def title_card(
    text: str, background: tuple[int, int, int], size: tuple[int, int] = SIZE
) -> np.ndarray:
    """One centred line of black text on a white box over a flat colour (the samples' look).

    Example:
        >>> title_card("EXIT", (255, 0, 0)).shape
        (360, 640, 3)
    """
    w, h = size
    frame = np.full((h, w, 3), background, np.uint8)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, 1.6, 3)
    x, y = (w - tw) // 2, (h + th) // 2
    cv2.rectangle(frame, (x - 14, y - th - 14), (x + tw + 14, y + 14), (255, 255, 255), -1)
    cv2.putText(frame, text, (x, y), cv2.FONT_HERSHEY_DUPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    return frame


def line_drawing(seed: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Dark strokes on white: circles, polylines and boxes, like a sketch or diagram.

    Example:
        >>> line_drawing(0).shape
        (360, 640, 3)
    """
    rng = np.random.default_rng(seed)
    w, h = size
    frame = np.full((h, w, 3), 250, np.uint8)
    for _ in range(int(rng.integers(6, 12))):
        kind = int(rng.integers(0, 3))
        colour = (int(rng.integers(0, 60)),) * 3
        if kind == 0:
            centre = (int(rng.integers(60, w - 60)), int(rng.integers(60, h - 60)))
            cv2.circle(frame, centre, int(rng.integers(15, 70)), colour, 2, cv2.LINE_AA)
        elif kind == 1:
            pts = rng.integers((20, 20), (w - 20, h - 20), (int(rng.integers(3, 7)), 2))
            cv2.polylines(frame, [pts.astype(np.int32)], False, colour, 2, cv2.LINE_AA)
        else:
            x, y = int(rng.integers(20, w - 150)), int(rng.integers(20, h - 100))
            cv2.rectangle(frame, (x, y), (x + int(rng.integers(40, 140)), y + 60), colour, 2)
    return frame


def flat_graphic(seed: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Filled shapes in a few flat colours on a flat background (an animation still).

    Example:
        >>> flat_graphic(0).shape
        (360, 640, 3)
    """
    rng = np.random.default_rng(seed)
    w, h = size
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(5)]
    frame = np.full((h, w, 3), colours[0], np.uint8)
    for i in range(int(rng.integers(3, 7))):
        colour = colours[1 + i % 4]
        centre = (int(rng.integers(60, w - 60)), int(rng.integers(60, h - 60)))
        if i % 2:
            cv2.circle(frame, centre, int(rng.integers(30, 90)), colour, -1, cv2.LINE_AA)
        else:
            pts = rng.integers((0, 0), (w, h), (3, 2)).astype(np.int32)
            cv2.fillPoly(frame, [pts], colour, cv2.LINE_AA)
    return frame


def lower_third(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with a dark caption bar and white text across its lower third.

    Example:
        >>> lower_third(np.zeros((360, 640, 3), np.uint8), "Jane Doe").shape
        (360, 640, 3)
    """
    out = frame.copy()
    h, w = out.shape[:2]
    top = int(h * 0.78)
    out[top : top + 44, 20 : w - 20] = (out[top : top + 44, 20 : w - 20] * 0.3).astype(np.uint8)
    cv2.putText(out, text, (36, top + 31), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    return out


def labelled_frames(*, include_photos: bool = True) -> list[LabelledFrame]:
    """The labelled set: about 80 frames, JPEG round-tripped, 640x360.

    Args:
        include_photos: add the shipped photographs and their crops (skipped quietly when
            scikit-learn or matplotlib is missing).

    Example:
        >>> len(labelled_frames()) > 50  # doctest: +SKIP
        True
    """
    out: list[LabelledFrame] = []

    def add(name: str, frame: np.ndarray, tags: set[str], ignore: set[str] | None = None) -> None:
        out.append(LabelledFrame(name, _jpeg(frame), set(tags), set(ignore or ())))

    bars = {"test pattern", "colour bars"}
    if shutil.which("ffmpeg"):
        for src in ("smptebars", "smptehdbars", "pal75bars", "pal100bars"):
            add(src, lavfi_frame(src), bars)
            add(f"{src}-small", lavfi_frame(src, size=(320, 240)), bars)
        for src, t in (("testsrc", 1.0), ("testsrc", 7.3), ("testsrc2", 2.0), ("testsrc2", 9.0)):
            add(f"{src}@{t}", lavfi_frame(src, t=t), bars)
        for src in ("rgbtestsrc", "yuvtestsrc", "colorchart", "colorspectrum", "mptestsrc"):
            add(src, lavfi_frame(src), set(), {"test pattern", "colour bars", "pattern"})
        for t in (1.0, 4.0, 12.0):
            add(f"mandelbrot@{t}", lavfi_frame("mandelbrot", t=t), {"fractal"}, {"pattern"})
        add("sierpinski", lavfi_frame("sierpinski"), {"fractal"}, {"pattern"})
        add(
            "sierpinski-triangle", lavfi_frame("sierpinski=type=triangle"), {"fractal"}, {"pattern"}
        )
        for src, t in (("cellauto", 3.0), ("cellauto=rule=30", 5.0), ("life", 2.0), ("life", 8.0)):
            add(f"{src}@{t}", lavfi_frame(src, t=t), {"pattern"}, {"fractal"})
        for t in (0.5, 3.0):
            add(f"gradients@{t}", lavfi_frame("gradients", t=t), set())
    for i in range(6):
        bg = [(255, 255, 255), (250, 240, 230), (40, 40, 40), (120, 60, 20)][i % 4]
        ink = (20, 20, 20) if sum(bg) > 384 else (240, 240, 240)
        add(f"slide{i}", text_slide(i, lines=4 + i % 3, background=bg, ink=ink), {"slide"})
    add("slide-notitle", text_slide(9, lines=8, title=False), {"slide"})
    for i, (word, bg) in enumerate(
        [("EXIT", (255, 0, 0)), ("WELCOME", (0, 0, 220)), ("PIZZA MENU", (0, 128, 128))]
    ):
        add(f"title{i}", title_card(word, bg), set(), {"slide"})
    for i in range(3):
        add(f"drawing{i}", line_drawing(i), {"drawing"})
    for i in range(3):
        add(f"graphic{i}", flat_graphic(i), set(), {"drawing", "pattern"})
    flats = [(0, 0, 0), (255, 255, 255), (0, 0, 255), (255, 0, 0), (0, 200, 0), (128, 128, 128)]
    for bgr in flats:
        add(f"flat{bgr}", np.full((SIZE[1], SIZE[0], 3), bgr, np.uint8), set())
    rng = np.random.default_rng(7)
    add("noise", rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8), set(), {"pattern"})
    add(
        "noise-gray",
        np.repeat(rng.integers(0, 256, (SIZE[1], SIZE[0], 1), np.uint8), 3, 2),
        set(),
        {"pattern"},
    )
    ramp = np.tile(np.linspace(0, 255, SIZE[0], dtype=np.uint8)[None, :, None], (SIZE[1], 1, 3))
    add("ramp", ramp, set())
    if include_photos:
        _add_photos(add)
    return out


def _add_photos(add: object) -> None:
    """The shipped photographs: whole, cropped, darkened, with a lower third."""
    assert callable(add)
    scene = {"photograph", "sky", "trees", "landscape"}
    china = shipped_photo("china")
    if china is not None:
        add("china", _fit(china), scene)
        add("china-left", _fit(china[:, :400]), scene, {"landscape"})
        add(
            "china-temple", _fit(china[0:300, 0:330]), {"photograph", "sky"}, {"trees", "landscape"}
        )
        add("china-trees", _fit(china[250:, 300:]), {"photograph", "trees"}, {"landscape"})
        add("china-lower-third", lower_third(_fit(china), "Summer Palace, Beijing"), scene)
        add(
            "china-dusk",
            (_fit(china) * 0.35).astype(np.uint8),
            {"photograph"},
            {"sky", "trees", "landscape"},
        )
    flower = shipped_photo("flower")
    if flower is not None:
        add("flower", _fit(flower), {"photograph"})
        add("flower-close", _fit(flower[80:350, 150:500]), {"photograph"})
        add("flower-mirror", _fit(flower[:, ::-1]), {"photograph"})
    grace = shipped_photo("grace_hopper")
    if grace is not None:
        portrait = {"photograph", "face", "portrait"}
        add("grace", _fit(grace), portrait)
        add("grace-pillarbox", _pillarbox(grace), portrait)
        add("grace-small", _pillarbox(cv2.resize(grace, (256, 300))), portrait)
        add("grace-lower-third", lower_third(_pillarbox(grace), "Grace Hopper"), portrait)
        pair = np.hstack([cv2.resize(grace, (320, 375)), cv2.resize(grace[:, ::-1], (320, 375))])
        add("grace-pair", _fit(pair), {"photograph", "face", "people"}, {"portrait"})
        wide = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        wide[:] = (90, 70, 60)
        wide[100:340, 240:445] = cv2.resize(grace, (205, 240))
        add("grace-far", wide, {"face"}, {"photograph", "portrait"})


def _h264(frame: np.ndarray, crf: int = 28) -> np.ndarray:
    """``frame`` through one libx264 encode and decode, as a keyframe of a real video is."""
    h, w = frame.shape[:2]
    w2, h2 = w - w % 2, h - h % 2
    out = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w2}x{h2}"),
            *("-i", "-", "-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p"),
            *("-f", "h264", "-"),
        ],
        input=np.ascontiguousarray(frame[:h2, :w2]).tobytes(),
        check=True,
        capture_output=True,
    ).stdout
    raw = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "h264", "-i", "-", "-frames:v", "1"),
            *("-f", "rawvideo", "-pix_fmt", "bgr24", "-"),
        ],
        input=out,
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(h2, w2, 3).copy()


def check_frames() -> list[LabelledFrame]:
    """A second labelled set, not used to choose the thresholds: other sizes, seeds, fonts,
    crops and sources, every frame through an H.264 round trip (CRF 28).

    Example:
        >>> len(check_frames()) > 30  # doctest: +SKIP
        True
    """
    out: list[LabelledFrame] = []

    def add(name: str, frame: np.ndarray, tags: set[str], ignore: set[str] | None = None) -> None:
        out.append(LabelledFrame(name, _h264(frame), set(tags), set(ignore or ())))

    bars = {"test pattern", "colour bars"}
    hd = (1280, 720)
    add("smptebars-hd", lavfi_frame("smptebars", size=hd), bars)
    add("pal75bars-sd", lavfi_frame("pal75bars", size=(720, 576)), bars)
    add("testsrc-hd@20", lavfi_frame("testsrc", t=20.0, size=hd), bars)
    add("testsrc2-small", lavfi_frame("testsrc2", t=3.0, size=(320, 180)), bars)
    zoom = "mandelbrot=start_x=-0.743643887:start_y=-0.131825904:start_scale=0.05"
    add("mandelbrot-zoom", lavfi_frame(zoom, t=1.0), {"fractal"}, {"pattern"})
    add("mandelbrot-hd", lavfi_frame("mandelbrot", t=2.0, size=hd), {"fractal"}, {"pattern"})
    add("cellauto-110", lavfi_frame("cellauto=rule=110", t=10.0), {"pattern"}, {"fractal"})
    add("life-mold", lavfi_frame("life=ratio=0.5:mold=10", t=5.0), set(), {"pattern", "fractal"})
    checker = ((np.indices((360, 640)) // 20).sum(axis=0) % 2 * 255).astype(np.uint8)
    add("checkerboard", np.repeat(checker[..., None], 3, 2), {"pattern"})
    for i, font in enumerate((cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)):
        slide = np.full((720, 1280, 3), (90, 30, 10) if i else (245, 245, 245), np.uint8)
        ink = (255, 255, 255) if i else (30, 30, 30)
        cv2.putText(slide, "Results by region", (60, 110), font, 2.0, ink, 3, cv2.LINE_AA)
        for k, line in enumerate(("North grew by a fifth", "South held steady", "West fell")):
            cv2.putText(slide, line, (90, 240 + 110 * k), font, 1.3, ink, 2, cv2.LINE_AA)
        add(f"slide-hd-{i}", slide, {"slide"})
    page = np.full((720, 1280, 3), 255, np.uint8)
    rng = np.random.default_rng(42)
    for k in range(18):
        words = " ".join(rng.choice(_WORDS, 9))
        cv2.putText(page, words, (80, 50 + 36 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    add("document", page, {"slide"})
    chart = text_slide(11, lines=3)
    for k, hgt in enumerate((60, 110, 80, 140)):
        cv2.rectangle(chart, (420 + 45 * k, 330 - hgt), (450 + 45 * k, 330), (200, 120, 40), -1)
    add("slide-chart", chart, {"slide"}, {"drawing"})
    add("title-navy", title_card("HIRING PLAN", (90, 20, 0)), set(), {"slide"})
    add(
        "lower-third-flat",
        lower_third(np.full((360, 640, 3), (40, 90, 40), np.uint8), "Ana"),
        set(),
    )
    add("drawing-hd", cv2.resize(line_drawing(5), hd), {"drawing"})
    for bgr in ((30, 30, 30), (90, 20, 0), (0, 128, 128)):
        add(f"flat{bgr}", np.full((360, 640, 3), bgr, np.uint8), set())
    grain = np.clip(np.full((360, 640, 3), 20.0) + rng.normal(0, 4, (360, 640, 3)), 0, 255)
    add("dark-grain", grain.astype(np.uint8), set())
    blurred = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (0, 0), 3)
    add("blurred-noise", blurred, set(), {"photograph", "pattern"})
    china, flower, grace = (shipped_photo(n) for n in ("china", "flower", "grace_hopper"))
    if china is not None:
        add("china-hd", _fit(china, hd), {"photograph", "sky", "trees", "landscape"})
        add("china-water", _fit(china[250:, :]), {"photograph"}, {"trees"})
        add(
            "china-mirror-small",
            _fit(china[:, ::-1], (320, 180)),
            {"photograph", "sky"},
            {"trees", "landscape"},
        )
        add(
            "china-gray",
            cv2.cvtColor(cv2.cvtColor(_fit(china), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
            {"photograph"},
            {"sky", "trees", "landscape"},
        )
    if flower is not None:
        titled = _fit(flower)
        cv2.putText(titled, "DAHLIA", (40, 80), cv2.FONT_HERSHEY_DUPLEX, 2.0, (255, 255, 255), 3)
        add("flower-title", titled, {"photograph"})
        add("flower-dark", (_fit(flower) * 0.3).astype(np.uint8), {"photograph"})
    if grace is not None:
        rot = cv2.warpAffine(grace, cv2.getRotationMatrix2D((256, 300), 8, 1.0), (512, 600))
        add("grace-tilted", _pillarbox(rot), {"photograph", "face", "portrait"})
        add(
            "grace-gray",
            _pillarbox(cv2.cvtColor(cv2.cvtColor(grace, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)),
            {"photograph", "face", "portrait"},
        )
        three = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        three[55:305, :639] = np.hstack([cv2.resize(grace, (213, 250))] * 3)
        add("grace-three", three, {"photograph", "face", "people"}, {"portrait"})
        add("grace-hd", _pillarbox(grace, hd), {"photograph", "face", "portrait"})
    return out
