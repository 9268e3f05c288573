"""The example's train and predict steps as a Kubeflow Pipelines v2 pipeline.

Each step is a container component that runs the same script as the
example's Job (scripts/train.py, scripts/predict.py) in the same image, with
the FeatureStore's PVC mounted at /feature-repo and the scripts ConfigMap at
/scripts. predict runs after train and reads the model that train saved on
the PVC.

Before a run, apply the example's stages up to the materialization (see
kustomization.yaml): the pipeline expects the store Ready, the data prepared
and the online store loaded. Run it in the FeatureStore's namespace, because
a pod can mount only a PVC of its own namespace.

Compile with::

    python examples/breast_cancer/pipeline.py [--output pipeline.yaml]

NOTE: the PVC and ConfigMap mounts are written as Kubernetes platform config
by hand, because the kfp-kubernetes package is not installed in this project.
The dicts have the shape that its mount_pvc and use_config_map_as_volume write
(kubernetes_platform/python/kfp/kubernetes/ in kubeflow/pipelines). With that
package installed, prefer its functions. No run on a Kubeflow installation
has been tested.
"""

# No `from __future__ import annotations`: kfp reads the components' annotations as
# types, and postponed annotations would reach it as strings.
import argparse
from pathlib import Path

from kfp import compiler, dsl

IMAGE = "featurestore-operator:0.1.0"
REPO_CLAIM = "breast-cancer-repo"
REPO_MOUNT_PATH = "/feature-repo"
SCRIPTS_CONFIGMAP = "breast-cancer-scripts"
SCRIPTS_MOUNT_PATH = "/scripts"
DEFAULT_MODEL = f"{REPO_MOUNT_PATH}/models/model.joblib"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "pipeline.yaml"


@dsl.container_component
def train(model: str, result: dsl.OutputPath(str)):
    """Train the logistic regression from the offline store and save it to model on the PVC."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["python", f"{SCRIPTS_MOUNT_PATH}/train.py"],
        args=["--repo", REPO_MOUNT_PATH, "--model", model, "--result-file", result],
    )


@dsl.container_component
def predict(model: str, patients: str, result: dsl.OutputPath(str)):
    """Predict for the comma-separated patient ids from the online store with the saved model."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["python", f"{SCRIPTS_MOUNT_PATH}/predict.py"],
        args=["--repo", REPO_MOUNT_PATH, "--model", model, "--patients", patients, "--result-file", result],
    )


def mount_feature_repo(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """Mount the FeatureStore's PVC and the scripts ConfigMap into task's container.

    Both names are constants, each written twice as kfp-kubernetes writes it:
    in the deprecated `constant` and `configMapName` fields, which it keeps for
    backwards compatibility, and in the `...NameParameter` fields.
    """
    task.platform_config["kubernetes"] = {
        "pvcMount": [
            {
                "constant": REPO_CLAIM,
                "pvcNameParameter": {"runtimeValue": {"constant": REPO_CLAIM}},
                "mountPath": REPO_MOUNT_PATH,
            }
        ],
        "configMapAsVolume": [
            {
                "configMapName": SCRIPTS_CONFIGMAP,
                "configMapNameParameter": {"runtimeValue": {"constant": SCRIPTS_CONFIGMAP}},
                "mountPath": SCRIPTS_MOUNT_PATH,
            }
        ],
    }
    return task


@dsl.pipeline(
    name="breast-cancer-train-predict",
    description="Train a diagnosis model from the breast-cancer FeatureStore's offline store, "
    "then predict from its online store.",
)
def breast_cancer_pipeline(model: str = DEFAULT_MODEL, patients: str = "566,567,568,100"):
    train_task = train(model=model)
    predict_task = predict(model=model, patients=patients).after(train_task)

    for task in (train_task, predict_task):
        mount_feature_repo(task)
        # The steps read a store that changes between runs, so a cached
        # result would be stale.
        task.set_caching_options(False)


def compile_pipeline(output: Path = DEFAULT_OUTPUT) -> Path:
    """Compile breast_cancer_pipeline to an IR YAML file at output and return its path."""
    compiler.Compiler().compile(pipeline_func=breast_cancer_pipeline, package_path=str(output))
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile the breast-cancer Kubeflow pipeline.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"pipeline YAML file to write (default: {DEFAULT_OUTPUT.name} next to this script)")
    args = parser.parse_args(argv)
    print(compile_pipeline(args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
