"""The embedded SeaweedFS refuses every caller without SCAS's keys, on every port.

The probes run as another local user (``nobody``) when the tests run as root, else as the
same user without the keys: with curl, over plain HTTP, over TLS without a client
certificate, and as gRPC (HTTP/2) calls to the filer's API, against every TCP port and
every Unix socket the server process listens on. Each tries a listing, a read, a write and
a delete; afterwards the listing and the selfie's bytes appear in no answer, nothing was
written and the selfie is still there, read through the S3 API with SCAS's keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from scas_lib.services import EmbeddedSeaweedFS
from scas_lib.storage import ObjectStore

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


def _grpc_frame(*fields: tuple[int, bytes | bool]) -> bytes:
    """A gRPC message (5-byte prefix) of a protobuf with string and bool fields."""
    body = b""
    for number, value in fields:
        if isinstance(value, bool):
            body += bytes([number << 3, int(value)])
        else:
            body += bytes([number << 3 | 2, len(value)]) + value
    return b"\x00" + len(body).to_bytes(4, "big") + body


def _as_other_user() -> list[str]:
    return ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []


@pytest.fixture
def seaweed(tmp_path: Path) -> Iterator[EmbeddedSeaweedFS]:
    server = EmbeddedSeaweedFS(tmp_path / "data")
    with server.running():
        yield server


def test_no_port_serves_a_caller_without_the_keys(seaweed: EmbeddedSeaweedFS) -> None:
    store = ObjectStore(seaweed.s3_config(timeout_s=10))
    event, visitor = f"E{uuid.uuid4().hex[:8]}", f"V{uuid.uuid4().hex[:12]}"
    selfie = os.urandom(3000)
    for bucket in ("enrollments", "recordings"):
        store.ensure_bucket(bucket)
    store.put_bytes("enrollments", f"{event}/{visitor}/0.jpg", selfie)

    pid = seaweed.running_pid()
    assert pid is not None
    # S3 serves first; the admin server may still be starting: wait for all ten ports
    # (master, volume, filer, S3, admin: HTTP and gRPC each).
    deadline = time.monotonic() + 30
    while len(ports := _listening(pid)[0]) < 10 and time.monotonic() < deadline:
        time.sleep(0.5)
    ports, sockets = _listening(pid)
    assert len(ports) >= 10, ports
    assert sockets, "no Unix socket found: the probe would miss them"

    out = Path(f"/tmp/scas-probe-{uuid.uuid4().hex}")
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    try:
        listing = _grpc_frame((1, f"/buckets/enrollments/{event}".encode()))
        deletion = _grpc_frame(
            (1, f"/buckets/enrollments/{event}/{visitor}".encode()), (2, b"0.jpg"), (4, True)
        )
        (out / "list.grpc").write_bytes(listing)
        (out / "delete.grpc").write_bytes(deletion)
        (out / "planted").write_bytes(b"planted by another user")
        for path in out.iterdir():
            path.chmod(0o644)
        folder, photo = f"buckets/enrollments/{event}", f"buckets/enrollments/{event}/{visitor}"
        requests = [
            ("list", ["-H", "Accept: application/json"], f"{folder}/"),
            ("read", [], f"{photo}/0.jpg"),
            ("write", ["-X", "POST", "-F", f"file=@{out}/planted"], f"buckets/recordings/{event}/"),
            ("put", ["-X", "PUT", "--data-binary", f"@{out}/planted"], f"{folder}/planted.jpg"),
            ("delete", ["-X", "DELETE"], f"{photo}/0.jpg"),
            ("master-delete", [], "col/delete?collection=enrollments"),
        ]
        grpc = ["--http2-prior-knowledge", "-X", "POST", "-H", "content-type: application/grpc"]
        calls = [
            ("grpc-list", [*grpc, "--data-binary", f"@{out}/list.grpc"],
             "filer_pb.SeaweedFiler/ListEntries"),
            ("grpc-delete", [*grpc, "--data-binary", f"@{out}/delete.grpc"],
             "filer_pb.SeaweedFiler/DeleteEntry"),
        ]  # fmt: skip
        lines = []
        for port in ports:
            for name, options, path in requests + calls:
                for scheme in ("http", "https"):
                    target = f"{out}/{port}-{scheme}-{name}"
                    lines.append(
                        f"curl -sk -m 3 -o {target} {' '.join(_quote(o) for o in options)} "
                        f"'{scheme}://127.0.0.1:{port}/{path}' ; echo $? > {target}.rc"
                    )
        for index, socket_path in enumerate(sockets):
            for name, options, path in requests + calls:
                target = f"{out}/unix{index}-{name}"
                lines.append(
                    f"curl -s -m 3 -o {target} --unix-socket {_quote(str(socket_path))} "
                    f"{' '.join(_quote(o) for o in options)} 'http://localhost/{path}' ; "
                    f"echo $? > {target}.rc"
                )
        probe = subprocess.run(
            [*_as_other_user(), "sh", "-c", "\n".join(lines)],
            capture_output=True,
            timeout=600,
            check=False,
            cwd="/",
        )
        assert probe.returncode == 0, probe.stderr
        answers = {path.name: path.read_bytes() for path in out.iterdir() if "-" in path.name}
    finally:
        shutil.rmtree(out, ignore_errors=True)

    assert answers, "no probe ran"
    # (a refusal may echo the path it was asked for: only the listings must not name him)
    listings = {name: body for name, body in answers.items() if name.endswith("list")}
    leaked = [name for name, body in listings.items() if visitor.encode() in body]
    assert leaked == [], f"the listing came back from {leaked}"
    served = [name for name, body in answers.items() if selfie[:64] in body]
    assert served == [], f"the selfie came back from {served}"
    # what the probes tried to change did not change; the S3 API, with the keys, still works
    assert store.get_bytes("enrollments", f"{event}/{visitor}/0.jpg") == selfie
    assert [o.key for o in store.list("enrollments", f"{event}/")] == [f"{event}/{visitor}/0.jpg"]
    assert store.list("recordings", f"{event}/") == []


def test_keys_and_logs_stay_in_the_home(seaweed: EmbeddedSeaweedFS) -> None:
    """The keys are 0600 in a 0700 folder; weed's log files are in its home, not in /tmp."""
    for path in [seaweed.home / "security.toml", *(seaweed.home / "tls").iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, path
    assert (seaweed.home / "tls").stat().st_mode & 0o077 == 0
    pid = seaweed.running_pid()
    assert any((seaweed.home / "logs").glob(f"weed.*.{pid}"))
    assert not list(Path("/tmp").glob(f"weed.*.{pid}"))


def _listening(pid: int) -> tuple[list[int], list[str]]:
    """The TCP ports and Unix sockets the server process (and any child) listens on."""
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    ports = {
        c.laddr.port for p in processes for c in p.net_connections("tcp") if c.status == "LISTEN"
    }
    sockets = {str(c.laddr) for p in processes for c in p.net_connections("unix") if c.laddr}
    return sorted(ports), sorted(sockets)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
