"""Copy what the CLI needs beside the code into the wheel, as package data under `spotter/_data/`.

The demo model and its card (`spotter predict`, `spotter up`), the page, the SAM template and the
Lambda handlers (`spotter up`) live once in the checkout (model/, frontend/, infra/, functions/),
where `make run` and the layer build read them. A wheel build copies them into the built package
(build/lib/spotter/_data/, never src/): one source of truth, nothing committed twice, and no
symlinks (not portable: Windows, `core.symlinks`, and setuptools would copy their targets anyway).
`[tool.setuptools.package-data]` can only name files inside the package, and `data-files` installs
outside it where importlib.resources cannot find them: hence this hook. An editable install skips
it: `spotter.config.shipped` falls back to the checkout. The rest of the build is pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (folder in the checkout, glob patterns): the same relative paths under spotter/_data/
SHIPPED = (
    ("model", ("*.tflite", "*.card.json")),
    ("frontend", ("**/*",)),
    ("infra", ("template.yaml",)),
    ("functions", ("*/app.py",)),
)


def shipped_files(root: Path = ROOT) -> list[Path]:
    """Every file to ship, relative to the checkout; a folder with nothing to ship fails the build."""
    files: list[Path] = []
    for folder, patterns in SHIPPED:
        found = sorted({p for pattern in patterns for p in (root / folder).glob(pattern) if p.is_file()})
        found = [p for p in found if "__pycache__" not in p.parts]
        if not found:
            raise SystemExit(f"setup.py: nothing to ship in {folder}/ ({', '.join(patterns)}): build from a checkout")
        files += [p.relative_to(root) for p in found]
    return files


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # the checkout itself is read (spotter.config.shipped)
            return
        target = Path(self.build_lib) / "spotter" / "_data"
        shutil.rmtree(target, ignore_errors=True)  # nothing stale from an earlier build
        for rel in shipped_files():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest)


setup(cmdclass={"build_py": BuildPyWithData})
