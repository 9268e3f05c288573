"""A FeatureStore whose breast_cancer tables are on S3 (spec.s3), served by moto on 127.0.0.1.

The Job pods of the local control plane run on the host network, so they
reach the moto server that this module starts on loopback. Credentials come
from a Secret through spec.s3.credentialsSecretRef.
"""

import json
import os
import subprocess
import sys
import textwrap

import boto3
import pytest
from kubernetes import client

from tests.integration.support import create, featurestore, materialization, wait_for, wait_for_phase

pytestmark = pytest.mark.cluster

BUCKET = "breast-cancer-data"
DATA_URL = f"s3://{BUCKET}/breast_cancer"
MISSING_DATA_URL = f"s3://{BUCKET}/not_uploaded"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
TABLES = ["df1", "df2", "df3", "df4", "target"]

# Without this, an AWS SDK that lacks a region or credentials queries the EC2
# instance metadata service, which is not on loopback.
NO_METADATA = {"AWS_EC2_METADATA_DISABLED": "true"}

VERIFY_SCRIPT = textwrap.dedent(
    """\
    import json, os
    from feast import FeatureStore

    store = FeatureStore(repo_path="/feature-repo")
    views = sorted(store.list_feature_views(), key=lambda view: view.name)
    online = store.get_online_features(
        features=["df1_feature_view:mean radius"],
        entity_rows=[{"patient_id": 568}, {"patient_id": 100}],
    ).to_dict()
    print(json.dumps({
        "paths": [view.batch_source.path for view in views],
        "localData": os.path.exists("/feature-repo/data/breast_cancer"),
        "meanRadius": online["mean radius"],
    }))
    """
)


@pytest.fixture(scope="module")
def s3_endpoint() -> str:
    from moto.server import ThreadedMotoServer

    # Port 0 lets the system choose a free port.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def uploaded(s3_endpoint, tmp_path_factory) -> list[str]:
    """Create the bucket and upload the five tables with prepare_data.py --s3-url; return the object keys."""
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION,
                      aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    s3.create_bucket(Bucket=BUCKET)

    from tests.integration.conftest import PREPARE_DATA_SCRIPT

    env = {**os.environ, **CREDENTIALS, **NO_METADATA, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": s3_endpoint}
    prepared = subprocess.run(
        [sys.executable, str(PREPARE_DATA_SCRIPT), "--output", str(tmp_path_factory.mktemp("s3_data")),
         "--s3-url", DATA_URL],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert prepared.returncode == 0, f"prepare_data.py failed:\n{prepared.stdout}\n{prepared.stderr}"

    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="breast_cancer/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def delete_stores(custom, namespace, operator):
    """Delete the test's FeatureStores while the operator runs, so that it removes their finalizers.

    The namespace fixture deletes the namespace without waiting. If the
    operator stopped first (after the session's last test), the FeatureStores'
    finalizers would keep the namespace in Terminating.
    """
    yield
    for store in custom.list_namespaced_custom_object("featurestore.dev", "v1alpha1", namespace,
                                                      "featurestores")["items"]:
        custom.delete_namespaced_custom_object("featurestore.dev", "v1alpha1", namespace, "featurestores",
                                               store["metadata"]["name"])

    def stores_gone():
        listed = custom.list_namespaced_custom_object("featurestore.dev", "v1alpha1", namespace, "featurestores")
        return not listed["items"]

    wait_for(stores_gone, 120, f"the FeatureStores of {namespace} to be deleted", on_timeout=operator.log_tail)


def s3_store_spec(s3_endpoint: str, data_url: str) -> dict:
    return {
        "project": "breast_cancer",
        "repo": {"template": {"name": "breast_cancer"}},
        "s3": {
            "endpointURL": s3_endpoint,
            "region": REGION,
            "credentialsSecretRef": {"name": "s3-credentials"},
            "dataURL": data_url,
        },
        "runner": {"env": [{"name": name, "value": value} for name, value in NO_METADATA.items()]},
    }


def create_credentials_secret(core: client.CoreV1Api, namespace: str) -> None:
    secret = client.V1Secret(metadata=client.V1ObjectMeta(name="s3-credentials"), string_data=CREDENTIALS)
    core.create_namespaced_secret(namespace, secret)


def read_repo_in_pod(api_client: client.ApiClient, namespace: str, claim: str, pod_log) -> dict:
    """Run a Job that reads the registry and the online store on the claim, and return what it printed."""
    batch = client.BatchV1Api(api_client)
    core = client.CoreV1Api(api_client)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "verify-repo"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "verify",
                        "image": "featurestore-operator:0.1.0",
                        "command": ["python", "-c", VERIFY_SCRIPT],
                        "volumeMounts": [{"name": "repo", "mountPath": "/feature-repo"}],
                    }],
                    "volumes": [{"name": "repo", "persistentVolumeClaim": {"claimName": claim}}],
                }
            },
        },
    }
    batch.create_namespaced_job(namespace, job)

    def finished():
        status = batch.read_namespaced_job("verify-repo", namespace).status
        return status.succeeded or status.failed

    wait_for(finished, 180, "the verify-repo Job")
    pod = core.list_namespaced_pod(namespace, label_selector="batch.kubernetes.io/job-name=verify-repo").items[0]
    log = pod_log(namespace, pod.metadata.name)
    assert batch.read_namespaced_job("verify-repo", namespace).status.succeeded, f"verify-repo failed:\n{log}"
    return json.loads(log.strip().splitlines()[-1])


def test_upload_writes_tables(uploaded):
    assert uploaded == [f"breast_cancer/{table}.parquet" for table in TABLES]


def test_s3_store_materializes(operator, custom, namespace, api_client, s3_endpoint, uploaded, pod_log,
                               delete_stores):
    create_credentials_secret(client.CoreV1Api(api_client), namespace)
    create(custom, namespace, featurestore("s3-store", s3_store_spec(s3_endpoint, DATA_URL)))

    store = wait_for_phase(custom, namespace, "featurestores", "s3-store", {"Ready", "Failed"}, operator=operator)
    assert store["status"]["phase"] == "Ready", store["status"].get("message")
    assert store["status"]["featureViewCount"] == 5

    create(custom, namespace, materialization("s3-load", {"featureStore": "s3-store", "mode": "incremental"}))
    loaded = wait_for_phase(custom, namespace, "materializations", "s3-load", {"Succeeded", "Failed"},
                            operator=operator)
    assert loaded["status"]["phase"] == "Succeeded", loaded["status"].get("message")
    # The last 3 patients (the views' 3-day ttl) in each of the five views.
    assert loaded["status"]["rowsWritten"] == 15

    repo = read_repo_in_pod(api_client, namespace, "s3-store-repo", pod_log)
    assert repo["paths"] == [f"{DATA_URL}/{table}.parquet" for table in TABLES]
    assert repo["localData"] is False
    assert repo["meanRadius"][0] == pytest.approx(7.76, abs=1e-3)
    assert repo["meanRadius"][1] is None


def test_missing_s3_data_fails(operator, custom, namespace, api_client, s3_endpoint, uploaded, delete_stores):
    create_credentials_secret(client.CoreV1Api(api_client), namespace)
    create(custom, namespace, featurestore("s3-missing", s3_store_spec(s3_endpoint, MISSING_DATA_URL)))
    store = wait_for_phase(custom, namespace, "featurestores", "s3-missing", {"Ready", "Failed"}, operator=operator)
    assert store["status"]["phase"] == "Ready", store["status"].get("message")

    create(custom, namespace, materialization("s3-load", {"featureStore": "s3-missing", "mode": "incremental"}))
    loaded = wait_for_phase(custom, namespace, "materializations", "s3-load", {"Succeeded", "Failed"},
                            operator=operator)

    assert loaded["status"]["phase"] == "Failed"
    assert "not_uploaded/df1.parquet" in loaded["status"]["message"]
