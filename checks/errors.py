"""Small helpers for the one-line error messages every part of `checks` gives.

Every message is redacted (`checks.redaction.redact`) and bounded: a hostile input (a 100 MB line
quoted back by a library's error, a header of a million columns) never makes a message, a ledger
reason or a line on stdout larger than `MAX_MESSAGE_CHARS`.
"""

from __future__ import annotations

from checks.redaction import redact

MAX_MESSAGE_CHARS = 2_000
"""The longest message or stored reason; longer text is cut with a note of how much was left out."""


def safe_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Text fit to store or print on one line: line breaks escaped (a file name may hold one),
    credentials redacted, then bounded (the text is cut before it is redacted, keeping a margin so
    that a credential straddling the cut is still recognised)."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    if len(text) <= limit:
        return redact(text)
    head = redact(text[: 2 * limit])
    note = f"… ({len(text) - limit:,} more characters)"
    return head[: max(limit - len(note), 0)] + note


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors often add pages of context),
    redacted and bounded."""
    text = str(exc).strip()
    end = text.find("\n")
    first = (text if end < 0 else text[:end]).strip()
    return safe_message(first) if first else type(exc).__name__
