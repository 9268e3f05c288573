"""The operator runs with only the permissions of manifests/base/rbac.yaml."""

import base64
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.integration.conftest import REPOSITORY_ROOT, OperatorProcess
from tests.integration.support import create, featurestore, materialization, wait_for_phase

pytestmark = pytest.mark.cluster

RBAC = REPOSITORY_ROOT / "manifests" / "base" / "rbac.yaml"


def cluster_role_rules() -> list[dict]:
    documents = list(yaml.safe_load_all(RBAC.read_text()))
    return next(doc for doc in documents if doc["kind"] == "ClusterRole")["rules"]


def token_kubeconfig(api_client, admin_kubeconfig: Path, namespace: str, account: str, path: Path) -> Path:
    core = client.CoreV1Api(api_client)
    token = core.create_namespaced_service_account_token(
        account, namespace, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    ).status.token
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "devcluster", "cluster": cluster}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "devcluster", "user": account}}],
        "current-context": "operator",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def restricted_operator(operator, api_client, kubeconfig, namespace, tmp_path):
    """Stop the session's admin operator and run one with the ClusterRole's rules instead."""
    rbac = client.RbacAuthorizationV1Api(api_client)
    core = client.CoreV1Api(api_client)
    name = f"featurestore-operator-test-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_service_account(namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name)))
    rbac.create_cluster_role({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                              "metadata": {"name": name}, "rules": cluster_role_rules()})
    rbac.create_cluster_role_binding({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    })
    restricted = OperatorProcess(token_kubeconfig(api_client, Path(kubeconfig), namespace, name,
                                                  tmp_path / "kubeconfig"), tmp_path / "operator.log")
    operator.stop()
    restricted.start()
    try:
        yield restricted
    finally:
        restricted.stop()
        operator.start()
        rbac.delete_cluster_role_binding(name)
        rbac.delete_cluster_role(name)


def test_restricted_operator_applies_and_schedules(restricted_operator, custom, namespace):
    create(custom, namespace, featurestore("rbac", {"project": "rbac", "repo": {"template": {"name": "minimal"}}}))
    fs = wait_for_phase(custom, namespace, "featurestores", "rbac", {"Ready", "Failed"}, operator=restricted_operator)
    assert fs["status"]["phase"] == "Ready", fs["status"].get("message")

    create(custom, namespace, materialization("nightly", {"featureStore": "rbac", "schedule": "0 3 * * *"}))
    mat = wait_for_phase(custom, namespace, "materializations", "nightly", {"Scheduled", "Failed"},
                         operator=restricted_operator)
    assert mat["status"]["phase"] == "Scheduled", mat["status"].get("message")

    # The minimal template has no data, so the run fails in Feast. The test checks
    # only that every call the operator makes on the way is allowed.
    create(custom, namespace, materialization("once", {"featureStore": "rbac"}))
    once = wait_for_phase(custom, namespace, "materializations", "once", {"Succeeded", "Failed"},
                          operator=restricted_operator)
    assert once["status"].get("runs"), once["status"].get("message")

    # An RBAC denial reads 'X is forbidden: User "system:serviceaccount:..." cannot VERB ...'.
    # Other 403s, such as creating in a namespace being deleted, are not about the role.
    log = restricted_operator.log_path.read_text()
    assert 'forbidden: User "system:serviceaccount:' not in log
