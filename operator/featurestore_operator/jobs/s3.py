"""Read s3:// files through pyarrow when s3fs is not installed.

Feast 0.67's file offline store (dask) reads a FileSource with
dask.dataframe.read_parquet, which needs an fsspec filesystem for s3:// URLs,
normally s3fs. The project's locked environment has no s3fs: it would pin
botocore below the version that boto3 needs. pyarrow, which Feast already
uses for S3 when it reads schemas, ships an S3 client, so the Job tasks
register it with fsspec for the s3 protocol instead.
"""

from __future__ import annotations

import importlib.util
import logging
import os

import fsspec
import pyarrow.fs
from fsspec.implementations.arrow import ArrowFSWrapper

logger = logging.getLogger(__name__)

S3_PROTOCOLS = ("s3", "s3a")


def endpoint_from_environment() -> str | None:
    """Return the S3 endpoint that the standard AWS variables set, if any."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


class PyArrowS3FileSystem(ArrowFSWrapper):
    """An fsspec filesystem for s3:// URLs backed by pyarrow.fs.S3FileSystem.

    Takes the storage options that Feast passes to s3fs: key, secret, token
    and client_kwargs={"endpoint_url": ...}. Without them, credentials come
    from the standard AWS environment variables and the endpoint from
    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
    """

    protocol = S3_PROTOCOLS
    root_marker = ""

    def __init__(
        self,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        client_kwargs: dict | None = None,
        endpoint_url: str | None = None,
        anon: bool = False,
        **kwargs,
    ) -> None:
        endpoint = (client_kwargs or {}).get("endpoint_url") or endpoint_url
        filesystem = pyarrow.fs.S3FileSystem(
            access_key=key or None,
            secret_key=secret or None,
            session_token=token or None,
            endpoint_override=endpoint or endpoint_from_environment(),
            anonymous=anon,
        )
        super().__init__(filesystem, **kwargs)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(item) for item in path]
        for protocol in S3_PROTOCOLS:
            prefix = f"{protocol}://"
            if path.startswith(prefix):
                path = path[len(prefix) :]
        return path.rstrip("/")

    def unstrip_protocol(self, name: str) -> str:
        return f"s3://{self._strip_protocol(name)}"


def register_s3_filesystem() -> bool:
    """Register PyArrowS3FileSystem for s3:// unless s3fs is installed; return whether it did."""
    if importlib.util.find_spec("s3fs") is not None:
        return False
    for protocol in S3_PROTOCOLS:
        fsspec.register_implementation(protocol, PyArrowS3FileSystem, clobber=True)
    logger.debug("Registered pyarrow's S3 client with fsspec, because s3fs is not installed")
    return True
