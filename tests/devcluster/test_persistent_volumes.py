"""The hostPath provisioner of the default StorageClass: data that outlives pods, Delete reclaim."""

import shutil
from pathlib import Path

from kubernetes import client
from podtools import pod_manifest, python_container, read_pod, run_pod, terminated, wait_for


def _create_claim(core, namespace: str, name: str) -> None:
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"], resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"})
        ),
    )
    core.create_namespaced_persistent_volume_claim(namespace, claim)


def _bound_volume(core, namespace: str, claim_name: str) -> client.V1PersistentVolume:
    def bound():
        claim = core.read_namespaced_persistent_volume_claim(claim_name, namespace)
        return claim.status.phase == "Bound" and claim.spec.volume_name

    volume_name = wait_for(bound, 30, f"claim {namespace}/{claim_name} to be bound")
    return core.read_persistent_volume(volume_name)


def _claim_pod(name: str, script: str, mount_path: str) -> dict:
    container = python_container(name, script, volumeMounts=[{"name": "data", "mountPath": mount_path}])
    return pod_manifest(name, [container], volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])


def test_claim_provisioned_on_host(core, namespace, state_dir):
    _create_claim(core, namespace, "data")

    volume = _bound_volume(core, namespace, "data")

    assert volume.spec.storage_class_name == "standard"
    assert volume.spec.persistent_volume_reclaim_policy == "Delete"
    assert volume.spec.capacity["storage"] == "1Gi"
    assert Path(volume.spec.host_path.path).parent == state_dir / "volumes"
    assert Path(volume.spec.host_path.path).is_dir()


def test_claim_data_outlives_pod(core, namespace, tmp_path):
    _create_claim(core, namespace, "data")
    mount_path = str(tmp_path / "data")
    writer = _claim_pod("writer", f"open({mount_path + '/model.txt'!r}, 'w').write('weights v1')", mount_path)
    reader = _claim_pod(
        "reader", f"open('/dev/termination-log', 'w').write(open({mount_path + '/model.txt'!r}).read())", mount_path
    )

    assert run_pod(core, namespace, writer)["status"]["phase"] == "Succeeded"
    core.delete_namespaced_pod("writer", namespace)
    wait_for(lambda: read_pod(core, namespace, "writer") is None, 30, "the writer pod to be deleted")
    pod = run_pod(core, namespace, reader)

    assert terminated(pod, "reader")["message"] == "weights v1"
    host_path = Path(_bound_volume(core, namespace, "data").spec.host_path.path)
    assert (host_path / "model.txt").read_text() == "weights v1"


def test_released_volume_deleted_with_directory(core, namespace, tmp_path):
    _create_claim(core, namespace, "data")
    mount_path = str(tmp_path / "data")
    run_pod(core, namespace, _claim_pod("writer", f"open({mount_path + '/x'!r}, 'w').write('x')", mount_path))
    volume = _bound_volume(core, namespace, "data")
    host_path = Path(volume.spec.host_path.path)
    assert (host_path / "x").exists()

    core.delete_namespaced_pod("writer", namespace)
    core.delete_namespaced_persistent_volume_claim("data", namespace)

    def volume_gone():
        try:
            core.read_persistent_volume(volume.metadata.name)
        except client.ApiException as error:
            return error.status == 404
        return False

    wait_for(volume_gone, 60, f"released volume {volume.metadata.name} to be deleted")
    assert not host_path.exists()


def test_retained_volume_kept(core, api_client, namespace):
    storage = client.StorageV1Api(api_client)
    class_name = f"retain-{namespace}"
    storage.create_storage_class(
        client.V1StorageClass(
            metadata=client.V1ObjectMeta(name=class_name),
            provisioner="devcluster.featurestore.dev/hostpath",
            reclaim_policy="Retain",
        )
    )
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="kept"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            storage_class_name=class_name,
            resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
        ),
    )
    volume = None
    try:
        core.create_namespaced_persistent_volume_claim(namespace, claim)
        volume = _bound_volume(core, namespace, "kept")

        core.delete_namespaced_persistent_volume_claim("kept", namespace)

        wait_for(
            lambda: core.read_persistent_volume(volume.metadata.name).status.phase == "Released",
            30,
            "the retained volume to be Released",
        )
        assert Path(volume.spec.host_path.path).is_dir()
    finally:
        storage.delete_storage_class(class_name)
        if volume is not None:
            core.delete_persistent_volume(volume.metadata.name)
            shutil.rmtree(volume.spec.host_path.path, ignore_errors=True)
