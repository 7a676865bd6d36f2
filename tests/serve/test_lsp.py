"""`charlstm lsp` over stdio, driven by a real LSP client (pytest-lsp's).

One server for the module (it starts in about a second); each test opens its
own documents. The last test shuts it down and checks that TensorFlow was never
imported. A malformed message is sent by a raw JSON-RPC client to a second
server (`python -m charlstm lsp`).
"""

import asyncio
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import charlstm
from charlstm.eval.dynamic import DynamicConfig, gradient_statistics, statistics_text
from charlstm.infer.adaptation import Adapter, AdaptiveCompleter
from charlstm.serve.settings import CompletionSettings
from tests.helpers import REPEATED, make_text

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The server's process, wrapped: at exit it writes its exit code and whether
# TensorFlow got imported.
SERVER = textwrap.dedent(
    """
    import sys
    from charlstm.cli import main
    code = main(["lsp", sys.argv[1]])
    with open(sys.argv[2], "w") as f:
        f.write(f"{code} {'tensorflow' in sys.modules}")
    """
)
SPACING = 128  # DocumentStates' default: characters between checkpoints
MAX_LENGTH = 20  # set through initializationOptions


@dataclass
class Server:
    client: LanguageClient
    initialized: types.InitializeResult
    report: Path


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(trained_run, tmp_path_factory):
    report = tmp_path_factory.mktemp("lsp") / "exit.txt"
    command = [sys.executable, "-c", SERVER, str(trained_run), str(report)]
    client = await ClientServerConfig(server_command=command).start()
    capabilities = client_capabilities("visual-studio-code")
    capabilities.text_document.inline_completion = (
        types.InlineCompletionClientCapabilities()
    )
    initialized = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            initialization_options={"charlstm": {"maxLength": MAX_LENGTH}},
        )
    )
    yield Server(client, initialized, report)
    if not report.exists():  # the shutdown test did not run
        await client.shutdown_session()
    await client.stop()


@pytest.fixture(scope="module")
def generator(trained_run):
    return charlstm.load(trained_run, engine="numpy")


def end_of(text):
    """The LSP position after `text` (ASCII)."""
    return types.Position(text.count("\n"), len(text) - text.rfind("\n") - 1)


def open_document(client, uri, text):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )


def insert(client, uri, version, position, text):
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(position, position), text=text
                )
            ],
        )
    )


def completion(client, uri, position, msg_id=None):
    return client.protocol.send_request_async(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionParams(types.TextDocumentIdentifier(uri), position),
        msg_id,
    )


async def sent(request):
    """The response of a request, sent now (pytest-lsp sends when awaited)."""
    task = asyncio.ensure_future(request)
    await asyncio.sleep(0)
    return task


async def stats(client, uri=None):
    found = await client.workspace_execute_command_async(
        types.ExecuteCommandParams("charlstm.stats")
    )
    return found if uri is None else found["documents"][uri]


def expected_items(generator, text, **kwargs):
    """The new text of each item: the word before the cursor + its ending."""
    word = re.search(r"\w*\Z", text).group()
    found = generator.complete(text, max_length=MAX_LENGTH, **kwargs)
    return [word + c.text for c in (found if isinstance(found, list) else [found])]


async def test_initialize_advertises_completion_inline_and_incremental_sync(server):
    capabilities = server.initialized.capabilities
    assert server.initialized.server_info.name == "charlstm"
    assert capabilities.completion_provider is not None
    assert " " in capabilities.completion_provider.trigger_characters
    assert capabilities.inline_completion_provider is not None
    sync = capabilities.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert "charlstm.stats" in capabilities.execute_command_provider.commands
    found = await stats(server.client)
    assert found["settings"] == {
        **CompletionSettings().to_dict(),
        "maxLength": MAX_LENGTH,
    }
    assert found["settings"]["dynamic"] is False and found["dynamic"] == "off"


async def test_typing_feeds_one_character_per_keystroke(server, generator):
    client, uri = server.client, "file:///typing.py"
    text = make_text(500, seed=4) + "head "
    open_document(client, uri, text)
    await completion(client, uri, end_of(text))
    assert (await stats(client, uri))["fed"] == len(text)
    for version, char in enumerate("bad ca", start=2):
        insert(client, uri, version, end_of(text), char)
        text += char
        result = await completion(client, uri, end_of(text))
        assert (await stats(client, uri))["fed"] == 1
    assert result.is_incomplete
    [item] = result.items
    [expected] = expected_items(generator, text)
    assert item.text_edit.new_text == expected and len(expected) > len("ca")
    assert item.label == expected
    start = end_of(text[: -len("ca")])  # the item replaces the word typed
    assert item.text_edit.range == types.Range(start, end_of(text))
    inline = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
            text_document=types.TextDocumentIdentifier(uri),
            position=end_of(text),
        )
    )
    assert [i.insert_text for i in inline.items] == [expected[len("ca") :]]
    assert inline.items[0].range == types.Range(end_of(text), end_of(text))
    assert (await stats(client, uri))["fed"] == 0  # the same text: nothing new


async def test_lines_end_only_where_lsp_ends_them(server, generator):
    """A form feed or U+2028 does not end a line for LSP (pygls's own split
    would say it does), and positions count UTF-16 units: an emoji is two."""
    client, uri = server.client, "file:///formfeed.py"
    text = "bad\x0c cafe\u2028 \U0001f600 fed\r\nhead "
    open_document(client, uri, text)
    typed = "beef ba"
    for version, char in enumerate(typed, start=2):  # after "head "
        insert(client, uri, version, types.Position(1, len("head ")), char)
    # The characters went in one by one at the same place: reversed.
    text += typed[::-1]
    emoji_line_end = types.Position(0, len("bad\x0c cafe\u2028 ") + 2 + len(" fed"))
    result = await completion(client, uri, emoji_line_end)
    cursor = text.index("\r\n")
    assert [i.text_edit.new_text for i in result.items] == expected_items(
        generator, text[:cursor]
    )
    result = await completion(client, uri, end_of(text.replace("\r\n", "\n")))
    assert [i.text_edit.new_text for i in result.items] == expected_items(
        generator, text
    )


async def test_an_edit_re_feeds_from_about_the_edit(server, generator):
    client, uri = server.client, "file:///edit.py"
    text = make_text(3000, seed=5)
    open_document(client, uri, text)
    await completion(client, uri, end_of(text))
    assert (await stats(client, uri))["fed"] == len(text)
    lines = text.split("\n")
    k = len(lines) // 2
    offset = sum(len(line) + 1 for line in lines[:k])
    insert(client, uri, 2, types.Position(k, 0), "bad ")
    text = text[:offset] + "bad " + text[offset:]
    cursor = offset + len("bad ")
    result = await completion(client, uri, end_of(text[:cursor]))
    fed = (await stats(client, uri))["fed"]
    assert 0 < fed <= SPACING + max(map(len, lines)) + len("bad ")
    new_text = [item.text_edit.new_text for item in result.items]
    assert new_text == expected_items(generator, text[:cursor])
    result = await completion(client, uri, end_of(text))
    assert (await stats(client, uri))["fed"] == len(text) - cursor
    new_text = [item.text_edit.new_text for item in result.items]
    assert new_text == expected_items(generator, text)


async def test_an_overtaken_request_returns_nothing_and_costs_no_model_time(server):
    client = server.client
    busy, uri, text = "file:///busy1.py", "file:///overtaken.py", "bad cafe he"
    busy_text = make_text(20_000, seed=6)  # keeps the model busy meanwhile
    open_document(client, busy, busy_text)
    open_document(client, uri, text)
    # Sent back to back: both wait for the model, and when the first one's turn
    # comes, the second one has made it stale.
    waits = [await sent(completion(client, busy, end_of(busy_text)))]
    waits += [await sent(completion(client, uri, end_of(text))) for _ in range(2)]
    _, first, second = await asyncio.gather(*waits)
    assert list(first.items) == [] and first.is_incomplete
    assert len(second.items) == 1
    counts = await stats(client, uri)
    assert (counts["completions"], counts["dropped"]) == (1, 1)
    assert counts["fed_total"] == len(text)  # the model read the text once


async def test_a_cancelled_request_costs_no_model_time(server):
    client = server.client
    busy, uri, text = "file:///busy2.py", "file:///cancelled.py", "bad cafe he"
    busy_text = make_text(20_000, seed=7)
    open_document(client, busy, busy_text)
    open_document(client, uri, text)
    waiting = await sent(completion(client, busy, end_of(busy_text)))
    cancelled = await sent(completion(client, uri, end_of(text), "cancel-me"))
    client.cancel_request(types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcRequestCancelled):
        await cancelled
    await waiting
    counts = await stats(client, uri)
    assert (counts["completions"], counts["cancelled"]) == (0, 1)
    assert len((await completion(client, uri, end_of(text))).items) == 1


async def test_settings_change_and_bad_values_are_refused(server, generator):
    client, uri = server.client, "file:///settings.py"
    text = "head bad\nbad ca"
    open_document(client, uri, text)

    def configure(settings):
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"charlstm": settings})
        )

    configure({"candidates": 3})
    result = await completion(client, uri, end_of(text))
    new_text = [item.text_edit.new_text for item in result.items]
    assert new_text == expected_items(generator, text, num_candidates=3)
    assert len(new_text) == 3
    assert [item.sort_text for item in result.items] == ["00", "01", "02"]
    for bad in ({"candidates": "many"}, {"maxLength": 0}, {"colour": "red"}):
        configure({**bad, "mode": "paragraph"})
        message = await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
        assert message.type == types.MessageType.Error
        assert next(iter(bad)) in message.message
    settings = (await stats(client))["settings"]
    assert (settings["candidates"], settings["mode"]) == (3, "line")  # kept
    configure({"candidates": None, "mode": "paragraph"})  # None: the default
    result = await completion(client, uri, end_of(text))
    new_text = [item.text_edit.new_text for item in result.items]
    assert new_text == expected_items(generator, text, multiline=True)
    configure({"mode": "line"})
    assert (await stats(client))["settings"]["mode"] == "line"


async def test_shutdown_is_clean_and_tensorflow_was_never_imported(server):
    await server.client.shutdown_session()
    assert server.report.read_text() == "0 False"


# A server that knows its run's directory (whose corpus gives the rms rule's
# statistics), with dynamic evaluation on from the start.
DYNAMIC_SERVER = textwrap.dedent(
    """
    import sys
    import charlstm
    from charlstm.serve.lsp import serve
    serve(charlstm.load(sys.argv[1], engine="numpy"), run_dir=sys.argv[1])
    with open(sys.argv[2], "w") as f:
        f.write(f"0 {'tensorflow' in sys.modules}")
    """
)
SEGMENT = DynamicConfig().segment_length


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def dynamic_server(lstm_run, dynamic_step, tmp_path_factory):
    """The server with `dynamic` on, on the LSTM run (tests/conftest.py), at the
    rms rule's step `dynamic_step`."""
    learning = {"dynamic": True, "learningRate": dynamic_step}
    learning["statisticsBatchSize"] = 10
    report = tmp_path_factory.mktemp("lsp") / "exit.txt"
    command = [sys.executable, "-c", DYNAMIC_SERVER, str(lstm_run), str(report)]
    client = await ClientServerConfig(server_command=command).start()
    initialized = await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"charlstm": {"maxLength": MAX_LENGTH, **learning}},
        )
    )
    yield Server(client, initialized, report)
    if not report.exists():
        await client.shutdown_session()
    await client.stop()


async def learned(client, uri, position, seconds=30):
    """The document's counts once it has learned up to `position`."""
    for _ in range(int(seconds / 0.02)):
        counts = await stats(client, uri)
        if counts["learned"] == position:
            return counts
        await asyncio.sleep(0.02)
    raise AssertionError(f"learned {counts['learned']}, not {position}")


def whole_segments(text):
    """How far dynamic evaluation learns `text`: whole segments and the id after."""
    return (len(text) - 1) // SEGMENT * SEGMENT


async def test_dynamic_learns_the_document_as_the_user_types(
    dynamic_server, lstm_run, dynamic_step
):
    generator = charlstm.load(lstm_run, engine="numpy")
    client, uri = dynamic_server.client, "file:///dynamic.py"
    for _ in range(500):  # the gradient statistics are measured first
        if (await stats(client))["dynamic"] == "on":
            break
        await asyncio.sleep(0.02)
    assert (await stats(client))["dynamic"] == "on"
    text = REPEATED + "head g"
    open_document(client, uri, text)
    first = await completion(client, uri, end_of(text))  # with θ_0
    assert [i.text_edit.new_text for i in first.items] == expected_items(
        generator, text
    )
    assert not first.items[0].text_edit.new_text.startswith("gagb")
    counts = await learned(client, uri, whole_segments(text))
    first_updates = counts["updates"]
    assert first_updates == whole_segments(text) // SEGMENT
    result = await completion(client, uri, end_of(text))
    assert counts["fed"] == len(text) and (await stats(client, uri))["fed"] == (
        len(text) - whole_segments(text)  # from the adaptation's latest state
    )
    config = DynamicConfig(learning_rate=dynamic_step, statistics_batch_size=10)
    ms = gradient_statistics(generator, statistics_text(lstm_run)[0], config)
    expected = AdaptiveCompleter(Adapter(generator, config, ms)).complete(
        text, max_length=MAX_LENGTH
    )
    [item] = result.items
    assert item.text_edit.new_text == "g" + expected.text
    assert item.text_edit.new_text.startswith("gagbe")
    # Typing on: each segment is learned once, and a keystroke reads one
    # character, or after an update all from the adaptation's latest state.
    updated, last = False, counts["learned"]
    for version, char in enumerate("agbeef\nhead bad cafe", start=2):
        insert(client, uri, version, end_of(text), char)
        text += char
        await completion(client, uri, end_of(text))
        counts = await learned(client, uri, whole_segments(text))
        assert counts["updates"] == whole_segments(text) // SEGMENT
        assert counts["fed"] == (len(text) - last if updated else 1)
        updated, last = counts["learned"] != last, counts["learned"]
    assert counts["updates"] > first_updates


async def test_dynamic_an_edit_before_the_learned_point_learns_again_from_it(
    dynamic_server,
):
    client, uri = dynamic_server.client, "file:///dynamic_edit.py"
    text = make_text(1000, seed=8)
    open_document(client, uri, text)
    await completion(client, uri, end_of(text))
    before = await learned(client, uri, whole_segments(text))
    insert(client, uri, 2, types.Position(0, 0), "beef\n")  # at the very start
    text = "beef\n" + text
    result = await completion(client, uri, end_of(text[:20]))  # at the edit
    assert result.items
    result = await completion(client, uri, end_of(text))
    after = await learned(client, uri, whole_segments(text))
    # The weights were kept, and the text learned again from its start.
    assert after["updates"] == before["updates"] + whole_segments(text) // SEGMENT


async def test_dynamic_bad_settings_are_refused(dynamic_server, dynamic_step):
    client = dynamic_server.client
    for bad in ({"learningRate": -1}, {"dynamic": "yes"}, {"segmentLength": 0}):
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"charlstm": bad})
        )
        message = await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
        assert message.type == types.MessageType.Error
        assert next(iter(bad)) in message.message
    found = await stats(client)
    assert found["settings"]["learningRate"] == dynamic_step
    assert found["dynamic"] == "on"


async def test_dynamic_server_never_imported_tensorflow(dynamic_server):
    await dynamic_server.client.shutdown_session()
    assert dynamic_server.report.read_text() == "0 False"


class RawClient:
    """JSON-RPC over a server's stdin/stdout, with no checks of what is sent."""

    def __init__(self, process):
        self.process = process

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def answer(self, request_id) -> dict:
        """The response to `request_id` (notifications on the way are skipped)."""
        return await asyncio.wait_for(self._answer(request_id), 10)

    async def _answer(self, request_id) -> dict:
        while True:
            length = None
            while (line := await self.process.stdout.readline()).strip():
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(await self.process.stdout.readexactly(length))
            if message.get("id") == request_id and "method" not in message:
                return message


async def test_a_malformed_request_gets_an_error_and_the_server_goes_on(
    trained_run,
):
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "charlstm", "lsp", str(trained_run)],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    raw = RawClient(process)
    raw.send({"id": 1, "method": "initialize", "params": {"capabilities": {}}})
    assert "capabilities" in (await raw.answer(1))["result"]
    raw.send({"method": "initialized", "params": {}})
    uri = "file:///raw.py"
    document = {"uri": uri, "languageId": "python", "version": 1, "text": "bad ca"}
    raw.send({"method": "textDocument/didOpen", "params": {"textDocument": document}})
    bad = {"textDocument": {"uri": uri}, "position": {"line": "one"}}
    raw.send({"id": 2, "method": "textDocument/completion", "params": bad})
    error = (await raw.answer(2))["error"]
    assert error["code"] == -32602 and "position" in error["message"]
    good = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 6}}
    raw.send({"id": 3, "method": "textDocument/completion", "params": good})
    assert (await raw.answer(3))["result"]["items"]
    raw.send({"id": 4, "method": "shutdown"})
    assert (await raw.answer(4))["result"] is None
    raw.send({"method": "exit"})
    assert await asyncio.wait_for(process.wait(), 10) == 0
