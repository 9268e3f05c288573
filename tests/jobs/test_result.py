"""The JSON result: fitting the termination message and writing both copies."""

from __future__ import annotations

import json

from featurestore_operator import api
from featurestore_operator.jobs.result import (
    TERMINATION_MESSAGE_MAX_BYTES,
    TaskFailure,
    emit,
    encode,
    fit_termination_message,
)


def size(result) -> int:
    return len(encode(result).encode("utf-8"))


def test_small_result_unchanged():
    result = {"task": "apply", "ok": True, "featureViews": ["a", "b"]}

    assert fit_termination_message(result) == result


def test_long_lists_shortened_to_fit():
    result = {
        "task": "apply",
        "ok": True,
        "featureViews": [f"feature_view_{index:05d}" for index in range(400)],
        "entities": [f"entity_{index:05d}" for index in range(20)],
        "dataSources": ["only_source"],
    }

    fitted = fit_termination_message(result)

    assert size(fitted) <= TERMINATION_MESSAGE_MAX_BYTES
    assert fitted["truncated"] is True
    assert fitted["totals"] == {"featureViews": 400}
    assert fitted["entities"] == result["entities"]
    assert fitted["featureViews"] == result["featureViews"][: len(fitted["featureViews"])]
    assert fitted["dataSources"] == ["only_source"]
    assert len(result["featureViews"]) == 400


def test_materialize_reports_shortened_to_fit():
    report = {"name": "view", "start": "2024-01-01T00:00:00Z", "end": "2024-01-04T00:00:00Z",
              "rows": 3, "durationSeconds": 0.1}
    result = {"task": "materialize", "ok": True, "featureViews": [report] * 100, "rowsWritten": 300}

    fitted = fit_termination_message(result)

    assert size(fitted) <= TERMINATION_MESSAGE_MAX_BYTES
    assert fitted["rowsWritten"] == 300
    assert fitted["totals"] == {"featureViews": 100}


def test_multibyte_message_fits_in_bytes():
    result = {"task": "apply", "ok": False, "reason": "FeastError", "message": "é" * 5000,
              "available": ["x" * 50] * 200}

    fitted = fit_termination_message(result)

    assert size(fitted) <= TERMINATION_MESSAGE_MAX_BYTES
    assert fitted["message"].endswith("...")


def test_emit_writes_both_copies(tmp_path, capsys):
    log = tmp_path / "termination-log"
    result = {"task": "apply", "ok": True, "featureViews": [f"v{index:04d}" for index in range(2000)]}

    emit(result, log)

    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    written = json.loads(log.read_text())
    assert len(printed["featureViews"]) == 2000
    assert written["truncated"] is True
    assert len(log.read_bytes()) <= TERMINATION_MESSAGE_MAX_BYTES


def test_emit_survives_unwritable_log(tmp_path, capsys):
    emit({"task": "apply", "ok": True}, tmp_path / "missing-dir" / "termination-log")

    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"task": "apply", "ok": True}


def test_failure_exit_codes():
    user = TaskFailure("InvalidConfig", "bad", user_error=True, key="project", line=None)
    other = TaskFailure("FeastError", "broken", user_error=False)

    assert user.exit_code == api.EXIT_USER_ERROR
    assert other.exit_code == api.EXIT_FAILED
    assert user.to_result("apply") == {
        "task": "apply",
        "ok": False,
        "reason": "InvalidConfig",
        "message": "bad",
        "key": "project",
    }
