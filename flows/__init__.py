"""Prefect flows for Tessera: entry points and orchestration only.

The algorithms live in :mod:`tasks`; flows wire them together, run them on Dask and
publish what happened to the Prefect UI.
"""
