"""Ingest speed: video-seconds per wall-second, per stage, next to whisperx alone.

Renders a narrated sample video (every 6-second shot speaks a sentence and shows a word),
loads every model first (whisper + VAD, Haar cascades; one warm-up pass on a short clip so
tesseract and the decoders are in the page cache), then times in one run, alternating:

* ``whisperx alone``: ``whisperx.load_audio`` + the whisperx pipeline's ``transcribe``
  (VAD-batched, batch 16, 30 s chunks) on the same file;
* ``speech alone``: the speech stage by itself (:func:`tasks.video.speech.transcribe_video`:
  the same whisper model with Silero VAD and word timestamps), the stricter baseline;
* ``ingest``: :func:`tasks.video.pipeline.describe_video` (scenes, keyframes, speech, OCR,
  visual tags, thumbnails; captions off), with its per-stage seconds.

Targets (2-core CPU): ingest >= 10x real time; ingest time <= 1.5x whisperx alone.

``--cold`` measures ``tessera ingest FOLDER`` as a user meets it instead: cold end to end,
steady state and the process tree's peak memory, before vs after (:mod:`bench._ingest_e2e`).

Example:
    $ uv run python bench/bench_ingest.py            # 120 s video, 1 round (~1-2 min)
    $ uv run python bench/bench_ingest.py --full     # 600 s video, 3 rounds
    $ uv run python bench/bench_ingest.py --cold     # a folder of videos, CLI end to end
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.settings import Settings, apply_offline_env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="600 s video, 3 rounds")
    parser.add_argument("--seconds", type=float, default=None, help="video length")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds")
    parser.add_argument(
        "--cold", action="store_true", help="`tessera ingest FOLDER` end to end, before/after"
    )
    parser.add_argument("--corpus", type=Path, default=None, help="folder of videos (--cold)")
    parser.add_argument(
        "--layouts", action="store_true", help="--cold: also 1 worker process x 2 threads"
    )
    parser.add_argument(
        "--models", action="store_true", help="--cold: whisper base vs tiny.en, default layout"
    )
    parser.add_argument("--steady-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steady_child or args.cold:
        return _e2e(args.corpus, args.rounds or 1, args.steady_child, args.layouts, args.models)
    seconds = args.seconds or (600.0 if args.full else 120.0)
    rounds = args.rounds or (3 if args.full else 1)

    apply_offline_env()
    import whisperx

    from tasks.video.pipeline import STAGES, describe_video, load_models
    from tasks.video.probe import probe_video
    from tasks.video.samples import long_scenes, make_sample_video
    from tasks.video.speech import load_asr, transcribe_video, whisper_language

    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmpdir:
        tmp = Path(tmpdir)
        settings = Settings(thumbnail_dir=tmp / "thumbs")
        print(f"machine: {platform.machine()} {os.cpu_count()} cpus, {platform.platform()}")
        t0 = time.perf_counter()
        video = tmp / "narrated.mp4"
        make_sample_video(video, long_scenes(seconds))
        warm = tmp / "warm.mp4"
        make_sample_video(warm, long_scenes(12))
        info = probe_video(video)
        print(
            f"video: {info.duration_s:.0f} s narrated, {info.width}x{info.height} "
            f"@ {info.fps:.0f} fps (rendered in {time.perf_counter() - t0:.1f} s)"
        )

        t0 = time.perf_counter()
        models = load_models(settings)
        asr = models["asr"]
        describe_video(probe_video(warm), settings, asr=asr)
        print(
            f"models loaded and warmed up before timing: {time.perf_counter() - t0:.1f} s "
            f"(whisper {Path(settings.whisper_model).name}, int8, VAD)"
        )
        # The whisperx pipeline (pyannote VAD, batched) for the "whisperx alone" baseline;
        # the stages themselves run the plain faster-whisper model.
        pipe = load_asr(settings.whisper_model, language=settings.asr_language, pipeline=True)
        pipe_language = whisper_language(settings.asr_language)

        alone: list[float] = []
        speech_alone: list[float] = []
        ingest: list[float] = []
        stages: list[dict[str, float]] = []
        for r in range(rounds):
            start = time.perf_counter()
            audio = whisperx.load_audio(str(video))
            pipe.transcribe(audio, batch_size=16, chunk_size=30, language=pipe_language)
            alone.append(time.perf_counter() - start)
            start = time.perf_counter()
            transcribe_video(probe_video(video), asr=asr, language=settings.asr_language)
            speech_alone.append(time.perf_counter() - start)
            start = time.perf_counter()
            scenes, per_stage = describe_video(probe_video(video), settings, asr=asr)
            ingest.append(time.perf_counter() - start)
            stages.append(per_stage)
            print(
                f"round {r + 1}: whisperx alone {alone[-1]:.2f} s, speech alone "
                f"{speech_alone[-1]:.2f} s, ingest {ingest[-1]:.2f} s, {len(scenes)} scenes"
            )

    t_alone = statistics.median(alone)
    t_ingest = statistics.median(ingest)
    t_speech = statistics.median(speech_alone)
    print()
    print(f"{'stage':<12}{'seconds':>9}{'x real time':>13}")
    for name in (*STAGES, "total"):
        value = statistics.median(s[name] for s in stages)
        speed = info.duration_s / value if value > 0 else float("inf")
        print(f"{name:<12}{value:>9.2f}{speed:>13.1f}")
    print("(speech runs on a thread alongside the other stages; total < sum of stages)")
    print()
    ingest_speed = info.duration_s / t_ingest
    ratio = t_ingest / t_alone
    print(f"whisperx alone : {t_alone:6.2f} s  {info.duration_s / t_alone:5.1f}x real time")
    print(f"speech alone   : {t_speech:6.2f} s  {info.duration_s / t_speech:5.1f}x real time")
    print(f"whole ingest   : {t_ingest:6.2f} s  {ingest_speed:5.1f}x real time")
    print(f"ratio ingest / whisperx alone = {ratio:.2f}  (target <= 1.5)")
    print(f"ratio ingest / speech alone   = {t_ingest / t_speech:.2f}  (same model and VAD)")
    print(f"ingest speed = {ingest_speed:.1f}x real time  (target >= 10)")
    print(f"load average: {os.getloadavg()[0]:.1f} (other processes share these cores)")
    return 0


def _e2e(
    corpus: Path | None,
    rounds: int,
    steady_child: list[str] | None,
    layouts: bool,
    models: bool,
) -> int:
    from bench._ingest_e2e import run_e2e, sample_corpus
    from bench._ingest_e2e import steady_child as child

    if steady_child:
        child(steady_child[0], steady_child[1], steady_child[2:])
        return 0
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmpdir:
        tmp = Path(tmpdir)
        run_e2e(corpus or sample_corpus(tmp / "corpus"), tmp, rounds, layouts, models)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
