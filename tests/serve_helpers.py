"""Shared by the HTTP server tests: a real uvicorn server on 127.0.0.1 (a free
port) in a thread, and small generators that stand in for a model."""

import contextlib
import socket
import threading
import time

from charlstm.infer.generator import Generator


@contextlib.contextmanager
def serving(app):
    """Serves `app` with uvicorn in a thread on a free port; yields its URL."""
    import uvicorn

    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "no server"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def events(response) -> list:
    """The data of each server-sent event of a streamed response, in order."""
    return [
        line[len("data: ") :]
        for line in response.iter_lines(decode_unicode=True)
        if line.startswith("data: ")
    ]


class Gate(Generator):
    """Streams "a", waits until `released` is set, then streams "b". `generate`
    returns the seed and `length` x's; with `fail`, both raise a RuntimeError
    (`stream` after its first piece)."""

    engine_name = "test"

    def __init__(self, fail: bool = False):
        self.released = threading.Event()
        self.fail = fail

    def _generate_rows(self, seeds, length, sampling, num_samples, strict):
        if self.fail:
            raise RuntimeError("a bug in the generator")
        return [s + "x" * length for s in seeds for _ in range(num_samples)]

    def _stream(self, seed, length, sampling, strict):
        yield "a"
        if self.fail:
            raise RuntimeError("a bug in the generator")
        assert self.released.wait(10)
        yield "b"


class Endless(Generator):
    """Streams "x" every millisecond for as long as it is read; counts them."""

    engine_name = "test"

    def __init__(self):
        self.produced = 0

    def _generate_rows(self, seeds, length, sampling, num_samples, strict):
        return [s + "y" * length for s in seeds for _ in range(num_samples)]

    def _stream(self, seed, length, sampling, strict):
        while True:
            time.sleep(0.001)
            self.produced += 1
            yield "x"
