"""Glue shared by the handler modules: plain bodies and Kubernetes Events through kopf."""

import kopf

from featurestore_operator.resources.spec import to_plain


def plain(body) -> dict:
    """Return a kopf body as a plain dict that the reconcile functions may read and copy."""
    return to_plain(body)


def emit(obj: dict, event_type: str, reason: str, message: str) -> None:
    """Post a Kubernetes Event about obj (a custom object with apiVersion, kind and metadata)."""
    kopf.event(obj, type=event_type, reason=reason, message=message)
