"""Labels and owner references of the objects the operator creates."""

import re
from collections.abc import Mapping

from featurestore_operator import api
from featurestore_operator.resources.names import MAX_NAME_LENGTH, fit_name

TASKS = (api.TASK_APPLY, api.TASK_MATERIALIZE)

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_value(value: str) -> str:
    """Return `value` as a valid label value, shortened with a hash when over 63 characters.

    Object names may have up to 253 characters but label values only 63, so a
    long FeatureStore name is shortened the same way as a long child name.
    """
    if len(value) > MAX_NAME_LENGTH:
        value = fit_name(value, limit=MAX_NAME_LENGTH)
    if not _LABEL_VALUE.match(value):
        raise ValueError(
            f"{value!r} cannot be a label value: use at most 63 letters, digits, '-', '_' "
            f"or '.', starting and ending with a letter or digit"
        )
    return value


def child_labels(
    fs_name: str, task: str | None = None, materialization: str | None = None
) -> dict[str, str]:
    """Return the labels of a child object of FeatureStore `fs_name`.

    `task` is api.TASK_APPLY or api.TASK_MATERIALIZE for Jobs, CronJobs and
    their Pods, and None for the repo PVC and ConfigMap, which serve both tasks.
    """
    labels = {
        api.LABEL_MANAGED_BY: api.MANAGED_BY,
        api.LABEL_PART_OF: label_value(fs_name),
        api.LABEL_FEATURESTORE: label_value(fs_name),
    }

    if task is not None:
        if task not in TASKS:
            raise ValueError(f"task {task!r} is unknown: use one of {', '.join(TASKS)}")
        labels[api.LABEL_TASK] = task

    if materialization is not None:
        labels[api.LABEL_MATERIALIZATION] = label_value(materialization)
    return labels


def label_selector(labels: Mapping[str, str]) -> str:
    """Return an equality label selector ("key=value,...") that matches all `labels`."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def owner_reference(obj: Mapping, controller: bool = True) -> dict:
    """Return an owner reference to `obj`, a custom object with apiVersion, kind and metadata.uid.

    blockOwnerDeletion is true, so a foreground deletion of the owner waits for
    the child to be deleted first.
    """
    metadata = obj.get("metadata") or {}
    missing = [
        field
        for field, value in (
            ("apiVersion", obj.get("apiVersion")),
            ("kind", obj.get("kind")),
            ("metadata.name", metadata.get("name")),
            ("metadata.uid", metadata.get("uid")),
        )
        if not value
    ]
    if missing:
        raise ValueError(
            f"cannot build an owner reference to {metadata.get('name')!r}: "
            f"{', '.join(missing)} missing; pass the whole object as read from the API server"
        )

    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def child_metadata(
    name: str, owner: Mapping, labels: Mapping[str, str], owned: bool = True
) -> dict:
    """Return the metadata of a child object in `owner`'s namespace, owned by `owner` if `owned`."""
    metadata = {"name": name, "labels": dict(labels)}

    namespace = (owner.get("metadata") or {}).get("namespace")
    if namespace:
        metadata["namespace"] = namespace

    if owned:
        metadata["ownerReferences"] = [owner_reference(owner)]
    return metadata
