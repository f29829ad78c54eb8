"""The layers of docs/architecture.md, enforced: the domain (src/spotter outside adapters/, local/,
cli/ and modelbuild/) imports no SDK and no outer layer; everything it needs from outside is a port.
Inside the domain, each package imports only the packages below it (PACKAGE_MAY_IMPORT)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "spotter"
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


# What every package shares (the root modules), and which domain package may import which: no circles.
SHARED = {"errors", "files", "keys", "limits", "records", "config", "ports"}
PACKAGE_MAY_IMPORT = {
    "model": set(),
    "ingest": {"model"},
    "results": set(),
    "web": {"model", "results"},
    "ops": {"ingest"},
}


def _spotter_part(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "spotter" and len(parts) > 1 else None


def _runtime_imports(path: Path) -> set[str]:
    """The imports `path` makes when it runs: those under `if TYPE_CHECKING:` are left out."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for child in block.body
        for node in ast.walk(child)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module or "")
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("package", sorted(PACKAGE_MAY_IMPORT))
def test_each_package_imports_only_the_packages_below_it(package: str):
    allowed = SHARED | PACKAGE_MAY_IMPORT[package] | {package}
    bad = sorted(
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / package).rglob("*.py")
        for name in _runtime_imports(path)
        if (part := _spotter_part(name)) is not None and part not in allowed
    )
    assert not bad, f"spotter.{package} may import only {sorted(allowed)}: {bad}"


def test_the_shared_modules_import_no_package_and_ports_name_others_only_as_types():
    shared = [PACKAGE / f"{name}.py" for name in SHARED]
    bad = sorted(
        f"{path.name}: {name}"
        for path in shared
        for name in _runtime_imports(path)
        if (part := _spotter_part(name)) is not None and part not in SHARED
    )
    assert not bad, f"the root modules may import only each other at run time: {bad}"


def test_the_package_rule_can_fail(tmp_path):
    sample = tmp_path / "probe.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from spotter.web import views\nfrom spotter.ops import sync\n"
    )
    assert "spotter.ops" in _runtime_imports(sample) and "spotter.web" not in _runtime_imports(sample)


def test_the_domain_is_found():
    names = {p.name for p in DOMAIN}
    assert {"pipeline.py", "ports.py", "uploads.py", "access.py", "reprocess.py", "dead_letters.py", "card.py"} <= names
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


def _module_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports when it runs (deferred imports included)."""
    modules = {
        ".".join(["spotter", *p.relative_to(PACKAGE).with_suffix("").parts]).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in _runtime_imports(path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != "spotter" and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def test_no_module_imports_itself_through_others():
    graph = _module_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    domain = [c for c in cycles if not any(_spotter_part(m) in ("cli", "local", "modelbuild") for m in c)]
    assert not domain, f"import circles: {domain}"
