"""Encoding scene descriptors and queries into one shared vector space.

Each scene gets one vector per modality (transcript, on-screen text, visual tags, caption)
and one fused scene vector built from all of its descriptors (the patent's scene vector).
Queries go through the same sentence-transformers model, so a query vector and a scene
vector are directly comparable by cosine similarity. All vectors are L2-normalised; an
empty modality gets the zero vector so that it never matches anything.

Example:
    >>> from tasks.video.records import Scene
    >>> enc = Encoder.load("path/to/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> scene = Scene("a.mp4", "h", 0, 0.0, 5.0, transcript="hi")
    >>> vectors = enc.encode_scenes([scene])  # doctest: +SKIP
    >>> vectors[0].fused.shape  # doctest: +SKIP
    (384,)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from tasks.video.records import Scene

if TYPE_CHECKING:
    from tasks.settings import Settings

Vector = npt.NDArray[np.float32]

MODALITIES: tuple[str, ...] = ("transcript", "ocr", "tags", "caption")
"""The descriptor modalities, in the order their vectors are stored."""

# The fused text leads with labels so that the model sees which descriptor is which; the
# labels are constant across scenes, so they shift every scene alike and do not rank.
_LABELS = {
    "transcript": "Speech",
    "ocr": "On-screen text",
    "tags": "Visual",
    "caption": "Caption",
}


def modality_texts(scene: Scene) -> dict[str, str]:
    """The text of each descriptor of ``scene``, keyed by modality.

    Example:
        >>> s = Scene("a.mp4", "h", 0, 0.0, 5.0, transcript=" hi ", tags=["red", "bright"])
        >>> modality_texts(s)["tags"]
        'red, bright'
    """
    return {
        "transcript": scene.transcript.strip(),
        "ocr": scene.ocr.strip(),
        "tags": ", ".join(t.strip() for t in scene.tags if t.strip()),
        "caption": scene.caption.strip(),
    }


def descriptor_text(scene: Scene, labelled: bool = True) -> str:
    """All descriptors of ``scene`` as one text.

    Args:
        scene: the scene.
        labelled: name each descriptor (for the fused vector); the full-text index takes
            the unlabelled text so that a label word ("screen") matches no scene.

    Example:
        >>> descriptor_text(Scene("a.mp4", "h", 0, 0.0, 5.0, transcript="hi", ocr="EXIT"))
        'Speech: hi. On-screen text: EXIT.'
        >>> descriptor_text(Scene("a.mp4", "h", 0, 0.0, 5.0, transcript="hi", ocr="EXIT"), False)
        'hi. EXIT.'
    """
    texts = modality_texts(scene)
    if labelled:
        return " ".join(f"{_LABELS[m]}: {t}." for m, t in texts.items() if t)
    return " ".join(f"{t}." for t in texts.values() if t)


def passage_scenes(scene: Scene) -> list[Scene]:
    """Each passage of ``scene`` as a scene of its own: its speech and times, the rest shared.

    A passage keeps its scene's on-screen text, tags and caption, so a query about what is
    shown *and* said in that moment still matches it.

    Example:
        >>> from tasks.video.records import Passage
        >>> s = Scene("a.mp4", "h", 2, 0.0, 30.0, transcript="a. b.", ocr="EXIT",
        ...           passages=[Passage(0.0, 9.0, "a."), Passage(9.0, 30.0, "b.")])
        >>> [(p.start_s, p.transcript, p.ocr) for p in passage_scenes(s)]
        [(0.0, 'a.', 'EXIT'), (9.0, 'b.', 'EXIT')]
    """
    return [
        replace(scene, start_s=p.start_s, end_s=p.end_s, transcript=p.text, passages=[])
        for p in scene.passages
    ]


@dataclass(frozen=True)
class SceneVectors:
    """The vectors of one scene: the fused scene vector and one per modality.

    ``passages`` holds one set per passage of the scene (:func:`passage_scenes`), in order.
    """

    fused: Vector
    modalities: dict[str, Vector]
    passages: tuple[SceneVectors, ...] = ()


def _normalise(matrix: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return np.where(norms > 0, m / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


class Encoder:
    """A sentence-transformers model loaded once per process from a local path.

    Args:
        model: the loaded ``SentenceTransformer``.
        batch_size: texts per forward pass.
    """

    _cache: ClassVar[dict[str, Encoder]] = {}
    _lock = threading.Lock()

    def __init__(self, model: Any, batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size
        # sentence-transformers 5.x renamed the method; keep both spellings working.
        get_dim = getattr(model, "get_embedding_dimension", None)
        get_dim = get_dim or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    @classmethod
    def load(cls, path: str) -> Encoder:
        """The encoder for the model at ``path``, loaded on first use in this process.

        Example:
            >>> Encoder.load("/models/all-MiniLM-L6-v2").dim  # doctest: +SKIP
            384
        """
        with cls._lock:
            if path not in cls._cache:
                import torch
                from sentence_transformers import SentenceTransformer

                # One intra-op thread: query batches are tiny (thread hand-off costs more than
                # it saves, 5-20x slower on a busy 2-core box) and each Dask worker already
                # owns one core.
                torch.set_num_threads(1)
                cls._cache[path] = cls(SentenceTransformer(path, device="cpu"))
            return cls._cache[path]

    def encode_texts(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Normalised embeddings of ``texts`` (zero rows for empty texts), one batch run.

        Example:
            >>> Encoder.load(path).encode_texts(["red", ""])[1].any()  # doctest: +SKIP
            False
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        if idx:
            emb = self.model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            out[idx] = emb
        return out

    def encode_scenes(self, scenes: Sequence[Scene]) -> list[SceneVectors]:
        """Fused and per-modality vectors for every scene, in one batched model call.

        The fused vector is the normalised sum of the whole-descriptor embedding and the
        mean of the non-empty modality embeddings: the whole text carries the scene's
        context, the modality mean keeps a short descriptor (one on-screen word) from being
        drowned by a long transcript.

        Example:
            >>> enc = Encoder.load(path)  # doctest: +SKIP
            >>> vs = enc.encode_scenes([Scene("a", "h", 0, 0, 1, ocr="EXIT")])  # doctest: +SKIP
            >>> float(vs[0].modalities["transcript"].sum())  # doctest: +SKIP
            0.0
        """
        texts: list[str] = []
        for scene in scenes:
            per = modality_texts(scene)
            texts.extend(per[m] for m in MODALITIES)
            texts.append(descriptor_text(scene))
        # A passage differs from its scene only in speech: encode its transcript and whole
        # text, reuse the scene's other modality vectors.
        extra: list[str] = []
        for scene in scenes:
            for ps in passage_scenes(scene):
                extra.extend([ps.transcript.strip(), descriptor_text(ps)])
        emb = self.encode_texts(texts + extra)
        width = len(MODALITIES) + 1
        result = []
        offset = len(texts)
        for i, scene in enumerate(scenes):
            block = emb[i * width : (i + 1) * width]
            mods = dict(zip(MODALITIES, block[:-1], strict=True))
            passages = []
            for _ in scene.passages:
                said, whole = emb[offset], emb[offset + 1]
                offset += 2
                passages.append(self._fused({**mods, "transcript": said}, whole))
            result.append(self._fused(mods, block[-1], tuple(passages)))
        return result

    def _fused(
        self,
        mods: dict[str, Vector],
        whole: Vector,
        passages: tuple[SceneVectors, ...] = (),
    ) -> SceneVectors:
        matrix = np.stack([mods[m] for m in MODALITIES])
        present = matrix[np.abs(matrix).sum(axis=1) > 0]
        mean = present.mean(axis=0) if len(present) else np.zeros(self.dim, np.float32)
        fused = _normalise(whole + _normalise(mean))
        return SceneVectors(fused=fused, modalities=mods, passages=passages)

    def encode_query(self, query: str) -> Vector:
        """The normalised vector of one query (or query part).

        Example:
            >>> Encoder.load(path).encode_query("a red screen").shape  # doctest: +SKIP
            (384,)
        """
        if not query.strip():
            raise ValueError("query is empty: give some words to search for")
        return self.encode_texts([query])[0]

    def encode_queries(self, queries: Sequence[str]) -> npt.NDArray[np.float32]:
        """Normalised vectors of several query parts in one model call."""
        return self.encode_texts(list(queries))


def encode_scenes(scenes: Sequence[Scene], settings: Settings) -> list[SceneVectors]:
    """Encode ``scenes`` with the configured embedding model (loaded once per process).

    Example:
        >>> encode_scenes(scenes, Settings())  # doctest: +SKIP
    """
    return Encoder.load(settings.embedding_model).encode_scenes(scenes)


def encode_query(query: str, settings: Settings) -> Vector:
    """Encode one query with the same model as the scenes.

    Example:
        >>> encode_query("a red screen", Settings()).shape  # doctest: +SKIP
        (384,)
    """
    return Encoder.load(settings.embedding_model).encode_query(query)
