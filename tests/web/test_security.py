"""Credentials at the web app's door, on a real server (uvicorn on loopback): one form of a
short code before any check, no credential in any log line, and a body read only after
authentication and never past its limit (raw sockets: the server answers before the body
is sent)."""

from __future__ import annotations

import dataclasses
import logging
import random
import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests

from scas_lib.catalog.tokens import CODE_ALPHABET, CODE_LENGTH, CODE_TRIES_BURST
from scas_lib.faces.engine import FaceEngine
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services.embedded import free_ports
from scas_lib.storage import S3Config
from scas_lib.web.app import URL_PREFIX, standalone_app
from scas_lib.web.context import WebContext

from .conftest import EVENT, OPERATOR_TOKEN, WebServer, portrait, run_uvicorn
from .test_api import enroll

# short codes ----------------------------------------------------------------------------


def test_every_spelling_of_a_short_code_is_one_code_with_one_limit(
    web: WebServer, photos: dict[str, SamplePhoto]
) -> None:
    body = enroll(web, portrait(photos).path.read_bytes()).json()
    code = body["short_code"]  # ABCD-EFGH
    spellings = [code, code + "-" * 9, " " + code.lower() + " ", "-".join(code.replace("-", ""))]
    for spelling in spellings:  # each opens the same page
        answer = requests.get(web.api(f"/visitor/{spelling}"), timeout=10)
        assert answer.status_code == 200, (spelling, answer.text)
        assert answer.json()["display_name"] == body["display_name"]
    # another character makes it no code: looked up as a long token, it opens nothing
    underscored = code.replace("-", "_")
    assert requests.get(web.api(f"/visitor/{underscored}"), timeout=10).status_code == 404

    # Wrong codes, padded: they empty the one bucket of tries like any guess...
    rng = random.Random(1)
    statuses = []
    while 429 not in statuses and len(statuses) < 3 * CODE_TRIES_BURST:
        guess = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        padded = f"{guess[:4]}-{guess[4:]}" + "-" * rng.randint(8, 40)
        statuses.append(requests.get(web.api(f"/visitor/{padded}"), timeout=10).status_code)
    assert statuses[-1] == 429 and len(statuses) <= CODE_TRIES_BURST + 10
    # ...and then every spelling of the right code waits, reading and deleting alike
    for spelling in spellings:
        answer = requests.get(web.api(f"/visitor/{spelling}"), timeout=10)
        assert answer.status_code == 429, (spelling, answer.status_code)
        assert requests.delete(web.api(f"/visitor/{spelling}"), timeout=10).status_code == 429
    with web.services.catalog() as catalog:
        assert catalog.visitors.get(EVENT, body["visitor_id"]) is not None


# logs -----------------------------------------------------------------------------------


@contextmanager
def every_log_line() -> Iterator[list[str]]:
    """Every line logged meanwhile at INFO and above, the server's own loggers included."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error")]
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield lines
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        logging.getLogger().setLevel(root_level)


def test_no_credential_reaches_the_log_when_the_object_store_is_down(
    web: WebServer, photos: dict[str, SamplePhoto], engine: FaceEngine
) -> None:
    body = enroll(web, portrait(photos).path.read_bytes()).json()
    token, code = body["page_url"].rsplit("/v/", 1)[1], body["short_code"]
    (closed_port,) = free_ports(1)
    store_down = S3Config(
        endpoint=f"http://127.0.0.1:{closed_port}", access_key="k", secret_key="s", timeout_s=1
    )
    services = dataclasses.replace(web.services, s3=store_down)
    context = WebContext.ready(services.settings, services, engine)
    with every_log_line() as lines, run_uvicorn(standalone_app(context)) as base:
        app = base + URL_PREFIX
        statuses = [
            requests.get(f"{app}{path}", timeout=30).status_code
            for credential in (token, code, code.replace("-", "").lower())
            for path in (f"/api/visitor/{credential}", f"/v/{credential}")
        ]
    assert 503 in statuses, statuses  # the failures this is about did happen...
    logged = "\n".join(lines)
    assert "/api/visitor/***" in logged  # ...and were logged, without the credential
    for secret in (token, code, code.replace("-", ""), code.replace("-", "").lower()):
        assert secret not in logged


# bodies ---------------------------------------------------------------------------------


def _raw_request(base: str, head: str) -> socket.socket:
    address = urlsplit(base)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    sock.sendall(head.encode())
    return sock


def _answer_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server answered within ``seconds`` (b"" if nothing)."""
    readable, _, _ = select.select([sock], [], [], seconds)
    return sock.recv(65536) if readable else b""


def _upload_head(web: WebServer, path: str, length: int | None, bearer: str | None) -> str:
    target = urlsplit(web.url).path + path
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {urlsplit(web.url).netloc}",
        "Content-Type: multipart/form-data; boundary=scasboundary",
    ]
    lines.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
    if bearer:
        lines.append(f"Authorization: Bearer {bearer}")
    return "\r\n".join(lines) + "\r\n\r\n"


PART = b'--scasboundary\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\n'


def test_an_upload_without_a_token_is_refused_before_its_body_is_read(web: WebServer) -> None:
    one_gigabyte = 1 << 30
    for bearer in (None, "scask_not-a-token"):
        sock = _raw_request(web.url, _upload_head(web, "/api/kiosk/enroll", one_gigabyte, bearer))
        sock.sendall(PART + b"\xff" * 4096)  # the first bytes of the 1 GB body, no more
        answer = _answer_within(sock, 5.0)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def test_an_upload_over_the_limit_is_refused_at_once(web: WebServer) -> None:
    six_hundred_megabytes = 600 << 20
    head = _upload_head(web, "/api/analyses", six_hundred_megabytes, OPERATOR_TOKEN)
    sock = _raw_request(web.url, head)
    sock.sendall(PART + b"\x00" * 4096)
    answer = _answer_within(sock, 5.0)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"too_large"' in answer


def test_a_chunked_upload_is_cut_off_at_the_limit(web: WebServer) -> None:
    """No Content-Length to refuse: the server reads up to the kiosk photo limit (15 MB
    and a form's room) and answers 413, however much more the client has to send."""
    sock = _raw_request(web.url, _upload_head(web, "/api/kiosk/enroll", None, web.kiosk.token))
    chunk = b"\xff" * (1 << 20)
    sent, answer = 0, b""
    started = time.monotonic()
    try:
        sock.sendall(b"%x\r\n%s\r\n" % (len(PART), PART))
        while sent < 200 << 20 and not answer and time.monotonic() - started < 60:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            answer = _answer_within(sock, 0.0)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading: its answer is waiting
    answer = answer or _answer_within(sock, 5.0)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), (sent >> 20, answer[:200])
    assert sent <= 40 << 20, f"{sent >> 20} MB sent before the answer"
