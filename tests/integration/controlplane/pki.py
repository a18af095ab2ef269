"""Certificates and keys for the test control plane, made with the ``openssl`` command.

One CA signs everything: the kube-apiserver serving certificate, the kwok "kubelet" serving
certificate, the admin client certificate (``O=system:masters``), the client certificate the
apiserver presents to kubelets, and any user certificates a test asks for. The service-account
token signing key is a separate RSA key pair; the CA and the certificates use ECDSA P-256 keys,
which openssl makes in milliseconds (an RSA key takes a few hundred on a busy 2-core machine).
"""

from __future__ import annotations

import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

CA_DAYS = 30
"""Validity of the CA and of every leaf, in days: a test cluster lives for minutes."""

RSA_BITS = 2048
"""Size of the service-account signing key (RS256, what Kubernetes expects by default)."""

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
"""openssl req arguments for a new ECDSA P-256 key (CA and every certificate)."""

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._@-]{0,62}$")


class PkiError(RuntimeError):
    """openssl failed or was asked for an unsafe subject."""


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, both PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """All credentials of one control plane."""

    directory: Path
    ca: CertPair
    apiserver: CertPair
    kubelet_serving: CertPair
    apiserver_kubelet_client: CertPair
    admin: CertPair
    service_account_key: Path
    service_account_pub: Path

    def client_cert(self, name: str, groups: tuple[str, ...] = ()) -> CertPair:
        """Sign a new client certificate: CN is the user name, each O a group."""
        subject = _subject(name, groups)
        return _signed(self.directory, f"user-{name}", subject, self.ca, _CLIENT_EXT)

    def server_cert(
        self, stem: str, name: str, dns: tuple[str, ...], ips: tuple[str, ...]
    ) -> CertPair:
        """Sign a new serving certificate for ``dns`` names and ``ips`` (e.g. a kubelet's)."""
        return _signed(self.directory, stem, _subject(name, ()), self.ca, _server_ext(dns, ips))


def load_pki(directory: Path, check: bool = True) -> Pki:
    """The Pki that generate_pki() wrote to ``directory`` (for tools that join a running
    control plane, such as hack/real-node/node.sh); ``check=False`` skips the check that its
    files exist."""

    def pair(stem: str) -> CertPair:
        return CertPair(cert=directory / f"{stem}.crt", key=directory / f"{stem}.key")

    pki = Pki(
        directory=directory,
        ca=pair("ca"),
        apiserver=pair("apiserver"),
        kubelet_serving=pair("kwok-kubelet"),
        apiserver_kubelet_client=pair("apiserver-kubelet-client"),
        admin=pair("admin"),
        service_account_key=directory / "sa.key",
        service_account_pub=directory / "sa.pub",
    )
    missing = [str(p) for p in (pki.ca.cert, pki.ca.key, pki.admin.cert) if not p.is_file()]
    if missing and check:
        raise PkiError(f"not a control plane's pki directory (missing {', '.join(missing)})")
    return pki


_CLIENT_EXT = "\n".join(
    [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
    ]
)


def _server_ext(dns: tuple[str, ...], ips: tuple[str, ...]) -> str:
    sans = [f"DNS:{d}" for d in dns] + [f"IP:{ip}" for ip in ips]
    return "\n".join(
        [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth",
            "subjectAltName=" + ",".join(sans),
        ]
    )


def _openssl(*args: str) -> None:
    result = subprocess.run(
        ["openssl", *args], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise PkiError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


def _subject(common_name: str, organizations: tuple[str, ...]) -> str:
    for part in (common_name, *organizations):
        if not _SAFE_NAME.match(part):
            raise PkiError(f"unsafe certificate subject part: {part!r}")
    return f"/CN={common_name}" + "".join(f"/O={org}" for org in organizations)


def _signed(directory: Path, stem: str, subject: str, ca: CertPair, ext: str) -> CertPair:
    key, csr, cert = (directory / f"{stem}{suffix}" for suffix in (".key", ".csr", ".crt"))
    ext_file = directory / f"{stem}.ext"
    ext_file.write_text(ext + "\n")
    _openssl(
        "req",
        "-new",
        *EC_KEY,
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        subject,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca.cert),
        "-CAkey",
        str(ca.key),
        "-set_serial",
        "0x" + secrets.token_hex(16),
        "-days",
        str(CA_DAYS),
        "-sha256",
        "-extfile",
        str(ext_file),
        "-out",
        str(cert),
    )
    csr.unlink()
    ext_file.unlink()
    key.chmod(0o600)
    return CertPair(cert=cert, key=key)


def generate_pki(directory: Path) -> Pki:
    """Create a fresh CA and every certificate the control plane needs under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = CertPair(cert=directory / "ca.crt", key=directory / "ca.key")
    _openssl(
        "req",
        "-x509",
        *EC_KEY,
        "-nodes",
        "-keyout",
        str(ca.key),
        "-out",
        str(ca.cert),
        "-days",
        str(CA_DAYS),
        "-sha256",
        "-subj",
        "/CN=mge-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )
    ca.key.chmod(0o600)

    local_names = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
    apiserver = _signed(
        directory,
        "apiserver",
        _subject("kube-apiserver", ()),
        ca,
        _server_ext(local_names, ("127.0.0.1", "10.96.0.1")),
    )
    kubelet_serving = _signed(
        directory,
        "kwok-kubelet",
        _subject("kwok-kubelet", ()),
        ca,
        _server_ext(("localhost",), ("127.0.0.1",)),
    )
    apiserver_kubelet_client = _signed(
        directory,
        "apiserver-kubelet-client",
        _subject("kube-apiserver-kubelet-client", ("system:masters",)),
        ca,
        _CLIENT_EXT,
    )
    admin = _signed(directory, "admin", _subject("mge-admin", ("system:masters",)), ca, _CLIENT_EXT)

    sa_key, sa_pub = directory / "sa.key", directory / "sa.pub"
    _openssl(
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        f"rsa_keygen_bits:{RSA_BITS}",
        "-out",
        str(sa_key),
    )
    _openssl("pkey", "-in", str(sa_key), "-pubout", "-out", str(sa_pub))
    sa_key.chmod(0o600)
    return Pki(
        directory=directory,
        ca=ca,
        apiserver=apiserver,
        kubelet_serving=kubelet_serving,
        apiserver_kubelet_client=apiserver_kubelet_client,
        admin=admin,
        service_account_key=sa_key,
        service_account_pub=sa_pub,
    )
