"""The example's Kubeflow pipeline: it compiles, and the YAML has both steps in order with their mounts."""

import importlib.util
from pathlib import Path

import pytest
import yaml

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
PIPELINE_SCRIPT = REPOSITORY_ROOT / "examples" / "breast_cancer" / "pipeline.py"
COMMITTED_PIPELINE = REPOSITORY_ROOT / "examples" / "breast_cancer" / "pipeline.yaml"
KUSTOMIZATION = REPOSITORY_ROOT / "examples" / "breast_cancer" / "kustomization.yaml"
FEATURESTORE = REPOSITORY_ROOT / "examples" / "breast_cancer" / "featurestore.yaml"


def load_pipeline_module():
    """Import examples/breast_cancer/pipeline.py, which is not in a package."""
    spec = importlib.util.spec_from_file_location("breast_cancer_pipeline", PIPELINE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[dict, dict]:
    """Compile the pipeline into a temporary file; return its pipeline spec and its platform spec."""
    output = tmp_path_factory.mktemp("pipeline") / "pipeline.yaml"
    load_pipeline_module().compile_pipeline(output)
    pipeline_spec, platform_spec = yaml.safe_load_all(output.read_text())
    return pipeline_spec, platform_spec


def executor(pipeline_spec: dict, task: str) -> dict:
    component = pipeline_spec["root"]["dag"]["tasks"][task]["componentRef"]["name"]
    label = pipeline_spec["components"][component]["executorLabel"]
    return pipeline_spec["deploymentSpec"]["executors"][label]["container"]


def kubernetes_config(compiled: tuple[dict, dict], task: str) -> dict:
    pipeline_spec, platform_spec = compiled
    component = pipeline_spec["root"]["dag"]["tasks"][task]["componentRef"]["name"]
    label = pipeline_spec["components"][component]["executorLabel"]
    return platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"][label]


def test_pipeline_has_both_steps(compiled):
    pipeline_spec, _ = compiled
    assert sorted(pipeline_spec["root"]["dag"]["tasks"]) == ["predict", "train"]


def test_predict_runs_after_train(compiled):
    pipeline_spec, _ = compiled
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    assert tasks["predict"]["dependentTasks"] == ["train"]
    assert "dependentTasks" not in tasks["train"]


@pytest.mark.parametrize("task, script", [("train", "/scripts/train.py"), ("predict", "/scripts/predict.py")])
def test_step_runs_example_script(compiled, task, script):
    container = executor(compiled[0], task)
    assert container["image"] == "featurestore-operator:0.1.0"
    assert container["command"] == ["python", script]
    assert container["args"][:2] == ["--repo", "/feature-repo"]


@pytest.mark.parametrize("task", ["train", "predict"])
def test_step_mounts_repo_claim(compiled, task):
    mounts = kubernetes_config(compiled, task)["pvcMount"]
    assert mounts == [
        {
            "constant": "breast-cancer-repo",
            "pvcNameParameter": {"runtimeValue": {"constant": "breast-cancer-repo"}},
            "mountPath": "/feature-repo",
        }
    ]


@pytest.mark.parametrize("task", ["train", "predict"])
def test_step_mounts_scripts_configmap(compiled, task):
    volumes = kubernetes_config(compiled, task)["configMapAsVolume"]
    assert [volume["configMapName"] for volume in volumes] == ["breast-cancer-scripts"]
    assert [volume["mountPath"] for volume in volumes] == ["/scripts"]


def test_mounted_names_match_example():
    """The claim is the one the operator creates for the example's store, the ConfigMap the one kustomize makes."""
    module = load_pipeline_module()
    store = yaml.safe_load(FEATURESTORE.read_text())
    generators = yaml.safe_load(KUSTOMIZATION.read_text())["configMapGenerator"]
    assert module.REPO_CLAIM == f"{store['metadata']['name']}-repo"
    assert module.SCRIPTS_CONFIGMAP in [generator["name"] for generator in generators]


def test_steps_skip_cache(compiled):
    pipeline_spec, _ = compiled
    for name, task in pipeline_spec["root"]["dag"]["tasks"].items():
        assert task["cachingOptions"].get("enableCache", False) is False, name


def test_committed_yaml_is_current(compiled):
    """pipeline.yaml in the example is what pipeline.py compiles to now."""
    committed = list(yaml.safe_load_all(COMMITTED_PIPELINE.read_text()))
    assert committed == list(compiled)
