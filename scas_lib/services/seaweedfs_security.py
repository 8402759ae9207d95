"""The embedded SeaweedFS's keys: nobody but SCAS's user reaches its data, by any port.

``weed mini`` listens on ten TCP ports (HTTP and gRPC of master, volume, filer, S3 gateway
and admin server). Bound to 127.0.0.1 they are still open to every local user, and
SeaweedFS checks nothing by default: the filer's HTTP port lists, serves, writes and
deletes any file. So, per data directory, SCAS generates at first start:

- a certificate authority and one certificate signed by it (``tls/``), which every
  SeaweedFS server demands of its callers, on every HTTP and gRPC port (mutual TLS); SCAS's
  own calls (:func:`~scas_lib.services.seaweedfs.vacuum`) present it too;
- four JWT signing keys (volume writes and reads, filer writes and reads), so that even a
  caller with a connection needs a token that only the servers themselves issue.

Only the S3 port speaks plain HTTP: it checks SCAS's access key on every request. The key
files and ``security.toml`` are 0600 in a 0700 folder: another user can read none of them.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scas_lib.services.embedded import new_secret
from scas_lib.services.private import private_dir, write_private

# Every gRPC server and client that ``weed mini`` may run reads its section of the file.
_GRPC_SECTIONS = (
    "master", "volume", "filer", "s3", "admin", "worker", "msg_broker", "msg_agent", "mq",
)  # fmt: skip
_HTTPS_SECTIONS = ("master", "volume", "filer", "admin")
_JWT_SECTIONS = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
_VALID_DAYS = 3650


@dataclass(frozen=True)
class ClientTLS:
    """The files a caller presents to reach SeaweedFS's HTTP and gRPC ports."""

    ca: Path
    cert: Path
    key: Path

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def client_tls(home: Path) -> ClientTLS:
    """Where the server in ``home`` keeps the files a client presents (made at its start)."""
    folder = home / "tls"
    return ClientTLS(ca=folder / "ca.crt", cert=folder / "scas.crt", key=folder / "scas.key")


def ensure_security(home: Path) -> ClientTLS:
    """Write ``home/security.toml`` (read by ``weed`` from its working directory) and the
    certificates it names, generating what is missing; return the client's files. Run
    when the server starts, under its lock: two processes never make two authorities."""
    private_dir(home / "tls")
    tls = ensure_certificates(client_tls(home))
    keys_path = home / "jwt-keys"
    if keys_path.exists():
        keys = keys_path.read_text().split()
    else:
        keys = [new_secret() for _ in _JWT_SECTIONS]
        write_private(keys_path, "\n".join(keys) + "\n")
    sections = [
        f'[{name}]\nkey = "{key}"\nexpires_after_seconds = 60\n'
        for name, key in zip(_JWT_SECTIONS, keys, strict=True)
    ]
    sections.append(f'[grpc]\nca = "{tls.ca}"\n')
    pair = f'cert = "{tls.cert}"\nkey = "{tls.key}"\n'
    client_pair = f'client_cert = "{tls.cert}"\nclient_key = "{tls.key}"\n'
    sections += [f"[grpc.{name}]\n{pair}{client_pair}" for name in _GRPC_SECTIONS]
    sections.append(f"[grpc.client]\n{pair}")
    sections.append(f'[https.client]\nenabled = true\n{pair}ca = "{tls.ca}"\n')
    sections += [f'[https.{name}]\n{pair}ca = "{tls.ca}"\n' for name in _HTTPS_SECTIONS]
    write_private(home / "security.toml", "\n".join(sections))
    return tls


def ensure_certificates(tls: ClientTLS) -> ClientTLS:
    """A CA and one certificate for 127.0.0.1 (server and client use) at ``tls``'s paths."""
    if tls.ca.exists() and tls.cert.exists() and tls.key.exists():
        return tls
    now = datetime.datetime.now(datetime.UTC)
    valid_from, valid_to = now - datetime.timedelta(days=1), now + datetime.timedelta(_VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scas-seaweedfs-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scas")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # The CA's key signs once and is thrown away: no other certificate can ever be issued.
    pem = serialization.Encoding.PEM
    private_format, no_password = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    write_private(tls.key, key.private_bytes(pem, private_format, no_password).decode())
    write_private(tls.cert, cert.public_bytes(pem).decode())
    write_private(tls.ca, ca.public_bytes(pem).decode())
    return tls
