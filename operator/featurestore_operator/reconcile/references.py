"""Check what a FeatureStore refers to before any Job runs: its ConfigMap, template, Secrets and claim.

A missing reference becomes a Failed condition that names the field and the
fix, instead of a Job pod that hangs in ContainerCreating.
"""

from featurestore_operator import kube
from featurestore_operator import status as conditions
from featurestore_operator.resources.configmap import select_configmap_files
from featurestore_operator.resources.spec import repo_source, storage_spec
from featurestore_operator.templates import read_template


class UnresolvedReference(Exception):
    """A reference of the spec cannot be resolved; reason is a condition reason."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def definition_files(fs: dict) -> dict[str, str]:
    """Return the definition files of a configMap or template source; a git source has none here."""
    namespace = fs["metadata"]["namespace"]
    kind, source = repo_source(fs)
    if kind == "configMap":
        configmap = kube.ignore_missing(kube.core().read_namespaced_config_map, source["name"], namespace)
        if configmap is None:
            raise UnresolvedReference(
                conditions.REASON_CONFIGMAP_NOT_FOUND,
                f"ConfigMap {source['name']!r} named by spec.repo.configMap.name not found in namespace "
                f"{namespace}: create it with the definition files, or fix the name",
            )
        try:
            return select_configmap_files(fs, configmap.data or {})
        except LookupError as error:
            raise UnresolvedReference(conditions.REASON_CONFIGMAP_NOT_FOUND, str(error)) from error
    if kind == "template":
        try:
            return read_template(source["name"])
        except (LookupError, FileNotFoundError) as error:
            raise UnresolvedReference(conditions.REASON_TEMPLATE_NOT_FOUND, str(error)) from error
    return {}


def _secret_keys(namespace: str, name: str) -> set[str] | None:
    secret = kube.ignore_missing(kube.core().read_namespaced_secret, name, namespace)
    if secret is None:
        return None
    return set((secret.data or {}).keys()) | set((secret.string_data or {}).keys())


def check_secrets(namespace: str, job: dict) -> None:
    """Raise UnresolvedReference for a Secret or key that the Job's env or volumes need and that is missing."""
    pod_spec = job["spec"]["template"]["spec"]
    needed: dict[str, set[str]] = {}
    for container in pod_spec["containers"]:
        for variable in container.get("env") or []:
            reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if reference and not reference.get("optional"):
                needed.setdefault(reference["name"], set()).add(reference["key"])
        for source in container.get("envFrom") or []:
            reference = source.get("secretRef")
            if reference and not reference.get("optional"):
                needed.setdefault(reference["name"], set())
    for volume in pod_spec.get("volumes") or []:
        reference = volume.get("secret")
        if reference and not reference.get("optional"):
            needed.setdefault(reference["secretName"], set())

    for name, keys in sorted(needed.items()):
        present = _secret_keys(namespace, name)
        if present is None:
            raise UnresolvedReference(
                conditions.REASON_SECRET_NOT_FOUND,
                f"Secret {name!r} not found in namespace {namespace}: create it, or fix the secretRef that names it",
            )
        missing = sorted(keys - present)
        if missing:
            raise UnresolvedReference(
                conditions.REASON_SECRET_NOT_FOUND,
                f"Secret {name!r} has no key {', '.join(missing)}: add the key, or fix the secretRef's key "
                f"(the Secret has {', '.join(sorted(present)) or 'no keys'})",
            )


def check_existing_claim(fs: dict) -> None:
    claim = storage_spec(fs).get("existingClaim")
    if not claim:
        return
    namespace = fs["metadata"]["namespace"]
    if kube.ignore_missing(kube.core().read_namespaced_persistent_volume_claim, claim, namespace) is None:
        raise UnresolvedReference(
            conditions.REASON_CLAIM_NOT_FOUND,
            f"PersistentVolumeClaim {claim!r} named by spec.storage.existingClaim not found in namespace "
            f"{namespace}: create it, or remove existingClaim to let the operator create one",
        )
