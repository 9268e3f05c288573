"""Layering: the operator process never imports Feast (so never user definitions), and Job tasks never import kopf."""

import subprocess
import sys


def imported_modules(statement: str) -> set[str]:
    """Run the import in a fresh interpreter and return the names of every module it loaded."""
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(completed.stdout.split())


def test_operator_does_not_import_feast():
    modules = imported_modules("import featurestore_operator.handlers")
    assert "feast" not in modules


def test_operator_loads_handlers_and_kopf():
    modules = imported_modules("import featurestore_operator.handlers")
    assert "kopf" in modules


def test_jobs_do_not_import_kopf():
    modules = imported_modules("import featurestore_operator.jobs.apply, featurestore_operator.jobs.materialize")
    assert "kopf" not in modules
    assert "featurestore_operator.handlers" not in modules
