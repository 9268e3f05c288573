"""Feature definitions of the breast-cancer example.

One entity, `patient`, and five feature views over the parquet tables that
examples/breast_cancer/scripts/prepare_data.py writes: four views of the 30
measurements as four teams would publish them, and one of the diagnosis.

The tables are read from `data/breast_cancer/` in the feature repo, a path
that Feast 0.67 resolves against the repo directory. If the environment
variable FEATURESTORE_S3_DATA_URL (for example s3://bucket/breast_cancer) is
set while the definitions are applied, the views read the same file names
under that URL instead. The S3 endpoint override (for MinIO) then comes from
AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, and the credentials only from the
standard AWS environment variables.
"""

import os
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float32, Int64

LOCAL_DATA_DIR = "data/breast_cancer"
S3_DATA_URL = os.environ.get("FEATURESTORE_S3_DATA_URL", "").rstrip("/")
S3_ENDPOINT = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")

# Online values older than this are served as missing.
TTL = timedelta(days=3)

# Column names of load_breast_cancer(), split as the four tables are.
DF1_COLUMNS = [
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
]
DF2_COLUMNS = [
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
]
DF3_COLUMNS = [
    "radius error",
    "texture error",
    "perimeter error",
    "area error",
    "smoothness error",
    "compactness error",
    "concavity error",
]
DF4_COLUMNS = [
    "concave points error",
    "symmetry error",
    "fractal dimension error",
    "worst radius",
    "worst texture",
    "worst perimeter",
    "worst area",
    "worst smoothness",
    "worst compactness",
    "worst concavity",
    "worst concave points",
    "worst symmetry",
    "worst fractal dimension",
]

patient = Entity(
    name="patient",
    join_keys=["patient_id"],
    value_type=ValueType.INT64,
    description="A patient of the breast-cancer data set, 0..568",
)


def table_source(table: str) -> FileSource:
    """Build the FileSource of one parquet table, on S3 or in the repo."""
    if S3_DATA_URL:
        return FileSource(
            name=f"{table}_source",
            path=f"{S3_DATA_URL}/{table}.parquet",
            timestamp_field="event_timestamp",
            s3_endpoint_override=S3_ENDPOINT,
        )
    return FileSource(
        name=f"{table}_source",
        path=f"{LOCAL_DATA_DIR}/{table}.parquet",
        timestamp_field="event_timestamp",
    )


def table_view(table: str, columns: list[str], dtype) -> FeatureView:
    """Build the feature view `<table>_feature_view` over one table's columns."""
    # The join key is declared in the schema, so that Feast does not have to
    # read the table to infer it.
    schema = [Field(name="patient_id", dtype=Int64)]
    schema += [Field(name=column, dtype=dtype) for column in columns]
    return FeatureView(
        name=f"{table}_feature_view",
        entities=[patient],
        ttl=TTL,
        schema=schema,
        online=True,
        source=table_source(table),
    )


df1_feature_view = table_view("df1", DF1_COLUMNS, Float32)
df2_feature_view = table_view("df2", DF2_COLUMNS, Float32)
df3_feature_view = table_view("df3", DF3_COLUMNS, Float32)
df4_feature_view = table_view("df4", DF4_COLUMNS, Float32)
target_feature_view = table_view("target", ["target"], Int64)
