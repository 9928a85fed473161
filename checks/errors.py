"""Small helpers for the one-line error messages every part of `checks` gives."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors often add pages of context)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__
