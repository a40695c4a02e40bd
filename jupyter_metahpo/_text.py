"""Text from the store, shown safely on a terminal or in a notebook hint.

Study names, task names and paths come from users, from imported files and from file
names. A terminal obeys the control characters inside them: ESC starts a colour or
cursor sequence, OSC (ESC ``]``) sets the window title or a hyperlink, NUL cuts a line
on some terminals, and RLO (U+202E) turns the text after it right to left, so that
``gpj.exe`` reads as ``exe.jpg``. A lone surrogate (a file name whose bytes are not
UTF-8) cannot even be written to a strict UTF-8 stream. :func:`printable` shows each of
them as the escape Python would write (``\\x1b``, ``\\u202e``, ``\\udcff``), and leaves
every other character alone.
"""

from __future__ import annotations

__all__ = ["printable"]

#: Invisible format characters that scripts need to join letters (Persian, Indic, emoji
#: sequences). ``str.isprintable`` calls them unprintable, but they move nothing.
_JOINERS = frozenset("\u200c\u200d")


def _escaped(char: str) -> str:
    if char.isprintable() or char in _JOINERS:
        return char
    return repr(char)[1:-1]  # an unprintable character's repr is its escape, in quotes


def printable(text: object) -> str:
    """``text`` with every control, format, bidi, separator and surrogate character escaped.

    ``printable("a\\x1b[31mb")`` is ``'a\\\\x1b[31mb'`` (a backslash, ``x1b``, no colour).
    The ordinary space is kept; tabs and line breaks are escaped too (they would break
    a table row). A backslash already in the text is left as it is, for readability.
    Anything that is not a string is shown by its ``str()``.
    """
    text = text if isinstance(text, str) else str(text)
    if text.isprintable():  # the common case: nothing to escape
        return text
    return "".join(_escaped(char) for char in text)
