"""Token healing for GPT-2 seeds: the last token of a seed is re-chosen.

A byte-level BPE splits a seed at places the model rarely saw in training: a
seed ending in "\\n" ends in a lone "\\n" token, where training text almost
always had "\\n    " (the newline merged with the next line's indentation), so
the model, off its training distribution, starts a new top-level line. Token
healing (as in guidance and Hugging Face's `token_healing`) backs the seed up by
one token of text `t` and lets the model choose the first token among those
whose text starts with `t`: "\\n" may come back as "\\n   ", " " as " return".
"""

from __future__ import annotations

import numpy as np

from charlstm.backends.gpt2.tokenizer import decode


class TokenHealer:
    """Which tokens may replace a seed's last token, one boolean mask per token.

    Token strings are compared in the byte-level alphabet (one printable
    character per byte), so a token matches exactly when its bytes start with
    the removed token's bytes. Special tokens (`<|endoftext|>`) are never
    removed and never allowed. Masks are built on first use and cached.

    Args:
        tokenizer: tokenizers.Tokenizer. A byte-level BPE.
        width: int or None. Length of the masks (the model's vocabulary, which
            may be larger than the tokenizer's); the extra ids are never allowed.

    Example:
    >>> healer = TokenHealer(tokenizer)
    >>> context, healed = healer.split(tokenizer.encode("x = 1\\n").ids, "x = 1\\n")
    >>> healer.allowed(healed).sum()  # tokens starting with "\\n"
    """

    def __init__(self, tokenizer, width: int | None = None):
        self.tokenizer = tokenizer
        size = tokenizer.get_vocab_size()
        self.width = max(size, width or 0)
        special = {
            token.content for token in tokenizer.get_added_tokens_decoder().values()
        }
        strings = [tokenizer.id_to_token(i) or "" for i in range(size)]
        self._special = np.array([s in special for s in strings], dtype=bool)
        self._strings = np.array(strings, dtype=object)
        self._masks: dict[int, np.ndarray] = {}

    def split(self, ids, seed: str) -> tuple[np.ndarray, int | None]:
        """The seed's tokens without the last one, and that token's id.

        The last token is kept (id None) when it is the only one (the model needs
        a context), a special token, or part of a character (its text is not the
        end of `seed`: half of a multi-byte character).
        """
        ids = np.asarray(ids, dtype=np.int32)  # (tokens,)
        if len(ids) < 2:
            return ids, None
        last = int(ids[-1])
        if last >= len(self._special) or self._special[last]:
            return ids, None
        if not seed.endswith(decode(self.tokenizer, [last])):
            return ids, None
        return ids[:-1], last

    def text(self, token: int | None) -> str:
        """The text a healed token stood for ("" for None)."""
        return "" if token is None else decode(self.tokenizer, [token])

    def allowed(self, token: int | None) -> np.ndarray:
        """Tokens whose text starts with `token`'s: a (width,) bool mask.

        None allows every token.
        """
        if token is None:
            return np.ones(self.width, dtype=bool)
        mask = self._masks.get(token)
        if mask is None:
            prefix = self._strings[token]
            mask = np.zeros(self.width, dtype=bool)  # (width,)
            size = len(self._strings)
            mask[:size] = [s.startswith(prefix) for s in self._strings]
            mask[:size] &= ~self._special
            self._masks[token] = mask
        return mask
