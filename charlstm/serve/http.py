"""`charlstm serve`'s HTTP server: OpenAI's completion API and a playground.

Routes of `make_app(generator)`:

- `POST /v1/completions`: OpenAI's text completion (request rules in
  `charlstm.serve.completion_request`); with `"stream": true`, server-sent
  events, one per piece of text as the generator produces it, then
  `data: [DONE]`.
- `GET /health`: the run's name, backend and engine.
- `GET /v1/models`: the one model, as OpenAI lists models.
- `GET /`: the playground page (`playground.html`, no external resources).

A generator holds one engine state, so one generation runs at a time (a lock;
others wait their turn). Generation runs in worker threads and the event loop
stays free. Errors are JSON in OpenAI's shape, `{"error": {"message", "type",
"param", "code"}}`: 4xx for a bad request, 500 (its traceback logged on the
`charlstm.serve` logger) for anything else.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import socket
import time
import uuid

from charlstm.serve.completion_request import (
    CompletionRequest,
    Limits,
    RequestError,
    parse_request,
)
from charlstm.utils.checks import InputError

INSTALL_MESSAGE = (
    "charlstm serve needs starlette and uvicorn: pip install 'charlstm[serve]'"
)
try:
    import anyio
    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
    from starlette.routing import Route
except ImportError as error:  # the `serve` extra is not installed
    raise ImportError(INSTALL_MESSAGE) from error

logger = logging.getLogger("charlstm.serve")
# The library's argument names -> the request field a message about them is on.
PARAMS = {
    "seed": "prompt",
    "prefix": "prompt",
    "length": "max_tokens",
    "max_length": "max_tokens",
    "num_samples": "n",
    "num_candidates": "n",
    "complete": "mode",
    "temperature": "temperature",
    "top_k": "top_k",
    "top_p": "top_p",
    "random_seed": "seed",
    "stop": "stop",
}
SERVER_ERROR = "the server failed to answer this request (its log has the details)"


def make_app(
    generator,
    *,
    model: str = "charlstm",
    backend: str = "lstm",
    limits: Limits | None = None,
):
    """The Starlette app that serves `generator`.

    Args:
        generator: Generator. A loaded run (`charlstm.load`).
        model: str. The name the API reports (the run directory's name).
        backend: str. The run's backend, reported by `/health`.
        limits: Limits or None. Request bounds (default: `Limits()`).

    Example:
    >>> app = make_app(charlstm.load("runs/stdlib"), model="stdlib")
    >>> run_server(app, "127.0.0.1", 8000)
    """
    limits = limits or Limits()
    lock = anyio.Lock()
    started = int(time.time())
    page = (
        importlib.resources.files(__package__)
        .joinpath("playground.html")
        .read_text(encoding="utf-8")
    )

    async def playground(request):
        return HTMLResponse(page)

    async def health(request):
        return JSONResponse(
            {
                "status": "ok",
                "model": model,
                "backend": backend,
                "engine": generator.engine_name,
            }
        )

    async def models(request):
        entry = {
            "id": model,
            "object": "model",
            "created": started,
            "owned_by": "charlstm",
        }
        return JSONResponse({"object": "list", "data": [entry]})

    async def completions(request):
        try:
            parsed = parse_request(_decode(await _read_body(request, limits)), limits)
            head = {
                "id": f"cmpl-{uuid.uuid4().hex}",
                "object": "text_completion",
                "created": int(time.time()),
                "model": model,
            }
            if parsed.stream:
                return _stream(generator, parsed, head, lock)
            async with lock:
                answer = await run_in_threadpool(_answer, generator, parsed)
            return JSONResponse({**head, **answer})
        except RequestError as error:
            return error_response(error.status, str(error), error.param)
        except InputError as error:  # what the generator refused in the request
            return error_response(400, str(error), _param_of(error))
        except Exception:
            logger.exception("a completion request failed")
            return error_response(500, SERVER_ERROR)

    async def http_error(request, error):  # 404, 405 (with its Allow header)
        response = error_response(error.status_code, error.detail)
        response.headers.update(error.headers or {})
        return response

    async def server_error(request, error):
        return error_response(500, SERVER_ERROR)

    return Starlette(
        routes=[
            Route("/", playground, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/completions", completions, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


def error_response(status: int, message: str, param: str | None = None):
    """A JSON error in OpenAI's shape."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    error = {"message": message, "type": kind, "param": param, "code": None}
    return JSONResponse({"error": error}, status_code=status)


async def _read_body(request, limits: Limits) -> bytes:
    """The body, refused (413) past `limits.max_body_bytes` without reading on."""
    too_large = RequestError(
        f"the request body must be at most {limits.max_body_bytes:,} bytes",
        status=413,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_body_bytes:
            raise too_large
    return bytes(body)


def _decode(body: bytes):
    try:
        return json.loads(body)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise RequestError(f"the request body must be JSON: {error}") from None


def _param_of(error: InputError) -> str | None:
    """The request field of the first argument name the message quotes."""
    message = str(error)
    found = [(message.find(f"`{name}`"), field) for name, field in PARAMS.items()]
    return min(((i, f) for i, f in found if i >= 0), default=(0, None))[1]


def _answer(generator, request: CompletionRequest) -> dict:
    """`choices` and `usage` of a request that does not stream (blocking)."""
    prompts, n = list(request.prompts), request.n
    ends = []  # (prompt, generated, finish_reason) per choice
    if request.mode == "line":
        for prompt in prompts:
            found = generator.complete(
                prompt,
                request.sampling,
                max_length=request.max_tokens,
                num_candidates=n,
                strict=True,
            )
            for completion in found if n > 1 else [found]:
                reason = "stop" if completion.finished else "length"
                ends.append((prompt, completion.text, reason))
    else:
        rows = generator.generate(
            prompts, request.max_tokens, request.sampling, num_samples=n
        )
        for prompt, texts in zip(prompts, rows, strict=True):
            for text in texts if n > 1 else [texts]:
                generated = text[len(prompt) :]
                ends.append((prompt, generated, _reason(generator, generated, request)))
    choices = [
        _choice(prompt + text if request.echo else text, index, reason)
        for index, (prompt, text, reason) in enumerate(ends)
    ]
    generated = sum(generator.length_of(text) for _, text, _ in ends)
    return {"choices": choices, "usage": _usage(generator, prompts, generated)}


def _stream(generator, request: CompletionRequest, head: dict, lock):
    """The server-sent events of a streamed completion: each piece as produced."""
    (prompt,) = request.prompts
    # Checks and encodes the prompt now (a bad one is a 400, before any event);
    # the engine is used only when the pieces are iterated, under the lock.
    pieces = generator.stream(prompt, request.max_tokens, request.sampling)

    def event(text=None, reason=None, **fields) -> str:
        if text is not None:
            fields["choices"] = [_choice(text, 0, reason)]
        return _event({**head, **fields})

    async def events():
        produced = []
        try:
            async with lock:
                if request.echo:
                    yield event(prompt)
                async for piece in iterate_in_threadpool(pieces):
                    produced.append(piece)
                    yield event(piece)
        except Exception:
            logger.exception("a streamed completion failed")
            error = {"message": SERVER_ERROR, "type": "server_error", "param": None}
            yield _event({"error": {**error, "code": None}})
            return
        generated = "".join(produced)
        yield event("", _reason(generator, generated, request))
        if request.include_usage:
            usage = _usage(generator, [prompt], generator.length_of(generated))
            yield event(choices=[], usage=usage)
        yield "data: [DONE]\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _event(data: dict) -> str:
    """One server-sent event of JSON data."""
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


def _choice(text: str, index: int, reason: str | None) -> dict:
    return {"text": text, "index": index, "logprobs": None, "finish_reason": reason}


def _reason(generator, generated: str, request: CompletionRequest) -> str:
    """The finish reason: "length" if the text reached `max_tokens`, else "stop"."""
    full = generator.length_of(generated) >= request.max_tokens
    return "length" if full else "stop"


def _usage(generator, prompts, generated: int) -> dict:
    prompt = sum(generator.length_of(p) for p in prompts)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": generated,
        "total_tokens": prompt + generated,
    }


class _Server(uvicorn.Server):
    """uvicorn's server, calling `on_listening()` once it accepts connections."""

    def __init__(self, config, on_listening=None):
        super().__init__(config)
        self.on_listening = on_listening

    async def startup(self, sockets=None):
        await super().startup(sockets)
        if self.started and self.on_listening is not None:
            self.on_listening()


def run_server(app, host: str = "127.0.0.1", port: int = 8000, on_listening=None):
    """Serves `app` on `host:port` until interrupted (Ctrl-C: a clean shutdown).

    Args:
        app: an ASGI app (`make_app`).
        host: str. The address to listen on; 127.0.0.1 is this machine only.
        port: int. The port; 0 picks a free one.
        on_listening: callable or None. Called with the URL once the server
            accepts connections.

    Raises:
        OSError if the address cannot be bound (e.g. the port is in use).

    Example:
    >>> run_server(make_app(generator), port=0, on_listening=print)
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host, port), family=family) as sock:
        bound = sock.getsockname()[1]
        url = f"http://{f'[{host}]' if ':' in host else host}:{bound}"
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, timeout_graceful_shutdown=5
        )
        listening = None if on_listening is None else (lambda: on_listening(url))
        _Server(config, listening).run(sockets=[sock])
