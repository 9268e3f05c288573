"""The node agent registers a Node with capacity, keeps it Ready and provides the default StorageClass."""

import os
from pathlib import Path

import yaml
from kubernetes import client
from podtools import process_exists, python_container, wait_for

from devcluster.node.agent import NodeAgent

NODE_NAME = "devcluster-node"


def test_node_ready_with_capacity(core):
    node = core.read_node(NODE_NAME)

    ready = [condition for condition in node.status.conditions if condition.type == "Ready"]
    assert ready and ready[0].status == "True"
    assert node.status.capacity["cpu"] == str(os.cpu_count())
    assert int(node.status.capacity["memory"]) > 0
    assert node.status.capacity["pods"] == "110"
    assert node.status.allocatable == node.status.capacity
    assert node.status.node_info.kubelet_version.startswith("v1.")
    assert node.spec.taints is None


def test_node_lease_renewed(api_client):
    coordination = client.CoordinationV1Api(api_client)
    first = coordination.read_namespaced_lease(NODE_NAME, "kube-node-lease").spec

    assert first.holder_identity == NODE_NAME

    def renewed_lease():
        lease = coordination.read_namespaced_lease(NODE_NAME, "kube-node-lease").spec
        return lease if lease.renew_time > first.renew_time else None

    # The agent renews every 10 s; a later renewTime proves the heartbeat keeps going.
    renewed = wait_for(renewed_lease, timeout=25, description="the node lease to be renewed", interval=1)
    assert renewed.holder_identity == NODE_NAME


def test_default_storage_class(api_client):
    storage = client.StorageV1Api(api_client)

    standard = storage.read_storage_class("standard")

    assert standard.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    assert standard.reclaim_policy == "Delete"
    assert standard.volume_binding_mode == "Immediate"


def test_listing_stops_vanished_pod_worker(kubeconfig, tmp_path):
    # A pod deleted while the watch was down never sends DELETED: the next listing lacks it.
    server = yaml.safe_load(Path(kubeconfig).read_text())["clusters"][0]["cluster"]["server"]
    agent = NodeAgent(Path(kubeconfig), tmp_path, NODE_NAME, int(server.rsplit(":", 1)[1]))
    pod = {
        # The namespace does not exist, so this worker's status updates touch no real pod.
        "metadata": {"name": "vanished", "namespace": "devcluster-no-such-namespace", "uid": "vanished-uid"},
        "spec": {"restartPolicy": "Never", "containers": [python_container("main", "import time; time.sleep(600)")]},
    }
    agent.on_pod("ADDED", pod)
    worker = agent.workers["vanished-uid"]
    run = wait_for(lambda: worker.runs.get("main"), 30, "the worker to start the container")
    assert process_exists(run.process.pid)

    agent.on_pods_listed(set())

    assert worker.done.wait(15)
    assert not process_exists(run.process.pid)
    assert "vanished-uid" not in agent.workers
