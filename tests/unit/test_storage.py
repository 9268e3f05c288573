"""The repo PVC builder."""

from featurestore_operator import api
from featurestore_operator.resources.storage import build_repo_pvc


def test_pvc_defaults(feature_store):
    pvc = build_repo_pvc(feature_store(name="bc", namespace="ml"))

    assert pvc["apiVersion"] == "v1"
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert pvc["metadata"]["name"] == "bc-repo"
    assert pvc["metadata"]["namespace"] == "ml"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert "storageClassName" not in pvc["spec"]


def test_pvc_labels(feature_store):
    labels = build_repo_pvc(feature_store(name="bc"))["metadata"]["labels"]

    assert labels[api.LABEL_FEATURESTORE] == "bc"
    assert labels[api.LABEL_MANAGED_BY] == api.MANAGED_BY


def test_pvc_with_retain_has_no_owner(feature_store):
    pvc = build_repo_pvc(feature_store(storage={"reclaimPolicy": "Retain"}))

    assert "ownerReferences" not in pvc["metadata"]


def test_pvc_with_delete_is_owned(feature_store):
    pvc = build_repo_pvc(feature_store(name="bc", storage={"reclaimPolicy": "Delete"}))

    assert pvc["metadata"]["ownerReferences"][0]["name"] == "bc"
    assert pvc["metadata"]["ownerReferences"][0]["kind"] == api.FEATURESTORE_KIND


def test_pvc_takes_storage_settings(feature_store):
    pvc = build_repo_pvc(
        feature_store(
            storage={
                "size": "20Gi",
                "storageClassName": "fast",
                "accessModes": ["ReadWriteMany"],
            }
        )
    )

    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc["spec"]["storageClassName"] == "fast"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_pvc_null_fields_take_defaults(feature_store):
    # kopf and the Kubernetes client may pass unset fields as None.
    pvc = build_repo_pvc(feature_store(storage={"size": None, "accessModes": None}))

    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_no_pvc_with_existing_claim(feature_store):
    assert build_repo_pvc(feature_store(storage={"existingClaim": "team-data"})) is None


def test_pvc_does_not_change_input(feature_store):
    fs = feature_store(storage={"accessModes": ["ReadWriteMany"]})
    pvc = build_repo_pvc(fs)
    pvc["spec"]["accessModes"].append("ReadWriteOnce")

    assert fs["spec"]["storage"]["accessModes"] == ["ReadWriteMany"]
