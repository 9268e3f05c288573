"""Status conditions: reasons declared once, and helpers that keep lastTransitionTime honest."""

import datetime
from collections.abc import Mapping

# Reasons of the FeatureStore's conditions.
REASON_APPLY_QUEUED = "ApplyQueued"
REASON_APPLY_RUNNING = "ApplyRunning"
REASON_APPLY_SUCCEEDED = "ApplySucceeded"
REASON_APPLY_FAILED = "ApplyFailed"
REASON_INVALID_SPEC = "InvalidSpec"
REASON_CONFIGMAP_NOT_FOUND = "ConfigMapNotFound"
REASON_SECRET_NOT_FOUND = "SecretNotFound"
REASON_TEMPLATE_NOT_FOUND = "TemplateNotFound"
REASON_CLAIM_NOT_FOUND = "ClaimNotFound"
REASON_CLAIM_PENDING = "ClaimPending"
REASON_CLAIM_BOUND = "ClaimBound"
REASON_SOURCE_RESOLVED = "SourceResolved"

# Reasons of the Materialization's conditions.
REASON_STORE_NOT_FOUND = "FeatureStoreNotFound"
REASON_STORE_NOT_READY = "FeatureStoreNotReady"
REASON_STORE_READY = "FeatureStoreReady"
REASON_UNKNOWN_FEATURE_VIEW = "UnknownFeatureView"
REASON_WAITING_FOR_WRITER = "WaitingForWriter"
REASON_RUNNING = "Running"
REASON_SUCCEEDED = "Succeeded"
REASON_FAILED = "Failed"
REASON_SCHEDULED = "Scheduled"
REASON_SUSPENDED = "Suspended"


def now() -> str:
    """Return the current time as an RFC 3339 UTC timestamp with seconds, as Kubernetes writes it."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: list[Mapping] | None,
    condition_type: str,
    status: bool | None,
    reason: str,
    message: str,
    generation: int | None,
) -> list[dict]:
    """Return the conditions with one condition set; lastTransitionTime moves only when status changes."""
    if status is None:
        value = "Unknown"
    else:
        value = "True" if status else "False"
    result = [dict(c) for c in conditions or []]
    for existing in result:
        if existing.get("type") == condition_type:
            if existing.get("status") != value:
                existing["lastTransitionTime"] = now()
            existing.update(status=value, reason=reason, message=message, observedGeneration=generation)
            return result
    result.append(
        {
            "type": condition_type,
            "status": value,
            "reason": reason,
            "message": message,
            "lastTransitionTime": now(),
            "observedGeneration": generation,
        }
    )
    return result


def condition_of(status: Mapping | None, condition_type: str) -> Mapping | None:
    for condition in (status or {}).get("conditions") or []:
        if condition.get("type") == condition_type:
            return condition
    return None
