"""The JSON result of a Job task: failure reasons, the error type, and output.

The operator reads the result from the container's termination message, which
Kubernetes caps at 4096 bytes, so the written copy is shortened to fit. The
full result is printed on stdout with the log.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from featurestore_operator import api

logger = logging.getLogger(__name__)

# Failure reasons, the fixed vocabulary of the result's "reason" field.
REASON_DEFINITION_ERROR = "DefinitionError"
REASON_INVALID_CONFIG = "InvalidConfig"
REASON_SOURCE_ERROR = "SourceError"
REASON_FEAST_ERROR = "FeastError"
REASON_UNKNOWN_FEATURE_VIEW = "UnknownFeatureView"

# Kubernetes truncates a termination message beyond this many bytes.
TERMINATION_MESSAGE_MAX_BYTES = 4096

# A message longer than this is cut before the result is written, so that one
# long Python error does not push every list out of the termination message.
MESSAGE_MAX_CHARS = 1000


class TaskFailure(Exception):
    """A failed task, carrying the result's reason, message and extra fields.

    `user_error` selects the exit code: api.EXIT_USER_ERROR for a problem the
    user must fix (a retry cannot succeed), api.EXIT_FAILED otherwise.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        user_error: bool,
        **fields: Any,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.user_error = user_error
        self.fields = {key: value for key, value in fields.items() if value is not None}

    @property
    def exit_code(self) -> int:
        return api.EXIT_USER_ERROR if self.user_error else api.EXIT_FAILED

    def to_result(self, task: str) -> dict[str, Any]:
        return {
            "task": task,
            "ok": False,
            "reason": self.reason,
            "message": self.message,
            **self.fields,
        }


def encode(result: dict[str, Any]) -> str:
    """Encode a result as compact JSON."""
    return json.dumps(result, separators=(",", ":"), ensure_ascii=False, default=str)


def _encoded_size(result: dict[str, Any]) -> int:
    return len(encode(result).encode("utf-8"))


def fit_termination_message(
    result: dict[str, Any], max_bytes: int = TERMINATION_MESSAGE_MAX_BYTES
) -> dict[str, Any]:
    """Return a copy of result whose JSON fits in max_bytes.

    The longest list is shortened one item at a time, and then the message,
    until the JSON fits. A shortened result has "truncated": true and, in
    "totals", the full length of every list that was shortened.
    """
    fitted = dict(result)
    message = fitted.get("message")
    if isinstance(message, str) and len(message) > MESSAGE_MAX_CHARS:
        fitted["message"] = message[: MESSAGE_MAX_CHARS - 3] + "..."
        fitted["truncated"] = True
    if _encoded_size(fitted) <= max_bytes:
        return fitted

    # Reserve the markers' room first, so that adding them cannot overflow.
    totals = {
        key: len(value) for key, value in fitted.items() if isinstance(value, list)
    }
    fitted["truncated"] = True
    fitted["totals"] = totals
    for key in totals:
        fitted[key] = list(fitted[key])

    while _encoded_size(fitted) > max_bytes:
        longest = max(totals, key=lambda key: len(fitted[key]), default=None)
        if longest is None or not fitted[longest]:
            break
        fitted[longest].pop()

    # Drop totals of lists that kept every item.
    fitted["totals"] = {
        key: total for key, total in totals.items() if len(fitted[key]) < total
    }

    # Only the message is left to shorten. The result of a task never has
    # other fields long enough to matter, so the loop stops there.
    while _encoded_size(fitted) > max_bytes and len(fitted.get("message") or "") > 3:
        overflow = _encoded_size(fitted) - max_bytes
        fitted["message"] = fitted["message"][: -(overflow + 3)] + "..."
    return fitted


def emit(result: dict[str, Any], termination_log: Path | None) -> None:
    """Print the full result on stdout and write the fitted copy to termination_log.

    A termination log that cannot be written is logged, not raised, because
    the task itself has already finished and the result is on stdout.
    """
    print(encode(result), file=sys.stdout, flush=True)
    if termination_log is None:
        return

    fitted = fit_termination_message(result)
    try:
        termination_log.write_text(encode(fitted), encoding="utf-8")
    except OSError as error:
        logger.warning(
            "Writing the result to the termination log %s failed: %s",
            termination_log,
            error,
        )


def summarize(text: str, max_chars: int = 300) -> str:
    """Join the non-empty lines of an error text into one line of at most max_chars."""
    joined = " ".join(line.strip() for line in text.splitlines() if line.strip())
    joined = joined.rstrip(":")
    return joined if len(joined) <= max_chars else joined[: max_chars - 3] + "..."


def describe_error(error: BaseException) -> str:
    """Describe an exception in one line: its type and summarized message."""
    detail = summarize(str(error))
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def unexpected_failure(error: BaseException) -> TaskFailure:
    """Wrap an exception without a reason of its own (from Feast or the system) as a FeastError."""
    return TaskFailure(
        REASON_FEAST_ERROR,
        f"{describe_error(error)}. The Job log has the traceback; the Job is retried up to "
        "its backoffLimit.",
        user_error=False,
    )
