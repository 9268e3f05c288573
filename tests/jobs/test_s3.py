"""The breast-cancer template reading its tables from S3, served by moto on 127.0.0.1."""

from __future__ import annotations

import pytest

from featurestore_operator import api
from tests.jobs.support import (
    BREAST_CANCER_VIEWS,
    load_prepare_data,
    make_source,
    run_task,
)

BUCKET = "feature-data"
DATA_URL = f"s3://{BUCKET}/breast_cancer"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3_env(s3_endpoint) -> dict[str, str]:
    """The AWS variables of the Job: fake credentials, moto's endpoint, no instance metadata."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "FEATURESTORE_S3_DATA_URL": DATA_URL,
    }


@pytest.fixture(scope="module")
def uploaded_data(s3_env, prepared_data):
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_env["AWS_ENDPOINT_URL"],
        region_name=s3_env["AWS_DEFAULT_REGION"],
        aws_access_key_id=s3_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3_env["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=BUCKET)

    prepare_data = load_prepare_data()
    files = {path.stem: path for path in prepared_data.glob("*.parquet")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in s3_env.items():
            patch.setenv(name, value)
        urls = prepare_data.upload(files, DATA_URL)
    return sorted(urls)


def test_s3_apply_and_materialize(workspace, apply_task, s3_env, uploaded_data):
    repo = workspace / "repo"
    source = make_source(workspace / "source", "breast_cancer", "breast_cancer")
    assert uploaded_data == [f"{DATA_URL}/{name}.parquet" for name in ("df1", "df2", "df3", "df4", "target")]

    applied = apply_task(source, env=s3_env)

    assert applied.returncode == api.EXIT_OK, applied.stdout
    assert applied.result["featureViews"] == BREAST_CANCER_VIEWS

    materialized = run_task(
        "materialize",
        "--repo",
        repo,
        "--mode",
        "incremental",
        termination_log=workspace / "termination-log",
        env=s3_env,
    )

    assert materialized.returncode == api.EXIT_OK, materialized.stdout
    assert materialized.result["rowsWritten"] == 15
    assert not (repo / "data" / "breast_cancer").exists()

    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    source_paths = sorted(view.batch_source.path for view in store.list_feature_views())
    assert source_paths == uploaded_data
    values = store.get_online_features(
        features=["df1_feature_view:mean radius"], entity_rows=[{"patient_id": 568}]
    ).to_dict()
    assert values["mean radius"] == pytest.approx([7.76])
