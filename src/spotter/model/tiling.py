"""Slicing-aided detection (SAHI, Akyon et al. 2022): a photo much larger than the detector's input
is cut into overlapping tiles, and each tile is detected at the model's input size, so small objects
keep enough pixels to be found. The whole photo is detected too, so large objects are not lost.

A view is one picture the detector sees: the whole photo or one tile, with its `region` (x_min,
y_min, x_max, y_max as fractions 0..1 of the photo) so that its boxes map back onto the photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from spotter.errors import ModelError
from spotter.model.preprocess import InputContract, center_box

Region = tuple[float, float, float, float]  # x_min, y_min, x_max, y_max in 0..1 of the photo
WHOLE: Region = (0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class Tiling:
    """The card's `tiling`: tiles of `tile` x `tile` photo pixels overlapping by `overlap` (a share
    of the tile side), at most `max_tiles` of them (past it, tiles grow until the grid fits, and the
    record says so). A photo at most `min_ratio` times the tile on each side is detected whole only."""

    enabled: bool = True
    tile: int = 768
    overlap: float = 0.2
    max_tiles: int = 36
    min_ratio: float = 1.25

    def __post_init__(self) -> None:
        self.check("card tiling")

    def check(self, where: str) -> None:
        """ModelError naming `where` (the card's `tiling`, `--tiling`, DETECT_TILING) and the field."""
        if not (isinstance(self.enabled, bool)):
            raise ModelError(f"{where}.enabled must be true or false; got {self.enabled!r}")
        if not (isinstance(self.tile, int) and not isinstance(self.tile, bool) and 32 <= self.tile <= 16384):
            raise ModelError(f"{where}.tile must be a whole number of pixels, 32 to 16384; got {self.tile!r}")
        if not (isinstance(self.overlap, (int, float)) and not isinstance(self.overlap, bool)) or not (
            0.0 <= self.overlap < 0.9
        ):
            raise ModelError(f"{where}.overlap must be a number at least 0 and below 0.9; got {self.overlap!r}")
        if not (
            isinstance(self.max_tiles, int) and not isinstance(self.max_tiles, bool) and 1 <= self.max_tiles <= 400
        ):
            raise ModelError(f"{where}.max_tiles must be a whole number, 1 to 400; got {self.max_tiles!r}")

    @classmethod
    def from_json(cls, spec: Any) -> Tiling:
        """The card's `tiling`, its values JSON's own types (a string "36" is not a number)."""
        if spec is None:
            return cls()
        if not isinstance(spec, dict):
            raise ModelError('card tiling must be an object, e.g. {"tile": 768, "overlap": 0.2, "max_tiles": 36}')
        unknown = set(spec) - {"enabled", "tile", "overlap", "max_tiles"}
        if unknown:
            raise ModelError(
                f"card tiling has unknown fields {sorted(unknown)}; known: enabled, tile, overlap, max_tiles"
            )
        return cls(
            enabled=spec.get("enabled", True),
            tile=spec.get("tile", cls.tile),
            overlap=spec.get("overlap", cls.overlap),
            max_tiles=spec.get("max_tiles", cls.max_tiles),
        )

    def overridden(self, text: str | None, where: str = "--tiling") -> Tiling:
        """This tiling with the command line's or the environment's changes (DETECT_TILING): `off`,
        `on`, or comma-separated `tile=768,overlap=0.2,max_tiles=36` (any of them, each once)."""
        if not text or not text.strip():
            return self
        text = text.strip().lower()
        changes: dict[str, Any] = {}
        for part in text.split(","):
            name, sep, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep and name in ("off", "on"):  # `off`, `on`, or `enabled=false` as on the card
                name, sep, value = "enabled", "=", "true" if name == "on" else "false"
            if name == "enabled" and value.strip() in ("true", "false"):
                value = value.strip()
            elif not sep or name not in ("tile", "overlap", "max_tiles"):
                raise ModelError(
                    f"{where} {part.strip()!r} is not understood: give off, on, or tile=PX,overlap=SHARE,max_tiles=N"
                )
            if name in changes:
                raise ModelError(f"{where} gives {name} twice")
            if name == "enabled":
                changes[name] = value == "true"
                continue
            try:
                changes[name] = float(value) if name == "overlap" else int(value)
            except ValueError:
                raise ModelError(f"{where} {name} must be a number, got {value.strip()!r}") from None
        try:
            return replace(self, **{"enabled": "enabled" not in changes or changes["enabled"], **changes})
        except ModelError as exc:
            raise ModelError(str(exc).replace("card tiling", where, 1)) from None

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "tile": self.tile, "overlap": self.overlap, "max_tiles": self.max_tiles}

    def plan(self, width: int, height: int) -> TilePlan:
        """The tiles of a `width` x `height` photo (none when tiling is off or the photo is small)."""
        if not self.enabled or (width <= self.tile * self.min_ratio and height <= self.tile * self.min_ratio):
            return TilePlan(regions=(), tile=0, grown_from=None)
        tile = self.tile
        while True:
            xs, ys = _starts(width, tile, self.overlap), _starts(height, tile, self.overlap)
            if len(xs) * len(ys) <= self.max_tiles:
                break
            tile = math.ceil(tile * 1.1)
        tile = min(tile, max(width, height))  # a tile never larger than the photo
        side_w, side_h = min(tile, width), min(tile, height)
        regions = tuple((x / width, y / height, (x + side_w) / width, (y + side_h) / height) for y in ys for x in xs)
        grown = self.tile if tile != self.tile else None
        return TilePlan(regions, tile, grown, self.max_tiles, round(max(side_w, side_h) / min(side_w, side_h), 2))


@dataclass(frozen=True)
class TilePlan:
    regions: tuple[Region, ...]
    tile: int  # the tile side used, in photo pixels (0: no tiles)
    grown_from: int | None  # the card's tile side, when the grid had to grow to stay within max_tiles
    max_tiles: int = 0
    squash: float = 1.0  # a tile's long side over its short one (a panorama's tiles are cut by its height)

    def describe(self, done: int) -> str | None:
        """A sentence for the record when the photo was counted on fewer or larger tiles than the card
        asks for; None when it was counted as planned."""
        parts = []
        if self.grown_from is not None:
            grown = f"tiles grown from {self.grown_from} to {self.tile} px to stay within the limit of {self.max_tiles}"
            if self.squash >= 1.5:
                grown += f", each squashed {self.squash:g}:1 into the model's input (raise max_tiles for such photos)"
            parts.append(grown)
        if done < len(self.regions):
            parts.append(f"counted on {done} of {len(self.regions)} tiles: the time budget ran out")
        return "; ".join(parts) or None


def _starts(length: int, tile: int, overlap: float) -> list[int]:
    """Tile starts along one side: evenly spread, first at 0, last flush with the end."""
    if length <= tile:
        return [0]
    stride = max(1, round(tile * (1.0 - overlap)))
    count = math.ceil((length - tile) / stride) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def input_window(width: int, height: int, contract: InputContract) -> Region:
    """The part of a `width` x `height` picture the model's input shows, as fractions of the picture:
    all of it when squashed, the centred box when cropped, more than all of it when padded."""
    if contract.resize == "center_crop":
        left, top, right, bottom = center_box(width, height, contract.size)
        return left / width, top / height, right / width, bottom / height
    if contract.resize == "pad":
        target_w, target_h = contract.size
        if width * target_h > height * target_w:
            canvas_w, canvas_h = width, max(height, round(width * target_h / target_w))
        else:
            canvas_w, canvas_h = max(width, round(height * target_w / target_h)), height
        left, top = (canvas_w - width) // 2, (canvas_h - height) // 2
        return -left / width, -top / height, (canvas_w - left) / width, (canvas_h - top) / height
    return WHOLE


@dataclass(frozen=True)
class View:
    region: Region  # of the photo that `image` shows, before the model's input window
    image: Image.Image  # fitted to the model's input
    window: Region = WHOLE  # of `region` the input shows (spotter.model.tiling.input_window)


def cut_views(image: Image.Image, plan: TilePlan, contract: InputContract) -> list[View]:
    """The whole picture, then each planned tile, each fitted to the model's input (`contract`)."""
    views = [View(WHOLE, contract.apply(image), input_window(*image.size, contract))]
    width, height = image.size
    for region in plan.regions:
        box = (
            round(region[0] * width),
            round(region[1] * height),
            max(round(region[0] * width) + 1, round(region[2] * width)),
            max(round(region[1] * height) + 1, round(region[3] * height)),
        )
        tile = image.crop(box)
        views.append(View(region, contract.apply(tile), input_window(*tile.size, contract)))
    return views


def to_photo(box: Region, view: View) -> Region:
    """A box in 0..1 of the model's input for `view`, as 0..1 of the photo (clipped to it)."""
    wx0, wy0, wx1, wy1 = view.window
    rx0, ry0, rx1, ry1 = view.region

    def x(value: float) -> float:
        inside = wx0 + value * (wx1 - wx0)
        return min(1.0, max(0.0, rx0 + inside * (rx1 - rx0)))

    def y(value: float) -> float:
        inside = wy0 + value * (wy1 - wy0)
        return min(1.0, max(0.0, ry0 + inside * (ry1 - ry0)))

    return x(box[0]), y(box[1]), x(box[2]), y(box[3])


def touches_inner_edge(box: Region, view: View, margin: float = 0.02) -> bool:
    """Whether a box (0..1 of the photo) reaches an edge of its tile that is not an edge of the photo:
    an object there may be cut, and the neighbouring tile may hold the rest of it."""
    rx0, ry0, rx1, ry1 = view.region
    mx, my = margin * (rx1 - rx0), margin * (ry1 - ry0)
    return (
        (rx0 > 0.0 and box[0] <= rx0 + mx)
        or (ry0 > 0.0 and box[1] <= ry0 + my)
        or (rx1 < 1.0 and box[2] >= rx1 - mx)
        or (ry1 < 1.0 and box[3] >= ry1 - my)
    )
