"""PP-OCR (the ONNX models RapidOCR ships) reading whole frames: text lines, then words.

The detector (DB, PP-OCRv4) finds text lines on the whole frame at 360 px on its short side,
so a title over a photograph or a busy texture is found whole instead of cut apart by
edge-based crops. Each line is cropped from the full-resolution frame and read by the
recogniser (CRNN + CTC, PP-OCRv4) at 48 px high; the CTC output is decoded here rather than
by RapidOCR, because its batched decode pads lines to one width and then runs words together
("Glacierscarved"), while one line per call keeps the spaces the model predicts. Each
word's confidence is the mean probability of its characters (0-1).

The weights ship inside the ``rapidocr-onnxruntime`` wheel: nothing is downloaded, and the
models are loaded once per process (``functools.cache``).

Example:
    >>> import numpy as np
    >>> read_frame_ppocr(np.zeros((90, 160, 3), np.uint8))
    []
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import cv2
import numpy as np

__all__ = ["DET_SIDE", "load_ppocr", "read_frame_ppocr"]

# Short side the detector sees: 360 keeps 640x360 frames at their size (det ~0.1 s on one
# core) and halves 720p ones; lines are still read from the full-resolution frame.
DET_SIDE = 360
_REC_HEIGHT = 48
_lock = threading.Lock()


@functools.cache
def load_ppocr(threads: int = 1) -> Any:
    """RapidOCR's detector and recogniser sessions, loaded once per process.

    One intra-op thread by default: OCR runs beside speech recognition on the same cores,
    and lines are small, so more threads mostly add contention.

    Example:
        >>> engine = load_ppocr()  # doctest: +SKIP
    """
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(
        use_cls=False,
        det_limit_side_len=DET_SIDE,
        det_limit_type="min",
        intra_op_num_threads=threads,
        inter_op_num_threads=1,
    )


def _line_boxes(engine: Any, frame: np.ndarray) -> list[tuple[int, int, int, int]]:
    boxes, _ = engine.text_det(frame)
    out: list[tuple[int, int, int, int]] = []
    height, width = frame.shape[:2]
    for box in boxes if boxes is not None else []:
        x0, y0 = np.floor(box.min(axis=0)).astype(int)
        x1, y1 = np.ceil(box.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if y1 - y0 >= 6 and x1 - x0 >= 6:
            out.append((x0, y0, x1, y1))
    # Reading order: top to bottom, then left to right within a band of half a line.
    out.sort(key=lambda b: (round(b[1] / max(4, (b[3] - b[1]) / 2)), b[0]))
    return out


def _decode(preds: np.ndarray, charset: list[str]) -> list[tuple[str, float]]:
    """Greedy CTC decode of one line into ``(word, mean char probability)``."""
    idx = preds.argmax(axis=1)
    prob = preds.max(axis=1)
    words: list[tuple[str, float]] = []
    chars: list[str] = []
    probs: list[float] = []
    previous = -1
    for t, k in enumerate(idx):
        if k != 0 and k != previous:
            ch = charset[k]
            if ch == " ":
                if chars:
                    words.append(("".join(chars), float(np.mean(probs))))
                chars, probs = [], []
            else:
                chars.append(ch)
                probs.append(float(prob[t]))
        previous = int(k)
    if chars:
        words.append(("".join(chars), float(np.mean(probs))))
    return words


def read_frame_ppocr(frame: np.ndarray, *, threads: int = 1) -> list[tuple[str, float]]:
    """Every word PP-OCR reads on ``frame`` (BGR), in reading order, with confidence 0-1.

    Args:
        frame: ``uint8`` BGR (or grey) image of any size.
        threads: ONNX Runtime intra-op threads for the (cached) sessions.

    Returns:
        ``(word, confidence)`` pairs, unfiltered (see :func:`tasks.video.ocr.clean_words`).

    Example:
        >>> read_frame_ppocr(np.full((360, 640, 3), 255, np.uint8))
        []
    """
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    engine = load_ppocr(threads)
    charset: list[str] = engine.text_rec.postprocess_op.character
    # The sessions are shared by threads of one process (Dask threads, the ingest pool).
    with _lock:
        boxes = _line_boxes(engine, frame)
        words: list[tuple[str, float]] = []
        for x0, y0, x1, y1 in boxes:
            crop = frame[y0:y1, x0:x1]
            width = max(8, round(_REC_HEIGHT * crop.shape[1] / crop.shape[0]))
            line = cv2.resize(crop, (width, _REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
            blob = (line.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0)[None]
            preds = engine.text_rec.session(blob)[0][0]
            words.extend(_decode(preds, charset))
    return words
