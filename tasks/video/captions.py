"""Captions: a transformers image-to-text model describing each scene's middle keyframe.

The model is any local folder that ``transformers.pipeline("image-to-text")`` can load
(VisionEncoderDecoder such as ViT-GPT2, BLIP, GIT). None can be downloaded here, so the stage
is off unless ``settings.caption_model`` names a folder; then it logs one line and returns
empty captions.

Example:
    >>> captions_for_scenes(keyframes, model="models/vit-gpt2")  # doctest: +SKIP
    ['a red wall', 'a blue sign', ...]
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from tasks.video.stagelog import stage_logger

__all__ = ["captions_for_scenes", "load_captioner"]

_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def _device() -> str:
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def load_captioner(model: str, *, device: str | None = None) -> Any:
    """Load (once per process) the image-to-text pipeline from a local model folder.

    Args:
        model: folder with the model, its tokenizer and image processor.
        device: ``"cpu"`` or ``"cuda:0"``; default a GPU when torch sees one.

    Raises:
        FileNotFoundError: ``model`` is not a folder (nothing is downloaded).

    Example:
        >>> captioner = load_captioner("models/vit-gpt2")  # doctest: +SKIP
    """
    if not Path(model).is_dir():
        raise FileNotFoundError(f"caption model {model}: not a local folder")
    device = device or _device()
    key = (str(Path(model).resolve()), device)
    with _LOCK:
        if key not in _CACHE:
            from transformers import pipeline

            _CACHE[key] = pipeline(
                "image-to-text",
                model=key[0],
                device=device,
                model_kwargs={"local_files_only": True},
            )
        return _CACHE[key]


def captions_for_scenes(
    keyframes: list[list[np.ndarray]],
    *,
    model: str | None = None,
    captioner: Any = None,
    max_new_tokens: int = 24,
    batch_size: int = 8,
) -> list[str]:
    """One caption per scene from its middle keyframe, or ``""`` everywhere when off.

    Args:
        keyframes: per scene, its keyframes (BGR), as from ``extract_keyframes``.
        model: local model folder (``settings.caption_model``); ``None`` turns the stage off.
        captioner: an already loaded pipeline (:func:`load_captioner`); wins over ``model``.
        max_new_tokens: longest caption.
        batch_size: images per forward pass.

    Example:
        >>> captions_for_scenes([[frame]], model=None)  # doctest: +SKIP
        ['']
    """
    log = stage_logger()
    if captioner is None and not model:
        log.info("captions: no caption_model configured; stage off")
        return ["" for _ in keyframes]
    if captioner is None:
        assert model is not None
        captioner = load_captioner(model)
    from PIL import Image

    images = [
        Image.fromarray(np.ascontiguousarray(frames[len(frames) // 2][:, :, ::-1]))
        for frames in keyframes
    ]
    if not images:
        return []
    outputs = captioner(
        images, batch_size=batch_size, generate_kwargs={"max_new_tokens": max_new_tokens}
    )
    captions = [_text(out) for out in outputs]
    log.info("captions: %d scenes captioned", len(captions))
    return captions


def _text(output: Any) -> str:
    # The pipeline returns [{"generated_text": ...}] per image.
    if isinstance(output, list):
        output = output[0] if output else {}
    return " ".join(str(output.get("generated_text", "")).split())
