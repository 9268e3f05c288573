"""Resolve a pod's volumes to host paths: PVC, ConfigMap, Secret, emptyDir, hostPath, projected, downwardAPI."""

import base64
import os
import shutil
from pathlib import Path

from kubernetes import client

from devcluster.node.env import ContainerConfigError, expand, field_value


class VolumeNotReady(Exception):
    """A volume cannot be set up yet (claim not bound, ConfigMap missing); the pod waits and retries."""


def _write_files(directory: Path, files: dict[str, bytes], default_mode: int, items: list | None, source: str) -> None:
    """Write a ConfigMap's or Secret's keys (or the chosen items) as files, replacing earlier contents."""
    directory.mkdir(parents=True, exist_ok=True)
    chosen: list[tuple[str, str, int]] = []
    if items:
        for item in items:
            if item["key"] not in files:
                raise VolumeNotReady(f"{source}: key {item['key']!r} not found")
            chosen.append((item["key"], item["path"], item.get("mode", default_mode)))
    else:
        chosen = [(key, key, default_mode) for key in files]
    for key, relative, mode in chosen:
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[key])
        target.chmod(mode)


class VolumeResolver:
    """Set up the volumes of one pod under its pod directory."""

    def __init__(self, core: client.CoreV1Api, pod: dict, pod_dir: Path):
        self.core = core
        self.pod = pod
        self.namespace = pod["metadata"]["namespace"]
        self.pod_dir = pod_dir

    def _configmap_files(self, name: str, optional: bool) -> dict[str, bytes] | None:
        try:
            configmap = self.core.read_namespaced_config_map(name, self.namespace)
        except client.ApiException as error:
            if error.status == 404 and optional:
                return None
            if error.status == 404:
                raise VolumeNotReady(f'configmap "{name}" not found') from error
            raise
        files = {key: value.encode() for key, value in (configmap.data or {}).items()}
        files.update({key: base64.b64decode(value) for key, value in (configmap.binary_data or {}).items()})
        return files

    def _secret_files(self, name: str, optional: bool) -> dict[str, bytes] | None:
        try:
            secret = self.core.read_namespaced_secret(name, self.namespace)
        except client.ApiException as error:
            if error.status == 404 and optional:
                return None
            if error.status == 404:
                raise VolumeNotReady(f'secret "{name}" not found') from error
            raise
        return {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}

    def _claim_path(self, claim_name: str) -> Path:
        try:
            claim = self.core.read_namespaced_persistent_volume_claim(claim_name, self.namespace)
        except client.ApiException as error:
            if error.status == 404:
                raise VolumeNotReady(f'persistentvolumeclaim "{claim_name}" not found') from error
            raise
        if claim.status.phase != "Bound" or not claim.spec.volume_name:
            raise VolumeNotReady(f'persistentvolumeclaim "{claim_name}" is not bound yet')
        volume = self.core.read_persistent_volume(claim.spec.volume_name)
        if volume.spec.host_path is not None:
            return Path(volume.spec.host_path.path)
        if volume.spec.local is not None:
            return Path(volume.spec.local.path)
        raise VolumeNotReady(
            f"persistentvolume {claim.spec.volume_name} is neither hostPath nor local: devcluster cannot mount it"
        )

    def _service_account_token(self, source: dict) -> bytes:
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(
                audiences=[source["audience"]] if source.get("audience") else [],
                expiration_seconds=source.get("expirationSeconds", 3607),
                bound_object_ref=client.V1BoundObjectReference(
                    kind="Pod", api_version="v1", name=self.pod["metadata"]["name"], uid=self.pod["metadata"]["uid"]
                ),
            )
        )
        account = self.pod["spec"].get("serviceAccountName") or "default"
        response = self.core.create_namespaced_service_account_token(account, self.namespace, request)
        return response.status.token.encode()

    def _projected(self, directory: Path, projected: dict) -> None:
        default_mode = projected.get("defaultMode", 0o644)
        for source in projected.get("sources") or []:
            if "serviceAccountToken" in source:
                token = source["serviceAccountToken"]
                _write_files(directory, {token["path"]: self._service_account_token(token)}, 0o600, None, "token")
            elif "configMap" in source:
                reference = source["configMap"]
                files = self._configmap_files(reference["name"], reference.get("optional", False))
                if files is not None:
                    _write_files(directory, files, default_mode, reference.get("items"), f"configmap {reference['name']}")
            elif "secret" in source:
                reference = source["secret"]
                files = self._secret_files(reference["name"], reference.get("optional", False))
                if files is not None:
                    _write_files(directory, files, default_mode, reference.get("items"), f"secret {reference['name']}")
            elif "downwardAPI" in source:
                self._downward_api(directory, source["downwardAPI"], default_mode)

    def _downward_api(self, directory: Path, downward: dict, default_mode: int) -> None:
        files = {}
        items = []
        for item in downward.get("items") or []:
            if "fieldRef" not in item:
                raise VolumeNotReady(f"downwardAPI item {item['path']}: only fieldRef is supported by devcluster")
            files[item["path"]] = field_value(self.pod, item["fieldRef"]["fieldPath"]).encode()
            items.append({"key": item["path"], "path": item["path"], "mode": item.get("mode", default_mode)})
        _write_files(directory, files, default_mode, items, "downwardAPI")

    def resolve(self) -> dict[str, Path]:
        """Return each volume's name mapped to its host path; raise VolumeNotReady to retry later."""
        paths: dict[str, Path] = {}
        for volume in self.pod["spec"].get("volumes") or []:
            name = volume["name"]
            directory = self.pod_dir / "volumes" / name
            if "persistentVolumeClaim" in volume:
                paths[name] = self._claim_path(volume["persistentVolumeClaim"]["claimName"])
            elif "hostPath" in volume:
                host_path = Path(volume["hostPath"]["path"])
                if volume["hostPath"].get("type") == "DirectoryOrCreate":
                    host_path.mkdir(parents=True, exist_ok=True)
                paths[name] = host_path
            elif "emptyDir" in volume:
                directory.mkdir(parents=True, exist_ok=True)
                paths[name] = directory
            elif "configMap" in volume:
                reference = volume["configMap"]
                files = self._configmap_files(reference["name"], reference.get("optional", False)) or {}
                shutil.rmtree(directory, ignore_errors=True)
                _write_files(directory, files, reference.get("defaultMode", 0o644), reference.get("items"),
                             f"configmap {reference['name']}")
                paths[name] = directory
            elif "secret" in volume:
                reference = volume["secret"]
                files = self._secret_files(reference["secretName"], reference.get("optional", False)) or {}
                shutil.rmtree(directory, ignore_errors=True)
                _write_files(directory, files, reference.get("defaultMode", 0o644), reference.get("items"),
                             f"secret {reference['secretName']}")
                paths[name] = directory
            elif "projected" in volume:
                shutil.rmtree(directory, ignore_errors=True)
                directory.mkdir(parents=True)
                self._projected(directory, volume["projected"])
                paths[name] = directory
            elif "downwardAPI" in volume:
                shutil.rmtree(directory, ignore_errors=True)
                self._downward_api(directory, volume["downwardAPI"], volume["downwardAPI"].get("defaultMode", 0o644))
                paths[name] = directory
            else:
                kinds = sorted(set(volume) - {"name"})
                raise VolumeNotReady(f"volume {name}: type {kinds} is not supported by devcluster")
        return paths


def container_mounts(container: dict, volume_paths: dict[str, Path], env: dict[str, str]) -> list[dict]:
    """Return the bind mounts of one container: host source, target path, read-only flag."""
    mounts = []
    for mount in container.get("volumeMounts") or []:
        if mount["name"] not in volume_paths:
            raise ContainerConfigError(f"volumeMount {mount['name']!r} names no volume of the pod")
        source = volume_paths[mount["name"]]
        sub_path = mount.get("subPath") or ""
        if mount.get("subPathExpr"):
            sub_path = expand(mount["subPathExpr"], env)
        if sub_path:
            if os.path.isabs(sub_path) or ".." in Path(sub_path).parts:
                raise ContainerConfigError(f"subPath {sub_path!r} must be a relative path without '..'")
            source = source / sub_path
            if not source.exists():
                source.mkdir(parents=True)
        mounts.append({"source": str(source), "target": mount["mountPath"], "readOnly": bool(mount.get("readOnly"))})
    return mounts
