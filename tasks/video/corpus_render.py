"""Rendering the development corpus with ffmpeg and espeak-ng.

Each video of the spec (:mod:`tasks.video.corpus_spec`) becomes one ffmpeg filter graph:
per scene a background (a photograph with zoom or pan, a flat colour, a slide template, a
busy test source) with its on-screen text drawn in, joined by cuts or dissolves, over a mix
of espeak-ng speech, the real telephone recording and a music or noise bed. Photographs
come from installed packages (scikit-learn, matplotlib), so nothing is downloaded.

Example:
    >>> _codec(".webm")[:2]
    ['-c:v', 'libvpx-vp9']
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import wave
from pathlib import Path
from typing import Any

from tasks.video.corpus_spec import _key, _recording, _site
from tasks.video.samples import _font

# Bump when rendering changes in a way the spec hash cannot see.
_RENDER_VERSION = "1"


def _photo(name: str) -> Path:
    paths = {
        "china": ("sklearn", "datasets", "images", "china.jpg"),
        "flower": ("sklearn", "datasets", "images", "flower.jpg"),
        "grace": ("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
    }
    return _site(*paths[name])


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
