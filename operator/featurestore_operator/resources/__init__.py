"""Pure builders: a custom object (a dict) in, a Kubernetes object (a plain dict) out.

Nothing here performs I/O or imports kopf, so every builder is unit-tested
without a cluster.
"""

from featurestore_operator.resources.configmap import (
    build_repo_configmap,
    select_configmap_files,
    validate_configmap_key,
)
from featurestore_operator.resources.hashing import compute_apply_hash
from featurestore_operator.resources.jobs import build_apply_job
from featurestore_operator.resources.labels import (
    child_labels,
    label_selector,
    owner_reference,
)
from featurestore_operator.resources.materialization import (
    build_materialization_cronjob,
    build_materialization_job,
)
from featurestore_operator.resources.names import (
    apply_job_name,
    cronjob_name,
    materialization_job_name,
    repo_configmap_name,
    repo_pvc_name,
)
from featurestore_operator.resources.storage import build_repo_pvc

__all__ = [
    "apply_job_name",
    "build_apply_job",
    "build_materialization_cronjob",
    "build_materialization_job",
    "build_repo_configmap",
    "build_repo_pvc",
    "child_labels",
    "compute_apply_hash",
    "cronjob_name",
    "label_selector",
    "materialization_job_name",
    "owner_reference",
    "repo_configmap_name",
    "repo_pvc_name",
    "select_configmap_files",
    "validate_configmap_key",
]
