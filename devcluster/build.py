"""Build etcd and the Kubernetes control plane from their Go modules, with a cache.

Binaries go to a cache directory outside the work tree, one folder per version,
so a warm start builds nothing. Go keeps its module and build caches in its own
default places (GOMODCACHE, GOCACHE), which are outside the work tree too.
"""

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devcluster.versions import ETCD_VERSION, KUBERNETES_COMMANDS, KUBERNETES_VERSION

log = logging.getLogger(__name__)

GOMOD_DIR = Path(__file__).resolve().parent / "gomod"


class BuildError(RuntimeError):
    """A component could not be built or does not run."""


def cache_root() -> Path:
    """Return the cache root: $DEVCLUSTER_CACHE, else ~/.cache/featurestore-operator/devcluster."""
    configured = os.environ.get("DEVCLUSTER_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "featurestore-operator" / "devcluster"


def kubernetes_bin_dir() -> Path:
    return cache_root() / "bin" / f"kubernetes-{KUBERNETES_VERSION}"


def etcd_bin_dir() -> Path:
    return cache_root() / "bin" / f"etcd-{ETCD_VERSION}"


def binary_paths() -> dict[str, Path]:
    """Return the path of every component binary, keyed by command name."""
    paths = {name: kubernetes_bin_dir() / name for name in KUBERNETES_COMMANDS}
    paths["etcd"] = etcd_bin_dir() / "etcd"
    return paths


def _version_ldflags() -> str:
    """Return the -X flags that make the binaries report the real release version."""
    minor = KUBERNETES_VERSION.split(".")[1]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={KUBERNETES_VERSION}",
            f"-X {package}.gitMajor=1",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate=1970-01-01T00:00:00Z",
        ]
    return " ".join(flags)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOFLAGS", "-mod=readonly")
    return env


PROGRESS_INTERVAL_SECONDS = 30


def _run_go_build(module_dir: Path, packages: list[str], output: str, ldflags: str) -> None:
    """Run go build -v, logging how many packages it has compiled every half minute."""
    go = shutil.which("go")
    if go is None:
        raise BuildError("go not found on PATH: install Go 1.26 or newer to build the control plane")
    command = [go, "build", "-v", "-trimpath", "-ldflags", ldflags, "-o", output, *packages]
    log.info("building %s (a cold build takes about 10 minutes on 2 cores)", ", ".join(packages))
    started = time.monotonic()
    reported = started
    compiled = 0
    tail: list[str] = []
    process = subprocess.Popen(
        command, cwd=module_dir, env=_go_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        # With -v, go prints each package's import path as it compiles it.
        compiled += 1
        tail = (tail + [line.rstrip()])[-60:]
        if time.monotonic() - reported >= PROGRESS_INTERVAL_SECONDS:
            reported = time.monotonic()
            log.info("  %d packages compiled, %.0f s so far (last: %s)", compiled, reported - started, line.strip())
    returncode = process.wait()
    if returncode != 0:
        output_tail = "\n".join(tail)
        raise BuildError(f"go build in {module_dir} failed (exit {returncode}):\n{output_tail}")
    log.info("built %s in %.0f s", ", ".join(packages), time.monotonic() - started)


def _build_into(final_dir: Path, module_dir: Path, packages: list[str], output_name: str, ldflags: str) -> None:
    """Build into a temporary folder, then rename it, so a cut-off build never looks complete.

    output_name is the binary's file name, or "" to let go name one binary per package.
    """
    staging = final_dir.with_name(final_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _run_go_build(module_dir, packages, f"{staging}/{output_name}", ldflags)
    shutil.rmtree(final_dir, ignore_errors=True)
    staging.rename(final_dir)


def ensure_binaries() -> dict[str, Path]:
    """Build every missing component and return the paths of all of them."""
    if not all((kubernetes_bin_dir() / name).exists() for name in KUBERNETES_COMMANDS):
        packages = [f"k8s.io/kubernetes/cmd/{name}" for name in KUBERNETES_COMMANDS]
        _build_into(kubernetes_bin_dir(), GOMOD_DIR / "kubernetes", packages, "", _version_ldflags())
    if not (etcd_bin_dir() / "etcd").exists():
        _build_into(etcd_bin_dir(), GOMOD_DIR / "etcd", ["go.etcd.io/etcd/server/v3"], "etcd", "-s -w")

    paths = binary_paths()
    for name, path in paths.items():
        check_binary(name, path)
    return paths


def check_binary(name: str, path: Path) -> None:
    """Run `<binary> --version` and raise BuildError naming the binary when it does not run."""
    if not path.exists():
        raise BuildError(f"{name} binary missing at {path}: run `python -m devcluster build`")
    try:
        completed = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    except OSError as error:
        raise BuildError(
            f"{name} binary at {path} does not run ({error}): delete it and run `python -m devcluster build`"
        ) from error
    if completed.returncode != 0:
        raise BuildError(
            f"{name} binary at {path} exited {completed.returncode} on --version: "
            f"delete it and run `python -m devcluster build`"
        )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    try:
        paths = ensure_binaries()
    except BuildError as error:
        log.error("%s", error)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
