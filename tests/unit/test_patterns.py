"""Names checked by a regular expression end at the end of the text: Python's `$` also matches before a
final newline, so `batch\\n` passed the batch check and made a key no listing or record ever showed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from spotter.keys import is_valid_batch, is_valid_source

ROOT = Path(__file__).resolve().parents[2]


def _patterns() -> list[tuple[str, str]]:
    found = []
    for path in [*(ROOT / "src" / "spotter").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("compile", "match", "fullmatch", "search")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.args
            ):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", ast.unparse(node.args[0])))
    return found


def test_no_pattern_ends_with_a_dollar_that_lets_a_newline_through():
    bad = [(where, text) for where, text in _patterns() if re.search(r"(?<!\\)\$['\"]\)?$", text.rstrip(")"))]
    assert not bad, f"end anchored patterns with \\Z, not $: {bad}"


@pytest.mark.parametrize("name", ["falcon\n", "falcon\r", "a\nb", "x" * 65, ""])
def test_batch_and_source_names_with_a_newline_or_out_of_shape_are_refused(name: str):
    assert not is_valid_batch(name) and not is_valid_source(name)
