"""Values fixed once per test session, importable from any test module or conftest."""

import uuid

# Namespaces of this test session start with this prefix, so that an operator
# started by the session can watch only them ("<prefix>-*") when several test
# sessions share one cluster.
SESSION_PREFIX = f"t{uuid.uuid4().hex[:4]}"
