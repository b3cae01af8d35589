"""Several "hosts" on one machine: Linux network namespaces joined by a bridge.

Each host is a network namespace with its own ``lo`` and one veth whose peer hangs on a
bridge in the root namespace; the bridge holds ``.1`` of a private /24 that is used only
inside these namespaces, so the test process (root namespace) reaches every host through
it. Processes run inside a host with ``ip netns exec``; all hosts share the filesystem (a
temporary folder stands in for shared storage). :meth:`TestNet.cut` sets a host's veth down
(its packets are dropped, no reset: what a pulled cable or a partition looks like) and
:meth:`TestNet.restore` brings it back.

Needs root, iproute2 and the right to make namespaces; :func:`netns_unavailable` says why
not, for a ``pytest.skip``.

Example:
    >>> net = TestNet.create(["sched", "a", "b"])  # doctest: +SKIP
    >>> net.hosts["a"].ip  # doctest: +SKIP
    '10.213.57.3'
    >>> net.close()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NetHost", "TestNet", "netns_unavailable"]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def netns_unavailable() -> str | None:
    """Why network namespaces cannot be made here, or ``None`` if they can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (apt-get install iproute2)"
    probe = f"tsprobe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip() or made.returncode}"
    try:
        veth = _ip(
            "link",
            "add",
            f"tsp{os.getpid() % 100000}",
            "type",
            "veth",
            "peer",
            "name",
            f"tsq{os.getpid() % 100000}",
            check=False,
        )
        if veth.returncode != 0:
            return f"cannot create a veth pair: {veth.stderr.strip()}"
        _ip("link", "del", f"tsp{os.getpid() % 100000}", check=False)
    finally:
        _ip("netns", "del", probe, check=False)
    return None


@dataclass
class NetHost:
    """One namespace: its name, address on the test /24 and the two ends of its veth."""

    name: str
    netns: str
    ip: str
    veth_root: str  # on the bridge, in the root namespace
    veth_host: str  # inside the namespace


@dataclass
class TestNet:
    """The bridge, the namespaces and the processes started in them (for the teardown)."""

    __test__ = False  # not a pytest class

    tag: str
    subnet: str  # "10.213.N" (a /24)
    bridge: str
    hosts: dict[str, NetHost] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        """The root namespace's address on the bridge (where the test process talks from)."""
        return f"{self.subnet}.1"

    @classmethod
    def create(cls, names: Sequence[str]) -> TestNet:
        """Make the bridge and one namespace per name (addresses .2, .3, ...).

        Names carry the process id, so two test runs on one machine never share a device,
        and the /24 is picked from 10.213.20-219 by it too. Everything made so far is removed
        if a step fails.
        """
        pid = os.getpid()
        tag = f"ts{pid % 100000}"
        net = cls(tag=tag, subnet=f"10.213.{20 + pid % 200}", bridge=f"{tag}br")
        try:
            _ip("link", "add", net.bridge, "type", "bridge")
            _ip("addr", "add", f"{net.gateway}/24", "dev", net.bridge)
            _ip("link", "set", net.bridge, "up")
            for i, name in enumerate(names):
                host = NetHost(
                    name=name,
                    netns=f"{tag}-{name}",
                    ip=f"{net.subnet}.{i + 2}",
                    veth_root=f"{tag}r{i}",
                    veth_host=f"{tag}h{i}",
                )
                net.hosts[name] = host
                _ip("netns", "add", host.netns)
                _ip("link", "add", host.veth_root, "type", "veth", "peer", "name", host.veth_host)
                _ip("link", "set", host.veth_host, "netns", host.netns)
                _ip("link", "set", host.veth_root, "master", net.bridge)
                _ip("link", "set", host.veth_root, "up")
                _ip("-n", host.netns, "addr", "add", f"{host.ip}/24", "dev", host.veth_host)
                _ip("-n", host.netns, "link", "set", host.veth_host, "up")
                _ip("-n", host.netns, "link", "set", "lo", "up")
        except BaseException:
            net.close()
            raise
        return net

    def spawn(
        self,
        host: str,
        argv: Sequence[str],
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside ``host``'s namespace (own session, output to ``log``)."""
        # A rank run inline earlier in this process (other tests) leaves GLOO_SOCKET_IFNAME
        # set to its own interface; inherited, a namespace worker would keep gloo on that.
        env = {k: v for k, v in (env or os.environ).items() if k != "GLOO_SOCKET_IFNAME"}
        with log.open("ab") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.hosts[host].netns, *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
                cwd=cwd,
            )
        self.procs.append(proc)
        return proc

    def cut(self, host: str) -> None:
        """Take ``host`` off the network: its veth goes down, its packets are dropped."""
        _ip("link", "set", self.hosts[host].veth_root, "down")

    def restore(self, host: str) -> None:
        """Bring ``host``'s veth back up."""
        _ip("link", "set", self.hosts[host].veth_root, "up", check=False)

    def stop_processes(self, grace_s: float = 10.0) -> None:
        """SIGTERM every process group started here, SIGKILL what is left after ``grace_s``."""
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()

    def close(self) -> None:
        """Stop the processes, then remove the namespaces, veths and bridge (never raises)."""
        self.stop_processes()
        for host in self.hosts.values():
            # Anything still inside one of our namespaces was started by us (a child that
            # left its process group): kill it by pid before the namespace goes.
            pids = _ip("netns", "pids", host.netns, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("link", "del", host.veth_root, check=False)  # its peer goes with it
            _ip("netns", "del", host.netns, check=False)
        _ip("link", "del", self.bridge, check=False)
        self.hosts.clear()
