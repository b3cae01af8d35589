"""The ``tessera ui`` web app: scene search, the video library and the training jobs.

An entry point like ``flows/cli``: FastAPI pages and a JSON API under ``/api`` calling the
same tasks (one search path). Templates and static files ship inside this package, so
nothing is fetched from a CDN at run time.

Example:
    >>> from flows.web.app import create_app  # doctest: +SKIP
    >>> app = create_app(Settings())  # doctest: +SKIP
"""
