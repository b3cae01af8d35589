"""Scheduling algorithms and the trace simulator. Pure: no Prefect, no Dask imports."""
