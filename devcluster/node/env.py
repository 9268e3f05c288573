"""Build a container's environment as a kubelet does: env, envFrom, $(VAR) expansion."""

import base64
import os
import re
import sys

from kubernetes import client
from kubernetes.utils import parse_quantity

# Variables passed from the node's own environment. OPENBLAS_* select working
# kernels on some processors; without them numpy may compute wrong results.
PASSED_THROUGH = ("LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SSL_CERT_FILE")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ContainerConfigError(Exception):
    """A referenced ConfigMap, Secret or key is missing; the kubelet reason is CreateContainerConfigError."""


def expand(value: str, variables: dict[str, str]) -> str:
    """Expand $(NAME) from variables; $$ is a literal $, and unknown names stay as written."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables.get(name, match.group(0))

    return _REFERENCE.sub(replace, value)


def base_environment(pod: dict, apiserver_port: int, tmp_dir: str) -> dict[str, str]:
    """Return what every container gets before its own env: PATH with the project's Python first."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update(
        {
            "PATH": f"{os.path.dirname(sys.executable)}:{SYSTEM_PATH}",
            "HOME": "/root",
            "HOSTNAME": pod["metadata"]["name"],
            "TMPDIR": tmp_dir,
            # Pods run on the host network here, so in-cluster clients reach the
            # API server on loopback instead of through the kubernetes Service.
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(apiserver_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(apiserver_port),
            "KUBERNETES_PORT": f"tcp://127.0.0.1:{apiserver_port}",
        }
    )
    return env


def field_value(pod: dict, path: str) -> str:
    """Return the value of a downward API fieldRef path for the pod."""
    metadata = pod["metadata"]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        return (metadata.get(match.group(1)) or {}).get(match.group(2), "")
    values = {
        "metadata.name": metadata["name"],
        "metadata.namespace": metadata["namespace"],
        "metadata.uid": metadata["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.hostIP": "127.0.0.1",
        "status.hostIPs": "127.0.0.1",
        "status.podIP": "127.0.0.1",
        "status.podIPs": "127.0.0.1",
    }
    if path == "metadata.labels" or path == "metadata.annotations":
        items = metadata.get(path.split(".")[1]) or {}
        return "\n".join(f'{key}="{value}"' for key, value in sorted(items.items()))
    if path not in values:
        raise ContainerConfigError(f"unsupported fieldRef fieldPath {path!r}")
    return values[path]


def resource_value(pod: dict, reference: dict, node_allocatable: dict[str, str]) -> str:
    """Return a resourceFieldRef value: the container's limit (else the node's allocatable) / divisor."""
    container_name = reference.get("containerName")
    containers = pod["spec"]["containers"]
    container = next((c for c in containers if c["name"] == container_name), containers[0])
    kind, resource = reference["resource"].split(".", 1)
    resources = container.get("resources") or {}
    amount = (resources.get(kind) or {}).get(resource)
    if amount is None and kind == "requests":
        amount = "0"
    if amount is None:
        amount = node_allocatable.get(resource, "0")
    divisor = parse_quantity(str(reference.get("divisor") or "1"))
    value = parse_quantity(str(amount)) / divisor
    # The kubelet rounds up: a limit of 500m with divisor 1 reads as 1.
    return str(int(-(-value // 1)))


class EnvResolver:
    """Read ConfigMaps and Secrets for env and envFrom, caching them per pod start."""

    def __init__(self, core: client.CoreV1Api, namespace: str):
        self.core = core
        self.namespace = namespace
        self._cache: dict[tuple[str, str], dict[str, str] | None] = {}

    def _data(self, kind: str, name: str) -> dict[str, str] | None:
        key = (kind, name)
        if key not in self._cache:
            try:
                if kind == "configMap":
                    self._cache[key] = self.core.read_namespaced_config_map(name, self.namespace).data or {}
                else:
                    raw = self.core.read_namespaced_secret(name, self.namespace).data or {}
                    self._cache[key] = {k: base64.b64decode(v).decode(errors="replace") for k, v in raw.items()}
            except client.ApiException as error:
                if error.status != 404:
                    raise
                self._cache[key] = None
        return self._cache[key]

    def key_value(self, kind: str, reference: dict) -> str | None:
        data = self._data(kind, reference["name"])
        optional = reference.get("optional", False)
        if data is None:
            if optional:
                return None
            raise ContainerConfigError(f"{kind} {reference['name']!r} not found")
        if reference["key"] not in data:
            if optional:
                return None
            raise ContainerConfigError(f"couldn't find key {reference['key']} in {kind} {self.namespace}/{reference['name']}")
        return data[reference["key"]]

    def all_values(self, kind: str, reference: dict) -> dict[str, str]:
        data = self._data(kind, reference["name"])
        if data is None:
            if reference.get("optional", False):
                return {}
            raise ContainerConfigError(f"{kind} {reference['name']!r} not found")
        return data


def container_environment(
    pod: dict, container: dict, resolver: EnvResolver, base: dict[str, str], node_allocatable: dict[str, str]
) -> dict[str, str]:
    """Return the full environment of one container; raise ContainerConfigError for a missing reference."""
    env = dict(base)
    declared: dict[str, str] = {}

    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            values = resolver.all_values("configMap", source["configMapRef"])
        else:
            values = resolver.all_values("secret", source["secretRef"])
        for key, value in values.items():
            declared[prefix + key] = value

    for variable in container.get("env") or []:
        name = variable["name"]
        if "valueFrom" not in variable:
            declared[name] = expand(variable.get("value", ""), {**env, **declared})
            continue
        value_from = variable["valueFrom"]
        if "configMapKeyRef" in value_from:
            value = resolver.key_value("configMap", value_from["configMapKeyRef"])
        elif "secretKeyRef" in value_from:
            value = resolver.key_value("secret", value_from["secretKeyRef"])
        elif "fieldRef" in value_from:
            value = field_value(pod, value_from["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in value_from:
            value = resource_value(pod, value_from["resourceFieldRef"], node_allocatable)
        else:
            raise ContainerConfigError(f"env {name}: unsupported valueFrom {sorted(value_from)}")
        if value is not None:
            declared[name] = value

    env.update(declared)
    return env
