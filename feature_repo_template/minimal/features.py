"""The smallest useful feature repo: one entity and one feature view.

Applying it needs no data file, because the schema names every column. The
source file `data/driver_stats.parquet` (relative to the repo) is read only
when the view is materialized or queried: it needs the columns driver_id
(int64), event_timestamp (timestamp) and conv_rate (float32).
"""

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float32, Int64

driver = Entity(
    name="driver",
    join_keys=["driver_id"],
    value_type=ValueType.INT64,
    description="A driver, by id",
)

driver_stats_source = FileSource(
    name="driver_stats_source",
    path="data/driver_stats.parquet",
    timestamp_field="event_timestamp",
)

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=1),
    schema=[
        Field(name="driver_id", dtype=Int64),
        Field(name="conv_rate", dtype=Float32),
    ],
    online=True,
    source=driver_stats_source,
)
