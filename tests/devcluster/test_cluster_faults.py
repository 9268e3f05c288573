"""Faults and bad input for `python -m devcluster`: each test runs its own cluster in its own state directory.

A missing binary would start a cold build of several minutes, so these tests
point DEVCLUSTER_CACHE at a folder of links to the real binaries with one of
them replaced, and test check_binary() directly for a missing file.
"""

import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from kubernetes import client, config
from podtools import devcluster_command, pod_manifest, processes_mentioning, python_container, wait_for, wait_phase

from devcluster import build
from devcluster.versions import ETCD_VERSION, KUBERNETES_VERSION


def _component_pids(state: Path) -> dict[str, int]:
    components = json.loads((state / "state.json").read_text())["components"]
    return {entry["name"]: entry["pid"] for entry in components}


def _status(state: Path) -> tuple[int, dict[str, str]]:
    """Run `status` and return its exit code and each component's state (running or stopped)."""
    completed = devcluster_command(state, "status")
    lines = [line.split() for line in completed.stdout.splitlines()]
    return completed.returncode, {fields[0]: fields[1] for fields in lines if len(fields) == 2}


def _link_farm(cache: Path, replace: dict[str, str] | None = None) -> Path:
    """Fill a cache folder with links to the built binaries, writing the `replace` ones as files with that text."""
    real = build.binary_paths()
    folders = {"etcd": f"etcd-{ETCD_VERSION}"}
    for name, path in real.items():
        target = cache / "bin" / folders.get(name, f"kubernetes-{KUBERNETES_VERSION}") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if replace and name in replace:
            target.write_text(replace[name])
            target.chmod(0o755)
        else:
            target.symlink_to(path)
    return cache


@pytest.fixture(scope="module")
def built_binaries():
    """Skip when the binaries are not built: building them here would take many minutes."""
    missing = [str(path) for path in build.binary_paths().values() if not path.exists()]
    if missing:
        pytest.skip(f"devcluster binaries not built ({', '.join(missing)}): run `python -m devcluster build`")


def test_check_binary_missing(tmp_path):
    path = tmp_path / "kube-apiserver"

    with pytest.raises(build.BuildError) as raised:
        build.check_binary("kube-apiserver", path)

    assert str(raised.value) == f"kube-apiserver binary missing at {path}: run `python -m devcluster build`"


def test_check_binary_not_executable_format(tmp_path):
    path = tmp_path / "etcd"
    path.write_text("this is not a program\n")
    path.chmod(0o755)

    with pytest.raises(build.BuildError) as raised:
        build.check_binary("etcd", path)

    assert f"etcd binary at {path} does not run" in str(raised.value)
    assert "Exec format error" in str(raised.value)
    assert "delete it and run `python -m devcluster build`" in str(raised.value)


def test_check_binary_without_execute_permission(tmp_path):
    path = tmp_path / "kube-scheduler"
    path.write_bytes(b"\x7fELF")
    path.chmod(0o644)

    with pytest.raises(build.BuildError) as raised:
        build.check_binary("kube-scheduler", path)

    assert "Permission denied" in str(raised.value)


def test_check_binary_failing_version(tmp_path):
    path = tmp_path / "kube-controller-manager"
    path.write_text(f"#!{sys.executable}\nraise SystemExit(3)\n")
    path.chmod(0o755)

    with pytest.raises(build.BuildError) as raised:
        build.check_binary("kube-controller-manager", path)

    assert f"kube-controller-manager binary at {path} exited 3 on --version" in str(raised.value)


def test_up_corrupt_binary_names_it(built_binaries, tmp_path):
    cache = _link_farm(tmp_path / "cache", replace={"kube-apiserver": "corrupt download\n"})
    state = tmp_path / "state"

    completed = devcluster_command(state, "up", env={"DEVCLUSTER_CACHE": str(cache)})

    assert completed.returncode == 1
    assert "devcluster up failed: kube-apiserver binary at" in completed.stderr
    assert "Exec format error" in completed.stderr
    assert not (state / "state.json").exists()
    assert processes_mentioning(str(state)) == []


def test_up_port_in_use_names_it(built_binaries, tmp_path):
    state = tmp_path / "state"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        completed = devcluster_command(state, "up", f"--apiserver-port={port}")

    assert completed.returncode == 1
    assert f"kube-apiserver port {port} on 127.0.0.1 is already in use" in completed.stderr
    assert "--apiserver-port" in completed.stderr
    assert not (state / "state.json").exists()
    assert processes_mentioning(str(state)) == []


@pytest.mark.parametrize("value", ["0", "70000", "http"])
def test_up_invalid_port_rejected(tmp_path, value):
    completed = devcluster_command(tmp_path / "state", "up", f"--apiserver-port={value}")

    assert completed.returncode == 2
    assert f"invalid port {value!r}: give a number from 1 to 65535" in completed.stderr


def test_component_dying_at_start_cleaned_up(built_binaries, tmp_path):
    # Passes the --version check, then exits as soon as it is started.
    fake = f"#!{sys.executable}\nimport sys\nif '--version' in sys.argv:\n    sys.exit(0)\n" \
           "print('fake kube-controller-manager: cannot load its configuration')\nsys.exit(1)\n"
    cache = _link_farm(tmp_path / "cache", replace={"kube-controller-manager": fake})
    state = tmp_path / "state"

    completed = devcluster_command(state, "up", env={"DEVCLUSTER_CACHE": str(cache)})

    assert completed.returncode == 1
    assert "devcluster up failed: kube-controller-manager exited during start" in completed.stderr
    assert "fake kube-controller-manager: cannot load its configuration" in completed.stderr
    assert not (state / "state.json").exists()
    assert processes_mentioning(str(state)) == []


def test_killed_node_reported_and_cleaned_up(built_binaries, tmp_path):
    state = tmp_path / "state"
    started = devcluster_command(state, "up")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(state / "kubeconfig")))
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="faults")))
        sleeper = pod_manifest("sleeper", [python_container("main", "import time; time.sleep(600)")])
        core.create_namespaced_pod("faults", sleeper)
        wait_phase(core, "faults", "sleeper", ("Running",))

        # SIGKILL gives the node no chance to stop its pods: `down` has to find them.
        os.kill(_component_pids(state)["node"], signal.SIGKILL)
        wait_for(lambda: _status(state)[1].get("node") == "stopped", 10, "status to report the node as stopped")
        code, states = _status(state)

        assert code == 1
        assert states == {
            "etcd": "running",
            "kube-apiserver": "running",
            "kube-controller-manager": "running",
            "kube-scheduler": "running",
            "node": "stopped",
        }
        assert processes_mentioning(f"{state}/pods/") != []

        stopped = devcluster_command(state, "down")

        assert stopped.returncode == 0
        assert processes_mentioning(str(state)) == []
        assert _status(state) == (3, {})

        # A new `up` on the same state directory finds the pod that the dead node ran, and fails it.
        restarted = devcluster_command(state, "up")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(state / "kubeconfig")))
        pod = wait_phase(core, "faults", "sleeper", ("Failed",), timeout=30)
        assert pod["status"]["reason"] == "NodeRestarted"
    finally:
        devcluster_command(state, "down")
    assert processes_mentioning(str(state)) == []


def test_up_after_component_died_restarts_it(built_binaries, tmp_path):
    state = tmp_path / "state"
    assert devcluster_command(state, "up").returncode == 0
    try:
        os.kill(_component_pids(state)["kube-scheduler"], signal.SIGKILL)
        wait_for(lambda: _status(state)[0] == 1, 10, "status to report a stopped component")

        restarted = devcluster_command(state, "up")

        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert "stopping the rest of a previous run whose kube-scheduler stopped" in restarted.stdout
        code, states = _status(state)
        assert code == 0
        assert set(states.values()) == {"running"}
    finally:
        devcluster_command(state, "down")
    assert processes_mentioning(str(state)) == []
