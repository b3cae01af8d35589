"""Fixtures of the web UI tests: the scene-search fixtures (encoder, catalogue) reused."""

from __future__ import annotations

from tests.video_search.conftest import catalogue, encoder

__all__ = ["catalogue", "encoder"]
