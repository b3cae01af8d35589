"""split_scenes: cuts a viewer would make, on videos built with ffmpeg where every cut is known.

* hard cuts between flat colours: every one found within 0.5 s;
* camera motion (a fast pan over a photograph, a zoom): no cut inside, the hard cut after it
  still found;
* cross-dissolves (ffmpeg ``xfade``, 1 s): one cut at the midpoint, no sliver scene;
* slides on one template with different text: a cut at each slide change, none where a
  bullet appears on the same slide;
* long shots windowed, no-cut videos still split.
"""

from __future__ import annotations

import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.video.probe import probe_video
from tasks.video.records import SceneSpan
from tasks.video.samples import SampleScene, make_sample_video
from tasks.video.scenes import Loudness, detect_cuts, read_loudness, split_scenes, window_spans
from tasks.video.transitions import (
    blend_midpoint,
    classify_change,
    is_camera_motion,
    is_layout_change,
)
from tests.video.conftest import SampleVideos

_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
_FLAT = ["red", "blue", "white", "olive", "gray", "silver", "navy", "black", "0x336633", "yellow"]
_LINES = [
    "The rocket launch is scheduled for tomorrow morning.",
    "Please bring your umbrella because it will rain.",
    "The kitchen is closed for cleaning today.",
    "Our train leaves from platform nine at noon.",
    "The museum opens a new dinosaur exhibit.",
    "Remember to water the garden every evening.",
]
_SLIDES = [
    ("Quarterly results", ["Revenue grew 12 percent", "New customers in Europe"]),
    ("Hiring plan", ["Four engineers by June", "One designer"]),
    ("Next steps", ["Ship the mobile app", "Review in October"]),
]


def _photo(name: str) -> Path:
    import sklearn

    return Path(sklearn.__file__).parent / "datasets" / "images" / f"{name}.jpg"


def _ffmpeg(args: list[str], out: Path) -> Path:
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *args]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def _still(i: int, seconds: float) -> str:
    return f"[{i}:v]scale=640:360,setsar=1,fps=25,format=yuv420p,trim=duration={seconds}"


def make_motion_video(out: Path) -> Path:
    """A 4-s fast diagonal pan over flower.jpg, a hard cut, a 4-s zoom into china.jpg."""
    pan = "zoompan=z=2.5:x='(iw-iw/zoom)*on/100':y='(ih-ih/zoom)*on/100':d=100:s=640x360:fps=25"
    zoom = "zoompan=z='1+on*0.008':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=100:s=640x360:fps=25"
    graph = f"[0:v]{pan},setsar=1[a];[1:v]{zoom},setsar=1[b];[a][b]concat=n=2:v=1[v]"
    # One input frame each: zoompan makes its d frames from every input frame.
    args = ["-i", str(_photo("flower")), "-i", str(_photo("china"))]
    return _ffmpeg([*args, "-filter_complex", graph, "-map", "[v]", "-frames:v", "200"], out)


def make_dissolve_video(out: Path) -> Path:
    """china.jpg, 1-s dissolve (4.5-5.5 s) to flower.jpg, 1-s dissolve (9.5-10.5 s) to navy."""
    args = ["-loop", "1", "-i", str(_photo("china")), "-loop", "1", "-i", str(_photo("flower"))]
    args += ["-f", "lavfi", "-i", "color=c=navy:s=640x360:r=25"]
    graph = (
        f"{_still(0, 5.5)}[a];{_still(1, 6.0)}[b];{_still(2, 4.5)}[c];"
        "[a][b]xfade=transition=fade:duration=1:offset=4.5[ab];"
        "[ab][c]xfade=transition=fade:duration=1:offset=9.5[v]"
    )
    return _ffmpeg([*args, "-filter_complex", graph, "-map", "[v]"], out)


def make_slides_video(out: Path, slide_s: float = 6.0) -> Path:
    """Three slides on one template (header bar, footer stripe, title, bullets), no audio.

    The second slide's second bullet appears half-way through it (a build, not a new slide).
    """
    inputs: list[str] = []
    for i, (title, bullets) in enumerate(_SLIDES):
        src = (
            f"color=c=0x1e3a5f:s=640x360:r=25:d={slide_s},"
            "drawbox=x=0:y=0:w=iw:h=64:color=0xf0f0f0:t=fill,"
            "drawbox=x=0:y=340:w=iw:h=20:color=0xe07020:t=fill,"
            f"drawtext=fontfile={_FONT}:text='{title}':fontsize=36:fontcolor=0x1e3a5f:x=30:y=14"
        )
        for k, bullet in enumerate(bullets):
            src += (
                f",drawtext=fontfile={_FONT}:text='- {bullet}':fontsize=24:fontcolor=white"
                f":x=40:y={110 + 50 * k}"
            )
            if i == 1 and k == 1:
                src += f":enable='gte(t\\,{slide_s / 2})'"
        inputs += ["-f", "lavfi", "-i", src]
    graph = "[0:v][1:v][2:v]concat=n=3:v=1[v]"
    return _ffmpeg([*inputs, "-filter_complex", graph, "-map", "[v]"], out)


def make_moving_video(out: Path) -> Path:
    """A pan over flower.jpg dissolving (4-5 s) to green, cut to a Game of Life, cut to navy.

    The pan keeps moving through the dissolve, so no still frame bounds it; the animation
    changes every frame without any cut (true cuts: 4.5, 7.5, 15.5).
    """
    pan = "zoompan=z=1.6:x='(iw-iw/zoom)*on/250':y='(ih-ih/zoom)/2':d=125:s=640x360:fps=25"
    life = (
        "life=s=160x90:r=25:seed=7:ratio=0.3:mold=10:life_color=#30c030:death_color=#602020"
        ",scale=640:360:flags=neighbor"
    )
    args = ["-i", str(_photo("flower"))]
    args += ["-f", "lavfi", "-i", "color=c=forestgreen:s=640x360:r=25"]
    args += ["-f", "lavfi", "-i", life, "-f", "lavfi", "-i", "color=c=navy:s=640x360:r=25"]
    graph = (
        f"[0:v]{pan},setsar=1,format=yuv420p[a];"
        "[1:v]trim=duration=3.5,setsar=1,format=yuv420p[b];"
        "[a][b]xfade=transition=fade:duration=1:offset=4[ab];"
        "[2:v]trim=duration=8,setsar=1,format=yuv420p[c];"
        "[3:v]trim=duration=2,setsar=1,format=yuv420p[d];"
        "[ab][c][d]concat=n=3:v=1[v]"
    )
    return _ffmpeg([*args, "-filter_complex", graph, "-map", "[v]"], out)


def make_fade_video(out: Path) -> Path:
    """Red fading to white and on to navy (ffmpeg ``fadewhite``, 4-6 s): one transition."""
    args = ["-f", "lavfi", "-i", "color=c=red:s=320x180:r=25:d=5.5"]
    args += ["-f", "lavfi", "-i", "color=c=navy:s=320x180:r=25:d=5.5"]
    graph = "[0:v][1:v]xfade=transition=fadewhite:duration=2:offset=4[v]"
    return _ffmpeg([*args, "-filter_complex", graph, "-map", "[v]"], out)


def make_push_video(out: Path) -> Path:
    """china.jpg pushed out by flower.jpg (ffmpeg ``slideleft``, 4.5-5.5 s): one transition."""
    args = ["-loop", "1", "-i", str(_photo("china")), "-loop", "1", "-i", str(_photo("flower"))]
    graph = (
        f"{_still(0, 5.5)}[a];{_still(1, 5.5)}[b];"
        "[a][b]xfade=transition=slideleft:duration=1:offset=4.5[v]"
    )
    return _ffmpeg([*args, "-filter_complex", graph, "-map", "[v]"], out)


@dataclass(frozen=True)
class EditedVideos:
    """Videos with camera motion, dissolves, slides and flat cuts, and their true cuts."""

    flat: Path
    flat_cuts: list[float]
    motion: Path
    moving: Path
    dissolves: Path
    fade: Path
    push: Path
    slides: Path
    talk: Path


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> EditedVideos:
    root = tmp_path_factory.mktemp("edited")
    # One 36-s navy shot with six sentences; the one at 16.8-19.7 s spans the even split (18).
    lengths = [5.5] * 3 + [6.5] * 3
    talk = [SampleScene(d, "navy", spoken=line) for d, line in zip(lengths, _LINES, strict=True)]
    make_sample_video(root / "talk.mp4", talk, size=(320, 180))
    spans = make_sample_video(root / "flat.mp4", [SampleScene(1.6, c) for c in _FLAT], audio=False)
    return EditedVideos(
        flat=root / "flat.mp4",
        flat_cuts=[a for a, _ in spans[1:]],
        motion=make_motion_video(root / "motion.mp4"),
        moving=make_moving_video(root / "moving.mp4"),
        dissolves=make_dissolve_video(root / "dissolves.mp4"),
        fade=make_fade_video(root / "fade.mp4"),
        push=make_push_video(root / "push.mp4"),
        slides=make_slides_video(root / "slides.mp4"),
        talk=root / "talk.mp4",
    )


def _assert_cuts(found: list[float], expected: list[float], tol: float) -> None:
    assert len(found) == len(expected), (found, expected)
    for true, got in zip(expected, found, strict=True):
        assert abs(true - got) <= tol, (found, expected)


class TestCutDetection:
    def test_every_cut_found_within_half_a_second(self, sample_videos: SampleVideos) -> None:
        found = detect_cuts(probe_video(sample_videos.narrated))
        assert len(found) == len(sample_videos.cuts), found
        for true, got in zip(sample_videos.cuts, found, strict=True):
            assert abs(true - got) <= 0.5, (true, got)

    def test_flat_similar_colours_are_cut(self, sample_videos: SampleVideos) -> None:
        # gray -> silver: no hue or saturation change; a plain ContentDetector misses it.
        from scenedetect import ContentDetector, detect

        gray_to_silver = sample_videos.cuts[-1]
        plain = [s[0].seconds for s in detect(str(sample_videos.narrated), ContentDetector())]
        assert all(abs(t - gray_to_silver) > 0.5 for t in plain)
        found = detect_cuts(probe_video(sample_videos.narrated))
        assert any(abs(t - gray_to_silver) <= 0.5 for t in found)

    def test_text_appearing_mid_scene_is_not_a_cut(self, sample_videos: SampleVideos) -> None:
        scene = sample_videos.scenes[3]
        appears = sample_videos.spans[3][0] + scene.text_at_s
        found = detect_cuts(probe_video(sample_videos.narrated))
        assert all(abs(t - appears) > 0.5 for t in found)

    def test_spans_cover_the_video(self, sample_videos: SampleVideos) -> None:
        info = probe_video(sample_videos.narrated)
        spans = split_scenes(info)
        assert spans[0].start_s == 0.0
        assert spans[-1].end_s == pytest.approx(info.duration_s)
        assert [s.index for s in spans] == list(range(len(spans)))
        for a, b in itertools.pairwise(spans):
            assert a.end_s == b.start_s


class TestLongShots:
    def test_one_shot_video_yields_windows(self, sample_videos: SampleVideos) -> None:
        info = probe_video(sample_videos.one_shot)
        spans = split_scenes(info, max_window_s=30.0)
        assert len(spans) == 3
        assert all(s.duration_s <= 30.0 + 1e-6 for s in spans)
        assert spans[-1].end_s == pytest.approx(sample_videos.one_shot_s, abs=0.1)

    def test_windows_end_in_speech_pauses(self, edited: EditedVideos) -> None:
        info = probe_video(edited.talk)
        even = split_scenes(info, max_window_s=20.0, pause_windows=False)
        assert [s.end_s for s in even] == [18.0, pytest.approx(36.0, abs=0.1)]
        spans = split_scenes(info, max_window_s=20.0)
        assert len(spans) == 2 and all(s.duration_s <= 20.0 + 1e-6 for s in spans)
        boundary = spans[0].end_s
        assert 16.0 <= boundary <= 16.8, spans  # the pause before the sentence at 16.8 s
        loudness = read_loudness(info)
        assert loudness is not None
        at = round(boundary / loudness.hop_s)
        assert loudness.rms[at - 2 : at + 3].max() <= loudness.quiet
        assert loudness.rms[round(18.0 / loudness.hop_s)] > loudness.quiet  # mid-sentence

    def test_windows_stay_even_without_pauses(self) -> None:
        loud = Loudness(np.full(1400, 800.0), 0.05)
        spans = window_spans([], 70.0, max_window_s=30.0, loudness=loud)
        assert [(s.start_s, s.end_s) for s in spans] == [
            (0, 23.333),
            (23.333, 46.667),
            (46.667, 70),
        ]

    def test_pause_never_stretches_a_window(self) -> None:
        rms = np.full(1200, 800.0)
        rms[650:700] = 0.0  # a pause at 32.5-35 s, beyond the 30-s limit from 0
        spans = window_spans([], 60.0, max_window_s=30.0, loudness=Loudness(rms, 0.05))
        assert max(s.duration_s for s in spans) <= 30.0 + 1e-6

    def test_no_window_limit_hit_gives_one_scene(self, sample_videos: SampleVideos) -> None:
        info = probe_video(sample_videos.one_shot)
        assert len(split_scenes(info, max_window_s=1000.0)) == 1


class TestWindowSpans:
    def test_even_windows(self) -> None:
        spans = window_spans([], 90.0, max_window_s=30.0)
        assert [(s.start_s, s.end_s) for s in spans] == [(0, 30), (30, 60), (60, 90)]

    def test_short_shots_untouched(self) -> None:
        assert window_spans([2.0, 4.0], 6.0) == [
            SceneSpan(0, 0.0, 2.0),
            SceneSpan(1, 2.0, 4.0),
            SceneSpan(2, 4.0, 6.0),
        ]

    def test_cuts_outside_the_video_ignored(self) -> None:
        assert len(window_spans([0.0, 10.0, 12.0], 10.0)) == 1

    def test_bad_window(self) -> None:
        with pytest.raises(ValueError, match="max_window_s"):
            window_spans([], 10.0, max_window_s=0)


class TestHardCuts:
    def test_every_flat_colour_cut_found(self, edited: EditedVideos) -> None:
        found = detect_cuts(probe_video(edited.flat))
        _assert_cuts(found, edited.flat_cuts, 0.15)


class TestCameraMotion:
    def test_pan_and_zoom_stay_whole(self, edited: EditedVideos) -> None:
        # A fast pan over a photograph fired the content and adaptive detectors twice.
        _assert_cuts(detect_cuts(probe_video(edited.motion)), [4.0], 0.15)

    def test_shifted_frame_is_motion(self) -> None:
        img = cv2.imread(str(_photo("china")), cv2.IMREAD_GRAYSCALE)
        small = cv2.resize(img, (240, 160), interpolation=cv2.INTER_AREA)
        before, after = small[20:110, 20:180], small[26:116, 31:191]
        assert is_camera_motion(before, after)

    def test_scaled_frame_is_motion(self) -> None:
        img = cv2.imread(str(_photo("flower")), cv2.IMREAD_GRAYSCALE)
        before = cv2.resize(img[60:330, 80:560], (160, 90), interpolation=cv2.INTER_AREA)
        after = cv2.resize(img[72:318, 102:538], (160, 90), interpolation=cv2.INTER_AREA)
        assert is_camera_motion(before, after)

    def test_other_photo_is_not_motion(self) -> None:
        a = cv2.resize(cv2.imread(str(_photo("china")), cv2.IMREAD_GRAYSCALE), (160, 90))
        b = cv2.resize(cv2.imread(str(_photo("flower")), cv2.IMREAD_GRAYSCALE), (160, 90))
        assert not is_camera_motion(a, b)

    def test_flat_colours_are_not_motion(self) -> None:
        gray, silver = np.full((90, 160), 128, np.uint8), np.full((90, 160), 192, np.uint8)
        assert not is_camera_motion(gray, silver)


class TestDissolves:
    def test_one_cut_at_each_midpoint(self, edited: EditedVideos) -> None:
        found = detect_cuts(probe_video(edited.dissolves))
        _assert_cuts(found, [5.0, 10.0], 0.1)

    def test_no_sliver_scene(self, edited: EditedVideos) -> None:
        spans = split_scenes(probe_video(edited.dissolves))
        assert min(s.duration_s for s in spans) >= 4.0, spans

    def test_dissolve_out_of_a_pan(self, edited: EditedVideos) -> None:
        # Also: the Game of Life after it changes every frame and is never cut (was at 10.7).
        _assert_cuts(detect_cuts(probe_video(edited.moving)), [4.5, 7.5, 15.5], 0.1)

    def test_fade_through_white_is_one_cut(self, edited: EditedVideos) -> None:
        # Neither end's blend: the white frames are far from red and navy alike, which must
        # not pass for steady motion (the cut was lost) nor leave a sliver (old: 4.08, 5.12).
        found = detect_cuts(probe_video(edited.fade))
        assert len(found) == 1 and 4.0 <= found[0] <= 6.0, found

    def test_push_between_stills_is_one_cut(self, edited: EditedVideos) -> None:
        # The frames move, but only between two stills: a transition, not camera motion.
        _assert_cuts(detect_cuts(probe_video(edited.push)), [5.0], 0.15)

    def test_change_profiles(self) -> None:
        a, b = np.zeros((18, 32, 3)), np.full((18, 32, 3), 150.0)
        times = [0.1 * i for i in range(30)]
        ramp = [a] * 10 + [(1 - w) * a + w * b for w in np.linspace(0.08, 0.92, 10)] + [b] * 10
        dissolve = classify_change(ramp, times)
        assert dissolve.kind == "dissolve"
        assert dissolve.time_s == pytest.approx(1.45, abs=0.01)
        cut = classify_change([a] * 15 + [b] * 15, times)
        assert (cut.kind, cut.time_s) == ("cut", pytest.approx(1.5))
        # A bright bar sweeping across: steady change, no frame a blend of the ends.
        sweep = []
        for i in range(30):
            frame = a.copy()
            frame[:, i : i + 3] = 250.0
            sweep.append(frame)
        assert classify_change(sweep, times).kind == "gradual"
        assert classify_change([a] * 30, times).kind == "unclear"

    def test_cut_between_moving_shots(self) -> None:
        # Steady brightening dominates the end-to-end change, so the cut moves ``a`` little;
        # its frame-to-frame step still stands out from the motion either side.
        times = [0.1 * i for i in range(30)]
        frames = []
        for i in range(30):
            frame = np.full((18, 32, 3), 40.0 + 5.0 * i)
            if i >= 15:
                frame[:9, :16] += 45.0
            frames.append(frame)
        cut = classify_change(frames, times)
        assert (cut.kind, cut.time_s) == ("cut", pytest.approx(1.5))

    def test_blend_midpoint_follows_the_mix(self) -> None:
        a, b = np.zeros((18, 32, 3)), np.full((18, 32, 3), 200.0)
        mixes = [a, *[(1 - w) * a + w * b for w in (0.1, 0.3, 0.45, 0.7, 0.9)], b]
        mid = blend_midpoint(mixes, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        assert mid == pytest.approx(3.2, abs=0.01)

    def test_motion_is_not_a_blend(self) -> None:
        rng = np.random.default_rng(1)
        frames = [rng.uniform(0, 255, (18, 32, 3)) for _ in range(5)]
        assert blend_midpoint(frames, [0.0, 1.0, 2.0, 3.0, 4.0]) is None


class TestSlideChanges:
    def test_each_slide_change_is_a_cut(self, edited: EditedVideos) -> None:
        # One template, new text: the colour detectors see almost nothing change.
        _assert_cuts(detect_cuts(probe_video(edited.slides)), [6.0, 12.0], 0.15)

    def test_slides_become_scenes_not_windows(self, edited: EditedVideos) -> None:
        spans = split_scenes(probe_video(edited.slides), max_window_s=30.0)
        assert [(s.start_s, s.end_s) for s in spans] == [
            (0.0, pytest.approx(6.0, abs=0.15)),
            (pytest.approx(6.0, abs=0.15), pytest.approx(12.0, abs=0.15)),
            (pytest.approx(12.0, abs=0.15), pytest.approx(18.0, abs=0.1)),
        ]

    def test_added_text_is_not_a_new_slide(self) -> None:
        slide = np.full((90, 160), 40, np.uint8)
        slide[5:15, 10:100:3] = 230
        built = slide.copy()
        built[40:50, 10:110:3] = 230
        assert not is_layout_change(slide, built)

    def test_replaced_text_is_a_new_slide(self) -> None:
        one, two = np.full((90, 160), 40, np.uint8), np.full((90, 160), 40, np.uint8)
        one[5:15, 10:100:3] = 230
        two[5:15, 12:130:5] = 230
        one[30:60, 10:150:4] = 230
        two[30:60, 11:140:7] = 230
        assert is_layout_change(one, two)

    def test_changing_caption_is_not_a_new_slide(self) -> None:
        one, two = np.full((90, 160), 40, np.uint8), np.full((90, 160), 40, np.uint8)
        one[72:84, 10:120:3] = 230
        two[72:84, 12:140:5] = 230
        assert not is_layout_change(one, two)
