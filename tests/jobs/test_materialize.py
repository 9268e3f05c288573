"""The materialize task on the breast-cancer repo: incremental runs, a range run, errors.

The data's last row is at the session's start, one row a day, and the feature
views have a TTL of 3 days, so a first incremental run loads patients 566..568.
"""

from __future__ import annotations

import pytest

from featurestore_operator import api
from tests.jobs.support import (
    BREAST_CANCER_VIEWS,
    copy_breast_cancer_data,
    make_source,
    run_task,
)

PATIENT_COUNT = 569


@pytest.fixture(scope="module")
def applied_repo(tmp_path_factory, prepared_data):
    workspace = tmp_path_factory.mktemp("materialize")
    repo = workspace / "repo"
    copy_breast_cancer_data(prepared_data, repo)
    source = make_source(workspace / "source", "breast_cancer", "breast_cancer")
    run = run_task(
        "apply",
        "--repo",
        repo,
        "--source-dir",
        source,
        termination_log=workspace / "termination-log",
    )
    assert run.returncode == api.EXIT_OK, run.stdout
    return repo


def materialize(repo, *arguments):
    return run_task(
        "materialize",
        "--repo",
        repo,
        *arguments,
        termination_log=repo.parent / "termination-log",
    )


def online_features(repo, patient_ids):
    """Read all 30 features and the target of patient_ids from the online store."""
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    references = []
    for view in store.list_feature_views():
        references += [f"{view.name}:{feature.name}" for feature in view.features]
    rows = [{"patient_id": patient_id} for patient_id in patient_ids]
    return store.get_online_features(features=references, entity_rows=rows).to_dict()


@pytest.fixture(scope="module")
def first_incremental(applied_repo):
    return materialize(applied_repo, "--mode", "incremental")


@pytest.fixture(scope="module")
def second_incremental(applied_repo, first_incremental):
    return materialize(applied_repo, "--mode", "incremental")


@pytest.fixture(scope="module")
def whole_range(applied_repo, second_incremental):
    return materialize(
        applied_repo,
        "--mode",
        "range",
        "--start-time",
        "2000-01-01T00:00:00Z",
    )


def test_incremental_first_run_loads_ttl_window(first_incremental):
    assert first_incremental.returncode == api.EXIT_OK, first_incremental.stdout
    result = first_incremental.result
    assert result["ok"] is True
    assert result["mode"] == "incremental"
    assert [view["name"] for view in result["featureViews"]] == BREAST_CANCER_VIEWS
    assert [view["rows"] for view in result["featureViews"]] == [3] * 5
    assert result["rowsWritten"] == 15
    assert result["endTime"].endswith("Z")
    assert all(view["end"] == result["endTime"] for view in result["featureViews"])
    assert all(view["start"] < view["end"] for view in result["featureViews"])
    assert "startTime" not in result


def test_incremental_first_run_online_values(applied_repo, first_incremental):
    assert first_incremental.returncode == api.EXIT_OK, first_incremental.stdout

    values = online_features(applied_repo, [568, 567, 566, 100])

    assert values["mean radius"][:3] == pytest.approx([7.76, 20.60, 16.60])
    assert values["mean radius"][3] is None
    feature_names = [name for name in values if name not in ("patient_id", "target")]
    assert len(feature_names) == 30
    for name in feature_names:
        assert None not in values[name][:3], name
        assert values[name][3] is None, name
    assert values["target"][:3] == [1, 0, 0]


def test_incremental_second_run_writes_nothing(second_incremental):
    assert second_incremental.returncode == api.EXIT_OK, second_incremental.stdout
    assert second_incremental.result["rowsWritten"] == 0
    assert [view["rows"] for view in second_incremental.result["featureViews"]] == [0] * 5


def test_range_loads_every_patient(applied_repo, whole_range):
    assert whole_range.returncode == api.EXIT_OK, whole_range.stdout
    result = whole_range.result
    assert result["mode"] == "range"
    assert result["startTime"] == "2000-01-01T00:00:00Z"
    assert [view["rows"] for view in result["featureViews"]] == [PATIENT_COUNT] * 5
    assert all(view["start"] == "2000-01-01T00:00:00Z" for view in result["featureViews"])

    values = online_features(applied_repo, [0, 100])
    assert values["mean radius"][1] is not None


def test_selected_feature_view_only(applied_repo, whole_range):
    run = materialize(
        applied_repo,
        "--mode",
        "range",
        "--start-time",
        "2000-01-01T00:00:00Z",
        "--feature-view",
        "target_feature_view",
    )

    assert run.returncode == api.EXIT_OK, run.stdout
    assert [view["name"] for view in run.result["featureViews"]] == ["target_feature_view"]
    assert run.result["rowsWritten"] == PATIENT_COUNT


def test_unknown_feature_view_lists_available(applied_repo):
    run = materialize(
        applied_repo, "--mode", "incremental", "--feature-view", "df9_feature_view"
    )

    assert run.returncode == api.EXIT_USER_ERROR
    assert run.result["reason"] == "UnknownFeatureView"
    assert run.result["available"] == BREAST_CANCER_VIEWS
    assert run.result["unknown"] == ["df9_feature_view"]
    assert "df9_feature_view" in run.result["message"]
    assert "df1_feature_view" in run.result["message"]


def test_range_without_start_is_invalid(applied_repo):
    run = materialize(applied_repo, "--mode", "range")

    assert run.returncode == api.EXIT_USER_ERROR
    assert run.result["reason"] == "InvalidConfig"
    assert "--start-time" in run.result["message"]


def test_materialize_before_apply_fails(tmp_path):
    repo = tmp_path / "repo"
    make_source(repo, None, "never_applied")

    run = materialize(repo, "--mode", "incremental")

    assert run.returncode == api.EXIT_FAILED
    assert run.result["reason"] == "FeastError"
    assert "registry" in run.result["message"]
    assert not (repo / "data" / "registry.db").exists()
