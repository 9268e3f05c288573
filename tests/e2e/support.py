"""Names shared by the end-to-end fixtures and tests."""

from tests.session import SESSION_PREFIX

# Namespaces of the end-to-end tests start with "<this>-". Unlike the
# integration tests' "<session prefix>-", the operator of the integration
# tests does not watch them.
E2E_NAMESPACE_PREFIX = f"{SESSION_PREFIX}e2e"
