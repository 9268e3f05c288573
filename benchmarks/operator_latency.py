"""Print how long the operator takes from `kubectl apply` to Ready, on a running local control plane.

Usage: featurestore-operator dev up, then
    .venv/bin/python benchmarks/operator_latency.py [--kubeconfig .devcluster/kubeconfig] [--repeat 3]

Each round creates a namespace with a FeatureStore from the minimal template,
measures the time until status.phase is Ready and the apply Job's own run time
(start to completion), then deletes the namespace. The difference between the
two is the operator's and the control plane's share.
"""

import argparse
import datetime
import statistics
import time
import uuid
from pathlib import Path

from kubernetes import client, config

GROUP, VERSION, PLURAL = "featurestore.dev", "v1alpha1", "featurestores"


def parse_time(value) -> datetime.datetime:
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def one_round(api_client: client.ApiClient, timeout: float) -> tuple[float, float]:
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    batch = client.BatchV1Api(api_client)
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FeatureStore", "metadata": {"name": "bench"},
                "spec": {"project": "bench", "repo": {"template": {"name": "minimal"}}}}
        started = time.monotonic()
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
        while time.monotonic() - started < timeout:
            status = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "bench").get("status") or {}
            if status.get("phase") in ("Ready", "Failed"):
                break
            time.sleep(0.1)
        else:
            raise TimeoutError(f"FeatureStore in {namespace} not Ready within {timeout:.0f} s")
        total = time.monotonic() - started
        if status["phase"] != "Ready":
            raise RuntimeError(f"apply failed: {status.get('message')}")
        job = batch.read_namespaced_job(status["lastApplyJob"], namespace).status
        job_seconds = (parse_time(job.completion_time) - parse_time(job.start_time)).total_seconds()
        return total, job_seconds
    finally:
        core.delete_namespace(namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", type=Path, default=Path(".devcluster/kubeconfig"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for Ready per round")
    arguments = parser.parse_args()
    api_client = config.new_client_from_config(config_file=str(arguments.kubeconfig))

    totals, jobs = [], []
    for index in range(arguments.repeat):
        total, job_seconds = one_round(api_client, arguments.timeout)
        totals.append(total)
        jobs.append(job_seconds)
        print(f"round {index + 1}: apply to Ready {total:.1f} s, apply Job ran {job_seconds:.0f} s")
    print(f"median: apply to Ready {statistics.median(totals):.1f} s, apply Job {statistics.median(jobs):.0f} s "
          f"(Job times have one-second resolution)")


if __name__ == "__main__":
    main()
