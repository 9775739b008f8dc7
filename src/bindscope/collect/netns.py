"""Other network namespaces (Linux, root): which exist, who owns them, and their sockets.

A namespace is found two ways: by name (`ip netns add NAME` pins it at /run/netns/NAME) and
through the distinct `/proc/PID/ns/net` of running processes (containers, sandboxes). Each
is read from a short-lived thread that joins it with setns(2): sockets a thread opens belong
to the thread's namespace, so netlink sock_diag, getifaddrs (psutil) and
/proc/thread-self/net answer for that namespace. sysfs does not follow the thread (it shows
the namespace it was mounted in), so interfaces there are classified by name only.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from dataclasses import dataclass

from ..errors import BindscopeError
from .linux import _read

CLONE_NEWNET = 0x40000000
NAMED_DIR = "/run/netns"
_CONTAINER_ID = re.compile(
    r"(?:docker|libpod|crio|containerd|cri-containerd)[-/:]([0-9a-f]{12,64})|/docker/([0-9a-f]{64})"
)


@dataclass(frozen=True)
class Found:
    key: int  # the namespace's inode (net:[KEY])
    path: str  # a file to setns() with
    label: str  # what a person reads: "netns NAME", "container 3f2a9c1b7d4e (nginx)", "pid 812 (sandbox)"
    kind: str  # "named" | "container" | "process"
    pids: tuple[int, ...] = ()  # processes in it (at most a few, lowest first)


def own_key(proc: str = "/proc") -> int:
    return os.stat(f"{proc}/self/ns/net").st_ino


def discover(proc: str = "/proc") -> list[Found]:
    """Every network namespace other than our own: named ones first, then those only
    running processes hold."""
    mine = own_key(proc)
    found: dict[int, Found] = {}
    try:
        names = sorted(os.listdir(NAMED_DIR))
    except OSError:
        names = []
    for name in names:
        path = f"{NAMED_DIR}/{name}"
        try:
            key = os.stat(path).st_ino
        except OSError:
            continue
        if key != mine and key not in found:
            found[key] = Found(key, path, f"netns {name}", "named")
    members: dict[int, list[int]] = {}
    try:
        pids = sorted(int(p) for p in os.listdir(proc) if p.isdigit())
    except OSError:
        pids = []
    for pid in pids:
        try:
            key = os.stat(f"{proc}/{pid}/ns/net").st_ino
        except OSError:
            continue
        if key != mine:
            members.setdefault(key, []).append(pid)
    for key, held_by in members.items():
        first = held_by[0]
        if key in found:
            old = found[key]
            found[key] = Found(key, old.path, old.label, old.kind, tuple(held_by[:5]))
            continue
        comm = _read(f"{proc}/{first}/comm") or "?"
        container = container_id(_read(f"{proc}/{first}/cgroup") or "")
        if container:
            label, kind = f"container {container[:12]} ({comm})", "container"
        else:
            label, kind = f"pid {first} ({comm})", "process"
        found[key] = Found(key, f"{proc}/{first}/ns/net", label, kind, tuple(held_by[:5]))
    return list(found.values())


def container_id(cgroup: str) -> str | None:
    """The container id in a /proc/PID/cgroup text (docker, podman, containerd, CRI-O)."""
    match = _CONTAINER_ID.search(cgroup)
    if not match:
        return None
    return match.group(1) or match.group(2)


def run_in(path: str, func, *args):  # type: ignore[no-untyped-def]
    """Call func(*args) in a new thread that has joined the network namespace at `path`."""
    result: list = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            error.append(BindscopeError(f"cannot open network namespace {path}: {exc.strerror}"))
            return
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                error.append(BindscopeError(f"cannot enter network namespace {path}: {os.strerror(err)}"))
                return
            result.append(func(*args))
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)
        finally:
            os.close(fd)

    thread = threading.Thread(target=target, name="bindscope-netns", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
