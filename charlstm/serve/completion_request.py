"""The body of `POST /v1/completions`: OpenAI's completion request, checked.

Every field is checked before any generation starts, and a mistake is a
`RequestError` naming the field (OpenAI's `param`) and echoing the value. The
rules:

- `prompt` is required: a string or a list of at most `max_prompts` strings,
  `max_prompt_characters` characters in all.
- `null` is the same as leaving a field out. `model` and `user` are any
  strings, and ignored: the answer's `model` is the run's name.
- OpenAI's own fields that charlstm does not implement are accepted at their
  neutral value only (`logprobs: null`, `best_of: 1`, `presence_penalty: 0`,
  `suffix: ""`, ...); any other value, and any field OpenAI does not have
  either (a misspelt `temprature`), is refused, as OpenAI refuses arguments it
  does not know.
- Extensions: `top_k`, and `mode`: "text" (the default) generates, "line"
  completes the prompt's last line (`Generator.complete`, LSTM runs only).
- Defaults: OpenAI's for "text" (`max_tokens` 16, `temperature` 1); for
  "line", `charlstm complete`'s (`max_tokens` 80, `temperature` 0: beam search).
- A stream has one prompt and `n` 1; "line" mode neither streams nor stops at
  stop strings (it ends at the newline).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from charlstm.infer.sampling import Sampling
from charlstm.utils.checks import InputError

MODES = ("text", "line")
# Fields of OpenAI's request that are accepted at these values only.
NEUTRAL = {
    "logprobs": (None,),
    "best_of": (None, 1),
    "presence_penalty": (None, 0),
    "frequency_penalty": (None, 0),
    "logit_bias": (None, {}),
    "suffix": (None, ""),
}
FIELDS = (
    "prompt",
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "n",
    "stop",
    "stream",
    "stream_options",
    "seed",
    "echo",
    "user",
    "mode",
    *NEUTRAL,
)
# Per mode: (max_tokens, temperature) when the request gives none.
DEFAULTS = {"text": (16, 1.0), "line": (80, 0.0)}


class RequestError(InputError):
    """A bad request: the message, the field at fault (`param`) and the HTTP
    status (400, or 413 for a body too large)."""

    def __init__(self, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.param = param
        self.status = status


@dataclass(frozen=True)
class Limits:
    """How large a request may be; larger is refused before generating."""

    max_body_bytes: int = 1 << 20  # the request body (413 above)
    max_prompts: int = 8  # strings in a list `prompt`
    max_prompt_characters: int = 100_000  # characters of all prompts together
    max_tokens: int = 4096  # characters generated (tokens in word mode)
    max_n: int = 8  # samples (line mode: candidates) per prompt
    max_stops: int = 16  # stop strings (OpenAI's 4 is too few for editors)
    max_stop_characters: int = 256  # characters of one stop string


@dataclass(frozen=True)
class CompletionRequest:
    """A checked completion request."""

    prompts: tuple[str, ...]  # one or more prompts, as given
    max_tokens: int  # characters to generate (tokens in word mode)
    sampling: Sampling  # temperature, top-k, top-p, seed, stop strings
    n: int = 1  # samples (candidates in line mode) per prompt
    stream: bool = False  # server-sent events as the text is produced
    include_usage: bool = False  # a last event with `usage` (stream_options)
    echo: bool = False  # each choice's text starts with its prompt
    mode: str = "text"  # "text": generate; "line": complete the last line


def parse_request(body, limits: Limits | None = None) -> CompletionRequest:
    """Checks a decoded JSON body and returns the request it makes.

    Args:
        body: the decoded JSON of the request.
        limits: Limits or None. The bounds (default: `Limits()`).

    Raises:
        RequestError naming the field at fault.

    Example:
    >>> parse_request({"prompt": "def ", "max_tokens": 40, "seed": 1}).sampling
    Sampling(temperature=1.0, top_k=None, top_p=None, random_seed=1, stop=())
    """
    limits = limits or Limits()
    if not isinstance(body, dict):
        raise RequestError(
            f"the request body must be a JSON object. Received: {type(body).__name__}"
        )
    for name in body:
        if name not in FIELDS:
            raise RequestError(
                f"`{name}` is not a field of a completion request (the fields: "
                f"{', '.join(FIELDS)}). Received: {name}={_short(body[name])}",
                name,
            )
    fields = {name: value for name, value in body.items() if value is not None}
    for name, allowed in NEUTRAL.items():
        if name in fields and not any(_same(fields[name], a) for a in allowed):
            neutral = " or ".join(json.dumps(a) for a in allowed)
            raise RequestError(
                f"`{name}` is not supported by charlstm; leave it out or give "
                f"{neutral}. Received: {name}={_short(fields[name])}",
                name,
            )
    mode = fields.get("mode", "text")
    if mode not in MODES:
        raise RequestError(
            f"`mode` must be one of {MODES}. Received: mode={_short(mode)}", "mode"
        )
    prompts = _prompts(fields.get("prompt"), limits)
    default_tokens, default_temperature = DEFAULTS[mode]
    least = 1 if mode == "line" else 0  # a line completion has a character
    max_tokens = _integer(
        fields, "max_tokens", default_tokens, least, limits.max_tokens
    )
    n = _integer(fields, "n", 1, 1, limits.max_n)
    top_k = _integer(fields, "top_k", None, 1, None)
    temperature = _number(fields, "temperature", default_temperature, 0, 2)
    top_p = _number(fields, "top_p", None, 0, 1, open_low=True)
    seed = _integer(fields, "seed", None, 0, 2**64 - 1)
    stream = _boolean(fields, "stream")
    echo = _boolean(fields, "echo")
    include_usage = _stream_options(fields.get("stream_options"), stream)
    stops = _stops(fields.get("stop"), limits)
    for name in ("model", "user"):
        if name in fields and not isinstance(fields[name], str):
            raise RequestError(
                f"`{name}` must be a string. Received: {name}={_short(fields[name])}",
                name,
            )
    if stream and len(prompts) > 1:
        raise RequestError(
            "`prompt` must be one string when `stream` is true. Received: "
            f"{len(prompts)} prompts",
            "prompt",
        )
    if stream and n > 1:
        raise RequestError(f"`n` must be 1 when `stream` is true. Received: n={n}", "n")
    if mode == "line":
        for name, given in (("stream", stream), ("stop", stops), ("echo", echo)):
            if given:
                raise RequestError(
                    f"`{name}` is not available in line mode, which completes "
                    f"the line up to its newline. Received: {name}="
                    f"{_short(fields[name])}",
                    name,
                )
    sampling = Sampling(
        temperature=temperature, top_k=top_k, top_p=top_p, random_seed=seed, stop=stops
    )
    return CompletionRequest(
        prompts, max_tokens, sampling, n, stream, include_usage, echo, mode
    )


def _same(value, allowed) -> bool:
    """`value == allowed` without counting True as 1."""
    return type(value) is not bool and value == allowed


def _prompts(prompt, limits: Limits) -> tuple[str, ...]:
    if prompt is None:
        raise RequestError("`prompt` is required: the text to continue", "prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise RequestError(
            "`prompt` must be a string or a list of strings (token ids are not "
            f"supported). Received: prompt={_short(prompt)}",
            "prompt",
        )
    if not 1 <= len(prompts) <= limits.max_prompts:
        raise RequestError(
            f"`prompt` must be a list of 1 to {limits.max_prompts} strings. "
            f"Received: {len(prompts)} strings",
            "prompt",
        )
    if not all(prompts):
        raise RequestError(
            "`prompt` must not be empty: the model continues from its text. "
            f"Received: prompt={_short(prompt)}",
            "prompt",
        )
    total = sum(map(len, prompts))
    if total > limits.max_prompt_characters:
        raise RequestError(
            f"`prompt` must be at most {limits.max_prompt_characters:,} characters "
            f"in all. Received: {total:,} characters",
            "prompt",
        )
    return tuple(prompts)


def _integer(fields, name, default, low, high):
    if name not in fields:
        return default
    value = fields[name]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(
            f"`{name}` must be an integer. Received: {name}={_short(value)}", name
        )
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"from {low} to {high}"
        raise RequestError(
            f"`{name}` must be an integer {bounds}. Received: {name}={value}", name
        )
    return value


def _number(fields, name, default, low, high, open_low=False):
    if name not in fields:
        return default
    value = fields[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value > high
        or value < low
        or (open_low and value == low)
    ):
        bounds = f"in ({low}, {high}]" if open_low else f"from {low} to {high}"
        raise RequestError(
            f"`{name}` must be a number {bounds}. Received: {name}={_short(value)}",
            name,
        )
    return float(value)


def _boolean(fields, name) -> bool:
    value = fields.get(name, False)
    if not isinstance(value, bool):
        raise RequestError(
            f"`{name}` must be true or false. Received: {name}={_short(value)}", name
        )
    return value


def _stream_options(options, stream: bool) -> bool:
    """`stream_options.include_usage`; the options need `stream`."""
    if options is None:
        return False
    if not stream:
        raise RequestError(
            "`stream_options` needs `stream` to be true. Received: "
            f"stream_options={_short(options)}",
            "stream_options",
        )
    if not isinstance(options, dict) or set(options) - {"include_usage"}:
        raise RequestError(
            '`stream_options` must be {"include_usage": true or false}. Received: '
            f"stream_options={_short(options)}",
            "stream_options",
        )
    return _boolean(options, "include_usage")


def _stops(stop, limits: Limits) -> tuple[str, ...]:
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if (
        not isinstance(stops, list)
        or not all(isinstance(s, str) and 0 < len(s) for s in stops)
        or not all(len(s) <= limits.max_stop_characters for s in stops)
        or len(stops) > limits.max_stops
    ):
        raise RequestError(
            f"`stop` must be a string or a list of at most {limits.max_stops} "
            f"strings, each of 1 to {limits.max_stop_characters} characters. "
            f"Received: stop={_short(stop)}",
            "stop",
        )
    return tuple(stops)


def _short(value, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (a request may be a megabyte)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
