"""Certificates and keys for the local control plane.

One self-signed CA signs the API server's serving certificate and the admin
client certificate (group system:masters). A separate RSA key pair signs
service-account tokens. Everything is made once per state directory.
"""

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _sign(subject, public_key, issuer_name, issuer_key, *, ca: bool, extensions=()) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def ensure_pki(pki_dir: Path) -> dict[str, Path]:
    """Create the CA, serving and admin certificates and the service-account keys if missing."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "ca_cert": pki_dir / "ca.crt",
        "ca_key": pki_dir / "ca.key",
        "serving_cert": pki_dir / "apiserver.crt",
        "serving_key": pki_dir / "apiserver.key",
        "admin_cert": pki_dir / "admin.crt",
        "admin_key": pki_dir / "admin.key",
        "sa_key": pki_dir / "sa.key",
        "sa_pub": pki_dir / "sa.pub",
    }
    if all(path.exists() for path in paths.values()):
        return paths

    ca_key = _new_key()
    ca_name = _name("devcluster-ca")
    ca_cert = _sign(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True)
    _write_key(ca_key, paths["ca_key"])
    _write_cert(ca_cert, paths["ca_cert"])

    serving_key = _new_key()
    alt_names = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    serving_cert = _sign(
        _name("kube-apiserver"),
        serving_key.public_key(),
        ca_name,
        ca_key,
        ca=False,
        extensions=[alt_names, x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])],
    )
    _write_key(serving_key, paths["serving_key"])
    _write_cert(serving_cert, paths["serving_cert"])

    admin_key = _new_key()
    admin_cert = _sign(
        _name("devcluster-admin", "system:masters"),
        admin_key.public_key(),
        ca_name,
        ca_key,
        ca=False,
        extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])],
    )
    _write_key(admin_key, paths["admin_key"])
    _write_cert(admin_cert, paths["admin_cert"])

    sa_key = _new_key()
    _write_key(sa_key, paths["sa_key"])
    paths["sa_pub"].write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return paths
