"""End-to-end fixtures: the CRDs installed and an operator that watches only this layer's namespaces.

The integration tests' operator watches "<session prefix>-*" and
"breast-cancer*". This layer's namespaces start with "<session prefix>e2e-",
which neither pattern matches, so that each object has one operator when both
layers run in one session.
"""

import pytest

from tests.e2e.support import E2E_NAMESPACE_PREFIX
from tests.integration.conftest import OperatorProcess, crds  # noqa: F401


@pytest.fixture(scope="session")
def operator(kubeconfig, crds, tmp_path_factory):  # noqa: F811 - crds is the imported fixture
    log_path = tmp_path_factory.mktemp("e2e_operator") / "operator.log"
    process = OperatorProcess(kubeconfig, log_path, namespaces=[f"{E2E_NAMESPACE_PREFIX}-*"])
    process.start()
    try:
        yield process
    finally:
        process.stop()
