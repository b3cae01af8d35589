"""The JSON API under ``/api`` and the media routes (video and thumbnails by store key).

Every route calls :class:`~flows.web.context.WebContext`, as the pages do, so a search from
the page, from ``/api/search`` and from ``tessera search`` goes through one searcher. Files
are looked up by video id (content hash) or scene key in the store; no route takes a path.

Example:
    $ curl 'http://127.0.0.1:8800/api/search?q=the+word+EXIT&limit=3'
    $ curl -r 0-1023 http://127.0.0.1:8800/media/video/<video id> -o head.bin
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from pydantic import BaseModel

from flows.web.chart import allocation_svg
from flows.web.context import FileGone, NotFound, WebContext
from tasks.video.export import subtitles
from tasks.video.query import EmptyQueryError

Modality = Literal["transcript", "ocr", "tags", "caption"]


class Matched(BaseModel):
    """Which modalities of a scene one query part matched."""

    part: str
    modalities: list[str]


class SceneHit(BaseModel):
    """One search result: a scene, where it is, and why it matched."""

    key: str
    video_id: str
    video: str
    name: str
    scene: int
    start: float
    end: float
    time: str
    score: float
    transcript: str
    ocr: str
    tags: list[str]
    matched: list[Matched]
    terms: list[str]
    available: bool
    thumbnail_url: str | None
    video_url: str


class SearchAnswer(BaseModel):
    """The answer to one query: the parts it was split into and the best scenes."""

    query: str
    parts: list[str]
    split: bool
    results: list[SceneHit]
    seconds: float
    empty_store: bool


class Video(BaseModel):
    """One ingested video."""

    id: str
    name: str
    path: str
    scenes: int
    duration_s: float
    duration: str
    ingested_at: str
    available: bool
    thumbnails: list[str | None]


class Scene(BaseModel):
    """One stored scene with its descriptors."""

    key: str
    video_id: str
    scene: int
    start: float
    end: float
    time: str
    transcript: str
    ocr: str
    tags: list[str]
    caption: str
    thumbnail: str | None


class VideoDetail(BaseModel):
    """A video and its scenes."""

    video: Video
    scenes: list[Scene]


class Job(BaseModel):
    """One training job as the jobs page shows it."""

    name: str
    model: str
    state: str
    pus: int
    epoch: int
    epochs: int
    progress: float
    accuracy: float | None
    launches: int
    error: str | None


class Allocation(BaseModel):
    """PUs one job got from one outer iteration on."""

    iteration: int
    at: float
    job: str
    pus: int
    capacity: int
    policy: str


class Jobs(BaseModel):
    """Every job and every recorded allocation."""

    jobs: list[Job]
    allocations: list[Allocation]


ACTIVE = ("queued", "running", "stopping")


def chart_of(jobs: dict[str, Any]) -> str:
    """The allocation chart of ``WebContext.jobs()``; it runs up to now while a job is active.

    Example:
        >>> chart_of({"jobs": [], "allocations": []}).startswith("<svg")
        True
    """
    active = any(j["state"] in ACTIVE for j in jobs["jobs"])
    return allocation_svg(jobs["allocations"], now=time.time() if active else None)


def ctx_of(request: Request) -> WebContext:
    """The app's :class:`WebContext` (set by :func:`flows.web.app.create_app`)."""
    ctx: WebContext = request.app.state.ctx
    return ctx


api = APIRouter(prefix="/api", tags=["api"])
media = APIRouter(prefix="/media", tags=["media"])


@api.get("/search", response_model=SearchAnswer)
def search(
    request: Request,
    q: Annotated[str, Query(description="What to find, in words.")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    video: Annotated[str | None, Query(description="Only this video id.")] = None,
    modality: Annotated[Modality | None, Query(description="Only scenes it matched.")] = None,
) -> dict[str, Any]:
    """The scenes that best match ``q`` (hybrid search with query splitting)."""
    try:
        return ctx_of(request).search(q, limit, video or None, modality)
    except EmptyQueryError as exc:
        raise HTTPException(422, str(exc)) from None


@api.get("/videos", response_model=list[Video])
def videos(request: Request) -> list[Any]:
    """Every ingested video."""
    return ctx_of(request).videos()


@api.get("/videos/{video_id}", response_model=VideoDetail)
def video(request: Request, video_id: str) -> dict[str, Any]:
    """One video and its scenes."""
    ctx = ctx_of(request)
    try:
        found = next(v for v in ctx.videos() if v.id == video_id)
    except StopIteration:
        raise HTTPException(404, f"no video {video_id!r} in the store") from None
    return {"video": found, "scenes": ctx.scenes(video_id)}


@api.get("/videos/{video_id}/subtitles", response_class=PlainTextResponse)
def video_subtitles(
    request: Request, video_id: str, format: Literal["vtt", "srt"] = "vtt"
) -> PlainTextResponse:
    """A video's transcript as WebVTT (what the player's ``<track>`` reads) or SRT."""
    try:
        scenes = ctx_of(request).scenes(video_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    kind = "text/vtt" if format == "vtt" else "application/x-subrip"
    return PlainTextResponse(subtitles(scenes, format), media_type=kind)


@api.get("/scenes/{key}", response_model=Scene)
def scene(request: Request, key: str) -> dict[str, Any]:
    """One scene by its key ``<video id>:<scene>``."""
    try:
        return ctx_of(request).scene(key)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@api.get("/jobs", response_model=Jobs)
def jobs(request: Request) -> dict[str, Any]:
    """The training jobs and the PU allocations of every outer iteration."""
    return ctx_of(request).jobs()


@api.get("/jobs/allocation.svg", response_class=Response)
def allocation_chart(request: Request) -> Response:
    """The PU allocation over time as an SVG image."""
    return Response(chart_of(ctx_of(request).jobs()), media_type="image/svg+xml")


@media.get("/video/{video_id}")
def video_file(request: Request, video_id: str) -> FileResponse:
    """The file of a stored video, with HTTP Range requests (so the player can seek)."""
    try:
        path = ctx_of(request).video_file(video_id)
    except (NotFound, FileGone) as exc:
        raise HTTPException(404, str(exc)) from None
    return FileResponse(path, headers={"Cache-Control": "private, max-age=60"})


@media.get("/thumb/{key}")
def thumbnail_file(request: Request, key: str) -> FileResponse:
    """A scene's thumbnail image."""
    try:
        path = ctx_of(request).thumbnail_file(key)
    except (NotFound, FileGone) as exc:
        raise HTTPException(404, str(exc)) from None
    return FileResponse(path, media_type="image/jpeg")
