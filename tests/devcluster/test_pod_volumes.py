"""Pod volumes bind-mounted at their mountPaths: ConfigMap, Secret, emptyDir, items, subPath, readOnly."""

import os

from kubernetes import client
from podtools import pod_manifest, python_container, read_pod, run_pod, terminated, termination_json, wait_for

# The container reports every regular file under the given roots with its content and permission bits.
REPORT_FILES = """
    import json, os, sys
    report = {}
    for root in sys.argv[1:]:
        for directory, _, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                report[path] = [open(path).read(), oct(os.stat(path).st_mode & 0o777)]
    open("/dev/termination-log", "w").write(json.dumps(report))
"""


def _reporting_container(roots: list[str], volume_mounts: list[dict]) -> dict:
    container = python_container("main", REPORT_FILES, volumeMounts=volume_mounts)
    container["command"] += roots
    return container


def _create_sources(core, namespace):
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="repo"),
            data={"feature_store.yaml": "project: demo\n", "features.py": "# definitions\n", "unused.txt": "x"},
        ),
    )
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="keys"), string_data={"access": "AK", "secret": "SK"}),
    )


def test_configmap_volume_all_keys(core, namespace, tmp_path):
    _create_sources(core, namespace)
    target = str(tmp_path / "repo")
    container = _reporting_container([target], [{"name": "repo", "mountPath": target}])
    manifest = pod_manifest("cm-all", [container], volumes=[{"name": "repo", "configMap": {"name": "repo"}}])

    files = termination_json(run_pod(core, namespace, manifest), "main")

    assert files == {
        f"{target}/feature_store.yaml": ["project: demo\n", "0o644"],
        f"{target}/features.py": ["# definitions\n", "0o644"],
        f"{target}/unused.txt": ["x", "0o644"],
    }


def test_configmap_volume_items_and_mode(core, namespace, tmp_path):
    _create_sources(core, namespace)
    target = str(tmp_path / "repo")
    volume = {
        "name": "repo",
        "configMap": {
            "name": "repo",
            "defaultMode": 0o640,
            "items": [
                {"key": "feature_store.yaml", "path": "config/store.yaml"},
                {"key": "features.py", "path": "features.py", "mode": 0o600},
            ],
        },
    }
    container = _reporting_container([target], [{"name": "repo", "mountPath": target}])

    files = termination_json(run_pod(core, namespace, pod_manifest("cm-items", [container], volumes=[volume])), "main")

    assert files == {
        f"{target}/config/store.yaml": ["project: demo\n", "0o640"],
        f"{target}/features.py": ["# definitions\n", "0o600"],
    }


def test_secret_volume_items(core, namespace, tmp_path):
    _create_sources(core, namespace)
    target = str(tmp_path / "secrets")
    volume = {"name": "keys", "secret": {"secretName": "keys", "items": [{"key": "secret", "path": "aws/secret"}]}}
    container = _reporting_container([target], [{"name": "keys", "mountPath": target, "readOnly": True}])

    files = termination_json(run_pod(core, namespace, pod_manifest("secret-items", [container], volumes=[volume])),
                             "main")

    assert files == {f"{target}/aws/secret": ["SK", "0o644"]}


def test_subpath_mounts_single_file(core, namespace, tmp_path):
    _create_sources(core, namespace)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "existing.txt").write_text("host file")
    target = str(repo / "feature_store.yaml")
    container = _reporting_container(
        [str(repo)],
        [
            {"name": "repo", "mountPath": target, "subPath": "feature_store.yaml"},
            {"name": "keys", "mountPath": str(repo / "access"), "subPath": "access"},
        ],
    )
    volumes = [{"name": "repo", "configMap": {"name": "repo"}}, {"name": "keys", "secret": {"secretName": "keys"}}]

    files = termination_json(run_pod(core, namespace, pod_manifest("subpath", [container], volumes=volumes)), "main")

    assert files[target] == ["project: demo\n", "0o644"]
    assert files[str(repo / "access")] == ["AK", "0o644"]
    # A file mount leaves the rest of the directory as it is on the host.
    assert files[str(repo / "existing.txt")] == ["host file", "0o644"]
    assert str(repo / "features.py") not in files


def test_subpath_directory_of_empty_dir(core, namespace, tmp_path, state_dir):
    target = str(tmp_path / "output")
    script = f"open({target + '/result.txt'!r}, 'w').write('written through subPath')"
    writer = python_container("main", script, volumeMounts=[{"name": "scratch", "mountPath": target,
                                                              "subPath": "runs/first"}])
    manifest = pod_manifest("subpath-dir", [writer], volumes=[{"name": "scratch", "emptyDir": {}}])

    pod = run_pod(core, namespace, manifest)

    assert pod["status"]["phase"] == "Succeeded"
    volume_dir = state_dir / "pods" / pod["metadata"]["uid"] / "volumes" / "scratch"
    assert (volume_dir / "runs" / "first" / "result.txt").read_text() == "written through subPath"
    # The mount is private to the container: on the host the target stays an empty directory.
    assert os.listdir(target) == []


def test_subpath_expr_escaping_volume_rejected(core, namespace, tmp_path):
    # The API server rejects ".." in subPath itself; only the expanded subPathExpr reaches the node.
    container = python_container(
        "main",
        "pass",
        env=[{"name": "RUN", "value": "../escape"}],
        volumeMounts=[{"name": "scratch", "mountPath": str(tmp_path / "x"), "subPathExpr": "$(RUN)"}],
    )
    manifest = pod_manifest("subpath-escape", [container], volumes=[{"name": "scratch", "emptyDir": {}}])
    core.create_namespaced_pod(namespace, manifest)

    def waiting_state():
        statuses = read_pod(core, namespace, "subpath-escape")["status"].get("containerStatuses")
        return statuses and statuses[0]["state"].get("waiting", {}).get("message") and statuses[0]["state"]["waiting"]

    waiting = wait_for(waiting_state, 30, "the container with an escaping subPath to be rejected")
    assert waiting["reason"] == "CreateContainerConfigError"
    assert "subPath '../escape'" in waiting["message"]


def test_read_only_mount_rejects_writes(core, namespace, tmp_path):
    target = str(tmp_path / "data")
    script = f"""
        import sys
        try:
            open({target + '/file'!r}, "w")
        except OSError as error:
            open("/dev/termination-log", "w").write(error.strerror)
            sys.exit(1)
    """
    container = python_container("main", script, volumeMounts=[{"name": "data", "mountPath": target,
                                                                 "readOnly": True}])
    manifest = pod_manifest("read-only", [container], volumes=[{"name": "data", "emptyDir": {}}])

    pod = run_pod(core, namespace, manifest)

    assert terminated(pod, "main")["message"] == "Read-only file system"


def test_service_account_token_mounted(core, namespace):
    script = """
        import json, os
        base = "/var/run/secrets/kubernetes.io/serviceaccount"
        report = {name: open(os.path.join(base, name)).read() for name in ("namespace", "ca.crt", "token")}
        open("/dev/termination-log", "w").write(json.dumps({
            "namespace": report["namespace"],
            "ca": report["ca.crt"].startswith("-----BEGIN CERTIFICATE-----"),
            "token_parts": len(report["token"].split(".")),
        }))
    """
    pod = run_pod(core, namespace, pod_manifest("token", [python_container("main", script)]))

    report = termination_json(pod, "main")
    assert report == {"namespace": namespace, "ca": True, "token_parts": 3}
