"""The materialize task: load feature values from the offline store into the online store.

Each selected feature view is materialized by its own Feast call, so that the
result can report per view the interval loaded, the rows written and the
duration. Rows are counted by wrapping the online store's online_write_batch
in this process.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import feast
from feast import FeatureStore
from feast.errors import FeastObjectNotFoundException

from featurestore_operator.jobs.backup import registry_file
from featurestore_operator.jobs.config import CONFIG_FILE_NAME, load_config
from featurestore_operator.jobs.lock import writer_lock
from featurestore_operator.jobs.result import (
    REASON_FEAST_ERROR,
    REASON_INVALID_CONFIG,
    REASON_UNKNOWN_FEATURE_VIEW,
    TaskFailure,
    describe_error,
)

logger = logging.getLogger(__name__)

TASK = "materialize"
MODE_INCREMENTAL = "incremental"
MODE_RANGE = "range"
MODES = (MODE_INCREMENTAL, MODE_RANGE)


def parse_time(value: str, option: str) -> datetime:
    """Parse an RFC 3339 timestamp with its UTC offset, such as 2024-05-01T12:00:00Z."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise invalid_argument(
            f"{option} {value!r} is not an RFC 3339 timestamp; use the form 2024-05-01T12:00:00Z."
        ) from error
    if parsed.tzinfo is None:
        raise invalid_argument(
            f"{option} {value!r} has no UTC offset; add Z or an offset such as +02:00."
        )
    return parsed.astimezone(timezone.utc)


def format_time(value: datetime | None) -> str | None:
    """Format value as RFC 3339 in UTC; a naive value is taken as UTC, as Feast stores it."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def invalid_argument(message: str) -> TaskFailure:
    return TaskFailure(REASON_INVALID_CONFIG, message, user_error=True)


class OnlineWriteCounter:
    """Counts the rows passed to the online store's online_write_batch, per table."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()

    def install(self, store: FeatureStore) -> None:
        # NOTE: FeatureStore has no public accessor for its provider in Feast
        # 0.67. The local compute engine writes through the provider's online
        # store object, so wrapping that instance's method counts every batch.
        online_store = store._get_provider().online_store
        write_batch = online_store.online_write_batch

        def counting_write_batch(config, table, data, progress, *args, **kwargs):
            self.rows[table.name] += len(data)
            return write_batch(config, table, data, progress, *args, **kwargs)

        online_store.online_write_batch = counting_write_batch


def materializable_views(store: FeatureStore) -> list[str]:
    """Return the names of the views that a materialization of all views loads, as Feast selects them."""
    views = [
        view
        for view in store.list_feature_views() + store.list_stream_feature_views()
        if view.online and getattr(view, "enabled", True)
    ]
    views += [
        view
        for view in store.list_on_demand_feature_views()
        if view.write_to_online_store and getattr(view, "enabled", True)
    ]
    return sorted({view.name for view in views})


def _recorded_interval(store: FeatureStore, name: str) -> tuple[datetime, datetime] | None:
    """Return the last interval that Feast recorded for a feature view, if it records any."""
    try:
        view = store.get_feature_view(name, allow_registry_cache=False)
    except FeastObjectNotFoundException:
        # Stream and on-demand views are not returned here.
        return None
    intervals = getattr(view, "materialization_intervals", None)
    return intervals[-1] if intervals else None


def _check_arguments(mode: str, start: datetime | None, end: datetime) -> None:
    if mode not in MODES:
        raise invalid_argument(f"--mode {mode!r} is not one of {', '.join(MODES)}.")
    if mode == MODE_RANGE and start is None:
        raise invalid_argument("--mode range needs --start-time; set the Materialization's startTime.")
    if mode == MODE_INCREMENTAL and start is not None:
        raise invalid_argument(
            "--start-time applies only to --mode range; an incremental run starts where the "
            "previous one ended. Remove startTime or use mode range."
        )
    if start is not None and start >= end:
        raise invalid_argument(
            f"--start-time {format_time(start)} is not before --end-time {format_time(end)}."
        )


def _materialize_view(
    store: FeatureStore,
    name: str,
    mode: str,
    start: datetime | None,
    end: datetime,
    counter: OnlineWriteCounter,
) -> dict[str, Any]:
    started = time.monotonic()
    rows_before = counter.rows[name]
    if mode == MODE_INCREMENTAL:
        store.materialize_incremental(end_date=end, feature_views=[name])
    else:
        store.materialize(start_date=start, end_date=end, feature_views=[name])
    duration = time.monotonic() - started

    interval = _recorded_interval(store, name)
    if interval is not None:
        loaded_start, loaded_end = interval
    else:
        loaded_start, loaded_end = start, end
    rows = counter.rows[name] - rows_before
    logger.info(
        "Materialized %s from %s to %s: %d rows in %.2f s",
        name,
        format_time(loaded_start),
        format_time(loaded_end),
        rows,
        duration,
    )
    return {
        "name": name,
        "start": format_time(loaded_start),
        "end": format_time(loaded_end),
        "rows": rows,
        "durationSeconds": round(duration, 2),
    }


def _load_store(repo: Path) -> FeatureStore:
    config = load_config(repo / CONFIG_FILE_NAME, repo)

    # Feast creates an empty file registry where none exists, which would
    # turn a materialization before the first apply into a silent no-op.
    registry = registry_file(config, repo)
    if registry is not None and not registry.exists():
        raise TaskFailure(
            REASON_FEAST_ERROR,
            f"The feature repo {repo} has no registry at {registry} yet. Wait until the "
            "FeatureStore is Ready, which means its apply succeeded.",
            user_error=False,
        )
    return FeatureStore(repo_path=str(repo), config=config)


def run_materialize(
    repo: Path,
    mode: str,
    start: datetime | None = None,
    end: datetime | None = None,
    feature_views: list[str] | None = None,
) -> dict[str, Any]:
    """Materialize the feature repo at repo and return the success result.

    end defaults to now in UTC, to the second. Raises TaskFailure.
    """
    started = time.monotonic()
    if end is None:
        end = datetime.now(timezone.utc).replace(microsecond=0)
    _check_arguments(mode, start, end)
    repo = repo.resolve()

    with writer_lock(repo, TASK):
        store = _load_store(repo)
        available = materializable_views(store)
        unknown = [name for name in feature_views or [] if name not in available]
        if unknown:
            raise TaskFailure(
                REASON_UNKNOWN_FEATURE_VIEW,
                f"Unknown feature view {', '.join(map(repr, unknown))} in project "
                f"{store.project}. Use one of: {', '.join(available) or 'none'}.",
                user_error=True,
                unknown=unknown,
                available=available,
            )
        selected = list(dict.fromkeys(feature_views)) if feature_views else available

        counter = OnlineWriteCounter()
        counter.install(store)
        reports = []
        for name in selected:
            try:
                reports.append(_materialize_view(store, name, mode, start, end, counter))
            except TaskFailure:
                raise
            except Exception as error:
                logger.exception("Materializing %s failed", name)
                raise TaskFailure(
                    REASON_FEAST_ERROR,
                    f"Materializing feature view {name} failed: {describe_error(error)}. "
                    "The Job log has the traceback.",
                    user_error=False,
                    featureViews=reports,
                ) from error

    result: dict[str, Any] = {"task": TASK, "ok": True, "mode": mode}
    if start is not None:
        result["startTime"] = format_time(start)
    result.update(
        {
            "endTime": format_time(end),
            "featureViews": reports,
            "rowsWritten": sum(report["rows"] for report in reports),
            "durationSeconds": round(time.monotonic() - started, 2),
            "feastVersion": feast.__version__,
        }
    )
    return result
