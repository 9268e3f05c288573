"""Start, watch and stop the control-plane processes, and wait for their health checks."""

import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


class ComponentError(RuntimeError):
    """A component failed to start or died; the message names it and shows its log."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tail(path: Path, lines: int = 20) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(content[-lines:])


@dataclass
class Component:
    """One running process of the control plane."""

    name: str
    pid: int
    log_path: Path

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # A zombie has exited but was not reaped yet.
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                return stat.read().split(") ", 1)[1][0] != "Z"
        except (FileNotFoundError, IndexError):
            return False

    def failure(self, what: str) -> ComponentError:
        return ComponentError(f"{self.name} {what}; last lines of {self.log_path}:\n{tail(self.log_path)}")


def start(name: str, command: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Component:
    """Start a command in its own session with output appended to <log_dir>/<name>.log."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log_file:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        except OSError as error:
            raise ComponentError(f"{name} could not start: {command[0]}: {error}") from error
    return Component(name=name, pid=process.pid, log_path=log_path)


def stop(component: Component, timeout: float = 15.0) -> None:
    """Send SIGTERM to the component's process group, then SIGKILL after the timeout."""
    if not component.alive():
        return
    try:
        os.killpg(component.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not component.alive():
            return
        time.sleep(0.1)
    try:
        os.killpg(component.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tls_context(ca_file: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    if ca_file is None:
        context = ssl.create_default_context()
        # The controller manager and the scheduler serve with a self-signed
        # certificate that they make at start; their health is only probed on loopback.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=str(ca_file))
    if cert and key:
        context.load_cert_chain(str(cert), str(key))
    return context


def wait_healthy(
    component: Component,
    url: str,
    timeout: float,
    *,
    ca_file: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
) -> None:
    """Poll url until it answers 200 ok; raise ComponentError if the process dies or time runs out."""
    context = _tls_context(ca_file, cert, key) if url.startswith("https") else None
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if not component.alive():
            raise component.failure("exited during start")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last_error = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.2)
    raise component.failure(f"was not healthy at {url} within {timeout:.0f} s (last: {last_error})")
