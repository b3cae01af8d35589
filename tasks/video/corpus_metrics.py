"""Scoring of search results and descriptors against the development corpus's truth.

:mod:`bench.bench_retrieval` prints these; the stage owners can call them on their own
output. A result hits a target when it is in the same video and their overlap covers at
least half of the shorter of the two ranges.

Example:
    >>> _iou(("a.mp4", 0.0, 4.0), ("a.mp4", 2.0, 6.0))
    0.3333333333333333
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from tasks.video.wer import normalise, wer

__all__ = ["asr_report", "group_rows", "ocr_report", "score_queries"]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def group_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per stored scene (passage rows of a scene, if any, fold into it)."""
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        key = (Path(r["video"]).name, int(r["scene"]))
        g = groups.setdefault(
            key,
            {"video": key[0], "scene": key[1], "start": r["start"], "end": r["end"]}
            | {"transcript": "", "ocr": [], "tags": [], "caption": ""},
        )
        g["start"], g["end"] = min(g["start"], r["start"]), max(g["end"], r["end"])
        if len(r.get("transcript") or "") > len(g["transcript"]):
            g["transcript"] = r["transcript"]
        if r.get("ocr") and r["ocr"] not in g["ocr"]:
            g["ocr"].append(r["ocr"])
        g["tags"] += [t for t in r.get("tags") or [] if t not in g["tags"]]
        g["caption"] = g["caption"] or r.get("caption") or ""
    out = sorted(groups.values(), key=lambda g: (g["video"], g["start"]))
    for g in out:
        g["ocr"] = " ".join(g["ocr"])
    return out


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _hit(result: tuple[str, float, float], target: tuple[str, float, float]) -> bool:
    if result[0] != target[0]:
        return False
    shorter = min(result[2] - result[1], target[2] - target[1])
    return _overlap(result[1:], target[1:]) >= 0.5 * shorter > 0


def _iou(result: tuple[str, float, float], target: tuple[str, float, float]) -> float:
    if result[0] != target[0]:
        return 0.0
    inter = _overlap(result[1:], target[1:])
    return inter / (max(result[2], target[2]) - min(result[1], target[1]))


def _rank(ranked: list[tuple[str, float, float]], targets: list[Any]) -> int | None:
    return next((i for i, r in enumerate(ranked) if any(_hit(r, t) for t in targets)), None)


def _share(good: int, total: int) -> str:
    return f"{good / total:.2f} ({good}/{total})" if total else "-"


def score_queries(queries: list[dict[str, Any]], runs: dict[str, list]) -> dict[str, Any]:
    """Per-kind hit@1 / MRR / recall@3 and the headline shares of one search."""
    per: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    top1 = [0, 0]
    split = [0, 0]
    iou = [0, 0]
    negatives = [0, 0]
    misses = []
    for q in queries:
        ranked = runs[q["text"]]
        if q["kind"] == "negative":
            negatives[0] += not ranked
            negatives[1] += 1
            if ranked:
                misses.append((q, f"{len(ranked)} results, first {ranked[0]}"))
            continue
        groups = [[t] for t in q["targets"]] if q["kind"] == "split" else [q["targets"]]
        ranks = [_rank(ranked, g) for g in groups]
        hit1 = float(bool(ranked) and any(_hit(ranked[0], t) for t in q["targets"]))
        mrr = sum(1 / (r + 1) for r in ranks if r is not None) / len(ranks)
        r3 = sum(r is not None and r < 3 for r in ranks) / len(ranks)
        per[q["kind"]].append((hit1, mrr, r3))
        if q["kind"] == "split":
            split[0] += r3 == 1.0
            split[1] += 1
        else:
            top1[0] += int(hit1)
            top1[1] += 1
        best = max((_iou(ranked[0], t) for t in q["targets"]), default=0.0) if ranked else 0.0
        iou[0] += best >= 0.5
        iou[1] += 1
        if not hit1:
            misses.append((q, ranked[0] if ranked else "nothing"))
    per_kind = {
        k: {"n": len(v)}
        | {m: sum(x[i] for x in v) / len(v) for i, m in enumerate(("hit1", "mrr", "r3"))}
        for k, v in per.items()
    }
    return {
        "per_kind": per_kind,
        "top1": _share(*top1),
        "split": _share(*split),
        "iou": _share(*iou),
        "negatives": _share(*negatives),
        "misses": misses,
    }


def ocr_report(videos: dict[str, Any], scenes: list[dict[str, Any]]) -> dict[str, float]:
    """Print and return OCR word recall per text kind and per difficulty.

    A word of an on-screen text counts as read when it is in the OCR of a stored scene of
    that video overlapping the time the text is shown.
    """
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed: list[str] = []
    for name, video in videos.items():
        for scene in video["scenes"]:
            for text in scene["texts"]:
                seen: set[str] = set()
                for s in scenes:
                    if (
                        s["video"] == name
                        and _overlap((s["start"], s["end"]), (text["start"], text["end"])) > 0
                    ):
                        seen |= set(_words(s["ocr"]))
                words = _words(text["words"])
                hits = sum(w in seen for w in words)
                groups = [text["kind"], f"over {text['over']}"] + (
                    ["mid-scene"] if text["mid_scene"] else []
                )
                for g in [*groups, "all"]:
                    found[g][0] += hits
                    found[g][1] += len(words)
                if hits < len(words):
                    missed.append(
                        f"{scene['id']} [{text['kind']}] {text['words']!r}: {hits}/{len(words)}"
                    )
    print("\nOCR word recall (goal: title >= 0.95, lower-third >= 0.8)")
    for g in (
        "title",
        "lower-third",
        "small",
        "mid-scene",
        "over plain",
        "over photo",
        "over busy",
        "all",
    ):
        if found[g][1]:
            print(f"  {g:<12} {found[g][0] / found[g][1]:.2f}  ({found[g][0]}/{found[g][1]} words)")
    print("  texts not fully read: " + ("; ".join(missed) if missed else "none"))
    return {g: a / b for g, (a, b) in found.items() if b}


def asr_report(videos: dict[str, Any], scenes: list[dict[str, Any]]) -> dict[str, float]:
    """Print and return ASR word error rate per scene and per video against the script.

    Per scene, each stored scene's transcript goes to the truth scene it overlaps most
    (so merged or split scenes show here too); per video, all transcripts in time order
    against the whole script measure the recogniser alone.
    """
    out: dict[str, float] = {}
    errors = [0.0, 0]
    print("\nASR word error rate per scene (words in the script; transcript assigned by overlap)")
    for name, video in videos.items():
        mine = [s for s in scenes if s["video"] == name]
        heard: dict[str, list[str]] = defaultdict(list)
        for s in mine:
            best = max(
                video["scenes"],
                key=lambda t: _overlap((s["start"], s["end"]), (t["start"], t["end"])),
            )
            heard[best["id"]].append(s["transcript"])
        for t in video["scenes"]:
            n_ref = len(normalise(t["script"]))
            if n_ref:
                hyp = " ".join(heard[t["id"]])
                out[t["id"]] = wer(t["script"], hyp)
                shown = " ".join(normalise(hyp))[:70]
                print(f"  {t['id']:<18} {n_ref:>3} words  WER {out[t['id']]:.2f}  {shown!r}")
        script = " ".join(t["script"] for t in video["scenes"])
        n_ref = len(normalise(script))
        if n_ref:
            out[name] = wer(script, " ".join(s["transcript"] for s in mine))
            errors[0] += out[name] * n_ref
            errors[1] += n_ref
    print("  per video: " + ", ".join(f"{n} {out[n]:.2f}" for n in videos if n in out))
    out["all"] = errors[0] / max(1, errors[1])
    print(f"  all {errors[1]} script words: WER {out['all']:.2f}")
    return out
