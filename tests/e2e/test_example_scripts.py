"""The example's train.py and predict.py on a real Feast repo in a temporary directory, without a cluster.

The repo is built as the operator's Jobs build it on the PVC: the apply task
with the breast_cancer template, the tables from prepare_data.py, then one
incremental materialization. The scripts' functions and main() run in this
process, including the cases a user gets wrong.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from featurestore_operator import api
from tests.jobs.support import load_prepare_data, make_source, run_task

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "examples" / "breast_cancer" / "scripts"
PATIENTS = [566, 567, 568, 100]


def load_script(name: str):
    """Import a script of examples/breast_cancer/scripts, which is not a package."""
    spec = importlib.util.spec_from_file_location(f"breast_cancer_{name}", SCRIPTS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def train_script():
    return load_script("train")


@pytest.fixture(scope="module")
def predict_script():
    return load_script("predict")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A breast_cancer feature repo: applied, its tables prepared, the last 3 days materialized."""
    workspace = tmp_path_factory.mktemp("scripts_repo")
    repo = workspace / "repo"
    repo.mkdir()
    source = make_source(workspace / "source", "breast_cancer", "breast_cancer")
    termination_log = workspace / "termination-log"

    applied = run_task("apply", "--repo", repo, "--source-dir", source, termination_log=termination_log)
    assert applied.returncode == api.EXIT_OK, applied.stdout + applied.stderr

    load_prepare_data().prepare(repo / "data" / "breast_cancer")

    materialized = run_task("materialize", "--repo", repo, "--mode", "incremental", termination_log=termination_log)
    assert materialized.returncode == api.EXIT_OK, materialized.stdout + materialized.stderr
    return repo


@pytest.fixture(scope="module")
def trained(train_script, repo) -> tuple[dict, Path]:
    """Train once through main(); return the JSON result and the model path."""
    model = repo / "models" / "model.joblib"
    result_file = repo.parent / "train-result.json"
    code = train_script.main(["--repo", str(repo), "--model", str(model), "--result-file", str(result_file)])
    assert code == 0, result_file.read_text()
    return json.loads(result_file.read_text()), model


def test_feature_refs_exclude_label(train_script, repo):
    from feast import FeatureStore

    refs = train_script.feature_refs(FeatureStore(repo_path=str(repo)), "target")

    assert len(refs) == 30
    assert "df1_feature_view:mean radius" in refs
    assert not [ref for ref in refs if ref.endswith(":target")]


def test_training_frame_sorted(train_script, repo):
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    entity_frame = train_script.read_entity_frame(repo / "data" / "breast_cancer" / "target.parquet", "target")

    frame = train_script.load_training_frame(store, entity_frame, train_script.feature_refs(store, "target"))

    assert frame.shape == (569, 33)
    assert list(frame.columns) == sorted(frame.columns)
    assert frame["patient_id"].tolist() == list(range(569))


def test_train_result(trained):
    result, model = trained
    assert result["rows"] == 569
    assert result["columns"] == 33
    assert result["features"] == 30
    assert result["accuracy"] >= 0.9
    assert result["model"] == str(model)
    assert model.is_file()


def test_train_missing_entity_table(train_script, repo, tmp_path):
    result_file = tmp_path / "result.json"
    missing = tmp_path / "absent.parquet"

    code = train_script.main(["--repo", str(repo), "--model", str(tmp_path / "model.joblib"),
                              "--entity-table", str(missing), "--result-file", str(result_file)])

    assert code == 1
    error = json.loads(result_file.read_text())["error"]
    assert str(missing) in error
    assert "data preparation Job" in error
    assert not (tmp_path / "model.joblib").exists()


def test_train_missing_repo_config(train_script, tmp_path):
    result_file = tmp_path / "result.json"

    code = train_script.main(["--repo", str(tmp_path), "--model", str(tmp_path / "model.joblib"),
                              "--result-file", str(result_file)])

    assert code == 1
    assert "feature_store.yaml not found" in json.loads(result_file.read_text())["error"]


def test_train_rejects_test_size(train_script, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        train_script.main(["--model", str(tmp_path / "model.joblib"), "--test-size", "1.5"])

    assert exited.value.code == 2
    assert "--test-size 1.5 is out of range" in capsys.readouterr().err


def test_train_model_rejects_missing_values(train_script):
    frame = pd.DataFrame({
        "patient_id": range(10),
        "event_timestamp": pd.date_range("2024-01-01", periods=10, tz="UTC"),
        "mean radius": [1.0] * 9 + [np.nan],
        "target": [0, 1] * 5,
    })

    with pytest.raises(ValueError, match="1 of 10 training rows have missing feature values"):
        train_script.train_model(frame, "target", 0.25, 42)


def test_predict_online_rows(predict_script, repo, trained, tmp_path):
    _, model = trained
    result_file = tmp_path / "result.json"

    code = predict_script.main(["--repo", str(repo), "--model", str(model), "--patients", *map(str, PATIENTS),
                                "--result-file", str(result_file)])

    assert code == 0
    patients = {entry["patient_id"]: entry for entry in json.loads(result_file.read_text())["patients"]}
    assert list(patients) == PATIENTS
    assert patients[568]["meanRadius"] == pytest.approx(7.76, abs=1e-3)
    assert patients[567]["meanRadius"] == pytest.approx(20.60, abs=1e-3)
    assert patients[566]["meanRadius"] == pytest.approx(16.60, abs=1e-3)
    assert patients[100] == {"patient_id": 100, "meanRadius": None, "missingFeatures": 30, "prediction": None}


def test_predict_only_complete_rows(predict_script, repo, trained):
    import joblib
    from feast import FeatureStore

    _, model_path = trained
    saved = joblib.load(model_path)
    rows = predict_script.fetch_online_features(FeatureStore(repo_path=str(repo)), saved["features"], PATIENTS)

    predictions = predict_script.predict_complete_rows(saved["model"], rows)

    assert predictions["patient_id"].tolist() == [566, 567, 568]
    assert set(predictions["prediction"]) <= {0, 1}
    assert predictions["probability"].between(0.5, 1.0).all()


def test_predict_missing_model(predict_script, repo, tmp_path):
    result_file = tmp_path / "result.json"

    code = predict_script.main(["--repo", str(repo), "--model", str(tmp_path / "absent.joblib"),
                                "--patients", "568", "--result-file", str(result_file)])

    assert code == 1
    assert "run the training Job first" in json.loads(result_file.read_text())["error"]


def test_predict_rejects_foreign_model_file(predict_script, repo, tmp_path):
    import joblib

    foreign = tmp_path / "foreign.joblib"
    joblib.dump(["not", "a", "model"], foreign)
    result_file = tmp_path / "result.json"

    code = predict_script.main(["--repo", str(repo), "--model", str(foreign), "--patients", "568",
                                "--result-file", str(result_file)])

    assert code == 1
    assert "is not a model saved by train.py" in json.loads(result_file.read_text())["error"]


def test_patient_ids_accept_commas(predict_script):
    assert predict_script.parse_patient_ids(["566,567", "568", " 100 "]) == [566, 567, 568, 100]


def test_patient_ids_repeated_once(predict_script):
    assert predict_script.parse_patient_ids(["568", "566,568"]) == [568, 566]


@pytest.mark.parametrize("values, message", [
    (["566", "abc"], "'abc' is not a patient id"),
    ([","], "names no patient"),
])
def test_patient_ids_rejected(predict_script, values, message):
    with pytest.raises(ValueError, match=message):
        predict_script.parse_patient_ids(values)


def test_predict_result_over_limit(predict_script, tmp_path):
    patients = [{"patient_id": number, "meanRadius": 10.0, "missingFeatures": 0, "prediction": 1}
                for number in range(200)]
    result_file = tmp_path / "result.json"

    line = predict_script.write_result({"patients": patients, "predicted": 200, "features": 30}, result_file)

    written = json.loads(result_file.read_text())
    assert len(result_file.read_bytes()) <= predict_script.RESULT_LIMIT_BYTES
    assert written == {"patients": 200, "patientsOmitted": True, "predicted": 200, "features": 30}
    assert len(json.loads(line)["patients"]) == 200
