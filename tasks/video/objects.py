"""Files beside the scene store: local paths or object-store URIs (thumbnails).

On object storage the thumbnails live beside the table, under ``<uri>/thumbnails/``, and
are read and written with the store's own storage options, so a searcher on another host
can show them; a local store keeps them in a local folder. :mod:`tasks.video.store`
re-exports every name here.

Example:
    >>> thumbnail_location("s3://bucket/tessera", "/srv/thumbs")
    's3://bucket/tessera/thumbnails'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def is_local_uri(uri: str) -> bool:
    """Whether ``uri`` is a folder on this host's file system (a file lock works there).

    Example:
        >>> is_local_uri("data/lancedb"), is_local_uri("s3://bucket/scenes")
        (True, False)
    """
    return "://" not in uri or uri.startswith("file://")


THUMBNAIL_FOLDER = "thumbnails"
_S3_OPTION_NAMES = {
    # LanceDB (object_store) option -> pyarrow.fs.S3FileSystem argument.
    "aws_access_key_id": "access_key",
    "access_key_id": "access_key",
    "aws_secret_access_key": "secret_key",
    "secret_access_key": "secret_key",
    "aws_session_token": "session_token",
    "session_token": "session_token",
    "aws_region": "region",
    "region": "region",
    "aws_endpoint": "endpoint_override",
    "aws_endpoint_url": "endpoint_override",
    "endpoint": "endpoint_override",
    "endpoint_url": "endpoint_override",
}


def thumbnail_location(lancedb_uri: str, thumbnail_dir: Path | str) -> str:
    """Where a store's thumbnails go: beside the table on object storage, else the folder.

    Example:
        >>> thumbnail_location("s3://bucket/tessera/", "/srv/thumbs")
        's3://bucket/tessera/thumbnails'
        >>> thumbnail_location("/srv/lancedb", "/srv/thumbs")
        '/srv/thumbs'
    """
    if is_local_uri(lancedb_uri):
        return str(thumbnail_dir)
    return f"{lancedb_uri.rstrip('/')}/{THUMBNAIL_FOLDER}"


def object_filesystem(
    uri: str, storage_options: Mapping[str, str] | None = None
) -> tuple[Any, str]:
    """A pyarrow file system for an object-store URI and the path inside it.

    ``s3://`` takes the same options as LanceDB (so one setting serves table and
    thumbnails); other schemes use pyarrow's defaults (ambient credentials).

    Example:
        >>> fs, path = object_filesystem("s3://b/t/x.jpg", {"aws_region": "eu-west-1"})
        >>> path
        'b/t/x.jpg'
    """
    import pyarrow.fs as pafs

    scheme, _, rest = uri.partition("://")
    if scheme not in ("s3", "s3a"):
        return pafs.FileSystem.from_uri(uri)
    kwargs: dict[str, Any] = {}
    for key, value in (storage_options or {}).items():
        name = _S3_OPTION_NAMES.get(key.lower())
        if name:
            kwargs[name] = value
    allow_http = str((storage_options or {}).get("allow_http", "")).lower() in ("1", "true")
    endpoint = kwargs.get("endpoint_override", "")
    if endpoint.startswith("http://") or (allow_http and "://" not in endpoint and endpoint):
        kwargs["scheme"] = "http"
    return pafs.S3FileSystem(**kwargs), rest


def write_object(uri: str, data: bytes, storage_options: Mapping[str, str] | None = None) -> None:
    """Write ``data`` to an object-store URI (one PUT: readers see all of it or nothing).

    Example:
        >>> write_object("s3://bucket/tessera/thumbnails/ab-0.jpg", jpeg, opts)  # doctest: +SKIP
    """
    fs, path = object_filesystem(uri, storage_options)
    with fs.open_output_stream(path) as out:
        out.write(data)


def read_object(uri: str, storage_options: Mapping[str, str] | None = None) -> bytes:
    """The bytes at a local path or object-store URI.

    Example:
        >>> read_object("s3://bucket/tessera/thumbnails/ab-0.jpg", opts)[:2]  # doctest: +SKIP
        b'\\xff\\xd8'
    """
    if is_local_uri(uri):
        return Path(uri.removeprefix("file://")).read_bytes()
    fs, path = object_filesystem(uri, storage_options)
    with fs.open_input_stream(path) as src:
        return bytes(src.read())


def delete_file(uri: str, storage_options: Mapping[str, str] | None = None) -> bool:
    """Delete a local file or an object; returns whether it existed.

    Example:
        >>> delete_file("/tmp/no-such-thumbnail.jpg")
        False
    """
    if is_local_uri(uri):
        path = Path(uri.removeprefix("file://"))
        if not path.is_file():
            return False
        path.unlink(missing_ok=True)
        return True
    import pyarrow.fs as pafs

    fs, path_in = object_filesystem(uri, storage_options)
    if fs.get_file_info(path_in).type != pafs.FileType.File:
        return False
    fs.delete_file(path_in)
    return True
