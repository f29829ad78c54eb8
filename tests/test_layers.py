"""The layers of docs/architecture.md, enforced: the domain (src/spotter outside adapters/, local/,
cli/ and modelbuild/) imports no SDK and no outer layer; everything it needs from outside is a port."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "spotter"
OUTER = ("adapters", "local", "cli", "modelbuild")
FORBIDDEN = ("boto3", "botocore", "aws_lambda_powertools", "tensorflow", "moto", "s3transfer")
ENTRY_POINTS = ("__main__.py",)  # `python -m spotter` runs the CLI: an outer layer by nature
DOMAIN = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in OUTER + ENTRY_POINTS)


def imported(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module `path` imports, anywhere in it (inside functions too), as absolute dotted names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                package = ["spotter", *path.relative_to(root).parent.parts]
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names.update([module] if node.module else [f"{module}.{a.name}" for a in node.names])
            else:
                names.add(node.module or "")
    return names


def test_the_domain_is_found():
    names = {p.name for p in DOMAIN}
    assert {"pipeline.py", "ports.py", "uploads.py", "access.py", "reprocess.py", "dead_letters.py"} <= names
    assert not any(p.relative_to(PACKAGE).parts[0] in OUTER for p in DOMAIN)


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_domain_imports_no_sdk_and_no_outer_layer(path: Path):
    bad = sorted(
        name
        for name in imported(path)
        if name.split(".")[0] in FORBIDDEN
        or any(name == f"spotter.{layer}" or name.startswith(f"spotter.{layer}.") for layer in OUTER)
    )
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}: go through a port in spotter/ports.py"


def test_the_check_sees_relative_and_nested_imports(tmp_path):
    """The rule above must be able to fail: a nested relative import of an adapter is caught."""
    sample = tmp_path / "sub" / "probe.py"
    sample.parent.mkdir()
    sample.write_text("def f():\n    from ..adapters.aws import client\n    import botocore.session\n")
    assert {"spotter.adapters.aws", "botocore.session"} <= imported(sample, root=tmp_path)


def test_ports_are_protocols_only():
    from typing import Protocol

    from spotter import ports

    protocols = [
        v
        for v in vars(ports).values()
        if isinstance(v, type) and Protocol in getattr(v, "__mro__", ()) and v is not Protocol
    ]
    assert len(protocols) >= 12
