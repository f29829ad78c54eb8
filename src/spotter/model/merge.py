"""One object, one box: the detections of all views of a photo (the whole photo and its tiles) merged.

Greedy, tiles first (they see small objects at a higher resolution than the whole photo does), and
within them boxes seen whole (not reaching an inner tile edge) first, each by score:
- a box is a duplicate of a kept box of its class when their IoU is at least `iou` (the same object
  seen by two overlapping tiles, or by a tile and the whole photo);
- a box that reaches an inner tile edge may be a piece of an object cut by that edge: it is merged
  into a kept box of its class that holds most of it (intersection over the smaller box at least
  `ios`), the kept box growing to cover both, so the two halves of an object on an edge count once;
- a box of the whole photo larger than a tile is an object no tile saw whole: it is kept, and the
  tile boxes within it (its pieces, under whatever label) go;
- a box of the whole photo around two or more objects the tiles saw whole, filling less than half
  of it, is a group read as one thing, and is dropped;
- one object named differently by two views (a small dog read as a person on the coarse whole photo,
  as a dog on its tile) counts once: the same tests against kept boxes of other labels from other
  views drop it, the tile's label kept;
- the whole photo's boxes of small objects are coarse: against a tile's box, IoU `coarse_iou` is
  enough to call them the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from spotter.model.tiling import Region


@dataclass(frozen=True)
class Found:
    label: str
    score: float
    box: Region  # x_min, y_min, x_max, y_max in 0..1 of the photo
    cut: bool = False  # reaches an inner tile edge: maybe a piece of a larger object
    view: int = 0  # which view found it: 0 the whole photo, 1.. its tiles


def area(box: Region) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a: Region, b: Region) -> float:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a: Region, b: Region) -> float:
    shared = intersection(a, b)
    union = area(a) + area(b) - shared
    return shared / union if union > 0 else 0.0


def ios(a: Region, b: Region) -> float:
    """Intersection over the smaller box: 1 when one box lies wholly inside the other."""
    smaller = min(area(a), area(b))
    return intersection(a, b) / smaller if smaller > 0 else 0.0


def merge(
    found: list[Found],
    iou_threshold: float = 0.5,
    ios_threshold: float = 0.5,
    coarse_iou: float = 0.3,
    tile: tuple[float, float] | None = None,
) -> list[Found]:
    """The merged detections, highest score first. `tile`: a tile's width and height as fractions of
    the photo (None: no tiles, or tiles of different sizes)."""
    kept: list[Found] = []
    for candidate in sorted(found, key=lambda f: (f.view == 0, f.cut, -f.score)):
        if candidate.view == 0 and kept:
            inside = [k for k in kept if k.view != 0 and ios(k.box, candidate.box) >= 0.8]
            if larger_than(candidate.box, tile) and inside:  # seen whole only here: its pieces go
                kept = [k for k in kept if not any(k is piece for piece in inside)]
                kept.append(candidate)
                continue
            if _group(candidate, inside):
                continue
        index, merged = _match(candidate, kept, iou_threshold, ios_threshold, coarse_iou)
        if index is None:
            kept.append(candidate)
        elif merged is not None:
            kept[index] = merged
    return sorted(kept, key=lambda f: -f.score)


def _span_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    shared = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return shared / union if union > 0 else 0.0


def _stitched(a: Region, b: Region, agree: float = 0.7) -> bool:
    """Two pieces of one object cut by a tile edge: they span nearly the same columns (or rows) and
    meet or overlap across the edge (the upper and lower halves of a dog on a horizontal edge)."""
    columns, rows = _span_iou((a[0], a[2]), (b[0], b[2])), _span_iou((a[1], a[3]), (b[1], b[3]))
    meet_rows = min(a[3], b[3]) >= max(a[1], b[1])
    meet_columns = min(a[2], b[2]) >= max(a[0], b[0])
    return (columns >= agree and meet_rows) or (rows >= agree and meet_columns)


def larger_than(box: Region, tile: tuple[float, float] | None) -> bool:
    """Whether no tile can hold the box whole (wider or taller than a tile, with a little margin)."""
    return tile is not None and (box[2] - box[0] > 0.9 * tile[0] or box[3] - box[1] > 0.9 * tile[1])


def _group(candidate: Found, inside: list[Found], least: int = 2, cover: float = 0.5) -> bool:
    """A box of the coarse whole photo around objects the tiles saw (`least` of them, of any label,
    filling less than `cover` of it): a group read as one thing (a "person" over 24 dogs, a
    "surfboard" over a row of them), not an object of its own. Pieces of one large object fill it."""
    whole = [k for k in inside if not k.cut]
    filled = sum(area(k.box) for k in inside) / area(candidate.box) if area(candidate.box) > 0 else 1.0
    return len(whole) >= least and filled < cover


def _match(
    candidate: Found, kept: list[Found], iou_threshold: float, ios_threshold: float, coarse_iou: float
) -> tuple[int | None, Found | None]:
    """(index of the kept box the candidate is, and that box grown when it was a cut piece) or
    (None, None) when the candidate is an object of its own. Its own label is looked at first."""
    for same_label in (True, False):
        for index, other in enumerate(kept):
            if (other.label == candidate.label) != same_label or (not same_label and other.view == candidate.view):
                continue
            overlap = iou(candidate.box, other.box)
            cut = candidate.cut or other.cut
            # the whole photo's boxes of small objects are coarse: a looser match against a tile's
            coarse = candidate.view == 0 and other.view != 0 and overlap >= coarse_iou
            apart = candidate.view != other.view
            pieces = cut and (
                ios(candidate.box, other.box) >= ios_threshold
                or _stitched(candidate.box, other.box)
                or (apart and same_label and overlap >= coarse_iou)
            )
            if not (overlap >= iou_threshold or coarse or pieces):
                continue
            if not (same_label and cut):
                return index, None
            a, b = candidate.box, other.box  # pieces of one object: the box grows to hold both
            union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
            return index, replace(other, box=union, score=max(other.score, candidate.score), cut=False)
    return None, None
