"""Command line of the Job tasks: `python -m featurestore_operator.jobs apply|materialize ...`.

The operator builds these argument lists for its Job pods. Each run prints
its log and, last, the JSON result on stdout, writes the result to the
termination log and exits with api.EXIT_OK, api.EXIT_USER_ERROR or
api.EXIT_FAILED.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from featurestore_operator import api
from featurestore_operator.jobs.result import (
    REASON_INVALID_CONFIG,
    TaskFailure,
    emit,
    unexpected_failure,
)

logger = logging.getLogger("featurestore_operator.jobs")

TASKS = (api.TASK_APPLY, api.TASK_MATERIALIZE)


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that raises a TaskFailure instead of exiting, so the error reaches the result."""

    def error(self, message: str) -> NoReturn:
        raise TaskFailure(
            REASON_INVALID_CONFIG,
            f"Invalid arguments for {self.prog}: {message}. Check the spec field that sets it; "
            "--help lists the options.",
            user_error=True,
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="python -m featurestore_operator.jobs",
        description="Run a feature store Job task and report its result as JSON.",
    )
    tasks = parser.add_subparsers(dest="task", required=True, parser_class=_ArgumentParser)

    common = _ArgumentParser(add_help=False)
    common.add_argument(
        "--repo",
        type=Path,
        default=Path(api.REPO_MOUNT_PATH),
        help="the feature repo directory (default: %(default)s)",
    )
    common.add_argument(
        "--termination-log",
        type=Path,
        default=Path(api.TERMINATION_MESSAGE_PATH),
        help="file to write the JSON result to, at most 4096 bytes (default: %(default)s)",
    )

    apply = tasks.add_parser(
        api.TASK_APPLY, parents=[common], help="sync the definitions and run feast apply"
    )
    apply.add_argument(
        "--source-dir",
        type=Path,
        default=Path(api.SOURCE_MOUNT_PATH),
        help="the repo ConfigMap's volume: feature_store.yaml and, unless --git-url is "
        "given, the definition files (default: %(default)s)",
    )
    apply.add_argument("--git-url", help="git repository to take the definitions from")
    apply.add_argument("--git-ref", help="branch, tag or commit to check out (with --git-url)")
    apply.add_argument(
        "--git-path",
        default="",
        help="directory of the definitions inside the git repository (default: its root)",
    )
    apply.add_argument(
        "--git-credentials-dir",
        type=Path,
        help="mounted Secret with username and password, or ssh-privatekey and known_hosts",
    )

    materialize = tasks.add_parser(
        api.TASK_MATERIALIZE,
        parents=[common],
        help="load feature values into the online store",
    )
    materialize.add_argument("--mode", required=True, choices=("incremental", "range"))
    materialize.add_argument(
        "--start-time", help="RFC 3339 start of the interval, required with --mode range"
    )
    materialize.add_argument(
        "--end-time", help="RFC 3339 end of the interval (default: now, UTC)"
    )
    materialize.add_argument(
        "--feature-view",
        dest="feature_views",
        action="append",
        default=[],
        metavar="NAME",
        help="feature view to materialize; repeat for more (default: all)",
    )
    return parser


def _termination_log_from(argv: list[str]) -> Path:
    """Find --termination-log in argv even when the full parse fails."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--termination-log", type=Path, default=Path(api.TERMINATION_MESSAGE_PATH))
    known, _ = parser.parse_known_args(argv)
    return known.termination_log.absolute()


def run_task(args: argparse.Namespace) -> dict[str, Any]:
    """Run the task that args select and return its success result."""
    # Feast is imported here and not at the top, so that --help and argument
    # errors do not wait seconds for its import.
    from featurestore_operator.jobs.s3 import register_s3_filesystem

    register_s3_filesystem()
    if args.task == api.TASK_APPLY:
        from featurestore_operator.jobs.apply import GitSource, run_apply

        git = None
        if args.git_url:
            if not args.git_ref:
                raise TaskFailure(
                    REASON_INVALID_CONFIG,
                    "--git-url needs --git-ref: set the branch, tag or commit in the "
                    "FeatureStore's repo.git.ref.",
                    user_error=True,
                )
            git = GitSource(args.git_url, args.git_ref, args.git_path, args.git_credentials_dir)
        return run_apply(args.repo, args.source_dir, git)

    from featurestore_operator.jobs.materialize import parse_time, run_materialize

    start = parse_time(args.start_time, "--start-time") if args.start_time else None
    end = parse_time(args.end_time, "--end-time") if args.end_time else None
    return run_materialize(args.repo, args.mode, start, end, args.feature_views)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # Feast's file registry logs each cache refresh, dozens of lines per task.
    logging.getLogger("feast.infra.registry.registry").setLevel(logging.WARNING)
    task = argv[0] if argv and argv[0] in TASKS else "unknown"

    try:
        args = build_parser().parse_args(argv)
    except TaskFailure as failure:
        logger.error("%s", failure.message)
        emit(failure.to_result(task), _termination_log_from(argv))
        return failure.exit_code

    # Definitions are imported with the repo as working directory, so
    # relative paths must not be resolved later.
    for name, value in vars(args).items():
        if isinstance(value, Path):
            setattr(args, name, value.absolute())

    started = time.monotonic()
    logger.info("Starting the %s task on %s", args.task, args.repo)
    try:
        result = run_task(args)
    except TaskFailure as failure:
        logger.error("The %s task failed (%s): %s", args.task, failure.reason, failure.message)
        emit(failure.to_result(args.task), args.termination_log)
        return failure.exit_code
    except Exception as error:
        logger.exception("The %s task failed", args.task)
        failure = unexpected_failure(error)
        emit(failure.to_result(args.task), args.termination_log)
        return failure.exit_code

    # The reported duration includes importing Feast, which takes most of
    # the time of a small apply.
    result["durationSeconds"] = round(time.monotonic() - started, 2)
    logger.info("The %s task succeeded in %.2f s", args.task, result["durationSeconds"])
    emit(result, args.termination_log)
    return api.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
