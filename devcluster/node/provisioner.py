"""A dynamic provisioner for the default StorageClass: one host directory per claim.

The persistent-volume binder in kube-controller-manager marks a claim of this
class with the provisioner's name. This module then creates a hostPath
PersistentVolume pre-bound to the claim. Once a volume with reclaim policy
Delete is Released, it deletes the directory and the volume.
"""

import logging
import shutil
from pathlib import Path

from kubernetes import client

log = logging.getLogger(__name__)

PROVISIONER = "devcluster.featurestore.dev/hostpath"
STORAGE_CLASS = "standard"
PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


def ensure_storage_class(storage: client.StorageV1Api) -> None:
    body = client.V1StorageClass(
        metadata=client.V1ObjectMeta(
            name=STORAGE_CLASS, annotations={"storageclass.kubernetes.io/is-default-class": "true"}
        ),
        provisioner=PROVISIONER,
        reclaim_policy="Delete",
        volume_binding_mode="Immediate",
        allow_volume_expansion=True,
    )
    try:
        storage.create_storage_class(body)
        log.info("created default StorageClass %s", STORAGE_CLASS)
    except client.ApiException as error:
        if error.status != 409:
            raise


class Provisioner:
    def __init__(self, core: client.CoreV1Api, volumes_dir: Path):
        self.core = core
        self.volumes_dir = volumes_dir

    def on_claim(self, claim: dict) -> None:
        """Provision a volume for a pending claim that the binder handed to this provisioner."""
        metadata = claim["metadata"]
        annotations = metadata.get("annotations") or {}
        if annotations.get(PROVISIONER_ANNOTATION) != PROVISIONER:
            return
        if claim["spec"].get("volumeName") or metadata.get("deletionTimestamp"):
            return
        name = f"pvc-{metadata['uid']}"
        path = self.volumes_dir / name
        path.mkdir(parents=True, exist_ok=True)
        storage_class = claim["spec"].get("storageClassName") or STORAGE_CLASS
        reclaim_policy = "Delete"
        try:
            reclaim_policy = client.StorageV1Api(self.core.api_client).read_storage_class(storage_class).reclaim_policy
        except client.ApiException:
            pass
        volume = client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name=name, annotations={PROVISIONED_BY: PROVISIONER}),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": claim["spec"]["resources"]["requests"]["storage"]},
                access_modes=claim["spec"].get("accessModes") or ["ReadWriteOnce"],
                persistent_volume_reclaim_policy=reclaim_policy or "Delete",
                storage_class_name=storage_class,
                volume_mode=claim["spec"].get("volumeMode") or "Filesystem",
                host_path=client.V1HostPathVolumeSource(path=str(path), type="Directory"),
                claim_ref=client.V1ObjectReference(
                    kind="PersistentVolumeClaim",
                    api_version="v1",
                    namespace=metadata["namespace"],
                    name=metadata["name"],
                    uid=metadata["uid"],
                ),
            ),
        )
        try:
            self.core.create_persistent_volume(volume)
            log.info("provisioned %s at %s for claim %s/%s", name, path, metadata["namespace"], metadata["name"])
        except client.ApiException as error:
            if error.status != 409:
                raise

    def on_volume(self, volume: dict) -> None:
        """Delete a Released volume of ours whose reclaim policy is Delete, with its directory."""
        annotations = volume["metadata"].get("annotations") or {}
        if annotations.get(PROVISIONED_BY) != PROVISIONER:
            return
        if (volume.get("status") or {}).get("phase") != "Released":
            return
        if volume["spec"].get("persistentVolumeReclaimPolicy") != "Delete":
            return
        path = Path(volume["spec"]["hostPath"]["path"])
        if path.parent == self.volumes_dir:
            shutil.rmtree(path, ignore_errors=True)
        try:
            self.core.delete_persistent_volume(volume["metadata"]["name"])
            log.info("deleted released volume %s and %s", volume["metadata"]["name"], path)
        except client.ApiException as error:
            if error.status != 404:
                raise
