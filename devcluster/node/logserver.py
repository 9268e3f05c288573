"""The part of the kubelet API that `kubectl logs` uses: GET /containerLogs/NAMESPACE/POD/CONTAINER.

kube-apiserver forwards `kubectl logs` to the node's kubelet port over HTTPS
with its kubelet client certificate. This server listens on 127.0.0.1 only,
accepts only clients with a certificate signed by the cluster CA, and serves
the log files that the node writes (pods/<uid>/logs/<container>.log).
Supported query parameters: follow, tailLines, limitBytes; others are ignored.
"""

import http.server
import json
import logging
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

FOLLOW_POLL_SECONDS = 0.2


def find_pod_directory(pods_dir: Path, namespace: str, pod: str) -> Path | None:
    """Return the newest pod directory whose pod.json names namespace/pod, or None."""
    newest: tuple[float, Path] | None = None
    for record_path in pods_dir.glob("*/pod.json"):
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            continue
        if record.get("namespace") == namespace and record.get("name") == pod:
            modified = record_path.stat().st_mtime
            if newest is None or modified > newest[0]:
                newest = (modified, record_path.parent)
    return newest[1] if newest else None


def tail_bytes(data: bytes, lines: int) -> bytes:
    if lines <= 0:
        return b""
    return b"".join(data.splitlines(keepends=True)[-lines:])


class LogServer:
    """Serve container logs to the API server until stopped."""

    def __init__(self, pods_dir: Path, port: int, ca_file: Path, cert_file: Path, key_file: Path,
                 pod_running: Callable[[str], bool]):
        self.pods_dir = pods_dir
        self.pod_running = pod_running
        handler = self._handler_class()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_file), str(key_file))
        context.load_verify_locations(str(ca_file))
        context.verify_mode = ssl.CERT_REQUIRED
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="logserver", daemon=True).start()
        log.info("serving container logs on 127.0.0.1:%d", self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()

    def _handler_class(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - the base class names it so
                log.debug("logserver: " + format, *args)

            def do_GET(self):  # noqa: N802 - the base class names it so
                owner.handle(self)

        return Handler

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(request.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "containerLogs":
            request.send_error(404, "only /containerLogs/NAMESPACE/POD/CONTAINER is served by devcluster")
            return
        _, namespace, pod, container = parts
        query = urllib.parse.parse_qs(url.query)
        pod_dir = find_pod_directory(self.pods_dir, namespace, pod)
        log_path = pod_dir / "logs" / f"{container}.log" if pod_dir else None
        if log_path is None or not log_path.exists():
            request.send_error(404, f"no log for container {container} of pod {namespace}/{pod}")
            return

        try:
            tail_lines = int(query["tailLines"][0]) if "tailLines" in query else None
            limit = int(query["limitBytes"][0]) if "limitBytes" in query else None
        except ValueError:
            request.send_error(400, "tailLines and limitBytes must be whole numbers")
            return

        data = log_path.read_bytes()
        if tail_lines is not None:
            data = tail_bytes(data, tail_lines)
        if limit is not None:
            data = data[:limit]
        follow = query.get("follow", ["false"])[0] == "true" and limit is None

        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        if not follow:
            request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
        if not follow:
            return

        # Follow: send what is appended until the pod has no running worker.
        position = log_path.stat().st_size
        uid = pod_dir.name
        try:
            while True:
                size = log_path.stat().st_size
                if size > position:
                    with open(log_path, "rb") as handle:
                        handle.seek(position)
                        request.wfile.write(handle.read(size - position))
                    request.wfile.flush()
                    position = size
                elif not self.pod_running(uid):
                    return
                time.sleep(FOLLOW_POLL_SECONDS)
        except (BrokenPipeError, ConnectionResetError):
            return
