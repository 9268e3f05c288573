"""Values fixed once per test session, importable from any test module or conftest, and namespace cleanup."""

import time
import uuid

from kubernetes import client

# Every test namespace starts with this, so that `featurestore-operator dev up`
# can leave test namespaces alone ("!fsttest*") on a cluster shared with tests.
TEST_NAMESPACE_PREFIX = "fsttest"

# Namespaces of this test session start with this prefix, so that an operator
# started by the session can watch only them ("<prefix>-*") when several test
# sessions share one cluster.
SESSION_PREFIX = f"{TEST_NAMESPACE_PREFIX}{uuid.uuid4().hex[:4]}"

# Names of the namespaces this session created, deleted at the end while the
# operator still runs, so that it can remove its finalizers.
CREATED_NAMESPACES: list[str] = []


def delete_namespaces(api_client: client.ApiClient, names: list[str], timeout: float = 120.0) -> list[str]:
    """Delete the namespaces and wait until they are gone; return those still there after the timeout."""
    core = client.CoreV1Api(api_client)
    for name in names:
        try:
            core.delete_namespace(name)
        except client.ApiException as error:
            if error.status != 404:
                raise
    deadline = time.monotonic() + timeout
    remaining = list(names)
    while remaining and time.monotonic() < deadline:
        existing = {item.metadata.name for item in core.list_namespace().items}
        remaining = [name for name in remaining if name in existing]
        time.sleep(0.5)
    return remaining
