"""Run the breast-cancer example's stages with kubectl, in order, and print what each reported.

`make demo` (`featurestore-operator dev demo`) runs this script against the
local control plane once the CRDs are installed and the operator runs. It
runs the commands that kustomization.yaml documents: apply each stage with
`kubectl apply -k <this directory> -l example.featurestore.dev/stage=<stage>`
and `kubectl wait` for it before the next one.

A second run applies the same objects again, which changes nothing, and
prints the results of the first run: Jobs and a one-shot Materialization run
once. Delete the namespace to start over.

With --namespace, the stages are applied through a kustomization in a
temporary directory that sets that namespace and names this directory as its
resource, as an overlay would.

Usage::

    python examples/breast_cancer/demo.py --kubeconfig .devcluster/kubeconfig [--namespace NAME]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parent
NAMESPACE = "breast-cancer"
STAGE_LABEL = "example.featurestore.dev/stage"


@dataclass(frozen=True)
class Stage:
    """One stage of the example: the label value of its objects and what to wait for."""

    name: str
    resource: str
    condition: str
    description: str


STAGES = [
    Stage("store", "featurestore/breast-cancer", "Ready", "FeatureStore applied (feast apply in a Job)"),
    Stage("data", "job/prepare-data", "Complete", "five parquet tables written to the PVC"),
    Stage("train", "job/train", "Complete", "model trained from the offline store"),
    Stage("materialize", "materialization/breast-cancer-incremental", "Succeeded", "online store loaded"),
    Stage("predict", "job/predict", "Complete", "predictions made from the online store"),
]


class DemoError(RuntimeError):
    """A kubectl command failed; the message has its output."""


class Kubectl:
    """kubectl with one kubeconfig, run with argument lists only."""

    def __init__(self, kubeconfig: Path | None, namespace: str):
        beside_python = Path(sys.executable).parent / "kubectl"
        self.binary = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
        if self.binary is None:
            raise DemoError("kubectl not found: install it, or run this script with the project's .venv/bin/python")
        self.kubeconfig = kubeconfig
        self.namespace = namespace

    def run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [self.binary, *arguments]
        if self.kubeconfig is not None:
            command.insert(1, f"--kubeconfig={self.kubeconfig}")
        completed = subprocess.run(command, capture_output=True, text=True)
        if check and completed.returncode != 0:
            output = completed.stderr.strip() or completed.stdout.strip()
            raise DemoError(f"kubectl {' '.join(arguments)} failed: {output}")
        return completed

    def jsonpath(self, resource: str, path: str) -> str:
        return self.run("get", "-n", self.namespace, resource, "-o", f"jsonpath={path}").stdout

    def termination_message(self, job: str) -> str:
        """Return the termination message of the Job's newest pod: a JSON result, or a log tail on failure."""
        pods = self.run("get", "pod", "-n", self.namespace, "-l", f"batch.kubernetes.io/job-name={job}",
                        "--sort-by=.metadata.creationTimestamp", "-o", "jsonpath={.items[*].metadata.name}")
        names = pods.stdout.split()
        if not names:
            return ""
        return self.jsonpath(f"pod/{names[-1]}", "{.status.containerStatuses[0].state.terminated.message}")


def write_overlay(directory: Path, namespace: str) -> Path:
    """Write a kustomization that puts this example into namespace, and return its directory."""
    # kustomize accepts only a relative path to another kustomization. JSON is
    # valid YAML, so the file needs no YAML writer.
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": [os.path.relpath(EXAMPLE_DIR, directory)],
    }
    (directory / "kustomization.yaml").write_text(json.dumps(overlay, indent=2))
    return directory


def run_stage(kubectl: Kubectl, kustomization: Path, stage: Stage, timeout_seconds: int) -> None:
    """Apply the stage's objects and wait until its resource reaches its condition."""
    print(f"==> {stage.name}: kubectl apply -k {kustomization} -l {STAGE_LABEL}={stage.name}", flush=True)
    applied = kubectl.run("apply", "-k", str(kustomization), "-l", f"{STAGE_LABEL}={stage.name}")
    print(applied.stdout.rstrip())

    waited = kubectl.run("wait", "-n", kubectl.namespace, stage.resource, f"--for=condition={stage.condition}",
                         f"--timeout={timeout_seconds}s", check=False)
    if waited.returncode != 0:
        details = kubectl.run("get", "-n", kubectl.namespace, stage.resource, "-o", "jsonpath={.status}",
                              check=False)
        text = (f"{stage.resource} did not reach {stage.condition} within {timeout_seconds} s: "
                f"{waited.stderr.strip()}\nstatus: {details.stdout or details.stderr}")
        if stage.resource.startswith("job/"):
            text += f"\nlast pod's message:\n{kubectl.termination_message(stage.resource.removeprefix('job/'))}"
        raise DemoError(text)
    print(f"    {stage.description}", flush=True)


def job_result(kubectl: Kubectl, job: str) -> dict:
    """Return the JSON result that the Job's pod wrote to its termination message."""
    message = kubectl.termination_message(job)
    try:
        return json.loads(message)
    except json.JSONDecodeError:
        raise DemoError(
            f"Job {job} left no JSON result in its termination message ({message[:500]!r}): "
            f"delete the namespace {kubectl.namespace} and run the demo again"
        ) from None


def print_results(kubectl: Kubectl) -> None:
    print(f"\n==> kubectl get fst,mat -n {kubectl.namespace}")
    print(kubectl.run("get", "fst,mat", "-n", kubectl.namespace).stdout.rstrip())

    train = job_result(kubectl, "train")
    print(f"\nTraining frame: {train['rows']} rows x {train['columns']} columns; "
          f"held-out accuracy {train['accuracy']:.3f} on {train['testRows']} rows; model {train['model']}")

    rows = kubectl.jsonpath("materialization/breast-cancer-incremental", "{.status.rowsWritten}")
    print(f"Materialization: {rows} rows written to the online store")

    predict = job_result(kubectl, "predict")
    print("\npatient  mean radius  missing values  prediction")
    for patient in predict["patients"]:
        radius = "null" if patient["meanRadius"] is None else f"{patient['meanRadius']:.2f}"
        diagnosis = patient.get("diagnosis") or "none (not in the online store)"
        print(f"{patient['patient_id']:>7}  {radius:>11}  {patient['missingFeatures']:>14}  {diagnosis}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the breast-cancer example stage by stage with kubectl.")
    parser.add_argument("--kubeconfig", type=Path, default=os.environ.get("KUBECONFIG"),
                        help="kubeconfig of the cluster (default: $KUBECONFIG, else kubectl's default)")
    parser.add_argument("--namespace", default=NAMESPACE,
                        help=f"namespace to run the example in (default: {NAMESPACE})")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds to wait for each stage (default: 600)")
    args = parser.parse_args(argv)

    try:
        kubectl = Kubectl(args.kubeconfig, args.namespace)
        with tempfile.TemporaryDirectory(prefix="breast-cancer-overlay-") as temporary:
            kustomization = EXAMPLE_DIR
            if args.namespace != NAMESPACE:
                kustomization = write_overlay(Path(temporary), args.namespace)
            for stage in STAGES:
                run_stage(kubectl, kustomization, stage, args.timeout)
        print_results(kubectl)
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
