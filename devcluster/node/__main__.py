"""Run the devcluster node: `python -m devcluster.node --kubeconfig ... --state-dir ...`."""

import argparse
import logging
import sys
from pathlib import Path

from devcluster.node.agent import NodeAgent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster.node", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True, help="admin kubeconfig of the cluster")
    parser.add_argument("--state-dir", type=Path, required=True, help="devcluster state directory")
    parser.add_argument("--node-name", default="devcluster-node", help="name of the Node object")
    parser.add_argument("--apiserver-port", type=int, required=True, help="port of kube-apiserver on 127.0.0.1")
    parser.add_argument("--kubelet-port", type=int, default=0,
                        help="port on 127.0.0.1 for the container-log API that kubectl logs uses (0: none)")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(message)s",
                        stream=sys.stdout)
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    agent = NodeAgent(arguments.kubeconfig, arguments.state_dir.resolve(), arguments.node_name, arguments.apiserver_port,
                      arguments.kubelet_port)
    agent.install_signal_handlers()
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
