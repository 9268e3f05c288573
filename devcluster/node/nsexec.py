"""Start one container process in a private mount namespace with its volumes mounted.

Run as `python nsexec.py SPEC.json` by the node; never imported. The spec lists
bind mounts (host source, container target, read-only flag), the working
directory, the environment and the command. This process unshares its mount
namespace, makes it private so nothing leaks back to the host, performs the
mounts and then replaces itself with the command.

Mount targets and a working directory that do not exist yet are created on the
host file system, as a container runtime creates them in the container's root
file system. This node runs containers on the host's root, so an empty
directory or file can be left at such a path after the pod ends.
"""

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(source: str | None, target: str, flags: int) -> None:
    _check(
        libc.mount(
            source.encode() if source else None, target.encode(), None, ctypes.c_ulong(flags), None
        ),
        f"mount {source} on {target}",
    )


def prepare_target(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
        return
    os.makedirs(os.path.dirname(target) or "/", exist_ok=True)
    if not os.path.exists(target):
        with open(target, "a"):
            pass


def main() -> None:
    with open(sys.argv[1]) as spec_file:
        spec = json.load(spec_file)

    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    mount(None, "/", MS_REC | MS_PRIVATE)

    # Shorter targets first, so a volume mounted inside another lands on top of it.
    for entry in sorted(spec["mounts"], key=lambda m: m["target"].count("/")):
        prepare_target(entry["source"], entry["target"])
        mount(entry["source"], entry["target"], MS_BIND | MS_REC)
        if entry.get("readOnly"):
            mount(None, entry["target"], MS_REMOUNT | MS_BIND | MS_RDONLY)

    # Container runtimes create a missing working directory, and so does this one, on the host like the mount targets.
    os.makedirs(spec["workingDir"], exist_ok=True)
    os.chdir(spec["workingDir"])
    command = spec["command"]
    try:
        os.execvpe(command[0], command, spec["env"])
    except OSError as error:
        # 127 and 126 are the exit codes a shell uses for "not found" and "cannot run".
        print(f"devcluster: cannot run {command[0]!r}: {error.strerror}", file=sys.stderr)
        sys.exit(127 if isinstance(error, FileNotFoundError) else 126)


if __name__ == "__main__":
    main()
