"""The repo PVC: the feature repo, registry, online store and data files of a FeatureStore."""

from collections.abc import Mapping

from featurestore_operator.resources.labels import child_labels, child_metadata
from featurestore_operator.resources.names import repo_pvc_name
from featurestore_operator.resources.spec import object_name, storage_spec


def build_repo_pvc(fs: Mapping) -> dict | None:
    """Build the repo PVC, or return None when storage.existingClaim names a claim to use instead.

    The FeatureStore owns the PVC only with reclaimPolicy Delete, so that the
    garbage collector deletes it with the FeatureStore. With Retain (the
    default) the PVC and its data outlive the FeatureStore.
    """
    storage = storage_spec(fs)
    if storage.get("existingClaim"):
        return None

    spec = {
        "accessModes": list(storage["accessModes"]),
        "volumeMode": "Filesystem",
        "resources": {"requests": {"storage": str(storage["size"])}},
    }
    if storage.get("storageClassName"):
        spec["storageClassName"] = storage["storageClassName"]

    owned = storage["reclaimPolicy"] == "Delete"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": child_metadata(
            repo_pvc_name(fs), fs, child_labels(object_name(fs)), owned=owned
        ),
        "spec": spec,
    }
