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
    """Return whether a server could listen on the port of 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Go servers set SO_REUSEADDR too, so connections of an earlier run in
        # TIME_WAIT do not make the port count as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def process_start_time(pid: int) -> int | None:
    """Return when a process started (clock ticks since boot, /proc/PID/stat field 22), or None if it is gone.

    A pid together with its start time names one process for good: the kernel
    reuses pid numbers, but a reused pid has a later start time.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(") ", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    # fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
    return int(fields[19])


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
    # None for a state file written before start times were recorded: then a
    # live process with this pid counts as the component.
    start_time: int | None = None

    def alive(self) -> bool:
        """Return whether the component's own process runs: not exited, not a zombie, pid not reused."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                after_name = stat.read().rsplit(") ", 1)[1]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        # A zombie has exited but was not reaped yet.
        if after_name[0] == "Z":
            return False
        return self.start_time is None or int(after_name.split()[19]) == self.start_time

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
    return Component(name=name, pid=process.pid, log_path=log_path, start_time=process_start_time(process.pid))


def stop(component: Component, timeout: float = 15.0) -> None:
    """Send SIGTERM to the component's process group, then SIGKILL after the timeout, and wait for the exit."""
    if not component.alive():
        return
    try:
        os.killpg(component.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if _wait_exit(component, timeout):
        return
    try:
        os.killpg(component.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _wait_exit(component, 5.0)


def _wait_exit(component: Component, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not component.alive():
            return True
        time.sleep(0.1)
    return not component.alive()


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
    """Poll url until it returns 200 OK; raise ComponentError if the process dies or time runs out."""
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
