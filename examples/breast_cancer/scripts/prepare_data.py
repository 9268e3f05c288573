"""Write the breast-cancer example's five parquet tables.

The data is scikit-learn's bundled ``load_breast_cancer()`` set, so nothing is
downloaded. Each of the 569 rows is one patient (``patient_id`` 0..568) with
one ``event_timestamp`` a day, the last one at ``now``. The 30 feature columns
are split into four tables (columns 0-4, 5-9, 10-16 and 17-29) as four teams
would publish them, plus a ``target`` table.

Usage::

    python prepare_data.py --output DIR [--s3-url s3://bucket/prefix]

With ``--s3-url`` the files are also uploaded through pyarrow's S3 client,
which takes credentials from the standard AWS environment variables. An
S3-compatible endpoint (MinIO) is set with ``AWS_ENDPOINT_URL_S3`` or
``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pyarrow.fs
from sklearn.datasets import load_breast_cancer

logger = logging.getLogger("prepare_data")

# Column ranges of the four feature tables, as [start, stop) indexes into
# load_breast_cancer().feature_names.
FEATURE_TABLES = {
    "df1": (0, 5),
    "df2": (5, 10),
    "df3": (10, 17),
    "df4": (17, 30),
}
TARGET_TABLE = "target"


def build_tables(now: datetime) -> dict[str, pd.DataFrame]:
    """Build the four feature tables and the target table, keyed by file stem."""
    data = load_breast_cancer(as_frame=True)
    features = data.data.astype("float32")
    patient_count = len(features)

    # One row a day, the last one at `now`, so that a materialization with a
    # TTL of N days finds exactly the last N patients.
    timestamps = pd.date_range(end=now, periods=patient_count, freq="D")
    keys = pd.DataFrame(
        {
            "patient_id": pd.Series(range(patient_count), dtype="int64"),
            "event_timestamp": timestamps,
        }
    )

    tables = {}
    for name, (start, stop) in FEATURE_TABLES.items():
        columns = features.iloc[:, start:stop].reset_index(drop=True)
        tables[name] = pd.concat([keys, columns], axis=1)

    target = data.target.astype("int64").reset_index(drop=True).rename("target")
    tables[TARGET_TABLE] = pd.concat([keys, target], axis=1)
    return tables


def prepare(data_dir: Path, now: datetime | None = None) -> dict:
    """Write the five parquet files into data_dir and describe what was written.

    `now` is the timestamp of the last row; it defaults to the current time
    and must be timezone-aware if given. Returns a dict with the file paths by
    table name, the row count and the first and last event timestamps.
    """
    if now is None:
        now = datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError(
            f"now={now.isoformat()} has no time zone; pass an aware datetime "
            "such as datetime.now(timezone.utc)"
        )
    now = now.astimezone(timezone.utc)

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(now)

    files = {}
    for name, frame in tables.items():
        path = data_dir / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        files[name] = path
        logger.info("Wrote %s: %d rows, %d columns", path, len(frame), frame.shape[1])

    timestamps = tables[TARGET_TABLE]["event_timestamp"]
    return {
        "files": files,
        "rows": len(timestamps),
        "start": timestamps.iloc[0].to_pydatetime(),
        "end": timestamps.iloc[-1].to_pydatetime(),
    }


def s3_endpoint_from_env() -> str | None:
    """Return the S3 endpoint override from the standard AWS variables, if set."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def upload(files: dict[str, Path], s3_url: str) -> list[str]:
    """Upload the written files under s3_url and return their s3:// URLs."""
    parsed = urlparse(s3_url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(
            f"--s3-url {s3_url!r} is not an S3 URL; use the form s3://bucket/prefix"
        )
    prefix = f"{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")

    endpoint = s3_endpoint_from_env()
    filesystem = pyarrow.fs.S3FileSystem(endpoint_override=endpoint)

    urls = []
    for path in files.values():
        key = f"{prefix}/{path.name}"
        with path.open("rb") as source, filesystem.open_output_stream(key) as target:
            target.write(source.read())
        urls.append(f"s3://{key}")
        logger.info("Uploaded %s to s3://%s", path.name, key)
    return urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the breast-cancer example's parquet tables."
    )
    parser.add_argument(
        "--output",
        required=True,
        type=Path,
        help="directory to write df1..df4.parquet and target.parquet into",
    )
    parser.add_argument(
        "--s3-url",
        help="also upload the files under this s3://bucket/prefix",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s"
    )

    written = prepare(args.output)
    logger.info(
        "Prepared %d patients from %s to %s",
        written["rows"],
        written["start"].isoformat(),
        written["end"].isoformat(),
    )

    if args.s3_url:
        try:
            upload(written["files"], args.s3_url)
        except (OSError, ValueError) as error:
            logger.error("Upload to %s failed: %s", args.s3_url, error)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
