"""Predict diagnoses from the breast-cancer features in Feast's online store.

The example's prediction Job and the Kubeflow pipeline's predict step run
this script with the FeatureStore's PVC mounted at /feature-repo, after a
Materialization has loaded the online store. It loads the model that train.py
saved, reads the model's features of the given patients from the online
store and predicts for every patient whose features are all present.

A patient outside the online store's window (the feature views' ttl of 3
days, so all but the last 3 patients after a first incremental
materialization) comes back with null values: that is reported, not an error.

The rows are printed, and a JSON summary (mean radius, missing values and
prediction per patient) is written to the termination message file.

Usage::

    python predict.py --repo /feature-repo --model /feature-repo/models/model.joblib \\
        --patients 566 567 568 100
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import joblib
import pandas as pd
from feast import FeatureStore

logger = logging.getLogger("predict")

ENTITY_KEY = "patient_id"
SUMMARY_FEATURE = "mean radius"
DEFAULT_RESULT_FILE = "/dev/termination-log"

# Labels of load_breast_cancer()'s target column.
DIAGNOSES = {0: "malignant", 1: "benign"}

# Kubernetes keeps at most 4096 bytes of a termination message.
RESULT_LIMIT_BYTES = 4096


def load_model(path: Path) -> dict:
    """Load what train.py saved: the model, its feature references and its label."""
    if not path.is_file():
        raise FileNotFoundError(f"model {path} not found: run the training Job first, or pass its file with --model")
    saved = joblib.load(path)
    if not isinstance(saved, dict) or not {"model", "features"} <= saved.keys():
        raise ValueError(f"{path} is not a model saved by train.py: run the training Job again to replace it")
    return saved


def fetch_online_features(store: FeatureStore, refs: list[str], patient_ids: list[int]) -> pd.DataFrame:
    """Read the features of each patient from the online store, one row per patient in the given order.

    Columns are patient_id and the feature names without their view prefix.
    A feature that the online store does not have for a patient is null.
    """
    entity_rows = [{ENTITY_KEY: patient_id} for patient_id in patient_ids]
    return store.get_online_features(features=refs, entity_rows=entity_rows).to_df()


def predict_complete_rows(model, rows: pd.DataFrame) -> pd.DataFrame:
    """Predict for the rows that have every model feature; return patient_id, prediction and probability.

    The probability is the model's probability of the predicted class.
    """
    columns = list(model.feature_names_in_)
    complete = rows.dropna(subset=columns)
    if complete.empty:
        return pd.DataFrame({ENTITY_KEY: [], "prediction": [], "probability": []})

    predictions = model.predict(complete[columns])
    probabilities = model.predict_proba(complete[columns]).max(axis=1)
    return pd.DataFrame(
        {
            ENTITY_KEY: complete[ENTITY_KEY].to_numpy(),
            "prediction": predictions.astype("int64"),
            "probability": probabilities.round(4),
        }
    )


def summarize(rows: pd.DataFrame, predictions: pd.DataFrame, feature_names: list[str]) -> dict:
    """Build the JSON result: per patient the mean radius, the missing count and the prediction."""
    by_patient = predictions.set_index(ENTITY_KEY)
    patients = []
    for _, row in rows.iterrows():
        patient_id = int(row[ENTITY_KEY])
        radius = row.get(SUMMARY_FEATURE)
        entry = {
            ENTITY_KEY: patient_id,
            "meanRadius": None if pd.isna(radius) else round(float(radius), 4),
            "missingFeatures": int(row[feature_names].isna().sum()),
            "prediction": None,
        }
        if patient_id in by_patient.index:
            prediction = int(by_patient.at[patient_id, "prediction"])
            entry["prediction"] = prediction
            entry["diagnosis"] = DIAGNOSES.get(prediction, str(prediction))
            entry["probability"] = float(by_patient.at[patient_id, "probability"])
        patients.append(entry)
    return {"patients": patients, "predicted": len(predictions), "features": len(feature_names)}


def write_result(result: dict, path: Path) -> str:
    """Write result as one JSON line to path, creating its directory, and return the line.

    A result over the termination message limit (many patients) keeps only
    the counts in the file; the printed line has everything.
    """
    line = json.dumps(result, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    size = len(line.encode())
    if size <= RESULT_LIMIT_BYTES:
        path.write_text(line)
        return line

    logger.warning("Result of %d bytes exceeds %d: the termination message lists no patients", size,
                   RESULT_LIMIT_BYTES)
    summary = dict(result)
    summary["patients"] = len(result.get("patients", []))
    summary["patientsOmitted"] = True
    path.write_text(json.dumps(summary, separators=(",", ":")))
    return line


def predict(repo: Path, model_path: Path, patient_ids: list[int]) -> dict:
    """Predict for patient_ids from the store in repo with the model at model_path; return the result."""
    if not (repo / "feature_store.yaml").is_file():
        raise FileNotFoundError(
            f"{repo / 'feature_store.yaml'} not found: mount the FeatureStore's PVC "
            "(<name>-repo) at --repo and wait until the FeatureStore is Ready"
        )
    saved = load_model(model_path)
    model = saved["model"]
    feature_names = list(model.feature_names_in_)

    store = FeatureStore(repo_path=str(repo))
    rows = fetch_online_features(store, saved["features"], patient_ids)
    logger.info("Online features of %d patients:\n%s", len(rows),
                rows.set_index(ENTITY_KEY)[feature_names].T.to_string())

    predictions = predict_complete_rows(model, rows)
    skipped = sorted(set(patient_ids) - set(predictions[ENTITY_KEY].tolist()))
    if skipped:
        logger.info("No prediction for patients %s: the online store has missing feature values for them "
                    "(outside the materialized window)", skipped)
    for _, prediction in predictions.iterrows():
        logger.info("Patient %d: %s (probability %.4f)", prediction[ENTITY_KEY],
                    DIAGNOSES.get(int(prediction["prediction"])), prediction["probability"])
    return summarize(rows, predictions, feature_names)


def parse_patient_ids(values: list[str]) -> list[int]:
    """Parse patient ids given as separate arguments, comma-separated lists or both.

    A Kubeflow pipeline passes a list parameter as one argument, so
    "566,567,568,100" is accepted as well as 566 567 568 100. A repeated id
    is kept once, at its first place.
    """
    patient_ids = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                patient_ids.append(int(part))
            except ValueError:
                raise ValueError(f"--patients {part!r} is not a patient id: use whole numbers such as 566 567") from None
    if not patient_ids:
        raise ValueError("--patients names no patient: give at least one id, such as 568")
    return list(dict.fromkeys(patient_ids))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Predict breast-cancer diagnoses from the online store of a Feast repo."
    )
    parser.add_argument("--repo", type=Path, default=Path("/feature-repo"),
                        help="feature repo directory, the FeatureStore's PVC (default: /feature-repo)")
    parser.add_argument("--model", type=Path, required=True, help="model file that train.py saved")
    parser.add_argument("--patients", nargs="+", required=True,
                        help="patient ids to predict for, separated by spaces or commas, such as 566 567 568 100")
    parser.add_argument("--result-file", type=Path, default=Path(DEFAULT_RESULT_FILE),
                        help=f"file to write the JSON result to (default: {DEFAULT_RESULT_FILE})")
    args = parser.parse_args(argv)
    try:
        args.patients = parse_patient_ids(args.patients)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")

    try:
        result = predict(args.repo, args.model, args.patients)
    except (FileNotFoundError, ValueError) as error:
        logger.error("Prediction failed: %s", error)
        write_result({"error": str(error)}, args.result_file)
        return 1

    print(write_result(result, args.result_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
