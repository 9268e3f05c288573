"""The breast-cancer example, driven only through kubectl with the commands its kustomization.yaml documents.

The example's stages run once per module in a namespace of this test session,
not in breast-cancer. An overlay in a temporary directory sets the namespace
and names the example directory as its resource. The tests then check what
each stage reported: the FeatureStore's status, the training and prediction
Jobs' termination messages and logs, and the Materialization's status.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from sklearn.datasets import load_breast_cancer

from tests.e2e.support import E2E_NAMESPACE_PREFIX

pytestmark = pytest.mark.cluster

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPOSITORY_ROOT / "examples" / "breast_cancer"
STAGE_LABEL = "example.featurestore.dev/stage"

FEATURE_VIEWS = ["df1_feature_view", "df2_feature_view", "df3_feature_view", "df4_feature_view",
                 "target_feature_view"]
ONLINE_PATIENTS = [566, 567, 568]
OUTSIDE_WINDOW_PATIENT = 100

# Seconds to wait for each stage. A stage took 10 to 30 s on the local control
# plane, and the margin keeps a loaded machine from failing the test.
STAGE_TIMEOUT = "600s"


def write_overlay(directory: Path, namespace: str) -> Path:
    """Write a kustomization that puts the example into namespace, and return its directory."""
    directory.mkdir(parents=True, exist_ok=True)
    # kustomize accepts only a relative path to another kustomization.
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": [os.path.relpath(EXAMPLE_DIR, directory)],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    return directory


class Example:
    """The example applied in one namespace, with kubectl helpers that explain a failed wait."""

    def __init__(self, kubectl, pod_log, operator, overlay: Path, namespace: str):
        self.kubectl = kubectl
        self.pod_log = pod_log
        self.operator = operator
        self.overlay = overlay
        self.namespace = namespace

    def apply_stage(self, stage: str) -> None:
        self.kubectl("apply", "-k", str(self.overlay), "-l", f"{STAGE_LABEL}={stage}")

    def wait(self, resource: str, condition: str) -> None:
        waited = self.kubectl("wait", "-n", self.namespace, resource, f"--for=condition={condition}",
                              f"--timeout={STAGE_TIMEOUT}", check=False)
        if waited.returncode != 0:
            raise AssertionError(f"{resource} did not reach {condition}: {waited.stderr}\n{self.explain(resource)}")

    def explain(self, resource: str) -> str:
        """Describe resource's status, its pods' logs (for a Job) and the operator's log tail."""
        status = self.kubectl("get", "-n", self.namespace, resource, "-o", "jsonpath={.status}", check=False)
        text = f"status of {resource}: {status.stdout or status.stderr}"
        if resource.startswith("job/"):
            for pod in self.job_pods(resource.removeprefix("job/")):
                text += f"\nlog of pod {pod}:\n{self.pod_log(self.namespace, pod)}"
        return f"{text}\noperator log:\n{self.operator.log_tail()}"

    def get(self, resource: str, jsonpath: str) -> str:
        return self.kubectl("get", "-n", self.namespace, resource, "-o", f"jsonpath={jsonpath}").stdout

    def job_pods(self, job: str, phase: str | None = None) -> list[str]:
        arguments = ["get", "pod", "-n", self.namespace, "-l", f"batch.kubernetes.io/job-name={job}"]
        if phase:
            arguments.append(f"--field-selector=status.phase={phase}")
        names = self.kubectl(*arguments, "-o", "jsonpath={.items[*].metadata.name}").stdout
        return names.split()

    def job_result(self, job: str) -> tuple[dict, str]:
        """Return the termination message (as JSON) and the log of the Job's succeeded pod."""
        pods = self.job_pods(job, phase="Succeeded")
        assert len(pods) == 1, f"Job {job} has succeeded pods {pods}, expected one"
        message = self.get(f"pod/{pods[0]}", "{.status.containerStatuses[0].state.terminated.message}")
        return json.loads(message), self.pod_log(self.namespace, pods[0])


@pytest.fixture(scope="module")
def walkthrough(operator, kubectl, pod_log, tmp_path_factory) -> dict:
    """Apply the example's stages in order, waiting as a user would, and collect what each reported."""
    namespace = f"{E2E_NAMESPACE_PREFIX}-breast-cancer-{uuid.uuid4().hex[:4]}"
    overlay = write_overlay(tmp_path_factory.mktemp("breast_cancer_overlay"), namespace)
    example = Example(kubectl, pod_log, operator, overlay, namespace)
    collected = {"namespace": namespace}
    try:
        example.apply_stage("store")
        example.wait("featurestore/breast-cancer", "Ready")
        collected["featureViews"] = json.loads(example.get("featurestore/breast-cancer", "{.status.featureViews}"))
        collected["entities"] = json.loads(example.get("featurestore/breast-cancer", "{.status.entities}"))
        collected["featureViewCount"] = example.get("featurestore/breast-cancer", "{.status.featureViewCount}")

        example.apply_stage("data")
        example.wait("job/prepare-data", "Complete")

        example.apply_stage("train")
        example.wait("job/train", "Complete")
        collected["train"], collected["trainLog"] = example.job_result("train")

        example.apply_stage("materialize")
        example.wait("materialization/breast-cancer-incremental", "Succeeded")
        collected["rowsWritten"] = example.get("materialization/breast-cancer-incremental", "{.status.rowsWritten}")

        example.apply_stage("predict")
        example.wait("job/predict", "Complete")
        collected["predict"], collected["predictLog"] = example.job_result("predict")
        yield collected
    finally:
        # Wait for the deletion while the operator still runs: it must remove
        # its finalizer from the FeatureStore, or the namespace never goes.
        deleted = kubectl("delete", "namespace", namespace, "--ignore-not-found", "--timeout=180s", check=False)
        assert deleted.returncode == 0, f"namespace {namespace} was not deleted: {deleted.stderr}"


@pytest.fixture(scope="module")
def predicted_patients(walkthrough) -> dict[int, dict]:
    return {entry["patient_id"]: entry for entry in walkthrough["predict"]["patients"]}


def test_store_registers_views(walkthrough):
    assert walkthrough["featureViews"] == FEATURE_VIEWS
    assert walkthrough["featureViewCount"] == "5"
    assert walkthrough["entities"] == ["patient"]


def test_training_frame_shape(walkthrough):
    assert walkthrough["train"]["rows"] == 569
    assert walkthrough["train"]["columns"] == 33
    assert walkthrough["train"]["features"] == 30
    assert "Training frame: 569 rows, 33 columns" in walkthrough["trainLog"]


def test_training_accuracy(walkthrough):
    assert walkthrough["train"]["accuracy"] >= 0.9
    assert walkthrough["train"]["testRows"] + walkthrough["train"]["trainRows"] == 569


def test_materialization_writes_window(walkthrough):
    # Three patients in the 3-day window, in each of the five views.
    assert walkthrough["rowsWritten"] == "15"


@pytest.mark.parametrize("patient, radius", [(568, 7.76), (567, 20.60), (566, 16.60)])
def test_online_rows_complete(predicted_patients, patient, radius):
    assert predicted_patients[patient]["meanRadius"] == pytest.approx(radius, abs=1e-3)
    assert predicted_patients[patient]["missingFeatures"] == 0


def test_outside_window_patient_null(predicted_patients):
    entry = predicted_patients[OUTSIDE_WINDOW_PATIENT]
    assert entry["meanRadius"] is None
    assert entry["missingFeatures"] == 30
    assert entry["prediction"] is None


def test_predictions_for_complete_rows(walkthrough, predicted_patients):
    labels = load_breast_cancer().target
    assert walkthrough["predict"]["predicted"] == 3
    for patient in ONLINE_PATIENTS:
        assert predicted_patients[patient]["prediction"] == labels[patient], f"patient {patient}"


def test_prediction_log_lists_rows(walkthrough):
    log = walkthrough["predictLog"]
    assert "Online features of 4 patients" in log
    assert "mean radius" in log
    assert f"No prediction for patients [{OUTSIDE_WINDOW_PATIENT}]" in log
    for patient in ONLINE_PATIENTS:
        assert f"Patient {patient}: " in log


def test_demo_rerun_reports_results(walkthrough, kubeconfig):
    """demo.py applies the same stages again, changes nothing and prints the first run's results."""
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE_DIR / "demo.py"), f"--kubeconfig={kubeconfig}",
         f"--namespace={walkthrough['namespace']}", "--timeout=120"],
        capture_output=True, text=True, timeout=900,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "job.batch/train unchanged" in completed.stdout
    assert "Training frame: 569 rows x 33 columns" in completed.stdout
    assert "Materialization: 15 rows written" in completed.stdout
    assert "    100         null              30  none (not in the online store)" in completed.stdout
