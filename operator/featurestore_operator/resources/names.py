"""Deterministic names of the objects the operator creates.

A retry or an operator restart computes the same name again and finds the
object it created before, so every handler stays idempotent. Names that would
exceed their limit are cut and end in 8 hex digits of the SHA-256 of the full
base name, so two long names that share a prefix still differ.
"""

import hashlib
import re
from collections.abc import Mapping

from featurestore_operator.resources.spec import object_name, storage_spec

# A DNS-1123 label: the limit for Job names, because the Job controller copies
# the name into a label value of the Job's Pods, and label values stop at 63.
MAX_NAME_LENGTH = 63

# The API server rejects CronJob names longer than 52 characters, because the
# CronJob controller appends "-" and a 10-digit schedule time to name each Job.
MAX_CRONJOB_NAME_LENGTH = 52

HASH_SUFFIX_LENGTH = 8

_RUN_ID = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HEX = re.compile(r"^[0-9a-f]+$")


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_SUFFIX_LENGTH]


def fit_name(base: str, suffix: str = "", limit: int = MAX_NAME_LENGTH) -> str:
    """Join `base` and `suffix`, cutting `base` and adding a hash of it when too long.

    The suffix always stays whole, so "-apply-<hash>" or "-repo" remains readable.
    """
    if len(base) + len(suffix) <= limit:
        return base + suffix

    room = limit - len(suffix) - HASH_SUFFIX_LENGTH - 1
    if room < 1:
        raise ValueError(
            f"name suffix {suffix!r} leaves no room for a name within {limit} characters"
        )

    # A cut that ends in '.' would make the name invalid, because no label of a
    # DNS-1123 subdomain may start with '-'. A trailing '-' would look odd.
    prefix = base[:room].rstrip("-.")
    return f"{prefix}-{short_hash(base)}{suffix}"


def repo_pvc_name(fs: Mapping) -> str:
    """Return the repo PVC's name: storage.existingClaim if set, else "<name>-repo"."""
    existing_claim = storage_spec(fs).get("existingClaim")
    if existing_claim:
        return existing_claim
    return fit_name(object_name(fs), "-repo")


def repo_configmap_name(fs: Mapping) -> str:
    return fit_name(object_name(fs), "-repo")


def apply_job_name(fs_name: str, apply_hash: str) -> str:
    """Return "<fs_name>-apply-<first 8 hex digits of apply_hash>"."""
    if len(apply_hash) < HASH_SUFFIX_LENGTH or not _HEX.match(apply_hash):
        raise ValueError(
            f"apply hash {apply_hash!r} is not a lowercase hex digest of at least "
            f"{HASH_SUFFIX_LENGTH} digits: pass the value of compute_apply_hash()"
        )
    return fit_name(fs_name, f"-apply-{apply_hash[:HASH_SUFFIX_LENGTH]}")


def materialization_job_name(mat_name: str, run_id: str) -> str:
    """Return "<mat_name>-<run_id>" for a one-shot materialization run."""
    if not _RUN_ID.match(run_id) or len(run_id) > MAX_NAME_LENGTH - HASH_SUFFIX_LENGTH - 3:
        raise ValueError(
            f"run id {run_id!r} is invalid: use lowercase letters, digits and '-', "
            f"starting and ending with a letter or digit, at most "
            f"{MAX_NAME_LENGTH - HASH_SUFFIX_LENGTH - 3} characters"
        )
    return fit_name(mat_name, f"-{run_id}")


def cronjob_name(mat_name: str) -> str:
    return fit_name(mat_name, limit=MAX_CRONJOB_NAME_LENGTH)
