"""Operator settings, read once from environment variables.

| variable | meaning | default |
| --- | --- | --- |
| FEATURESTORE_RUNNER_IMAGE | image of the apply and materialize Job pods | featurestore-operator:<version> |
| FEATURESTORE_NAMESPACES | comma-separated namespaces to watch; empty watches all | (all) |
| FEATURESTORE_RESYNC_SECONDS | how often every FeatureStore is checked again, for Secrets that changed or appeared | 60 |
| FEATURESTORE_APPLY_JOBS_KEPT | finished apply Jobs kept per FeatureStore, newest first | 3 |
| FEATURESTORE_RUN_HISTORY | runs listed in a Materialization's status.runs | 10 |
| FEATURESTORE_WATCH_TIMEOUT_SECONDS | server-side timeout of each watch request, so a silently dropped watch restarts | 300 |
"""

import os
from dataclasses import dataclass, field

from featurestore_operator import __version__


def _int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number: set it to an integer >= {minimum}") from None
    if value < minimum:
        raise ValueError(f"{name}={value} is below {minimum}: set it to an integer >= {minimum}")
    return value


@dataclass(frozen=True)
class Settings:
    runner_image: str = f"featurestore-operator:{__version__}"
    namespaces: tuple[str, ...] = field(default_factory=tuple)
    resync_seconds: int = 60
    apply_jobs_kept: int = 3
    run_history: int = 10
    watch_timeout_seconds: int = 300


def load() -> Settings:
    """Read the settings from the environment; raise ValueError naming a bad variable."""
    namespaces = tuple(n.strip() for n in os.environ.get("FEATURESTORE_NAMESPACES", "").split(",") if n.strip())
    return Settings(
        runner_image=os.environ.get("FEATURESTORE_RUNNER_IMAGE") or Settings.runner_image,
        namespaces=namespaces,
        resync_seconds=_int("FEATURESTORE_RESYNC_SECONDS", 60, 5),
        apply_jobs_kept=_int("FEATURESTORE_APPLY_JOBS_KEPT", 3, 1),
        run_history=_int("FEATURESTORE_RUN_HISTORY", 10, 1),
        watch_timeout_seconds=_int("FEATURESTORE_WATCH_TIMEOUT_SECONDS", 300, 10),
    )


SETTINGS = load()
