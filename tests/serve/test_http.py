"""`charlstm serve`'s HTTP API on a real server: OpenAI's completion shape,
streaming as the text is produced, line mode, bounds and errors."""

import itertools
import json
import logging
import threading
import time

import pytest
import requests

import charlstm
from charlstm.serve.http import make_app
from tests.serve_helpers import Endless, Gate, events, serving


@pytest.fixture(scope="module")
def url(trained_run):
    app = make_app(charlstm.load(trained_run), model="tiny", backend="lstm")
    with serving(app) as address:
        yield address


@pytest.fixture(scope="module")
def expected(trained_run):
    """Another generator of the same run: what the server must answer."""
    return charlstm.load(trained_run)


def post(url, body, **kwargs) -> requests.Response:
    return requests.post(f"{url}/v1/completions", json=body, timeout=30, **kwargs)


def texts(response) -> list:
    assert response.status_code == 200, response.text
    return [choice["text"] for choice in response.json()["choices"]]


def test_health_names_the_model_backend_and_engine(url):
    health = requests.get(f"{url}/health", timeout=10).json()
    assert health == {
        "status": "ok",
        "model": "tiny",
        "backend": "lstm",
        "engine": "numpy",
    }
    models = requests.get(f"{url}/v1/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == ["tiny"]


def test_a_completion_is_generate_s_text_after_the_prompt(url, expected):
    body = {"prompt": "head ", "max_tokens": 40, "temperature": 0.8, "seed": 3}
    answer = post(url, {**body, "model": "anything"}).json()
    generated = expected.generate("head ", 40, temperature=0.8, random_seed=3)
    assert answer["choices"] == [
        {
            "text": generated[len("head ") :],
            "index": 0,
            "logprobs": None,
            "finish_reason": "length",
        }
    ]
    assert answer["id"].startswith("cmpl-") and answer["object"] == "text_completion"
    assert answer["model"] == "tiny" and abs(answer["created"] - time.time()) < 60
    assert answer["usage"] == {
        "prompt_tokens": 5,
        "completion_tokens": 40,
        "total_tokens": 45,
    }


def test_n_samples_of_several_prompts(url, expected):
    body = {"prompt": ["head ", "bad "], "n": 3, "max_tokens": 20, "seed": 5}
    answer = post(url, {**body, "temperature": 1}).json()
    rows = expected.generate(
        ["head ", "bad "], 20, num_samples=3, temperature=1.0, random_seed=5
    )
    wanted = [
        text[len(p) :]
        for p, group in zip(["head ", "bad "], rows, strict=True)
        for text in group
    ]
    assert [c["text"] for c in answer["choices"]] == wanted
    assert [c["index"] for c in answer["choices"]] == list(range(6))
    assert len(set(wanted)) > 1  # samples, not one text six times
    assert answer["usage"]["prompt_tokens"] == 9
    assert answer["usage"]["completion_tokens"] == 120


def test_stop_strings_end_a_choice(url, expected):
    body = {"prompt": "head ", "max_tokens": 200, "seed": 1, "n": 4}
    answer = post(url, {**body, "stop": ["\n", "a"], "temperature": 0.9}).json()
    rows = expected.generate(
        "head ", 200, num_samples=4, temperature=0.9, random_seed=1, stop=["\n", "a"]
    )
    assert [c["text"] for c in answer["choices"]] == [r[len("head ") :] for r in rows]
    for choice in answer["choices"]:
        assert "\n" not in choice["text"] and "a" not in choice["text"]
        assert choice["finish_reason"] == "stop"
    echo = post(url, {**body, "stop": "a", "echo": True, "n": 1})
    assert texts(echo)[0].startswith("head ")


@pytest.mark.parametrize("stop", [None, "\n"])
def test_streaming_joins_to_the_text_of_the_same_request(url, stop):
    body = {"prompt": "bad ", "max_tokens": 60, "seed": 7, "temperature": 0.9}
    body["stop"] = stop
    whole = post(url, body).json()["choices"][0]
    with post(url, {**body, "stream": True}, stream=True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = events(response)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    pieces = [c["choices"][0]["text"] for c in chunks]
    assert len([p for p in pieces if p]) >= 5  # pieces, as they were produced
    assert "".join(pieces) == whole["text"]
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["finish_reason"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["object"] == "text_completion" for c in chunks)


def test_stream_options_add_usage_before_done(url):
    body = {"prompt": "bad ", "max_tokens": 12, "stream": True}
    body["stream_options"] = {"include_usage": True}
    with post(url, body, stream=True) as response:
        data = events(response)
    last = json.loads(data[-2])
    assert last["choices"] == [] and data[-1] == "[DONE]"
    assert last["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 12,
        "total_tokens": 16,
    }


def test_line_mode_completes_the_last_line(url, expected):
    prompt = "bad\nhead b"
    answer = post(url, {"prompt": prompt, "mode": "line", "max_tokens": 30}).json()
    best = expected.complete(prompt, max_length=30)
    assert answer["choices"][0]["text"] == best.text
    assert answer["choices"][0]["finish_reason"] == (
        "stop" if best.finished else "length"
    )
    body = {"prompt": prompt, "mode": "line", "n": 2, "temperature": 0.7, "seed": 4}
    sampled = expected.complete(
        prompt, max_length=80, num_candidates=2, temperature=0.7, random_seed=4
    )
    assert texts(post(url, body)) == [c.text for c in sampled]
    assert all("\n" not in text for text in texts(post(url, body)))


def test_line_mode_needs_an_lstm_run():
    with serving(make_app(Gate(), backend="gpt2")) as address:
        response = post(address, {"prompt": "def f", "mode": "line"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "mode" and "LSTM" in error["message"]


BAD_REQUESTS = [
    ({}, "prompt"),
    ({"prompt": 3}, "prompt"),
    ({"prompt": [1, 2]}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "a" * 100_001}, "prompt"),
    ({"prompt": ["a"] * 9}, "prompt"),
    ({"prompt": "head", "temprature": 1}, "temprature"),
    ({"prompt": "head", "temperature": "hot"}, "temperature"),
    ({"prompt": "head", "temperature": 2.5}, "temperature"),
    ({"prompt": "head", "max_tokens": 4097}, "max_tokens"),
    ({"prompt": "head", "max_tokens": 1.5}, "max_tokens"),
    ({"prompt": "head", "n": 9}, "n"),
    ({"prompt": "head", "n": 0}, "n"),
    ({"prompt": "head", "top_p": 0}, "top_p"),
    ({"prompt": "head", "top_k": 0}, "top_k"),
    ({"prompt": "head", "stop": list("abcdefgh ijklmnopq")}, "stop"),
    ({"prompt": "head", "stop": ""}, "stop"),
    ({"prompt": "head", "stop": 5}, "stop"),
    ({"prompt": "head", "seed": -1}, "seed"),
    ({"prompt": "head", "seed": True}, "seed"),
    ({"prompt": "head", "stream": "yes"}, "stream"),
    ({"prompt": "head", "stream": True, "n": 2}, "n"),
    ({"prompt": ["a", "b"], "stream": True}, "prompt"),
    ({"prompt": "head", "stream_options": {"include_usage": True}}, "stream_options"),
    ({"prompt": "head", "logprobs": 5}, "logprobs"),
    ({"prompt": "head", "suffix": "x"}, "suffix"),
    ({"prompt": "head", "presence_penalty": 0.5}, "presence_penalty"),
    ({"prompt": "head", "model": 7}, "model"),
    ({"prompt": "head", "mode": "word"}, "mode"),
    ({"prompt": "head", "mode": "line", "stream": True}, "stream"),
    ({"prompt": "head", "mode": "line", "stop": "\n"}, "stop"),
    ({"prompt": "head", "mode": "line", "max_tokens": 0}, "max_tokens"),
]


@pytest.mark.parametrize("body, param", BAD_REQUESTS)
def test_a_bad_request_is_a_400_naming_the_field(url, body, param):
    response = post(url, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert f"`{param}`" in error["message"] and len(error["message"]) < 400


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(url, raw):
    response = requests.post(f"{url}/v1/completions", data=raw, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_openai_fields_at_their_neutral_values_are_accepted(url):
    neutral = {"logprobs": None, "best_of": 1, "presence_penalty": 0}
    neutral |= {"frequency_penalty": 0.0, "logit_bias": {}, "suffix": "", "user": "u"}
    response = post(url, {"prompt": "head ", "max_tokens": 3, **neutral})
    assert len(texts(response)[0]) == 3


def test_a_body_too_large_is_a_413(url):
    body = b'{"prompt": "' + b"a" * (1 << 20) + b'"}'
    response = requests.post(f"{url}/v1/completions", data=body, timeout=10)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"
    chunked = requests.post(  # no Content-Length: counted as it arrives
        f"{url}/v1/completions", data=iter([body[:600_000], body[600_000:]]), timeout=10
    )
    assert chunked.status_code == 413


def test_unknown_paths_and_methods_are_json_errors(url):
    missing = requests.get(f"{url}/v1/nothing", timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = requests.get(f"{url}/v1/completions", timeout=10)
    assert wrong.status_code == 405 and "error" in wrong.json()
    assert wrong.headers["allow"] == "POST"


def test_the_playground_is_the_root_page_without_external_resources(url):
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith(
        "text/html"
    )
    assert "<textarea" in page.text and "/v1/completions" in page.text
    assert "http://" not in page.text and "https://" not in page.text


def test_a_failure_is_a_500_json_error_with_its_traceback_logged(caplog):
    caplog.set_level(logging.ERROR, logger="charlstm.serve")
    with serving(make_app(Gate(fail=True))) as address:
        response = post(address, {"prompt": "x"})
        with post(address, {"prompt": "x", "stream": True}, stream=True) as streamed:
            data = events(streamed)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "a bug" not in response.text  # the details are in the log only
    # The stream had begun: its first piece, then an error event and no [DONE].
    assert json.loads(data[0])["choices"][0]["text"] == "a"
    assert json.loads(data[-1])["error"]["type"] == "server_error"
    failures = [r for r in caplog.records if r.name == "charlstm.serve"]
    assert len(failures) == 2
    assert all(isinstance(r.exc_info[1], RuntimeError) for r in failures)


def test_text_streams_while_generating_and_one_generation_runs_at_a_time():
    gate = Gate()
    with serving(make_app(gate)) as address:
        with post(address, {"prompt": "x", "stream": True}, stream=True) as streamed:
            lines = streamed.iter_lines(decode_unicode=True)
            first = next(line for line in lines if line.startswith("data: "))
            # The first piece arrived while the generator waits for the gate.
            assert json.loads(first[6:])["choices"][0]["text"] == "a"
            # The event loop is free: /health answers at once ...
            health = requests.get(f"{address}/health", timeout=2)
            assert health.json()["engine"] == "test"
            # ... but another generation waits for this one.
            second = {}
            other = threading.Thread(
                target=lambda: second.update(r=post(address, {"prompt": "y"}))
            )
            other.start()
            other.join(0.5)
            assert "r" not in second
            gate.released.set()
            rest = [line[6:] for line in lines if line.startswith("data: ")]
        other.join(10)
    assert json.loads(rest[0])["choices"][0]["text"] == "b"
    assert rest[-1] == "[DONE]"
    assert texts(second["r"]) == ["x" * 16]


def test_concurrent_requests_each_get_their_own_text(url, expected):
    def body(seed):
        return {"prompt": "head ", "max_tokens": 300, "seed": seed, "temperature": 1}

    answers = {}

    def ask(seed):
        if seed % 2:
            with post(url, {**body(seed), "stream": True}, stream=True) as response:
                pieces = [json.loads(d) for d in events(response)[:-1]]
            answers[seed] = "".join(p["choices"][0]["text"] for p in pieces)
        else:
            answers[seed] = texts(post(url, body(seed)))[0]

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for seed in range(6):
        text = expected.generate("head ", 300, temperature=1.0, random_seed=seed)
        assert answers[seed] == text[len("head ") :], seed


def test_a_client_that_disconnects_stops_its_generation():
    endless = Endless()
    with serving(make_app(endless)) as address:
        body = {"prompt": "x", "stream": True, "max_tokens": 4096}
        with post(address, body, stream=True) as streamed:
            lines = streamed.iter_lines(decode_unicode=True)
            assert len(list(itertools.islice(lines, 10))) == 10
        time.sleep(0.3)
        produced = endless.produced
        time.sleep(0.3)
        assert endless.produced == produced < 4096
        # The lock is free again.
        assert texts(post(address, {"prompt": "x", "max_tokens": 2})) == ["yy"]
