"""``printable``: text from the store, safe to show on a terminal or in a notebook hint."""

from __future__ import annotations

import pytest

from jupyter_metahpo._text import printable


@pytest.mark.parametrize(("text", "shown"), [
    ("credit hgb", "credit hgb"),
    ("café 漢字 α", "café 漢字 α"),  # letters of any script stay as they are
    ("a\x1b[31mb", r"a\x1b[31mb"),  # ESC: a colour sequence
    ("\x1b]0;title\x07", r"\x1b]0;title\x07"),  # OSC: sets the window title, ends with BEL
    ("\x9b2J", r"\x9b2J"),  # the one-byte CSI (C1)
    ("n\x00l", r"n\x00l"),  # NUL
    ("gpj\u202eexe", r"gpj\u202eexe"),  # RLO: would show the rest right to left
    ("a\u2066b\u2069", r"a\u2066b\u2069"),  # bidi isolates
    ("x\udcffy", r"x\udcffy"),  # a lone surrogate (a file name that is not UTF-8)
    ("two\nlines\ttab", r"two\nlines\ttab"),  # a line break would break a table row
    ("👩\u200d💻", "👩\u200d💻"),  # the zero-width joiner of an emoji sequence is kept
    ("back\\slash", "back\\slash"),  # left alone
    (3.5, "3.5"),
])
def test_printable(text, shown):
    assert printable(text) == shown


def test_printable_output_is_plain_printable_text():
    every_char = "".join(map(chr, range(0x0, 0x3000))) + "\ud800\udfff\u202e\ufeff"
    shown = printable(every_char)
    assert all(c.isprintable() or c in "\u200c\u200d" for c in shown)
    shown.encode("utf-8")  # no surrogate left: a strict UTF-8 stream can write it
