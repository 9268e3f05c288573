"""Labels, selectors and owner references of child objects."""

import pytest

from featurestore_operator import api
from featurestore_operator.resources.labels import (
    child_labels,
    child_metadata,
    label_selector,
    owner_reference,
)


def test_child_labels_for_apply():
    assert child_labels("bc", api.TASK_APPLY) == {
        "app.kubernetes.io/managed-by": "featurestore-operator",
        "app.kubernetes.io/part-of": "bc",
        "featurestore.dev/featurestore": "bc",
        "featurestore.dev/task": "apply",
    }


def test_child_labels_for_materialization():
    labels = child_labels("bc", api.TASK_MATERIALIZE, "bc-daily")

    assert labels[api.LABEL_TASK] == "materialize"
    assert labels[api.LABEL_MATERIALIZATION] == "bc-daily"
    assert labels[api.LABEL_FEATURESTORE] == "bc"


def test_child_labels_without_task():
    labels = child_labels("bc")

    assert api.LABEL_TASK not in labels
    assert api.LABEL_MATERIALIZATION not in labels


def test_child_labels_reject_unknown_task():
    with pytest.raises(ValueError, match="'serve' is unknown"):
        child_labels("bc", "serve")


def test_child_labels_shorten_long_name():
    # Object names may have 253 characters, label values only 63.
    long_name = "store." + "x" * 100
    labels = child_labels(long_name, api.TASK_APPLY)

    assert len(labels[api.LABEL_FEATURESTORE]) <= 63
    assert labels[api.LABEL_FEATURESTORE] == labels[api.LABEL_PART_OF]
    assert labels[api.LABEL_FEATURESTORE].startswith("store.")


def test_label_selector_joins_sorted_pairs():
    assert label_selector({"b": "2", "a": "1"}) == "a=1,b=2"


def test_owner_reference_fields(feature_store):
    reference = owner_reference(feature_store(name="bc"))

    assert reference == {
        "apiVersion": "featurestore.dev/v1alpha1",
        "kind": "FeatureStore",
        "name": "bc",
        "uid": "uid-bc",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_owner_reference_without_controller(feature_store):
    assert owner_reference(feature_store(), controller=False)["controller"] is False


def test_owner_reference_requires_uid(feature_store):
    fs = feature_store()
    del fs["metadata"]["uid"]

    with pytest.raises(ValueError, match="metadata.uid missing"):
        owner_reference(fs)


def test_child_metadata_copies_namespace(feature_store):
    metadata = child_metadata("bc-repo", feature_store(namespace="team-a"), {"a": "1"})

    assert metadata["namespace"] == "team-a"
    assert metadata["ownerReferences"][0]["uid"] == "uid-bc"


def test_child_metadata_unowned(feature_store):
    metadata = child_metadata("bc-repo", feature_store(), {"a": "1"}, owned=False)

    assert "ownerReferences" not in metadata
