"""Command line: `featurestore-operator run` starts the operator against the current kubeconfig or cluster."""

import argparse
import logging
import sys

import kopf

from featurestore_operator import __version__


def run(namespaces: list[str], liveness: str | None, verbose: bool) -> int:
    from featurestore_operator import handlers  # noqa: F401 - registers every handler
    from featurestore_operator.settings import SETTINGS

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
    )
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    chosen = namespaces or list(SETTINGS.namespaces)
    kopf.run(
        memo=kopf.Memo(namespaces=chosen),
        standalone=True,
        clusterwide=not chosen,
        namespaces=chosen,
        liveness_endpoint=liveness,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="featurestore-operator", description="Run Feast feature stores on Kubernetes.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the operator until interrupted")
    run_parser.add_argument("-n", "--namespace", action="append", default=[],
                            help="watch this namespace (repeatable); default: FEATURESTORE_NAMESPACES, else all")
    run_parser.add_argument("--liveness", metavar="URL",
                            help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz")
    run_parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    dev_parser = commands.add_parser("dev", help="the local control plane with the operator (needs a checkout)")
    dev_parser.add_argument("action", choices=["up", "down", "status", "demo"],
                            help="up: cluster, CRDs and operator; down: stop all; status; "
                                 "demo: up, then run the breast-cancer example")
    arguments = parser.parse_args(argv)
    if arguments.command == "dev":
        from featurestore_operator import dev

        return dev.main(arguments.action)
    return run(arguments.namespace, arguments.liveness, arguments.verbose)


if __name__ == "__main__":
    sys.exit(main())
