"""The HTML pages: search, library, one video, jobs (Jinja templates shipped in the package).

Pages are rendered on the server from the same :class:`~flows.web.context.WebContext` calls
the API makes, so they work with scripts off; the small scripts in ``static/`` only play
scenes and refresh the jobs page.

Example:
    $ tessera ui  # then open http://127.0.0.1:8800/?q=the+word+EXIT
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from flows.web.api import ACTIVE, chart_of, ctx_of
from flows.web.context import MODALITY_LABELS, NotFound
from tasks.video.query import EmptyQueryError
from tasks.video.store import StoreError

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
pages = APIRouter(include_in_schema=False)


def highlight(text: str, terms: list[str]) -> Markup:
    """``text`` HTML-escaped with every word that starts with a query term in ``<mark>``.

    A term matches a word's start so that "clean" marks "cleaning"; terms under four letters
    must match the whole word ("it" does not mark "item").

    Example:
        >>> str(highlight("Closed for <cleaning>.", ["clean", "for"]))
        'Closed <mark>for</mark> &lt;<mark>cleaning</mark>&gt;.'
    """
    if not text or not terms:
        return Markup(escape(text or ""))
    alts = sorted({re.escape(t.lower()) for t in terms if t}, key=len, reverse=True)
    pattern = re.compile(
        r"\b(?:" + "|".join(a + (r"\w*" if len(a) >= 4 else r"\b") for a in alts) + r")",
        re.IGNORECASE,
    )
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [escape(text[last : m.start()]), "<mark>", escape(m.group(0)), "</mark>"]
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("".join(out))


templates.env.filters["highlight"] = highlight
templates.env.globals["modality_labels"] = MODALITY_LABELS


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("prefect_url", request.app.state.prefect_url)
    return templates.TemplateResponse(request, name, context, status_code=status)


@pages.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str = "",
    video: str = "",
    modality: str = "",
    limit: int = 10,
) -> HTMLResponse:
    """The search page; the query and filters live in the URL so a search can be shared."""
    ctx = ctx_of(request)
    error, answer, videos = None, None, []
    try:
        videos = ctx.videos()
        if q.strip():
            answer = ctx.search(q, max(1, min(limit, 100)), video or None, modality or None)
    except (EmptyQueryError, ValueError, StoreError) as exc:
        error = str(exc)  # shown on the page, one line, instead of a blank page
    return _page(
        request,
        "search.html",
        q=q,
        video=video,
        modality=modality,
        limit=limit,
        videos=videos,
        answer=answer,
        error=error,
    )


@pages.get("/library", response_class=HTMLResponse)
def library_page(request: Request) -> HTMLResponse:
    """Every ingested video with a strip of its scene thumbnails."""
    return _page(request, "library.html", videos=ctx_of(request).videos())


@pages.get("/videos/{video_id}", response_class=HTMLResponse)
def video_page(request: Request, video_id: str) -> HTMLResponse:
    """One video: the player and its scenes with their descriptors."""
    ctx = ctx_of(request)
    found = next((v for v in ctx.videos() if v.id == video_id), None)
    if found is None:
        return _page(request, "missing.html", 404, what=f"no video {video_id!r} in the store")
    try:
        scenes = ctx.scenes(video_id)
    except NotFound as exc:
        return _page(request, "missing.html", 404, what=str(exc))
    return _page(request, "video.html", v=found, scenes=scenes)


@pages.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request) -> HTMLResponse:
    """Training jobs, the PU allocation over time, and a link to the reschedule deployment."""
    data = ctx_of(request).jobs()
    active = any(j["state"] in ACTIVE for j in data["jobs"])
    chart = chart_of(data)
    return _page(
        request,
        "jobs.html",
        jobs=data["jobs"],
        chart=Markup(chart),
        active=active,
        deployment_url=request.app.state.deployment_url(),
    )
