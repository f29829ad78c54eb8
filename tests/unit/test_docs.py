"""The README and docs/ stay true to the tree: every relative link (and `#anchor` into a markdown
page) leads somewhere, every path named in backticks exists, and the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 220
PATH_PREFIXES = ("src/", "tests/", "functions/", "infra/", "frontend/", "model/", "layers/", "benchmarks/", "docs/")
PLACEHOLDERS = ("*", "<", "{", "...", "…")

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_MD_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_LINK = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.I)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation other than '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "-_ ")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page's headings make (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(prose(text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    """The link targets of a page: markdown links and images, and HTML `img`/`a`, outside code."""
    body = _CODE_SPAN.sub("", prose(text))
    return _MD_LINK.findall(body) + _HTML_LINK.findall(body)


def broken_links(page: Path, text: str) -> list[str]:
    problems = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            problems.append(f"{page.name}: {target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            problems.append(f"{page.name}: {target} (no heading makes #{anchor})")
    return problems


def named_paths(text: str) -> list[str]:
    """Paths of the repository named in backticks, placeholders and globs left out."""
    paths = []
    for span in _CODE_SPAN.findall(text):
        token = span.strip().split()[0] if span.strip() else ""
        token = token.split("::")[0].rstrip(".,;:)")
        if token.startswith(PATH_PREFIXES) and not any(mark in token for mark in PLACEHOLDERS):
            paths.append(token)
    return paths


def missing_paths(page: Path, text: str) -> list[str]:
    return [f"{page.name}: `{path}`" for path in named_paths(text) if not (ROOT / path).exists()]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_a_file_and_a_heading(page: Path):
    assert not broken_links(page, page.read_text())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_paths_in_backticks_exist(page: Path):
    assert not missing_paths(page, page.read_text())


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail to docs/"


def test_the_docs_pages_are_found():
    names = {p.name for p in PAGES}
    assert {"README.md", "architecture.md", "analysts.md", "http-api.md"} <= names


def test_slugs_follow_githubs_rules():
    assert slug("The local stack (`make run`)") == "the-local-stack-make-run"
    assert slug("SQL on AWS (Athena)") == "sql-on-aws-athena"
    assert slug("Drones: sync a folder") == "drones-sync-a-folder"
    assert slug("snake_case and dash-ed") == "snake_case-and-dash-ed"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_the_checks_can_fail():
    """A broken file link, a wrong anchor and a missing path are each caught; code and URLs are not links."""
    page = ROOT / "docs" / "probe.md"
    text = (
        "[gone](no-such-page.md) [bad anchor](architecture.md#no-such-heading) "
        "[ok](architecture.md) ![img](screenshots/web-desktop.png) [web](https://example.com/x.md) "
        '<img src="screenshots/missing.png"> `[not](a-link.md)`\n'
        "```\n[inside](a-fence.md)\n```\n"
        "`src/spotter/no_such_module.py` `src/spotter/records.py` `tests/unit/*.py` `src/spotter/<pkg>/`\n"
    )
    assert broken_links(page, text) == [
        "probe.md: no-such-page.md (no such file)",
        "probe.md: architecture.md#no-such-heading (no heading makes #no-such-heading)",
        "probe.md: screenshots/missing.png (no such file)",
    ]
    assert missing_paths(page, text) == ["probe.md: `src/spotter/no_such_module.py`"]
