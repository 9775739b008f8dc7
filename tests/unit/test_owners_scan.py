"""Socket owners from /proc/*/fd (`sockdiag.owners`) and other network namespaces from /proc
(`netns.discover`), on fake /proc trees made of real directories, symlinks and stat files, and once
on the real /proc with a forked child.

In /proc, `fd/N` is a symlink whose target reads `socket:[INODE]`, `pipe:[INODE]`, `/dev/null`, ...
(os.readlink reads a dangling symlink just as well), and `stat` is
`PID (COMM) STATE PPID PGRP SESSION ...` where COMM may itself hold spaces and parentheses.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from bindscope.collect import netns, sockdiag
from bindscope.collect.sockdiag import owners

A, B, OTHER = 31337, 42424, 77777


def sock(inode: int) -> str:
    return f"socket:[{inode}]"


def add_process(proc: Path, pid: int, ppid: int, comm: str, fds: dict[str, str]) -> Path:
    """/proc/PID with `stat` and an `fd` directory of symlinks."""
    d = proc / str(pid)
    (d / "fd").mkdir(parents=True)
    (d / "stat").write_text(
        f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 1520 0 0 0 12 4 0 0 20 0 1 0 81234 "
        "27504640 3012 18446744073709551615 1 1 0 0 0 0 0 16781312 16386 0 0 0 17 3 0 0 0 0 0\n"
    )
    for name, target in fds.items():
        os.symlink(target, d / "fd" / name)
    return d


def fake_proc(tmp_path: Path, processes: dict[int, tuple[int, str, dict[str, str]]]) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    # what /proc has besides pids: owners() must skip it
    (proc / "net").mkdir()
    (proc / "cpuinfo").write_text("processor\t: 0\n")
    os.symlink("4242", proc / "self")
    for pid, (ppid, comm, fds) in processes.items():
        add_process(proc, pid, ppid, comm, fds)
    return proc


STD = {"0": "/dev/null", "1": "pipe:[5001]", "2": "pipe:[5001]"}


@pytest.fixture
def readlinks(monkeypatch) -> dict[str, list[str]]:
    """Every os.readlink(name, dir_fd=...) owners() makes, by the pid whose fd table it reads.
    The real os.readlink still answers."""
    real = os.readlink
    seen: dict[str, list[str]] = {}

    def counting(path, *, dir_fd=None):
        if dir_fd is not None:
            where = Path(real(f"/proc/self/fd/{dir_fd}"))
            seen.setdefault(where.parent.name, []).append(os.fsdecode(path))
        return real(path, dir_fd=dir_fd)

    monkeypatch.setattr(sockdiag.os, "readlink", counting)
    return seen


# -- forks share a socket ------------------------------------------------------------------------
def prefork_tree(tmp_path: Path) -> Path:
    """systemd, an unrelated sshd, a gunicorn master with workers and a grandchild, and an
    unrelated process (with a child) that holds the same socket (received over a unix socket)."""
    return fake_proc(
        tmp_path,
        {
            1: (0, "systemd", {**STD, "7": "anon_inode:[eventpoll]"}),
            120: (1, "sshd", {**STD, "3": sock(OTHER)}),
            200: (1, "gunicorn", {**STD, "5": sock(A), "6": "pipe:[6001]"}),
            201: (200, "gunicorn: worke", {**STD, "5": sock(A)}),
            # comm with ") " inside: reading PPID after the first ")" would give 999
            202: (200, "x) R 999 (y", {**STD, "5": sock(A)}),
            # forked by the master, closed its copy of the socket after forking a child of its own
            203: (200, "gunicorn", {**STD}),
            250: (1, "fd-broker", {**STD, "9": sock(A)}),
            300: (202, "gunicorn: worke", {**STD, "5": sock(A)}),
            310: (250, "helper", {**STD, "4": sock(A)}),
            320: (203, "gunicorn: worke", {**STD, "5": sock(A)}),
        },
    )


def test_forked_children_are_found_after_every_inode_matched(tmp_path: Path, readlinks):
    proc = prefork_tree(tmp_path)
    found = owners({A}, proc=str(proc))
    assert found == {A: [200, 201, 202, 300, 320]}  # 320: a grandchild through 203, which holds nothing
    # before the match every process is read; after it, only owners' descendants
    assert set(readlinks) == {"1", "120", "200", "201", "202", "203", "300", "320"}
    assert len(readlinks["120"]) == 4  # read whole: A was not matched yet


def test_early_stop_skips_an_unrelated_later_holder_exhaustive_finds_it(tmp_path: Path, readlinks):
    # The known limit of the early stop: pid 250 got the socket some other way than fork (SCM_RIGHTS,
    # pidfd_getfd) and is no descendant of an owner, so it is not read once A has an owner.
    proc = prefork_tree(tmp_path)
    assert 250 not in owners({A}, proc=str(proc))[A]
    assert "250" not in readlinks and "310" not in readlinks
    assert owners({A}, proc=str(proc), exhaustive=True) == {A: [200, 201, 202, 250, 300, 310, 320]}
    assert "250" in readlinks and "310" in readlinks


def test_wrapped_pids_a_parent_with_a_higher_pid_than_its_child(tmp_path: Path, readlinks):
    # pid_max is 32768 on many machines: after a wrap a pre-fork master (32700) can have workers
    # with lower pids (120, 130). The first worker matches every inode; its parent is read anyway,
    # and so is the parent's parent when it wrapped too; an unrelated later holder is not.
    proc = fake_proc(
        tmp_path,
        {
            120: (32700, "gunicorn", {**STD, "5": sock(A)}),
            130: (32700, "gunicorn", {**STD, "5": sock(A)}),
            500: (1, "bash", {**STD}),
            32000: (1, "python3", {**STD, "7": sock(A)}),  # got it some other way: not read
            32600: (1, "tmux", {**STD}),
            32700: (32750, "gunicorn", {**STD, "5": sock(A)}),
            32750: (1, "supervisord", {**STD, "9": sock(A)}),
        },
    )
    assert owners({A}, proc=str(proc)) == {A: [120, 130, 32700, 32750]}
    assert "32000" not in readlinks and "32600" not in readlinks and "500" not in readlinks
    assert owners({A}, proc=str(proc), exhaustive=True) == {A: [120, 130, 32000, 32700, 32750]}


def test_several_inodes_and_the_last_match_in_a_master(tmp_path: Path):
    # uvicorn --host '' holds an IPv4 and an IPv6 socket; both pass to its workers
    proc = fake_proc(
        tmp_path,
        {
            100: (1, "nginx", {**STD, "6": sock(B)}),
            400: (1, "uvicorn", {**STD, "3": sock(A), "4": sock(B)}),
            401: (400, "uvicorn", {**STD, "3": sock(A), "4": sock(B)}),
            500: (1, "bash", {**STD}),
        },
    )
    found = owners({A, B}, proc=str(proc), exhaustive=True)
    assert found == {A: [400, 401], B: [100, 400, 401]}
    found = owners({A, B}, proc=str(proc))
    assert found[A] == [400, 401]
    assert found[B][0] == 100 and 401 in found[B]  # the worker's table is read whole


def test_pid_1_owner_makes_every_process_a_candidate(tmp_path: Path):
    # systemd socket activation: pid 1 holds the listening socket and passes it to the service
    # (LISTEN_FDS), which forks a child of its own
    proc = fake_proc(
        tmp_path,
        {
            1: (0, "systemd", {**STD, "42": sock(A)}),
            2: (0, "kthreadd", {}),
            3: (2, "kworker/R-rcu_g", {}),
            640: (1, "cupsd", {**STD, "3": sock(A)}),
            900: (640, "cups-child", {**STD, "3": sock(A)}),
            950: (1, "(sd-pam)", {**STD}),
        },
    )
    assert owners({A}, proc=str(proc)) == {A: [1, 640, 900]}


def test_stops_inside_the_fd_table_once_every_inode_matched(tmp_path: Path, readlinks):
    fds = {str(n): "/dev/null" if n % 2 else f"pipe:[{6000 + n}]" for n in range(12)}
    fds["4"] = fds["9"] = sock(A)  # two descriptors of one socket (dup2): the first one read is enough
    proc = fake_proc(tmp_path, {700: (1, "python3", fds)})
    order = os.listdir(proc / "700" / "fd")  # the order owners() meets them (same directory)
    first = min(order.index("4"), order.index("9"))
    assert owners({A}, proc=str(proc)) == {A: [700]}
    assert readlinks["700"] == order[: first + 1]
    assert len(readlinks["700"]) < len(order)
    readlinks.clear()
    assert owners({A}, proc=str(proc), exhaustive=True) == {A: [700]}
    assert sorted(readlinks["700"]) == sorted(order)


def test_descendants_are_read_whole(tmp_path: Path, readlinks):
    # the early stop inside a table applies to the process whose table completes the match, not
    # to the descendants read after it
    proc = fake_proc(
        tmp_path,
        {
            800: (1, "master", {**STD, "3": sock(A)}),
            801: (800, "worker", {**STD, "3": sock(A), "8": "/dev/null"}),
        },
    )
    assert owners({A}, proc=str(proc)) == {A: [800, 801]}
    assert len(readlinks["801"]) == 5


def test_unreadable_and_vanished_processes_are_skipped(tmp_path: Path):
    proc = fake_proc(
        tmp_path,
        {
            600: (1, "sleeper", {**STD, "3": sock(A)}),
            620: (600, "child", {**STD, "3": sock(A)}),
        },
    )
    (proc / "500").mkdir()  # exited between listdir and open: no fd directory
    (proc / "510").mkdir()
    (proc / "510" / "fd").write_text("")  # not a directory: ENOTDIR
    (proc / "520" / "fd").mkdir(parents=True)  # an fd entry readlink refuses (EINVAL), then a socket
    (proc / "520" / "fd" / "0").write_text("")
    os.symlink(sock(B), proc / "520" / "fd" / "1")
    (proc / "610").mkdir()  # after every match: no stat to read the parent from
    assert owners({A, B}, proc=str(proc)) == {A: [600, 620], B: [520]}
    (proc / "620" / "stat").unlink()  # a descendant whose stat vanished is skipped, not an error
    assert owners({A}, proc=str(proc)) == {A: [600]}


def test_no_inodes_does_not_touch_proc(tmp_path: Path, monkeypatch):
    proc = prefork_tree(tmp_path)
    touched: list[str] = []
    real_listdir, real_open = os.listdir, os.open

    def listdir(path=".", *args, **kwargs):
        touched.append(f"listdir {path}")
        return real_listdir(path, *args, **kwargs)

    def open_(path, *args, **kwargs):
        touched.append(f"open {path}")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(sockdiag.os, "listdir", listdir)
    monkeypatch.setattr(sockdiag.os, "open", open_)
    assert owners(set(), proc=str(proc)) == {}
    assert owners(set(), proc=str(proc), exhaustive=True) == {}
    assert touched == []
    assert owners({A}, proc=str(proc)) != {}  # the counters do see a real scan
    assert touched


def test_unlistable_proc(tmp_path: Path):
    assert owners({A}, proc=str(tmp_path / "missing")) == {}


def test_ppid_parsing(tmp_path: Path):
    proc = fake_proc(
        tmp_path,
        {
            10: (1, "plain", {}),
            11: (10, "with space", {}),
            12: (11, "a) S 77 (b", {}),
            13: (12, ")", {}),
        },
    )
    assert [sockdiag._ppid(str(proc), pid) for pid in (10, 11, 12, 13)] == [1, 10, 11, 12]
    (proc / "10" / "stat").write_text("10 (truncated")
    assert sockdiag._ppid(str(proc), 10) is None
    assert sockdiag._ppid(str(proc), 99) is None


# -- the real /proc ------------------------------------------------------------------------------
def test_live_socket_shared_with_a_forked_child():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    inode = os.fstat(srv.fileno()).st_ino
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:  # the child: hold the inherited socket until killed
        try:
            os.close(ready_r)
            os.write(ready_w, b"1")
            while True:
                signal.pause()
        finally:
            os._exit(0)
    try:
        os.close(ready_w)
        assert os.read(ready_r, 1) == b"1"
        found = owners({inode})
        assert set(found.get(inode, ())) == {os.getpid(), child}
        assert set(owners({inode}, exhaustive=True)[inode]) == {os.getpid(), child}
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        os.close(ready_r)
        srv.close()


# -- other network namespaces --------------------------------------------------------------------
DOCKER_ID = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd"


@pytest.mark.parametrize(
    ("cgroup", "expected"),
    [
        (f"0::/system.slice/docker-{DOCKER_ID}.scope\n", DOCKER_ID),  # cgroup v2, systemd driver
        (f"12:memory:/docker/{DOCKER_ID}\n11:cpu:/docker/{DOCKER_ID}\n", DOCKER_ID),  # cgroup v1
        (
            f"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{DOCKER_ID}.scope/container\n",
            DOCKER_ID,
        ),  # rootless podman
        (
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"
            f".slice/cri-containerd-{DOCKER_ID}.scope\n",
            DOCKER_ID,
        ),
        (f"0::/kubepods.slice/kubepods-burstable.slice/crio-{DOCKER_ID}.scope\n", DOCKER_ID),
        ("0::/user.slice/user-1000.slice/session-2.scope\n", None),
        ("0::/system.slice/docker.service\n", None),  # dockerd itself
        ("0::/system.slice/containerd.service\n", None),
        ("0::/\n", None),
        ("", None),
    ],
)
def test_container_id(cgroup, expected):
    assert netns.container_id(cgroup) == expected


def test_discover(tmp_path: Path, monkeypatch):
    # /proc/PID/ns/net of processes in one namespace are the same inode: hard links model that
    nsfiles = tmp_path / "nsfs"
    nsfiles.mkdir()
    for name in ("host", "container", "sandbox", "lab"):
        (nsfiles / name).write_text("")
    named = tmp_path / "run-netns"
    named.mkdir()
    os.link(nsfiles / "lab", named / "lab")
    os.link(nsfiles / "host", named / "default")  # a name for our own namespace: not another one
    monkeypatch.setattr(netns, "NAMED_DIR", str(named))
    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    os.link(nsfiles / "host", proc / "self" / "ns" / "net")

    def process(pid: int, ns: str | None, comm: str, cgroup: str) -> None:
        d = proc / str(pid)
        (d / "ns").mkdir(parents=True)
        if ns:
            os.link(nsfiles / ns, d / "ns" / "net")
        (d / "comm").write_text(comm + "\n")
        (d / "cgroup").write_text(cgroup)

    process(1, "host", "systemd", "0::/init.scope\n")
    for pid in (3000, 3001, 3002, 3003, 3004, 3005, 3006):
        process(pid, "container", "nginx", f"0::/system.slice/docker-{DOCKER_ID}.scope\n")
    process(4000, "sandbox", "bwrap", "0::/user.slice/user-1000.slice/session-2.scope\n")
    process(5000, "lab", "python3", "0::/user.slice/user-0.slice/session-1.scope\n")
    process(6000, None, "exited", "")  # no ns/net: gone, or unreadable
    found = netns.discover(str(proc))
    assert [(f.label, f.kind) for f in found] == [
        ("netns lab", "named"),
        (f"container {DOCKER_ID[:12]} (nginx)", "container"),
        ("pid 4000 (bwrap)", "process"),
    ]
    lab, container, sandbox = found
    assert lab.path == str(named / "lab") and lab.pids == (5000,)
    assert lab.key == os.stat(nsfiles / "lab").st_ino
    assert container.pids == (3000, 3001, 3002, 3003, 3004)  # the first few, lowest first
    assert container.path == f"{proc}/3000/ns/net"
    assert sandbox.pids == (4000,) and sandbox.path == f"{proc}/4000/ns/net"
