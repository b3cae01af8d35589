"""Training across hosts: three network namespaces on one machine (tests/netns.py).

Host ``sched`` runs the Dask scheduler; hosts ``a`` and ``b`` each run two PU workers, so
``pus_per_node`` is 2 and placement by node is real. The test process (root namespace) is
the client and reaches the scheduler over the bridge. All hosts share the filesystem: the
job store (SQLite) and the checkpoint folder in the test's temporary folder stand in for
the shared storage a real cluster mounts.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tasks.settings import Settings
from tasks.training import launcher
from tasks.training.cluster import HOST_CORES_ENV, PU_WORKER_CONFIG, pu_workers
from tasks.training.group import rendezvous_name
from tasks.training.spec import JobSpec
from tasks.training.store import JobStore
from tests.netns import TestNet, netns_unavailable
from tests.training.conftest import wait_for, wait_for_trained
from tests.training.test_elastic import SPEC, _reference_accuracy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PUS_PER_HOST = 2
RANK_TIMEOUT_S = 10.0  # collective timeout of the launches (how long ranks wait on a peer)


@dataclass
class MultiHost:
    net: TestNet
    address: str  # the scheduler, tcp://<sched ip>:<port>
    client: Any
    root: Path
    env: dict[str, str]
    workers: dict[tuple[str, int], subprocess.Popen[bytes]] = field(default_factory=dict)

    def ip(self, host: str) -> str:
        return self.net.hosts[host].ip

    def start_worker(self, host: str, i: int) -> None:
        """``dask worker`` (with its nanny) ``pu-<host>-<i>`` inside ``host``'s namespace."""
        ip = self.ip(host)
        argv = [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            self.address,
            "--host",
            ip,
            "--dashboard-address",
            f"{ip}:0",
            "--nthreads",
            "1",
            "--nworkers",
            "1",
            "--resources",
            "PU=1",
            "--name",
            f"pu-{host}-{i}",
            "--memory-limit",
            "0",
            "--local-directory",
            str(self.root / "dask"),
            "--preload",
            "tasks.training.preload",
        ]
        log = self.root / f"worker-{host}-{i}.log"
        self.workers[(host, i)] = self.net.spawn(host, argv, log, env=self.env, cwd=ROOT)

    def ensure_workers(self, timeout_s: float = 180.0) -> None:
        """Start again the workers that exited, as a cluster's supervisor (Kubernetes,
        Slurm) would, and wait for all of them.

        A Dask worker cut off from its scheduler shuts itself down, nanny included
        (``worker-handle-scheduler-connection-broken``), when its heartbeat fails with an
        error (``No route to host``) rather than hanging; a host that comes back after such
        a partition has no workers until something restarts them.
        """
        for (host, i), proc in list(self.workers.items()):
            if proc.poll() is not None:
                self.start_worker(host, i)
        self.client.wait_for_workers(len(self.workers), timeout=timeout_s)


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


@pytest.fixture(scope="module")
def multihost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultiHost]:
    """Scheduler on host ``sched``, two single-threaded PU workers on each of ``a``, ``b``."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(f"multi-host tests need network namespaces: {reason}")
    from distributed import Client

    root = tmp_path_factory.mktemp("multihost")
    net = TestNet.create(["sched", "a", "b"])
    client = None
    try:
        sched_ip = net.hosts["sched"].ip
        sched_file = root / "scheduler.json"
        py = sys.executable
        net.spawn(
            "sched",
            [
                py,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                sched_ip,
                "--port",
                "0",
                "--dashboard-address",
                f"{sched_ip}:0",
                "--scheduler-file",
                str(sched_file),
            ],
            root / "scheduler.log",
            cwd=ROOT,
        )
        deadline = time.monotonic() + 120
        while not sched_file.is_file():
            assert time.monotonic() < deadline, (root / "scheduler.log").read_text()[-2000:]
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        env = dict(os.environ)
        env["DASK_CONFIG"] = str(PU_WORKER_CONFIG)
        env[HOST_CORES_ENV] = str(len(os.sched_getaffinity(0)))  # every "host" shares them
        mh = MultiHost(net=net, address=address, client=None, root=root, env=env)
        for host in ("a", "b"):
            for i in range(PUS_PER_HOST):
                mh.start_worker(host, i)
        client = mh.client = Client(address, timeout=60)
        client.wait_for_workers(2 * PUS_PER_HOST, timeout=240)
        yield mh
    finally:
        if client is not None:
            client.close()
        net.close()


@pytest.fixture
def mh_settings(settings: Settings) -> Settings:
    settings.ensure_dirs()
    # Plain TCP off loopback is refused by design (TCPStore and gloo have no TLS); these
    # hosts sit on a private /24 that exists only inside the test's namespaces.
    return settings.model_copy(update={"trusted_network": True})


def _place(count: int, workers: list[str]) -> list[str]:
    """The reschedule flow's placement (pack by host) of one queued job on ``count`` PUs."""
    from flows.reschedule import place_workers

    return list(place_workers({"job": count}, {}, workers)["job"])


def _launch(
    mh: MultiHost, store: JobStore, settings: Settings, name: str, workers: list[str], **kw: Any
) -> int:
    gen = launcher.launch(
        mh.client,
        store,
        store.get(name),
        workers,
        checkpoint_root=settings.checkpoint_root,
        timeout_s=RANK_TIMEOUT_S,
        sample_every_s=0.3,
        trusted_network=settings.trusted_network,
        **kw,
    )
    assert gen is not None
    return gen


def _rendezvous_host(mh: MultiHost, store: JobStore, job_id: int, generation: int) -> str:
    from distributed import Variable

    name = rendezvous_name(launcher.namespace_of(store), job_id, generation)
    addr = str(Variable(name, client=mh.client).get(timeout=120))
    return addr.rsplit(":", 1)[0]


class TestAcrossHosts:
    def test_one_two_four_pus_over_two_hosts_reach_one_host_accuracy(
        self, multihost: MultiHost, mh_settings: Settings, tmp_path: Path
    ) -> None:
        mh, store = multihost, JobStore(mh_settings.job_store_url)
        workers = pu_workers(mh.client)
        a, b = mh.ip("a"), mh.ip("b")
        assert sorted(_host(w) for w in workers) == sorted([a, a, b, b])
        job = store.submit(SPEC)
        for pus in (1, 2, 4):
            placed = _place(pus, workers)
            hosts = [_host(w) for w in placed]
            if pus == 2:
                assert len(set(hosts)) == 1, f"a 2-PU job was split over hosts: {placed}"
            if pus == 4:
                assert sorted(hosts) == sorted([a, a, b, b])
            gen = _launch(
                mh, store, mh_settings, SPEC.name, placed, max_steps=600 if pus < 4 else None
            )
            if pus > 1:
                # Rank 0 hosts the TCPStore on its own host's namespace address.
                assert _rendezvous_host(mh, store, job.id, gen) == hosts[0]
            if pus == 4:
                break
            wait_for_trained(store, SPEC.name, gen, fraction=0.35, timeout_s=120)
            launcher.request_stop(mh.client, store, store.get(job.id))
            stopped = wait_for(store, SPEC.name, ("queued",), timeout_s=120)
            assert stopped.error is None
            assert stopped.epoch < SPEC.epochs, "stopped too late to test a resume"
        done = wait_for(store, SPEC.name, ("completed", "failed"), timeout_s=240)
        assert done.state == "completed", done.error
        assert done.metric is not None and done.metric >= 0.9
        assert {_host(w) for w in done.workers or placed} == {a, b}

        samples = store.samples(job.id)
        assert {s.pus for s in samples} == {1, 2, 4}
        for gen in (2, 3):
            before = [s for s in samples if s.generation == gen - 1 and s.loss is not None]
            after = [s for s in samples if s.generation == gen and s.loss is not None]
            assert after[0].step > before[-1].step  # resumed from the checkpoint
            resumed = statistics.mean(s.loss or 0.0 for s in after[:3])
            assert resumed < 0.5 * (samples[0].loss or 0.0)
        assert {c["world_size"] for c in store.checkpoints(job.id)} == {1, 2, 4}
        reference = _reference_accuracy(tmp_path)
        assert abs(done.metric - reference) <= 0.05


class TestHostCutOff:
    # "b" holds ranks 2 and 3; "a" holds rank 0, its TCPStore and the checkpoint writer.
    @pytest.mark.parametrize(("cut", "keep"), [("b", "a"), ("a", "b")])
    def test_ranks_released_job_resumes_on_remaining_host(
        self, multihost: MultiHost, mh_settings: Settings, cut: str, keep: str
    ) -> None:
        mh, store = multihost, JobStore(mh_settings.job_store_url)
        mh.ensure_workers()  # the previous cut's host comes back with fresh workers
        workers = pu_workers(mh.client)
        assert len(workers) == 2 * PUS_PER_HOST
        spec = JobSpec(name="cutoff", epochs=30, batch_size=8, lr=0.01, checkpoint_every_s=0.5)
        job = store.submit(spec)
        placed = _place(4, workers)
        assert [_host(w) for w in placed] == [mh.ip("a")] * 2 + [mh.ip("b")] * 2
        _launch(mh, store, mh_settings, spec.name, placed)
        deadline = time.monotonic() + 180
        while not (store.checkpoints(job.id) and any(s.pus == 4 for s in store.samples(job.id))):
            assert time.monotonic() < deadline, f"4-PU launch never trained: {store.get(job.id)}"
            time.sleep(0.2)

        mh.net.cut(cut)  # two ranks (and their Dask workers) lose the network
        try:
            t0 = time.monotonic()
            while store.get(job.id).state != "queued":
                launcher.reap_lost(mh.client, store)  # what the next outer iteration does
                assert time.monotonic() - t0 < RANK_TIMEOUT_S + 50, (
                    f"ranks not released: {store.get(job.id)}"
                )
                time.sleep(0.5)
            released_s = time.monotonic() - t0
            print(f"cut-off host: job requeued {released_s:.1f} s after the cut")
            lost = store.get(job.id)
            assert "lost" in (lost.error or "") and lost.pus == 0, lost.error
            resume_from = store.checkpoints(job.id)[-1]["step"]

            remaining = [w for w in workers if _host(w) == mh.ip(keep)]
            assert _place(2, remaining) == remaining
            _launch(mh, store, mh_settings, spec.name, remaining)
            done = wait_for(store, spec.name, ("completed", "failed"), timeout_s=180)
            assert done.state == "completed", done.error
            resumed = [s for s in store.samples(job.id) if s.generation == 2]
            assert resumed and resumed[0].step > resume_from
            assert {s.pus for s in resumed} == {2}
            assert done.metric is not None and done.metric >= 0.9
            assert released_s < RANK_TIMEOUT_S + 50
            old = launcher.rank_keys(launcher.namespace_of(store), job.id, spec.name, 1, 4)
            print("cut-off launch's ranks on the scheduler:", launcher.task_states(mh.client, old))
        finally:
            mh.net.restore(cut)


@contextlib.contextmanager
def _forward(listen_host: str, target_port: int) -> Iterator[int]:
    """Relay TCP from ``listen_host``:<free port> to ``127.0.0.1:target_port``; yields the port.

    The test Prefect server listens on loopback only; this puts it on the bridge address,
    as a real deployment's server listens on an address its workers reach.
    """
    import asyncio
    import threading

    loop = asyncio.new_event_loop()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, RuntimeError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):
                writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    server = loop.run_until_complete(asyncio.start_server(handle, listen_host, 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:

        async def shutdown() -> None:
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()


@pytest.mark.usefixtures("prefect_harness")
class TestBackfillAcrossHosts:
    def test_ingest_maps_over_both_hosts_and_stores_every_scene_once(
        self, multihost: MultiHost, tmp_path: Path
    ) -> None:
        from distributed import get_task_stream
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.ingest import backfill
        from tasks.video.samples import make_sample_video, standard_scenes
        from tasks.video.store import SceneStore

        mh, shots = multihost, standard_scenes()
        # Last in the module: ingest loads its models into the PU workers' processes.
        mh.ensure_workers()
        library = tmp_path / "library"
        library.mkdir()
        # Distinct contents (distinct hashes): four files to spread over four workers.
        expected = {"v0.mp4": 3, "v1.mp4": 2, "v2.mov": 2, "v3.mov": 1}
        make_sample_video(library / "v0.mp4", shots[:3])
        make_sample_video(library / "v1.mp4", shots[3:5], size=(320, 180), audio=False)
        make_sample_video(library / "v2.mov", shots[1:3], size=(480, 270), audio=False)
        make_sample_video(library / "v3.mov", shots[5:], size=(320, 180), audio=False)
        data = tmp_path / "data"
        settings = Settings(
            data_dir=data,
            lancedb_uri=str(data / "lancedb"),
            thumbnail_dir=data / "thumbnails",
            dask_address=mh.address,
            trusted_network=True,  # the private test network (see mh_settings)
        )
        # The Prefect tasks run on the workers and report to the API URL the flow gives them:
        # it must be an address the worker hosts reach, not the flow host's 127.0.0.1.
        api_port = urlsplit(PREFECT_API_URL.value()).port
        assert api_port is not None
        with (
            _forward(mh.net.gateway, api_port) as port,
            temporary_settings({PREFECT_API_URL: f"http://{mh.net.gateway}:{port}/api"}),
        ):
            with get_task_stream(client=mh.client) as stream:
                found = backfill(str(library), settings=settings)
            again = backfill(str(library), settings=settings)
            # This process's log and event senders took the relayed URL: flush and stop them
            # while the relay is up (new ones start on the test server's own URL).
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            for service in (APILogWorker, EventsWorker):
                service.drain_all(timeout=30)
        reports = {Path(r.file).name: r for r in found}
        assert {n: r.status for n, r in reports.items()} == dict.fromkeys(expected, "written")
        ran_on = {_host(t["worker"]) for t in stream.data}
        assert ran_on == {mh.ip("a"), mh.ip("b")}, ran_on

        assert {r.status for r in again} == {"unchanged"}
        rows = SceneStore.open(settings.lancedb_uri).table.to_arrow()
        keys = list(zip(rows["video_hash"].to_pylist(), rows["scene"].to_pylist(), strict=True))
        assert len(keys) == len(set(keys))  # every scene once
        per_video: dict[str, int] = {}
        for video in rows["video"].to_pylist():
            per_video[Path(video).name] = per_video.get(Path(video).name, 0) + 1
        assert per_video == {n: reports[n].scenes for n in expected}
        assert all(reports[n].scenes >= 1 for n in expected)
