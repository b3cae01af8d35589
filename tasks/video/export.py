"""Time formats for people: ``m:ss`` clocks, and a video's transcript as SRT or WebVTT.

The store keeps each scene's transcript with the scene's time range (word timestamps are
used at ingest to assign words to scenes, not stored), so a subtitle cue is one scene with
speech: its start, end and words.

Example:
    >>> clock(75.4)
    '1:15'
    >>> print(to_vtt([{"start": 0.0, "end": 2.5, "transcript": "Hello."}]), end="")
    WEBVTT
    <BLANKLINE>
    1
    00:00:00.000 --> 00:00:02.500
    Hello.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

SubtitleFormat = Literal["srt", "vtt"]
FORMATS: tuple[SubtitleFormat, ...] = ("srt", "vtt")


def clock(seconds: float) -> str:
    """``seconds`` as ``m:ss`` (``h:mm:ss`` from an hour), rounded down to the second.

    Example:
        >>> clock(5.9), clock(600), clock(3725)
        ('0:05', '10:00', '1:02:05')
    """
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clock_range(start: float, end: float) -> str:
    """A scene's time range as ``m:ss-m:ss``.

    Example:
        >>> clock_range(5.0, 10.2)
        '0:05-0:10'
    """
    return f"{clock(start)}-{clock(end)}"


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def _cues(scenes: Iterable[Mapping[str, Any]]) -> list[tuple[float, float, str]]:
    """``(start, end, text)`` per scene with speech, in time order, text on one line."""
    cues = []
    for scene in sorted(scenes, key=lambda s: float(s["start"])):
        # One line per cue: a blank line would end the cue early in both formats.
        text = " ".join(str(scene.get("transcript") or "").split())
        if text:
            cues.append((float(scene["start"]), float(scene["end"]), text))
    return cues


def to_srt(scenes: Iterable[Mapping[str, Any]]) -> str:
    """SubRip subtitles: one numbered cue per scene with speech.

    Args:
        scenes: rows with ``start``, ``end`` (seconds) and ``transcript``.

    Example:
        >>> print(to_srt([{"start": 61.0, "end": 62.25, "transcript": "Hi  there"}]), end="")
        1
        00:01:01,000 --> 00:01:02,250
        Hi there
    """
    blocks = [
        f"{i}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{text}\n"
        for i, (a, b, text) in enumerate(_cues(scenes), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(scenes: Iterable[Mapping[str, Any]]) -> str:
    """WebVTT subtitles (what an HTML5 ``<track>`` reads): one cue per scene with speech.

    Example:
        >>> to_vtt([]).strip()
        'WEBVTT'
    """
    blocks = [
        f"{i}\n{_stamp(a, '.')} --> {_stamp(b, '.')}\n{text}\n"
        for i, (a, b, text) in enumerate(_cues(scenes), start=1)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def subtitles(scenes: Iterable[Mapping[str, Any]], fmt: str) -> str:
    """The transcript of ``scenes`` in format ``fmt`` (``srt`` or ``vtt``).

    Raises:
        ValueError: an unknown format.

    Example:
        >>> subtitles([], "vtt").startswith("WEBVTT")
        True
    """
    if fmt == "srt":
        return to_srt(scenes)
    if fmt == "vtt":
        return to_vtt(scenes)
    raise ValueError(f"unknown subtitle format {fmt!r}: use {' or '.join(FORMATS)}")
