"""Units of work for Tessera: plain typed functions, with thin Prefect task wrappers.

Subpackages:
    settings: the one typed settings object.
    video: scene splitting, descriptors, encoding, the LanceDB scene store and search.
    sched: the scheduling algorithms and the trace simulator (pure: no Prefect, no Dask).
    training: job store, built-in workloads, torch.distributed ranks, checkpoints, launcher.
"""

__version__ = "0.1.0"
