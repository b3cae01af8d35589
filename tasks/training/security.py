"""Who may reach the cluster: loopback by default, TLS across hosts, plain TCP only if trusted.

A Dask worker runs any pickled function it is sent, and a rank's TCPStore lets anyone who
reaches it join the job's process group: a listening socket is a way to run code as the
worker's user. So every socket binds to the interface the user chose (loopback unless
told otherwise); a cluster across hosts talks TLS with certificates from
:func:`make_certificates` (``tessera cluster certs``), and what has no TLS of its own
(torch's TCPStore and gloo, a database without ``sslmode``) is refused off loopback unless
``settings.trusted_network`` says the network is private to the cluster.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from tasks.settings import Settings

CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "node.pem", "node-key.pem"


class InsecureNetworkError(ValueError):
    """Plain TCP off loopback without ``trusted_network`` (the message says what to do)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, with or without ``tcp://`` and a port) is local.

    Example:
        >>> is_loopback("tcp://127.0.0.1:8786"), is_loopback("localhost"), is_loopback("10.0.0.5")
        (True, True, False)
    """
    name = host.split("://", 1)[-1]
    if name.startswith("["):
        name = name[1 : name.index("]")]
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    if name in ("localhost", ""):
        return name == "localhost"
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(name, None)
            )
        except OSError:
            return False


def require_private(host: str, what: str, trusted_network: bool) -> None:
    """Refuse plain TCP to or on ``host`` off loopback unless the network is trusted.

    Raises:
        InsecureNetworkError: one line naming ``what``, the host and the two ways out.

    Example:
        >>> require_private("127.0.0.1", "rendezvous", trusted_network=False)
    """
    if trusted_network or is_loopback(host):
        return
    raise InsecureNetworkError(
        f"{what} on {host}: plain TCP off loopback lets anyone on that network in; use TLS "
        "(`tessera cluster certs`) where it exists, and set TESSERA_TRUSTED_NETWORK=true only "
        "on a network private to the cluster"
    )


def check_job_store_url(url: str, trusted_network: bool) -> None:
    """A networked job store off loopback must ask for TLS (``sslmode=require`` or stricter).

    Example:
        >>> check_job_store_url("postgresql+psycopg://db.internal/jobs?sslmode=verify-full", False)
        >>> check_job_store_url("sqlite:///data/state/jobs.db", False)
    """
    parts = urlsplit(url)
    if not parts.hostname or url.startswith("sqlite"):
        return
    mode = (parse_qs(parts.query).get("sslmode") or [""])[0]
    if mode in ("require", "verify-ca", "verify-full"):
        return
    require_private(parts.hostname, "job store without sslmode=require", trusted_network)


@dataclass(frozen=True)
class Certificates:
    """The files of a cluster's TLS identity (one CA, one certificate every node shares)."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def in_folder(cls, folder: Path) -> Certificates:
        return cls(folder / CA_FILE, folder / CERT_FILE, folder / KEY_FILE)

    def exist(self) -> bool:
        return self.ca.is_file() and self.cert.is_file() and self.key.is_file()


def make_certificates(folder: Path, hosts: list[str], days: int = 365) -> Certificates:
    """Write a new CA and a node certificate for ``hosts`` (plus localhost) into ``folder``.

    Every scheduler, worker and client of the cluster uses the same node certificate; the
    key files are readable by their owner only. Copy the folder to each host.

    Example:
        >>> make_certificates(Path("/tmp/tls"), ["10.0.0.5", "gpu-1"]).ca.name  # doctest: +SKIP
        'ca.pem'
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tessera cluster CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for host in ["127.0.0.1", *hosts]:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tessera node")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = Certificates.in_folder(folder)
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.touch(mode=0o600)
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def certificates(settings: Settings) -> Certificates | None:
    """The cluster's TLS files when ``settings.tls_dir`` holds them, else None."""
    if settings.tls_dir is None:
        return None
    files = Certificates.in_folder(settings.tls_dir)
    return files if files.exist() else None


def dask_security(settings: Settings) -> Any:
    """A ``distributed.Security`` that requires TLS, or None without certificates.

    Example:
        >>> dask_security(Settings(tls_dir=None)) is None  # doctest: +SKIP
        True
    """
    files = certificates(settings)
    if files is None:
        return None
    from distributed.security import Security

    ca, cert, key = str(files.ca), str(files.cert), str(files.key)
    return Security(
        tls_ca_file=ca,
        tls_client_cert=cert,
        tls_client_key=key,
        tls_scheduler_cert=cert,
        tls_scheduler_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
        require_encryption=True,
    )


def tls_cli_args(files: Certificates) -> list[str]:
    """The ``dask scheduler`` / ``dask worker`` flags for these files."""
    return [
        "--tls-ca-file",
        str(files.ca),
        "--tls-cert",
        str(files.cert),
        "--tls-key",
        str(files.key),
    ]
