"""Read a finished Job's outcome: its conditions and the JSON result in its pod's termination message."""

import json
import logging
from dataclasses import dataclass, field

from featurestore_operator import kube

log = logging.getLogger(__name__)

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


@dataclass
class JobOutcome:
    """State of a Job: queued (suspended), running, succeeded or failed, with its task result."""

    state: str  # one of QUEUED, RUNNING, SUCCEEDED, FAILED
    result: dict = field(default_factory=dict)
    message: str = ""
    start_time: str | None = None
    end_time: str | None = None


QUEUED = "Queued"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"


def _finished_condition(job: dict) -> tuple[str, dict] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return SUCCEEDED, condition
        if condition.get("type") == "Failed":
            return FAILED, condition
    return None


def is_finished(job: dict) -> bool:
    return _finished_condition(job) is not None


def _termination_message(namespace: str, job_name: str) -> str:
    """Return the termination message of the job's newest terminated pod, or ""."""
    pods = kube.core().list_namespaced_pod(namespace, label_selector=f"{JOB_NAME_LABEL}={job_name}").items
    pods.sort(key=lambda pod: pod.metadata.creation_timestamp)
    for pod in reversed(pods):
        for status in pod.status.container_statuses or []:
            terminated = status.state.terminated if status.state else None
            if terminated is not None and terminated.message:
                return terminated.message
    return ""


def parse_result(message: str) -> dict:
    """Parse a task's JSON result; a message that is not JSON (the log tail) becomes an error result."""
    if not message:
        return {}
    try:
        result = json.loads(message)
    except json.JSONDecodeError:
        lines = [line for line in message.strip().splitlines() if line.strip()]
        return {"ok": False, "reason": "JobError", "message": lines[-1] if lines else message}
    return result if isinstance(result, dict) else {}


def job_outcome(job: dict) -> JobOutcome:
    """Return the Job's outcome; for a finished Job, read its result from the pod."""
    status = job.get("status") or {}
    finished = _finished_condition(job)
    if finished is None:
        if (job.get("spec") or {}).get("suspend"):
            return JobOutcome(QUEUED)
        return JobOutcome(RUNNING, start_time=status.get("startTime"))

    state, condition = finished
    metadata = job["metadata"]
    result = parse_result(_termination_message(metadata["namespace"], metadata["name"]))
    message = result.get("message") or condition.get("message") or condition.get("reason") or ""
    end_time = status.get("completionTime") or condition.get("lastTransitionTime")
    return JobOutcome(state, result=result, message=message, start_time=status.get("startTime"), end_time=end_time)
