"""Who can reach the cluster: TLS between Dask nodes, plain TCP refused off loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tasks.settings import Settings
from tasks.training.cluster import ClusterError, cluster_down, cluster_up, read_cluster
from tasks.training.security import (
    InsecureNetworkError,
    dask_security,
    is_loopback,
    make_certificates,
    require_private,
)

OFF_LOOPBACK = "192.0.2.10"  # TEST-NET-1: never routed, and nothing is sent to it here


def _square(x: int) -> int:
    return x * x


class TestPlainTcpOffLoopback:
    def test_cluster_without_tls_is_refused_before_anything_starts(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path / "data")
        with pytest.raises(ClusterError, match="TESSERA_TRUSTED_NETWORK"):
            cluster_up(settings, 1, host=OFF_LOOPBACK)
        assert read_cluster(settings) is None
        assert not (tmp_path / "data" / "state" / "dask-scheduler.log").exists()

    def test_rendezvous_needs_a_trusted_network(self) -> None:
        require_private("127.0.0.1", "rendezvous", trusted_network=False)
        require_private(OFF_LOOPBACK, "rendezvous", trusted_network=True)
        with pytest.raises(InsecureNetworkError, match=f"rendezvous on {OFF_LOOPBACK}"):
            require_private(OFF_LOOPBACK, "rendezvous", trusted_network=False)

    @pytest.mark.parametrize(
        ("url", "allowed"),
        [
            ("sqlite:///jobs.db", True),
            ("postgresql+psycopg://tessera@127.0.0.1:5432/jobs", True),
            (f"postgresql+psycopg://tessera@{OFF_LOOPBACK}/jobs", False),
            (f"postgresql+psycopg://tessera@{OFF_LOOPBACK}/jobs?sslmode=verify-full", True),
        ],
    )
    def test_job_store_off_loopback_needs_tls(self, url: str, allowed: bool) -> None:
        if allowed:
            Settings(job_store_url=url)
        else:
            with pytest.raises(ValidationError, match="sslmode"):
                Settings(job_store_url=url)
            Settings(job_store_url=url, trusted_network=True)

    @pytest.mark.parametrize(
        ("host", "local"),
        [
            ("127.0.0.1", True),
            ("tcp://127.0.0.1:8786", True),
            ("[::1]:80", True),
            ("localhost", True),
            (OFF_LOOPBACK, False),
            ("tls://192.0.2.10:8786", False),
        ],
    )
    def test_loopback(self, host: str, local: bool) -> None:
        assert is_loopback(host) is local


@pytest.mark.slow
class TestTlsCluster:
    def test_only_tls_clients_with_the_cluster_ca_get_in(self, tmp_path: Path) -> None:
        from distributed import Client
        from distributed.security import Security

        settings = Settings(data_dir=tmp_path / "data", tls_dir=tmp_path / "tls")
        make_certificates(tmp_path / "tls", [])
        info = cluster_up(settings, 1)
        try:
            assert info.address.startswith("tls://127.0.0.1:")
            with Client(info.address, security=dask_security(settings), timeout=30) as client:
                assert client.submit(_square, 7).result(timeout=60) == 49
            with pytest.raises(OSError):
                Client(info.address.replace("tls://", "tcp://"), timeout=5)
            strangers = make_certificates(tmp_path / "other", [])
            stranger = Security(
                tls_ca_file=str(strangers.ca),
                tls_client_cert=str(strangers.cert),
                tls_client_key=str(strangers.key),
                require_encryption=True,
            )
            with pytest.raises(OSError):
                Client(info.address, security=stranger, timeout=5)
        finally:
            cluster_down(settings)
