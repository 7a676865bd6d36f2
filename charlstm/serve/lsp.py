"""`charlstm lsp`: a Language Server Protocol server that completes as you type.

Features (pygls 2, LSP 3.18):

- `textDocument/completion`: items that finish the current line (or, in mode
  "paragraph", the block up to a blank line), most likely first. Each replaces
  the word before the cursor with that word and its ending, so editors filter
  them as they filter any completion; the list is marked incomplete, so the
  editor asks again as the user types.
- `textDocument/inlineCompletion`: the same endings as ghost text, inserted at
  the cursor.
- Incremental document sync. The text before the cursor warms the model; each
  open document keeps its own warmed states (`DocumentStates`), so typing one
  more character feeds one character and an edit re-feeds from about the edit.
- One model, one completion at a time (`CompletionQueue`): a request that a
  newer one for the same document overtakes, or that `$/cancelRequest`
  cancels, is answered with nothing and costs no model time.
- Settings (section "charlstm") from `initializationOptions` and
  `workspace/didChangeConfiguration`: `temperature`, `candidates`,
  `maxLength`, `mode`, and `dynamic` with `DynamicConfig`'s fields in
  camelCase (`learningRate`, ...): each document's weights learn its text
  (dynamic evaluation, `charlstm.serve.documents`). A bad value is shown to
  the user (`window/showMessage`) and the settings stay as they were.
- A request whose params do not parse gets an InvalidParams error; the server
  goes on.
- `workspace/executeCommand` "charlstm.stats": counts per open document (model
  runs, dropped and cancelled requests, characters fed, characters learned),
  the settings, and whether dynamic evaluation is on.

Runs the numpy engine; never imports TensorFlow.
"""

from __future__ import annotations

import re
import warnings

try:
    from cattrs import transform_error
    from lsprotocol import types
    from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
    from pygls.lsp.server import LanguageServer
    from pygls.protocol import LanguageServerProtocol
    from pygls.workspace import TextDocument, Workspace
except ImportError as error:  # the optional extra
    raise ImportError(
        "charlstm lsp needs pygls: pip install 'charlstm[lsp]'"
    ) from error

from charlstm import __version__
from charlstm.infer.completion import UnknownCharactersWarning
from charlstm.serve.documents import CompletionQueue
from charlstm.serve.settings import CompletionSettings
from charlstm.utils.checks import InputError

STATS_COMMAND = "charlstm.stats"
# A line and its end, as LSP counts lines: only \n, \r\n and \r end one.
LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# Characters after which an editor asks for completions without a word typed.
TRIGGER_CHARACTERS = [" ", ".", "(", "[", "{", ",", ":", "=", "'", '"']
WORD = re.compile(r"\w*\Z")  # the word before the cursor
_ANSWERED = object()  # a message already answered with an error


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, but a request whose params do not parse is answered
    with InvalidParams (pygls logs it, and the client would wait forever)."""

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise
            cause = error.__cause__
            detail = "; ".join(transform_error(cause)) if cause else str(error)
            answer = JsonRpcInvalidParams(f"invalid {data['method']} params: {detail}")
            self._send_response(data["id"], error=answer.to_response_error())
            return _ANSWERED

    def handle_message(self, message):
        if message is not _ANSWERED:
            super().handle_message(message)


class _Document(TextDocument):
    """pygls's document with LSP's lines: pygls splits with `str.splitlines`,
    which also ends a line at a form feed or U+2028, so positions in a file
    holding one (several standard-library modules do) would miss the editor's
    by a line, and incremental edits would land in the wrong place."""

    @property
    def lines(self):
        return tuple(LSP_LINE.findall(self.source))


class _Workspace(Workspace):
    """pygls's workspace, whose documents count lines as LSP does."""

    def _create_text_document(self, *args, **kwargs):
        document = super()._create_text_document(*args, **kwargs)
        document.__class__ = _Document
        return document


class CompletionServer(LanguageServer):
    """The language server of `charlstm lsp`: completion and inline completion
    from a trained run.

    Args:
        generator: TextGenerator. The run, on the numpy engine.
        settings: CompletionSettings or None. Until the editor sets others.
        run_dir: path or None. The run's directory: its corpus is the training
            text of dynamic evaluation's gradient statistics (variant "rms").

    Example:
    >>> server = CompletionServer(charlstm.load("runs/mine", engine="numpy"))
    >>> server.start_io()  # serves stdin/stdout until the editor says exit
    """

    def __init__(
        self, generator, settings: CompletionSettings | None = None, run_dir=None
    ):
        super().__init__(
            "charlstm",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=_Protocol,
        )
        self.queue = CompletionQueue(generator, settings, run_dir=run_dir)
        for method, options, handler in (
            (types.INITIALIZE, None, _initialize),
            (types.WORKSPACE_DID_CHANGE_CONFIGURATION, None, _did_change_settings),
            (types.TEXT_DOCUMENT_DID_OPEN, None, _did_open),
            (types.TEXT_DOCUMENT_DID_CLOSE, None, _did_close),
            (
                types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=TRIGGER_CHARACTERS),
                _completion,
            ),
            (
                types.TEXT_DOCUMENT_INLINE_COMPLETION,
                types.InlineCompletionOptions(),
                _inline_completion,
            ),
        ):
            self.feature(method, options)(handler)
        self.command(STATS_COMMAND)(_stats)

    def configure(self, options, source: str) -> None:
        """Applies the editor's settings; a bad one is shown to the user and
        changes nothing."""
        try:
            self.queue.configure(options)
        except InputError as error:
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Error,
                    message=f"charlstm: {error} (from {source}; the settings stay "
                    f"{self.queue.settings.to_dict()})",
                )
            )

    async def complete(self, kind: str, params):
        """The completions at `params.position`, or None if overtaken; the
        document and the text before the cursor as they were when the request
        came."""
        document = self.workspace.get_text_document(params.text_document.uri)
        offset = document.offset_at_position(params.position)
        text = document.source[:offset]
        found = await self.queue.complete(document.uri, text, kind)
        return document, text, found


def _initialize(ls: CompletionServer, params: types.InitializeParams):
    ls.workspace.__class__ = _Workspace  # made by pygls just before this handler
    ls.configure(params.initialization_options, "initializationOptions")


def _did_change_settings(
    ls: CompletionServer, params: types.DidChangeConfigurationParams
):
    ls.configure(params.settings, "workspace/didChangeConfiguration")


def _did_open(ls: CompletionServer, params: types.DidOpenTextDocumentParams):
    ls.queue.open(params.text_document.uri)


def _did_close(ls: CompletionServer, params: types.DidCloseTextDocumentParams):
    ls.queue.close(params.text_document.uri)


def _stats(ls: CompletionServer):
    return ls.queue.stats()


async def _completion(ls: CompletionServer, params: types.CompletionParams):
    document, text, found = await ls.complete("completion", params)
    return types.CompletionList(
        is_incomplete=True, items=completion_items(document, text, params, found)
    )


async def _inline_completion(
    ls: CompletionServer, params: types.InlineCompletionParams
):
    _, _, found = await ls.complete("inline", params)
    here = types.Range(params.position, params.position)
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(insert_text=c.text, range=here)
            for c in found or []
            if c.text
        ]
    )


def completion_items(document, text: str, params, found) -> list:
    """Completion items that replace the word before the cursor with the word
    and its ending; the label is the ending's first line."""
    line = text[text.rfind("\n") + 1 :]
    word = WORD.search(line).group()
    start = types.Position(
        params.position.line,
        params.position.character - document.position_codec.client_num_units(word),
    )
    items = []
    for rank, completion in enumerate(found or []):
        if not completion.text:
            continue  # the line ends here: nothing to insert
        new_text = word + completion.text
        first, *more = new_text.split("\n", 1)
        items.append(
            types.CompletionItem(
                label=first + (" …" if more else ""),
                kind=types.CompletionItemKind.Text,
                detail=f"charlstm, log p = {completion.log_probability:.2f}",
                sort_text=f"{rank:02d}",
                filter_text=first,
                preselect=rank == 0,
                insert_text_format=types.InsertTextFormat.PlainText,
                text_edit=types.TextEdit(
                    range=types.Range(start, params.position), new_text=new_text
                ),
            )
        )
    return items


def serve(generator, settings: CompletionSettings | None = None, run_dir=None) -> None:
    """Serves LSP on stdin/stdout until the editor sends `exit`.

    Args:
        generator: TextGenerator. The run, on the numpy engine.
        settings: CompletionSettings or None. Until the editor sets others.
        run_dir: path or None. The run's directory (for dynamic evaluation's
            gradient statistics, variant "rms").

    Example:
    >>> serve(charlstm.load("runs/mine", engine="numpy"), run_dir="runs/mine")
    """
    server = CompletionServer(generator, settings, run_dir)
    try:
        with warnings.catch_warnings():
            # Characters outside the vocabulary are dropped from the text read.
            warnings.simplefilter("ignore", UnknownCharactersWarning)
            server.start_io()
    finally:
        server.queue.shutdown()
