"""One writer per feature store: the queue of apply and materialize Jobs.

The file registry and the sqlite online store do not survive two writers at
once, so every Job that writes to a store is created suspended, and this
module releases one at a time. The holder is recorded in a Lease named
"<featurestore>-writer"; the queue is the set of suspended Jobs with the
store's label, oldest first. Both live in the API server, so an operator
restart resumes exactly where it stopped: the next Job event calls
release_next() again.

A materialize Job is released only once its store has been applied
successfully (status.appliedHash is set), so a Materialization queued before
its store exists simply waits, with no polling.
"""

import datetime
import logging

from kubernetes import client

from featurestore_operator import api, kube
from featurestore_operator.resources.labels import label_value, owner_reference
from featurestore_operator.resources.names import fit_name
from featurestore_operator.results import is_finished

log = logging.getLogger(__name__)

LEASE_DURATION_SECONDS = 3600


def lease_name(fs_name: str) -> str:
    return fit_name(fs_name, "-writer")


def _store_jobs(namespace: str, fs_name: str) -> list[dict]:
    selector = f"{api.LABEL_FEATURESTORE}={label_value(fs_name)}"
    jobs = kube.batch().list_namespaced_job(namespace, label_selector=selector).items
    return [kube.to_dict(job) for job in jobs]


def _read_or_create_lease(namespace: str, fs_name: str, fs: dict) -> client.V1Lease:
    name = lease_name(fs_name)
    lease = kube.ignore_missing(kube.coordination().read_namespaced_lease, name, namespace)
    if lease is not None:
        return lease
    metadata = client.V1ObjectMeta(
        name=name,
        namespace=namespace,
        labels={api.LABEL_MANAGED_BY: api.MANAGED_BY},
        owner_references=[owner_reference(fs, controller=False)],
    )
    body = client.V1Lease(metadata=metadata, spec=client.V1LeaseSpec(lease_duration_seconds=LEASE_DURATION_SECONDS))
    try:
        return kube.coordination().create_namespaced_lease(namespace, body)
    except client.ApiException as error:
        if error.status != 409:
            raise
        return kube.coordination().read_namespaced_lease(name, namespace)


def _take_lease(lease: client.V1Lease, holder: str | None) -> bool:
    """Record a new holder; return False when another writer changed the lease first (409)."""
    lease.spec.holder_identity = holder
    lease.spec.acquire_time = datetime.datetime.now(datetime.timezone.utc) if holder else None
    lease.spec.renew_time = lease.spec.acquire_time
    try:
        kube.coordination().replace_namespaced_lease(lease.metadata.name, lease.metadata.namespace, lease)
    except client.ApiException as error:
        if error.status == 409:
            return False
        raise
    return True


def _store_applied(fs: dict) -> bool:
    return bool((fs.get("status") or {}).get("appliedHash"))


def release_next(namespace: str, fs_name: str) -> str | None:
    """Un-suspend the next queued writer Job of a store if none is running; return its name."""
    fs = kube.read_featurestore(namespace, fs_name)
    if fs is None:
        # Without the store nothing may run: its apply Jobs are being deleted
        # with it, and materialize Jobs wait for a store that has been applied.
        # Making a Lease now would leave one that no owner ever deletes.
        return None
    jobs = _store_jobs(namespace, fs_name)
    unfinished = [job for job in jobs if not is_finished(job)]
    running = [job for job in unfinished if not job["spec"].get("suspend")]
    lease = _read_or_create_lease(namespace, fs_name, fs)

    holder = lease.spec.holder_identity
    by_name = {job["metadata"]["name"]: job for job in unfinished}
    if holder in by_name:
        # The holder still runs. If it is still suspended, an earlier call took
        # the lease but stopped before un-suspending the Job: finish that step.
        if by_name[holder]["spec"].get("suspend"):
            kube.batch().patch_namespaced_job(holder, namespace, {"spec": {"suspend": False}})
            log.info("released writer job %s/%s for FeatureStore %s", namespace, holder, fs_name)
        return None
    if running:
        # A Job un-suspended by someone else runs: record it as the holder.
        _take_lease(lease, running[0]["metadata"]["name"])
        return None

    queued = sorted(
        (job for job in unfinished if job["spec"].get("suspend")),
        key=lambda job: (job["metadata"]["creationTimestamp"], job["metadata"]["name"]),
    )
    for job in queued:
        task = job["metadata"].get("labels", {}).get(api.LABEL_TASK)
        if task == api.TASK_MATERIALIZE and not _store_applied(fs):
            continue
        name = job["metadata"]["name"]
        # Take the lease first: if two operator workers race, only one wins the
        # replace (the other gets 409 from the resourceVersion check) and returns.
        if not _take_lease(lease, name):
            return None
        kube.batch().patch_namespaced_job(name, namespace, {"spec": {"suspend": False}})
        log.info("released writer job %s/%s for FeatureStore %s", namespace, name, fs_name)
        return name

    if holder:
        _take_lease(lease, None)
    return None


def queue_position(namespace: str, fs_name: str, job_name: str) -> str | None:
    """Return the name of the Job that currently holds the store's writer lease, if any other."""
    lease = kube.ignore_missing(kube.coordination().read_namespaced_lease, lease_name(fs_name), namespace)
    holder = lease.spec.holder_identity if lease is not None else None
    return holder if holder and holder != job_name else None
