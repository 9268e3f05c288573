"""Train a diagnosis model on the breast-cancer features from Feast's offline store.

The example's training Job and the Kubeflow pipeline's train step run this
script with the FeatureStore's PVC mounted at /feature-repo. It takes the
target table as the entity dataframe and requests every feature of the
registry from Feast at each row's ``event_timestamp``. That gives 569 rows and
33 columns, with ``patient_id``, ``event_timestamp`` and ``target``. The
script trains a scikit-learn logistic regression and scores it on a held-out
split.

The model is saved with joblib together with the feature references that it
was trained on, so that predict.py reads the same features from the online
store. The result (rows, columns, accuracy) is printed and written as JSON
to the termination message file.

Usage::

    python train.py --repo /feature-repo --model /feature-repo/models/model.joblib
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import joblib
import pandas as pd
from feast import FeatureStore
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

logger = logging.getLogger("train")

ENTITY_KEY = "patient_id"
TIMESTAMP_COLUMN = "event_timestamp"
DEFAULT_LABEL = "target"
DEFAULT_ENTITY_TABLE = "data/breast_cancer/target.parquet"
DEFAULT_RESULT_FILE = "/dev/termination-log"

# Kubernetes keeps at most 4096 bytes of a termination message.
RESULT_LIMIT_BYTES = 4096


def feature_refs(store: FeatureStore, label: str) -> list[str]:
    """List every feature of the registry as `view:feature`, except the label.

    Views come in name order and features in schema order, so that the list
    is the same on every run.
    """
    refs = []
    for view in sorted(store.list_feature_views(), key=lambda view: view.name):
        refs += [f"{view.name}:{feature.name}" for feature in view.features if feature.name != label]
    if not refs:
        raise ValueError(
            f"the registry of {store.repo_path} has no features besides {label!r}: "
            "wait until the FeatureStore is Ready, then run the training again"
        )
    return refs


def read_entity_frame(path: Path, label: str) -> pd.DataFrame:
    """Read the entity dataframe: patient_id, event_timestamp and the label column."""
    if not path.is_file():
        raise FileNotFoundError(
            f"entity table {path} not found: run the data preparation Job first, "
            "or pass its location with --entity-table"
        )
    frame = pd.read_parquet(path)

    expected = [ENTITY_KEY, TIMESTAMP_COLUMN, label]
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        raise ValueError(
            f"entity table {path} has no column {', '.join(missing)}; "
            f"it needs {', '.join(expected)}"
        )
    return frame[expected]


def load_training_frame(store: FeatureStore, entity_frame: pd.DataFrame, refs: list[str]) -> pd.DataFrame:
    """Join the features to the entity rows point-in-time, with sorted columns and rows.

    Feast may return the columns in any order and the rows in its own join
    order, so both are sorted: columns by name, rows by patient_id.
    """
    frame = store.get_historical_features(entity_df=entity_frame, features=refs).to_df()
    frame = frame[sorted(frame.columns)]
    return frame.sort_values(ENTITY_KEY).reset_index(drop=True)


def feature_columns(frame: pd.DataFrame, label: str) -> list[str]:
    """Return the model's input columns: all but the key, the timestamp and the label."""
    return [column for column in frame.columns if column not in (ENTITY_KEY, TIMESTAMP_COLUMN, label)]


def train_model(
    frame: pd.DataFrame, label: str, test_size: float, seed: int
) -> tuple[Pipeline, dict]:
    """Fit a scaled logistic regression and score it on a stratified held-out split.

    Returns the fitted pipeline and its scores: accuracy on the held-out rows
    and the train and test row counts.
    """
    incomplete = int(frame[feature_columns(frame, label) + [label]].isna().any(axis=1).sum())
    if incomplete:
        raise ValueError(
            f"{incomplete} of {len(frame)} training rows have missing feature values: "
            "check that every table under data/breast_cancer/ was written by the "
            "data preparation Job, then run the training again"
        )

    features = frame[feature_columns(frame, label)]
    target = frame[label].astype("int64")
    train_features, test_features, train_target, test_target = train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=target
    )

    # The measurements range from 0 to 4254 (worst area). Without scaling,
    # lbfgs (scikit-learn 1.9) does not converge within its default 100 iterations.
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train_features, train_target)

    accuracy = accuracy_score(test_target, model.predict(test_features))
    scores = {"accuracy": round(float(accuracy), 4), "trainRows": len(train_features), "testRows": len(test_features)}
    return model, scores


def save_model(model: Pipeline, refs: list[str], label: str, path: Path) -> None:
    """Save the model and its feature references with joblib, replacing path atomically.

    A prediction that loads the file while the training writes it reads the
    old model or the new one, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            joblib.dump({"model": model, "features": refs, "label": label}, file)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_result(result: dict, path: Path) -> str:
    """Write result as one JSON line to path, creating its directory, and return the line.

    A Kubeflow output parameter file may be in a directory that does not exist yet.
    """
    line = json.dumps(result, separators=(",", ":"))
    encoded = line.encode()
    if len(encoded) > RESULT_LIMIT_BYTES:
        logger.warning("Result of %d bytes exceeds %d: the termination message is truncated",
                       len(encoded), RESULT_LIMIT_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded[:RESULT_LIMIT_BYTES])
    return line


def train(repo: Path, entity_table: Path, model_path: Path, label: str, test_size: float, seed: int) -> dict:
    """Read the training frame from the store in repo, train, save the model and return the result."""
    if not (repo / "feature_store.yaml").is_file():
        raise FileNotFoundError(
            f"{repo / 'feature_store.yaml'} not found: mount the FeatureStore's PVC "
            "(<name>-repo) at --repo and wait until the FeatureStore is Ready"
        )
    store = FeatureStore(repo_path=str(repo))
    refs = feature_refs(store, label)
    entity_frame = read_entity_frame(entity_table, label)
    logger.info("Reading %d features for %d entity rows from the offline store", len(refs), len(entity_frame))

    frame = load_training_frame(store, entity_frame, refs)
    logger.info("Training frame: %d rows, %d columns", len(frame), frame.shape[1])

    model, scores = train_model(frame, label, test_size, seed)
    save_model(model, refs, label, model_path)
    logger.info("Saved the model to %s; held-out accuracy %.4f", model_path, scores["accuracy"])

    return {
        "rows": len(frame),
        "columns": frame.shape[1],
        "features": len(refs),
        **scores,
        "model": str(model_path),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train a logistic regression on the breast-cancer features of a Feast repo."
    )
    parser.add_argument("--repo", type=Path, default=Path("/feature-repo"),
                        help="feature repo directory, the FeatureStore's PVC (default: /feature-repo)")
    parser.add_argument("--entity-table", type=Path,
                        help=f"parquet file of the entity dataframe (default: REPO/{DEFAULT_ENTITY_TABLE})")
    parser.add_argument("--model", type=Path, required=True, help="file to save the trained model to")
    parser.add_argument("--label", default=DEFAULT_LABEL, help=f"label column (default: {DEFAULT_LABEL})")
    parser.add_argument("--test-size", type=float, default=0.25,
                        help="fraction of rows held out for scoring, between 0 and 1 (default: 0.25)")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the split (default: 42)")
    parser.add_argument("--result-file", type=Path, default=Path(DEFAULT_RESULT_FILE),
                        help=f"file to write the JSON result to (default: {DEFAULT_RESULT_FILE})")
    args = parser.parse_args(argv)
    if not 0 < args.test_size < 1:
        parser.error(f"--test-size {args.test_size} is out of range: use a fraction between 0 and 1, such as 0.25")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    entity_table = args.entity_table or args.repo / DEFAULT_ENTITY_TABLE

    try:
        result = train(args.repo, entity_table, args.model, args.label, args.test_size, args.seed)
    except (FileNotFoundError, ValueError) as error:
        logger.error("Training failed: %s", error)
        write_result({"error": str(error)}, args.result_file)
        return 1

    print(write_result(result, args.result_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
