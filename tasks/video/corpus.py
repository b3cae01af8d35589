"""The development corpus of issue 14: real-video difficulties, rendered with known truth.

The spec is data (``data/corpus/corpus.toml``, queries in ``data/corpus/queries.toml``);
this module renders it with ffmpeg and espeak-ng into ``data/corpus/media/`` (git-ignored)
and writes ``truth.json`` there: per scene its time range, on-screen words (kind, when
shown, over what background) and spoken script. Photographs come from installed packages
(scikit-learn, matplotlib), the real recording from pyannote's telephone sample, so the
corpus needs no download. Rendering is deterministic: the same spec gives the same content.

Example:
    >>> truth = ensure_corpus()  # doctest: +SKIP
    >>> truth["videos"]["bakery.mp4"]["scenes"][0]["id"]  # doctest: +SKIP
    'bake-title'
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import subprocess
import tempfile
import tomllib
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tasks.video.samples import _font, _require

__all__ = ["CORPUS_DIR", "ensure_corpus", "load_queries", "load_spec", "render_corpus"]

CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "corpus"
SPEC = CORPUS_DIR / "corpus.toml"
QUERIES = CORPUS_DIR / "queries.toml"
MEDIA = CORPUS_DIR / "media"
TEXT_KINDS = ("title", "lower-third", "small")
_BUSY = ("smptebars", "testsrc", "mandelbrot", "life")
# Bump when rendering changes in a way the spec hash cannot see.
_RENDER_VERSION = "1"


def _site(package: str, *parts: str) -> Path:
    # find_spec locates a package without importing it (pyannote.audio pulls in torch).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"corpus: package {package} is not installed (make setup)")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _photo(name: str) -> Path:
    paths = {
        "china": ("sklearn", "datasets", "images", "china.jpg"),
        "flower": ("sklearn", "datasets", "images", "flower.jpg"),
        "grace": ("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
    }
    return _site(*paths[name])


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


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def _speak(text: str, voice: str, wav: Path) -> float:
    # 150 wpm as in samples.py: tiny.en recognises espeak best when it is not rushed.
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text],
        check=True,
        capture_output=True,
    )
    return _wav_seconds(wav)


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


def _esc(expr: str) -> str:
    return expr.replace(",", "\\,")


def _drawtext(x: dict[str, Any], scene: dict[str, Any], size: list[int], tmp: Path) -> str:
    w, h = size
    base = min(w, h)
    n = len(x["words"])
    text_file = tmp / f"{hashlib.sha1(x['words'].encode()).hexdigest()}.txt"
    text_file.write_text(x["words"])
    bold = _font()
    regular = bold.replace("-Bold", "")
    span = f"between(t,{x['at']:.3f},{x['until']:.3f})"
    enable = f":enable='{_esc(span)}'"
    band = ""
    if x["kind"] == "title":
        fs = min(base // 8, int(0.9 * w / (0.72 * n)))
        font, pos = bold, "x=(w-text_w)/2:y=(h-text_h)/2"
    elif x["kind"] == "lower-third":
        fs = base // 15 if x["line"] == 0 else base // 22
        font = bold if x["line"] == 0 else regular
        y = int(h * 0.76) + (0 if x["line"] == 0 else base // 15 + 8)
        pos = f"x={int(w * 0.05)}:y={y}"
        if x["line"] == 0:
            band = (
                f"drawbox=x=0:y={int(h * 0.74)}:w={int(w * 0.7)}:h={base // 15 + base // 22 + 24}"
                f":color=black@0.55:t=fill{enable},"
            )
    else:
        fs = max(12, base // 26)
        font = regular
        lower = any(t["kind"] == "lower-third" for t in scene["texts"])
        pos = f"x=(w-text_w)/2:y={int(h * (0.1 if lower else 0.66))}"
    style = {
        "box": f":fontcolor=black:box=1:boxcolor=white:boxborderw={max(4, fs // 3)}",
        "plain": ":fontcolor=white",
        "outline": f":fontcolor=white:borderw={max(2, fs // 14)}:bordercolor=black",
    }[x["style"] if x["kind"] != "lower-third" else "plain"]
    return f"{band}drawtext=fontfile={font}:textfile={text_file}:fontsize={fs}:{pos}{style}{enable}"


def _video_input(scene: dict[str, Any], size: list[int], fps: int) -> tuple[list[str], str]:
    """ffmpeg input arguments and the filter prefix that makes the scene's background."""
    w, h = size
    d = f"{scene['duration']:.3f}"
    bg = scene["background"]
    kind, _, arg = bg.partition(":")
    if kind == "photo":
        n = round(scene["duration"] * fps)
        z, x = {
            "": ("1", "iw/2-iw/zoom/2"),
            "zoom-in": (f"1+0.3*on/{n}", "iw/2-iw/zoom/2"),
            "zoom-out": (f"1.3-0.3*on/{n}", "iw/2-iw/zoom/2"),
            "pan": ("1.4", f"(iw-iw/zoom)*on/{n}"),
        }[scene["motion"]]
        chain = (
            f"scale={2 * w}:{2 * h}:force_original_aspect_ratio=increase,crop={2 * w}:{2 * h},"
            f"zoompan=z='{_esc(z)}':x='{_esc(x)}':y='ih/2-ih/zoom/2':d=1:s={w}x{h}:fps={fps}"
        )
        return ["-loop", "1", "-framerate", str(fps), "-t", d, "-i", str(_photo(arg))], chain
    sources = {
        "color": f"color=c={arg}:s={w}x{h}:r={fps}",
        "slide": f"color=c={arg}:s={w}x{h}:r={fps}",
        "smptebars": f"smptebars=s={w}x{h}:r={fps}",
        "testsrc": f"testsrc=s={w}x{h}:r={fps}",
        "mandelbrot": f"mandelbrot=s={w}x{h}:r={fps}:maxiter=300:end_scale=0.05",
        "life": f"life=s={w // 4}x{h // 4}:r={fps}:seed=7:ratio=0.3:mold=10"
        f":life_color=#30c030:death_color=#602020,scale={w}:{h}:flags=neighbor",
    }
    chain = "null"
    if kind == "slide":  # one template: a header bar and a footer rule on every slide
        chain = (
            f"drawbox=x=0:y=0:w={w}:h={h // 14}:color=white:t=fill,"
            f"drawbox=x={w // 20}:y={int(h * 0.92)}:w={w - w // 10}:h=3:color=orange:t=fill"
        )
    return ["-f", "lavfi", "-t", d, "-i", sources[kind]], chain


def _codec(suffix: str) -> list[str]:
    # Mixed codecs as users have them: H.264, MPEG-4 part 2, VP9; AAC, Vorbis, Opus.
    x264 = ["-c:v", "libx264", "-preset", "ultrafast"]
    vp9 = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "600k"]
    return {
        ".mp4": [*x264, "-c:a", "aac", "-ar", "16000"],
        ".mkv": [*x264, "-c:a", "libvorbis", "-ar", "16000"],
        ".mov": ["-c:v", "mpeg4", "-q:v", "3", "-c:a", "aac", "-ar", "16000"],
        ".webm": [*vp9, "-row-mt", "1", "-c:a", "libopus", "-ar", "48000"],
    }[suffix]


def _render(video: dict[str, Any], out: Path, spoken: dict[str, float], tmp: Path) -> None:
    size, fps, scenes = video["size"], video["fps"], video["scene"]
    args = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error"]
    graph: list[str] = []
    for i, scene in enumerate(scenes):
        inp, chain = _video_input(scene, size, fps)
        args += inp
        texts = [_drawtext(x, scene, size, tmp) for x in scene["texts"]]
        graph.append(
            f"[{i}:v]{chain},fps={fps},format=yuv420p,setsar=1"
            + "".join("," + t for t in texts)
            + f",settb=AVTB[v{i}]"
        )
    cur, length = "v0", scenes[0]["duration"]
    for i, scene in enumerate(scenes[1:], 1):
        prev = scenes[i - 1]
        if prev["transition"] == "dissolve":
            d = prev["transition_s"]
            graph.append(
                f"[{cur}][v{i}]xfade=transition=fade:duration={d}:offset={length - d:.3f}[x{i}]"
            )
            length += scene["duration"] - d
        else:
            graph.append(f"[{cur}][v{i}]concat=n=2:v=1:a=0,settb=AVTB[x{i}]")
            length += scene["duration"]
        cur = f"x{i}"
    n = len(scenes)
    args += ["-f", "lavfi", "-t", f"{length:.3f}", "-i", "anullsrc=r=16000:cl=mono"]
    mix = [f"[{n}:a]"]
    k = n + 1
    for scene in scenes:
        start = scene["shown"]
        for s in scene["speech"]:
            wav = tmp / f"{_key(s)}.wav"
            args += ["-i", str(wav)]
            ms = round((start + s["at"]) * 1000)
            graph.append(f"[{k}:a]aresample=16000,adelay={ms}[a{k}]")
            mix.append(f"[a{k}]")
            k += 1
        if "recording" in scene:
            r0, r1 = scene["recording"]
            args += ["-i", str(_recording()[0])]
            graph.append(
                f"[{k}:a]atrim={r0}:{r1},asetpts=PTS-STARTPTS,aresample=16000,"
                f"adelay={round(start * 1000)}[a{k}]"
            )
            mix.append(f"[a{k}]")
            k += 1
        if scene["bed"]:
            lv = scene["bed_level"]
            seed = int(hashlib.sha1(scene["id"].encode()).hexdigest()[:6], 16)
            src = {
                "noise": f"anoisesrc=r=16000:c=pink:seed={seed}:a={lv}",
                # An arpeggio over a pulsing fifth: tonal, rhythmic, under the voice.
                "music": f"aevalsrc=exprs='{lv}*(0.6*sin(2*PI*(196+66*mod(floor(3*t),4))*t)"
                f"+0.4*sin(2*PI*294*t)*(0.5+0.5*sin(2*PI*2*t)))':s=16000",
            }[scene["bed"]]
            args += ["-f", "lavfi", "-t", f"{scene['end'] - scene['start']:.3f}", "-i", src]
            graph.append(f"[{k}:a]adelay={round(scene['start'] * 1000)}[a{k}]")
            mix.append(f"[a{k}]")
            k += 1
    graph.append(
        f"{''.join(mix)}amix=inputs={len(mix)}:duration=first:dropout_transition=0:normalize=0[a]"
    )
    # Written beside the target and renamed: a reader never sees half a file, and two
    # processes rendering at once do not share a partial name.
    partial = out.with_name(f".{out.name}.{os.getpid()}.part")
    args += ["-filter_complex", ";".join(graph), "-map", f"[{cur}]", "-map", "[a]"]
    fmt = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}[out.suffix]
    args += [*_codec(out.suffix), "-f", fmt, "-pix_fmt", "yuv420p", "-threads", "2"]
    args += ["-fflags", "+bitexact", "-map_metadata", "-1", "-t", f"{length:.3f}", str(partial)]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"corpus: ffmpeg failed for {out.name}: {done.stderr.strip()[-800:]}")
    os.replace(partial, out)


def _spec_hash(spec: Path) -> str:
    return hashlib.sha256(spec.read_bytes() + _RENDER_VERSION.encode()).hexdigest()[:16]


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


if __name__ == "__main__":
    # `python -m tasks.video.corpus` renders (or confirms) data/corpus/media.
    done = ensure_corpus()
    total = sum(v["duration"] for v in done["videos"].values())
    print(f"{len(done['videos'])} videos, {total:.0f} s, in {MEDIA}")
