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


def test_a_drone_source_that_reads_as_web_or_unknown_is_refused():
    """The seventh trial: `--source web.` was accepted and listed beside `web` in stats by source."""
    from spotter.keys import source_name_problem

    for source in ("web.", "web-", "web_", "unknown.", "_web"):
        assert "reserved" in (source_name_problem(source) or ""), source
    assert source_name_problem("webcam-1") is None


def test_an_export_refuses_a_read_only_file(tmp_path):
    """The seventh trial: a read-only --output was replaced by the rename (as root, or in a writable folder)."""
    import pytest

    from spotter.cli.query import check_output
    from spotter.results.query import QueryError

    target = tmp_path / "ro.csv"
    target.write_text("keep")
    target.chmod(0o444)
    with pytest.raises(QueryError, match="read-only"):
        check_output(target, "csv")
    target.chmod(0o644)
    check_output(target, "csv")
