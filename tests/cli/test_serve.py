"""`charlstm serve` as a user runs it: a real process on 127.0.0.1, its one
line, no TensorFlow for an LSTM run, Ctrl-C, and its one-line errors."""

import re
import signal
import socket
import subprocess
import sys
import textwrap

import pytest
import requests

import charlstm
from charlstm.cli import main


def start(*argv, before: str = "") -> subprocess.Popen:
    """`charlstm` in a fresh interpreter; it reports its exit status and whether
    TensorFlow got in as the last line of stderr. `before` runs first."""
    script = textwrap.dedent(
        f"""
        import sys
        {before}
        from charlstm.cli import main
        code = main({list(map(str, argv))!r})
        sys.stderr.write(f"\\n{{code}} {{'tensorflow' in sys.modules}}")
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serves_on_127_0_0_1_without_tensorflow_until_ctrl_c(trained_run):
    server = start("serve", trained_run, "--port", "0")
    try:
        line = server.stderr.readline()
        found = re.fullmatch(
            r"charlstm: serving (.+) on http://127\.0\.0\.1:(\d+)\n", line
        )
        assert found, line
        assert found[1] == str(trained_run)
        url = f"http://127.0.0.1:{found[2]}"
        health = requests.get(f"{url}/health", timeout=10).json()
        assert (health["model"], health["engine"]) == (trained_run.name, "numpy")
        body = {"prompt": "head ", "max_tokens": 30, "seed": 2, "temperature": 0.5}
        answer = requests.post(f"{url}/v1/completions", json=body, timeout=30)
        generated = charlstm.load(trained_run).generate(
            "head ", 30, temperature=0.5, random_seed=2
        )
        assert answer.json()["choices"][0]["text"] == generated[len("head ") :]
        # Bound to 127.0.0.1 only: another loopback address is refused.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", int(found[2])), timeout=5)
        server.send_signal(signal.SIGINT)
        _, rest = server.communicate(timeout=30)
    finally:
        server.kill()
    code, tensorflow = rest.split()[-2:]
    assert code in ("0", "130") and server.returncode == 0, rest
    assert tensorflow == "False"
    assert "Traceback" not in rest and "ERROR" not in rest


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("charlstm: error: ")
    return err


def test_a_missing_run_directory_is_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing")]) == 2
    one_line_error(capsys)


def test_a_port_in_use_is_one_line(trained_run, capsys):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", str(trained_run), "--port", str(port)]) == 2
    assert "in use" in one_line_error(capsys)


def test_a_port_out_of_range_is_a_usage_error(trained_run, capsys):
    assert main(["serve", str(trained_run), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_without_the_serve_extra_the_error_names_it(trained_run):
    process = start("serve", trained_run, before="sys.modules['uvicorn'] = None")
    _, err = process.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line]
    assert lines[:-1] == [
        "charlstm: error: charlstm serve needs starlette and uvicorn: "
        "pip install 'charlstm[serve]'"
    ]
    assert lines[-1].split() == ["2", "False"]
