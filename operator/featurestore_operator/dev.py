"""Development commands on the local control plane: `featurestore-operator dev up | down | status | demo`.

These need a checkout of the repository (devcluster/ and crds/ beside the
package's source folder); an installed wheel has neither.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


class DevError(RuntimeError):
    """A development command failed; the message names the cause and the next step."""


def _checkout() -> Path:
    if not (REPOSITORY_ROOT / "devcluster").is_dir() or not (REPOSITORY_ROOT / "crds").is_dir():
        raise DevError(
            f"no checkout found at {REPOSITORY_ROOT}: the dev commands need the repository "
            "(devcluster/ and crds/); run them from an editable install of a clone"
        )
    if str(REPOSITORY_ROOT) not in sys.path:
        sys.path.insert(0, str(REPOSITORY_ROOT))
    return REPOSITORY_ROOT


def kubectl_path() -> str:
    candidate = Path(sys.executable).parent / "kubectl"
    return str(candidate) if candidate.exists() else "kubectl"


def kubectl(kubeconfig: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [kubectl_path(), f"--kubeconfig={kubeconfig}", *arguments], capture_output=True, text=True
    )
    if check and completed.returncode != 0:
        raise DevError(f"kubectl {' '.join(arguments)} failed: {completed.stderr.strip() or completed.stdout.strip()}")
    return completed


def _operator_files() -> tuple[Path, Path]:
    from devcluster import cluster

    directory = cluster.state_dir()
    return directory / "operator.pid", directory / "logs" / "operator.log"


def _operator_pid() -> int | None:
    """Return the pid of the operator that `up` started, if that very process still runs.

    The pid file contains "PID START_TIME": a pid that the kernel reused for another
    process has another start time, so it is never taken for the operator.
    """
    from devcluster.processes import process_start_time

    pid_file, _ = _operator_files()
    try:
        pid_text, start_text = pid_file.read_text().split()
        pid, start_time = int(pid_text), int(start_text)
    except (FileNotFoundError, ValueError):
        return None
    if process_start_time(pid) != start_time:
        pid_file.unlink(missing_ok=True)
        return None
    return pid


def up() -> Path:
    """Start the local control plane, install the CRDs and run the operator in the background."""
    _checkout()
    from devcluster import build, cluster
    from devcluster.processes import ComponentError, process_start_time

    try:
        kubeconfig = cluster.up()
    except (ComponentError, build.BuildError) as error:
        raise DevError(f"devcluster up failed: {error}") from error

    kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-k", str(REPOSITORY_ROOT / "crds"))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "crd/featurestores.featurestore.dev",
            "crd/materializations.featurestore.dev", "--timeout=60s")

    if _operator_pid() is None:
        pid_file, log_path = _operator_files()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                # Every namespace except those of test sessions, which run operators of their own.
                [sys.executable, "-m", "featurestore_operator", "run", "--namespace=!fsttest*"],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                env={**os.environ, "KUBECONFIG": str(kubeconfig)}, start_new_session=True,
            )
        pid_file.write_text(f"{process.pid} {process_start_time(process.pid)}")
        time.sleep(2)
        if process.poll() is not None:
            raise DevError(f"the operator exited at start (code {process.returncode}): see {log_path}")
        log.info("operator started (pid %d, log %s)", process.pid, log_path)
    else:
        log.info("operator already running (pid %d)", _operator_pid())
    return kubeconfig


def down() -> None:
    """Stop the operator and the local control plane."""
    _checkout()
    from devcluster import cluster

    pid = _operator_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        log.info("operator stopped (pid %d)", pid)
        _operator_files()[0].unlink(missing_ok=True)
    cluster.down()
    log.info("devcluster stopped; its state stays in %s for the next `up`", cluster.state_dir())


def status() -> int:
    _checkout()
    from devcluster import cluster

    components = cluster.status()
    for name, state in components.items():
        print(f"{name:<25} {state}")
    pid = _operator_pid()
    print(f"{'featurestore-operator':<25} {'running' if pid else 'stopped'}")
    return 0 if components and pid and all(s == "running" for s in components.values()) else 1


def main(command: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    try:
        if command == "up":
            kubeconfig = up()
            print(f"ready. Use it with:\n  export KUBECONFIG={kubeconfig}\n  {kubectl_path()} get fst,mat -A")
            return 0
        if command == "down":
            down()
            return 0
        if command == "status":
            return status()
        if command == "demo":
            kubeconfig = up()
            script = REPOSITORY_ROOT / "examples" / "breast_cancer" / "demo.py"
            return subprocess.run([sys.executable, str(script), f"--kubeconfig={kubeconfig}"]).returncode
    except DevError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    raise ValueError(f"unknown dev command {command!r}")
