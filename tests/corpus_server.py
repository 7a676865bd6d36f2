"""A real HTTP server on 127.0.0.1 for the corpus-builder tests.

`Site` maps paths to answers built in the test, counts the requests each path
gets and records their User-Agent and start time. Special answers: `flaky` fails
with 500 a given number of times before answering, and `hang` holds the request
until `site.release` is set (the server is shut down at the end of the test).
"""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML = "text/html; charset=utf-8"


@dataclass
class Answer:
    body: bytes
    content_type: str = HTML
    status: int = 200
    failures: int = 0  # answer 500 this many times first
    hang: bool = False  # wait for site.release before answering


class Site:
    def __init__(self):
        self.answers: dict[str, Answer] = {}
        self.hits: Counter[str] = Counter()
        self.log: list[tuple[str, float, str]] = []  # (path, time, User-Agent)
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.base = ""  # http://127.0.0.1:PORT, set when the server starts

    def add(self, path: str, body, content_type: str = HTML, **options) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.answers[path] = Answer(body, content_type, **options)
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def requests(self) -> int:
        return sum(self.hits.values())

    def reset(self) -> None:
        self.hits.clear()
        self.log.clear()


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            with site.lock:
                site.hits[self.path] += 1
                count = site.hits[self.path]
                site.log.append(
                    (self.path, time.monotonic(), self.headers.get("User-Agent"))
                )
            answer = site.answers.get(self.path)
            if answer is None:
                return self._send(404, b"not found", "text/plain")
            if answer.hang and not site.release.wait(timeout=10):
                return
            if count <= answer.failures:
                return self._send(500, b"try again", "text/plain")
            self._send(answer.status, answer.body, answer.content_type)

        def _send(self, status, body, content_type):
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def log_message(self, *args):
            pass

    return Handler


def serve(site: Site):
    """Starts a threaded server for `site`; returns a function that stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()

    def stop():
        site.release.set()
        server.shutdown()
        server.server_close()
        thread.join()

    return stop


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
