"""How the services word an error for the user: one line, never a traceback."""
from __future__ import annotations


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``exc``'s message on one line (whitespace collapsed), at most ``limit`` characters;
    the exception's type name when it has no message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
