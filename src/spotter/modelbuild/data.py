"""Datasets, stratified splits and production-identical preprocessing (no TensorFlow here).

A dataset is either a folder with one sub-folder of images per class, or a folder with a
`labels.csv` (first column the image id, file `ID.jpg`/`.png`/... or a path; the label column
`label`, `benign_malignant` or `class`, else the second column). Labels are sorted, so the model's
output order is the sorted label names.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from spotter.errors import RejectedImage
from spotter.ingest.imaging import decode_image
from spotter.model.preprocess import InputContract

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
LABEL_COLUMNS = ("label", "benign_malignant", "class", "diagnosis")
SPLITS = ("train", "validation", "test")
BUILD_RESIZE = "center_crop"  # the preprocessing contract the build trains with and writes on the card


@dataclass(frozen=True)
class Sample:
    id: str
    path: Path
    label: int


@dataclass(frozen=True)
class Dataset:
    root: Path
    labels: tuple[str, ...]
    samples: tuple[Sample, ...]
    # sample id -> group key: samples of one group (e.g. near-duplicate photos) go to one split together
    groups: dict[str, str] = field(default_factory=dict)
    # the folders the samples come from, by name, with how many each gave (several for a merged dataset)
    sources: dict[str, int] = field(default_factory=dict)
    name: str = ""

    def by_id(self) -> dict[str, Sample]:
        return {s.id: s for s in self.samples}

    def counts(self) -> dict[str, int]:
        return {name: sum(s.label == i for s in self.samples) for i, name in enumerate(self.labels)}


def _find_image(root: Path, ref: str) -> Path | None:
    candidate = root / ref
    if candidate.suffix.lower() in IMAGE_SUFFIXES and candidate.is_file():
        return candidate
    for suffix in IMAGE_SUFFIXES:
        for variant in (suffix, suffix.upper()):
            path = root / f"{ref}{variant}"
            if path.is_file():
                return path
    return None


def _sample_id(ref: str) -> str:
    """The id a split file names a sample by: its labels.csv reference without an image suffix."""
    path = PurePosixPath(ref.replace("\\", "/"))
    return str(path.with_suffix("")) if path.suffix.lower() in IMAGE_SUFFIXES else str(path)


def load_dataset(root: str | Path, label_column: str | None = None) -> Dataset:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist")
    table = root / "labels.csv"
    rows: list[tuple[str, Path, str]] = []
    if table.is_file():
        with table.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            known = next((c for c in LABEL_COLUMNS if c in columns), None)
            if label_column is None and known is None and len(columns) > 2:
                raise ValueError(
                    f"{table}: which column is the class? Name it with --label-column (columns: {columns})"
                )
            column = label_column or known or (columns[1] if len(columns) > 1 else None)
            if column not in columns:
                raise ValueError(f"{table}: no label column {column!r} (columns: {columns})")
            for row in reader:
                ref, label = row[columns[0]].strip(), row[column].strip()
                path = _find_image(root, ref)
                if path is None:
                    raise FileNotFoundError(f"{table}: no image file for {ref!r}")
                if label:
                    rows.append((_sample_id(ref), path, label))
    else:
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):  # ._x.jpg: macOS metadata
                    rows.append((f"{folder.name}/{path.stem}", path, folder.name))
    seen: dict[str, Path] = {}
    for ref, path, _ in rows:
        if ref in seen:
            raise ValueError(f"{root}: {seen[ref].name} and {path.name} would both be sample {ref!r}: rename one")
        seen[ref] = path
    labels = tuple(sorted({label for _, _, label in rows}))
    if len(labels) < 2:
        raise ValueError(f"{root}: need at least two classes, found {list(labels)}")
    index = {name: i for i, name in enumerate(labels)}
    samples = tuple(Sample(id=ref, path=path, label=index[label]) for ref, path, label in rows)
    return Dataset(root=root, labels=labels, samples=samples)


def load_datasets(roots, label_column: str | None = None, group_column: str | None = None) -> Dataset:
    """Several datasets with the same classes read as one (sample ids must not repeat across them).
    `group_column`: a labels.csv column that names another sample of the same folder (e.g. ISIC 2017's
    `near_duplicate_of`); a sample and the one it names are grouped, so that a split keeps them together
    (a named sample that is not in the data groups nothing)."""
    parts = [load_dataset(root, label_column) for root in roots]
    if len(parts) == 1 and not group_column:
        return parts[0]
    labels = parts[0].labels
    for part in parts[1:]:
        if part.labels != labels:
            raise ValueError(f"{part.root}: classes {list(part.labels)} differ from {parts[0].root}'s {list(labels)}")
    samples: list[Sample] = []
    seen: dict[str, Path] = {}
    for part in parts:
        for sample in part.samples:
            if sample.id in seen:
                raise ValueError(f"sample {sample.id!r} is in both {seen[sample.id].parent} and {sample.path.parent}")
            seen[sample.id] = sample.path
            samples.append(sample)
    links: list[tuple[str, str]] = []
    if group_column:
        for part in parts:
            table = part.root / "labels.csv"
            if not table.is_file():
                continue
            with table.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if group_column not in (reader.fieldnames or []):
                    continue
                first = (reader.fieldnames or [""])[0]
                for row in reader:
                    one, other = _sample_id(row[first].strip()), _sample_id((row[group_column] or "").strip())
                    if other and one in seen and other in seen:
                        links.append((one, other))
    return Dataset(
        root=parts[0].root.parent,
        labels=labels,
        samples=tuple(samples),
        groups=_connected_groups(links),
        sources={part.root.name: len(part.samples) for part in parts},
        name=" + ".join(part.root.name for part in parts),
    )


def with_links(dataset: Dataset, pairs) -> Dataset:
    """`dataset` with these (id, id) pairs grouped too (e.g. near-duplicates found by image similarity)."""
    from dataclasses import replace

    links = [(a, b) for a, bs in _members(dataset.groups).items() for b in bs if a != b] + list(pairs)
    return replace(dataset, groups=_connected_groups(links))


def _members(groups: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sample, key in groups.items():
        out.setdefault(key, []).append(sample)
    return out


def _connected_groups(links: list[tuple[str, str]]) -> dict[str, str]:
    """Each linked id -> the smallest id of its connected group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def stratified_split(dataset: Dataset, fractions=(0.6, 0.2, 0.2), seed: int = 0, test_only=()) -> dict:
    """Per class, shuffle with `seed` and cut by `fractions` (train, validation, test). The ids in
    `test_only` (e.g. photos kept for a full-resolution check) go to test and count towards its share.
    Grouped samples (`dataset.groups`: near-duplicates) are shuffled and cut as one unit, in the class
    of the group's first id, so a group never straddles two splits; without groups every sample is its
    own unit (the same split as before groups existed)."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError("fractions must be three numbers that sum to 1")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[str]] = {name: [] for name in SPLITS}
    forced = set(test_only)
    unknown = sorted(forced - {s.id for s in dataset.samples})
    if unknown:
        raise ValueError(f"{len(unknown)} test-only ids are not in {dataset.root} (e.g. {unknown[0]})")
    groups = dataset.groups
    members: dict[str, list[str]] = {}
    for s in sorted(dataset.samples, key=lambda s: s.id):
        members.setdefault(groups.get(s.id, s.id), []).append(s.id)
    label_of = {s.id: s.label for s in dataset.samples}
    forced |= {i for unit in members.values() if forced & set(unit) for i in unit}  # a test-only photo's group
    for label in range(len(dataset.labels)):
        units = [u for u in members.values() if label_of[u[0]] == label]
        kept = sorted(i for u in units for i in u if i in forced)
        free = [u for u in units if not forced & set(u)]
        free = [free[i] for i in rng.permutation(len(free))]
        total = sum(map(len, units))
        n_val = round(total * fractions[1])
        n_test = max(0, round(total * fractions[2]) - len(kept))
        n_train = sum(map(len, free)) - n_val - n_test
        cut: dict[str, list[str]] = {name: [] for name in SPLITS}
        for unit in free:  # in shuffled order: train, then validation, then test, a whole unit at a time
            name = (
                "train" if len(cut["train"]) < n_train else "validation" if len(cut["validation"]) < n_val else "test"
            )
            cut[name] += unit
        if min(len(cut["train"]), len(cut["validation"]), len(cut["test"]) + len(kept)) < 1:
            raise ValueError(
                f"class {dataset.labels[label]!r} has {total} images: too few to put at least one in "
                f"each of train, validation and test with fractions {list(fractions)}"
            )
        for name in SPLITS:
            parts[name] += cut[name]
        parts["test"] += kept
    for name in SPLITS:
        parts[name].sort()
    extra: dict = {"test_only": sorted(forced)} if forced else {}
    if dataset.sources and len(dataset.sources) > 1:
        extra["datasets"] = dict(dataset.sources)
    if groups:
        extra["groups"] = sorted(sorted(u) for u in members.values() if len(u) > 1)
    return {
        "seed": seed,
        "fractions": list(fractions),
        "labels": list(dataset.labels),
        "dataset": dataset.name or dataset.root.name,
        **extra,
        **parts,
    }


def save_split(split: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")


def load_split(path: str | Path) -> dict:
    split = json.loads(Path(path).read_text(encoding="utf-8"))
    missing = [name for name in SPLITS if name not in split]
    if missing:
        raise ValueError(f"{path}: split lacks {missing}")
    return split


def split_samples(dataset: Dataset, split: dict, name: str) -> list[Sample]:
    if tuple(split.get("labels", dataset.labels)) != dataset.labels:
        raise ValueError(f"split labels {split.get('labels')} differ from the dataset's {list(dataset.labels)}")
    lookup = dataset.by_id()
    missing = [ref for ref in split[name] if ref not in lookup]
    if missing:
        raise ValueError(f"{len(missing)} {name} ids of the split are not in {dataset.root} (e.g. {missing[0]})")
    return [lookup[ref] for ref in split[name]]


def decode(path: Path, size: tuple[int, int]) -> Image.Image:
    """The production decode (spotter.ingest.imaging.decode_image) of one file."""
    return decode_image(path.read_bytes(), size).image


def resize_like_runtime(image: Image.Image, size: tuple[int, int], resize: str = BUILD_RESIZE) -> Image.Image:
    """Exactly what spotter.model.classifier.Classifier.preprocess does for a card with this resize mode
    (and the default filter): the one implementation, spotter.model.preprocess."""
    return InputContract(size=(size[0], size[1]), resize=resize).apply(image)


def load_pixels(samples: list[Sample], size: tuple[int, int], resize: str = BUILD_RESIZE) -> np.ndarray:
    """uint8 [N, height, width, 3] arrays, decoded and resized as production does."""
    out = np.empty((len(samples), size[1], size[0], 3), np.uint8)
    for i, sample in enumerate(samples):
        try:
            out[i] = np.asarray(resize_like_runtime(decode(sample.path, size), size, resize), np.uint8)
        except RejectedImage as exc:
            raise ValueError(f"{sample.path}: {exc.reason}") from None
    return out


def label_array(samples: list[Sample]) -> np.ndarray:
    return np.asarray([s.label for s in samples], np.int64)


def scale_pixels(pixels: np.ndarray, value_range=(-1.0, 1.0)) -> np.ndarray:
    """uint8 pixels to the network's float input, as the card's `scaling: {range: [lo, hi]}` says."""
    low, high = value_range
    return (pixels.astype(np.float32) * ((high - low) / 255.0) + low).astype(np.float32)


def list_images(folder: str | Path) -> list[Path]:
    return sorted(
        p
        for p in Path(folder).rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
