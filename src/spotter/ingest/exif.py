"""Field metadata from EXIF: when and where a photo was taken, and by which camera."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image

_EXIF_IFD = ExifTags.IFD.Exif
_GPS_IFD = ExifTags.IFD.GPSInfo
_DATETIME_ORIGINAL = ExifTags.Base.DateTimeOriginal
_OFFSET_TIME_ORIGINAL = ExifTags.Base.OffsetTimeOriginal
_DATETIME = ExifTags.Base.DateTime
_MAKE = ExifTags.Base.Make
_MODEL = ExifTags.Base.Model
_MAX_TEXT = 200  # PNG/TIFF EXIF text can be megabytes; a DynamoDB item holds at most 400 KB


@dataclass(frozen=True)
class FieldMetadata:
    captured_at: str | None = None  # ISO 8601; with offset when the camera recorded one
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    camera: str | None = None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()[:_MAX_TEXT]
    return value or None


def _capture_time(exif: Image.Exif) -> str | None:
    sub = exif.get_ifd(_EXIF_IFD)
    raw = _text(sub.get(_DATETIME_ORIGINAL)) or _text(exif.get(_DATETIME))
    if not raw:
        return None
    try:
        moment = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    iso = moment.isoformat()
    offset = _text(sub.get(_OFFSET_TIME_ORIGINAL))
    if offset and len(offset) == 6 and offset[0] in "+-" and offset[3] == ":":
        iso += offset
    return iso


def _degrees(dms: Any, ref: object) -> float | None:  # dms: whatever the EXIF holds
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60.0 + s / 3600.0
    if _text(ref) in ("S", "W"):
        value = -value
    return round(value, 7)


def _gps(exif: Image.Exif) -> tuple[float | None, float | None, float | None]:
    gps = exif.get_ifd(_GPS_IFD)
    if not gps:
        return None, None, None
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
    if lat is not None and not -90 <= lat <= 90:
        lat = None
    if lon is not None and not -180 <= lon <= 180:
        lon = None
    alt = None
    try:
        raw_alt = gps.get(ExifTags.GPS.GPSAltitude)
        if raw_alt is not None:
            alt = round(float(raw_alt), 2)
            if gps.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01"):
                alt = -alt
            if not -1e5 <= alt <= 1e5:  # NaN (0/0), inf or absurd: DynamoDB would refuse the record
                alt = None
    except (TypeError, ValueError, ZeroDivisionError):
        alt = None
    return lat, lon, alt


def read_field_metadata(image: Image.Image) -> FieldMetadata:
    """Best effort: damaged EXIF never rejects an otherwise good image."""
    try:
        exif = image.getexif()
    except Exception:
        return FieldMetadata()
    if not exif:
        return FieldMetadata()
    try:
        captured_at = _capture_time(exif)
    except Exception:
        captured_at = None
    try:
        lat, lon, alt = _gps(exif)
    except Exception:
        lat = lon = alt = None
    make, model = _text(exif.get(_MAKE)), _text(exif.get(_MODEL))
    camera = model if (not make or (model and model.startswith(make))) else " ".join(filter(None, (make, model)))
    return FieldMetadata(captured_at=captured_at, latitude=lat, longitude=lon, altitude=alt, camera=camera)
