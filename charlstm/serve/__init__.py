"""Serving a trained run to editors and browsers.

- `lsp`: `charlstm lsp RUN_DIR`, a Language Server Protocol server on stdio
  (pygls): line completion and inline completion as the user types.
- `http`: `charlstm serve RUN_DIR`, an HTTP server (Starlette on uvicorn):
  OpenAI-style `POST /v1/completions` with server-sent events, `GET /health`,
  and a playground page at `/`.

Both run the numpy engine and never import TensorFlow. Their dependencies are
the optional extras `lsp` and `serve`.
"""
