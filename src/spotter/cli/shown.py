"""`shown(name)`: the one printable form of a name the command line did not choose (a file name, an
object key, a reason quoting one) for a terminal or a log.

Printable characters stay as they are; a backslash, control characters (a newline would forge a
line of output, an escape sequence would drive the terminal), bidirectional and other invisible
format characters (which reorder what is shown) and lone surrogates are escaped as Python writes
them (`\\n`, `\\x1b`, `\\u202e`). A byte that was not UTF-8 in a file name (os.fsdecode's stand-in,
U+DC80-U+DCFF) is shown as that byte, `\\xff`."""

from __future__ import annotations

import os
from pathlib import Path

_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(c: str) -> str:
    if c in _SHORT:
        return _SHORT[c]
    if c.isprintable():  # False for Cc, Cf (bidi controls), Cs, Co, Cn, Zl, Zp and spaces other than " "
        return c
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shown(name: str | Path) -> str:
    text = os.fsdecode(name) if isinstance(name, Path) else name
    return "".join(_escaped(c) for c in text)
