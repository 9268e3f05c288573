"""Deterministic child names, shortened with a hash when too long."""

import re

import pytest

from featurestore_operator.resources.names import (
    MAX_CRONJOB_NAME_LENGTH,
    MAX_NAME_LENGTH,
    apply_job_name,
    cronjob_name,
    fit_name,
    materialization_job_name,
    repo_configmap_name,
    repo_pvc_name,
)

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
APPLY_HASH = "0123456789abcdef" * 4
LONG_NAME = "a-very-long-feature-store-name-for-the-fraud-detection-team-in-europe-west"


def test_repo_names_for_short_name(feature_store):
    fs = feature_store(name="bc")

    assert repo_pvc_name(fs) == "bc-repo"
    assert repo_configmap_name(fs) == "bc-repo"


def test_repo_pvc_name_uses_existing_claim(feature_store):
    fs = feature_store(storage={"existingClaim": "team-data"})

    assert repo_pvc_name(fs) == "team-data"
    assert repo_configmap_name(fs) == "bc-repo"


def test_apply_job_name_for_short_name():
    assert apply_job_name("bc", APPLY_HASH) == "bc-apply-01234567"


def test_materialization_job_name_for_short_name():
    assert materialization_job_name("bc-daily", "20240501t120000") == "bc-daily-20240501t120000"


def test_cronjob_name_for_short_name():
    assert cronjob_name("bc-daily") == "bc-daily"


@pytest.mark.parametrize(
    "build, limit",
    [
        (lambda fs: repo_pvc_name(fs), MAX_NAME_LENGTH),
        (lambda fs: repo_configmap_name(fs), MAX_NAME_LENGTH),
        (lambda fs: apply_job_name(fs["metadata"]["name"], APPLY_HASH), MAX_NAME_LENGTH),
        (lambda fs: materialization_job_name(fs["metadata"]["name"], "manual-1"), MAX_NAME_LENGTH),
        (lambda fs: cronjob_name(fs["metadata"]["name"]), MAX_CRONJOB_NAME_LENGTH),
    ],
    ids=["pvc", "configmap", "apply-job", "materialization-job", "cronjob"],
)
def test_long_names_fit_limit(feature_store, build, limit):
    name = build(feature_store(name=LONG_NAME))

    assert len(name) <= limit
    assert DNS_SUBDOMAIN.match(name), name


def test_long_name_keeps_suffix():
    name = apply_job_name(LONG_NAME, APPLY_HASH)

    assert name.endswith("-apply-01234567")
    assert name.startswith(LONG_NAME[:20])


def test_long_name_is_deterministic():
    assert fit_name(LONG_NAME, "-repo") == fit_name(LONG_NAME, "-repo")


def test_long_names_with_same_prefix_differ():
    first = fit_name(LONG_NAME + "-one", "-repo")
    second = fit_name(LONG_NAME + "-two", "-repo")

    assert first != second


def test_cut_before_dot_stays_valid():
    # The cut keeps 63 - len("-repo") - len("-<8 hex>") = 49 characters, the
    # last of them a '.', which would leave ".-" in the name.
    base = "a" * 48 + "." + "b" * 40
    name = fit_name(base, "-repo")

    assert DNS_SUBDOMAIN.match(name), name
    assert len(name) <= MAX_NAME_LENGTH


def test_name_at_limit_is_unchanged():
    base = "x" * (MAX_NAME_LENGTH - len("-repo"))

    assert fit_name(base, "-repo") == base + "-repo"


@pytest.mark.parametrize("apply_hash", ["", "0123456", "ABCDEF0123", "not-a-hash"])
def test_apply_job_name_rejects_invalid_hash(apply_hash):
    with pytest.raises(ValueError, match="compute_apply_hash"):
        apply_job_name("bc", apply_hash)


@pytest.mark.parametrize("run_id", ["", "Manual", "-1", "1-", "a_b", "x" * 60])
def test_materialization_job_name_rejects_invalid_run_id(run_id):
    with pytest.raises(ValueError, match="run id"):
        materialization_job_name("bc-daily", run_id)
