"""The apply hash: stable for equal inputs, changed by anything that changes the apply."""

import copy

import pytest

from featurestore_operator.resources.hashing import compute_apply_hash

IMAGE = "registry.local/featurestore-runner:0.1.0"
FILES = {"features.py": "x = 1\n", "sources.py": "y = 2\n"}
GIT = {"url": "https://git.local/team/features.git", "ref": "main", "path": "repo"}


def test_hash_is_sha256_hex(feature_store):
    digest = compute_apply_hash(feature_store(), FILES, IMAGE)

    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_hash_stable_across_dict_order(feature_store):
    fs = feature_store(
        project="bc",
        onlineStore={"type": "redis", "redis": {"address": "r:6379", "ssl": True}},
        runner={"env": [{"name": "A", "value": "1"}]},
    )
    reordered = copy.deepcopy(fs)
    reordered["spec"] = dict(reversed(list(fs["spec"].items())))
    reordered["spec"]["onlineStore"]["redis"] = {"ssl": True, "address": "r:6379"}
    reordered_files = dict(reversed(list(FILES.items())))

    assert compute_apply_hash(fs, FILES, IMAGE) == compute_apply_hash(reordered, reordered_files, IMAGE)


def test_hash_same_with_explicit_defaults(feature_store):
    implicit = feature_store()
    explicit = feature_store(
        storage={"size": "1Gi"},
        registry={"type": "file", "path": "data/registry.db"},
        onlineStore={"type": "sqlite", "path": "data/online_store.db"},
        offlineStore={"type": "file"},
        runner={"backoffLimit": 2},
    )

    assert compute_apply_hash(implicit, FILES, IMAGE) == compute_apply_hash(explicit, FILES, IMAGE)


def test_hash_same_with_default_image_as_runner_image(feature_store):
    assert compute_apply_hash(feature_store(), FILES, IMAGE) == compute_apply_hash(
        feature_store(runner={"image": IMAGE}), FILES, IMAGE
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda fs, files: (fs, {**files, "features.py": "x = 3\n"}, IMAGE),
        lambda fs, files: (fs, {**files, "views.py": "z = 1\n"}, IMAGE),
        lambda fs, files: (fs, {"features.py": files["features.py"]}, IMAGE),
        lambda fs, files: (fs, files, IMAGE + "-next"),
        lambda fs, files: ({**fs, "spec": {**fs["spec"], "runner": {"image": "other:1"}}}, files, IMAGE),
        lambda fs, files: ({**fs, "spec": {**fs["spec"], "project": "other"}}, files, IMAGE),
        lambda fs, files: (
            {**fs, "spec": {**fs["spec"], "runner": {"env": [{"name": "A", "value": "1"}]}}},
            files,
            IMAGE,
        ),
        lambda fs, files: (
            {**fs, "spec": {**fs["spec"], "runner": {"envFrom": [{"secretRef": {"name": "s"}}]}}},
            files,
            IMAGE,
        ),
        lambda fs, files: (
            {**fs, "spec": {**fs["spec"], "s3": {"endpointURL": "http://127.0.0.1:9000"}}},
            files,
            IMAGE,
        ),
    ],
    ids=[
        "file-content",
        "file-added",
        "file-removed",
        "default-image",
        "runner-image",
        "project",
        "runner-env",
        "runner-envfrom",
        "s3-endpoint",
    ],
)
def test_hash_changes_with_input(feature_store, change):
    fs = feature_store()
    before = compute_apply_hash(fs, FILES, IMAGE)

    assert compute_apply_hash(*change(fs, FILES)) != before


@pytest.mark.parametrize("field, value", [("url", "https://git.local/team/other.git"), ("ref", "v2"), ("path", ".")])
def test_hash_changes_with_git_source(feature_store, field, value):
    fs = feature_store(repo={"git": dict(GIT)})
    changed = feature_store(repo={"git": {**GIT, field: value}})

    assert compute_apply_hash(fs, {}, IMAGE) != compute_apply_hash(changed, {}, IMAGE)


@pytest.mark.parametrize(
    "runner",
    [
        {"resources": {"limits": {"memory": "4Gi"}}},
        {"backoffLimit": 5},
        {"nodeSelector": {"pool": "batch"}},
        {"serviceAccountName": "feast"},
    ],
    ids=["resources", "backoff-limit", "node-selector", "service-account"],
)
def test_hash_ignores_scheduling_settings(feature_store, runner):
    assert compute_apply_hash(feature_store(), FILES, IMAGE) == compute_apply_hash(
        feature_store(runner=runner), FILES, IMAGE
    )
