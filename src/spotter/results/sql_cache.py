"""The export `spotter sql` keeps between runs, brought up to date one upload day at a time.

    <cache>/upload_day=YYYY-MM-DD/*.parquet         the day's records (the Athena copy's layout), a
                                                    detector's boxes in their `detections` column (the
                                                    table `detections` unnests them: no files of its own)
    <cache>/state.json                              {"days": {day: digest of its records' state},
                                                     "files": {day: what its folder held when written}}
    <cache>/lock                                    held (flock) by the one run that updates or reads it

A run reads what changed since the last one from the table's change stream (the stream the Athena
copy is fed by: spotter.adapters.dynamodb_stream.TableStream), from the position kept in state.json,
and folds those changes into the days they touch with the copy function's own merge
(spotter.results.parquet_copy.merge_day): a repeat query reads a few stream records, not the table.

When the stream cannot prove it holds every change since (no position kept, another stream, a
position over 23 hours old, a trimmed shard, no permission to read it, a kept day changed on disk),
the run asks the table for every day's digest instead (a scan that reads back only a few attributes
per record: spotter.adapters.dynamodb.DynamoPredictionQueries.day_states), rewrites the days whose
digest differs from the one kept (reading just those records whole), removes days no longer in the
table, and leaves the rest as they are; the stream's position is taken before that scan and the
changes since are folded in after it (folding a change twice leaves the same day), so the next run
reads the stream again. A day being rewritten is first dropped from state.json (and the position
with it), so a run cut short leaves it marked stale, never silently out of date. The lock makes
concurrent runs wait for each other rather than read a day while it is replaced.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spotter.records import PredictionRecord
from spotter.results.parquet_copy import (
    DAY_FILE,
    PARTITION,
    Change,
    LocalLayout,
    changes_by_day,
    day_folder,
    day_table,
    merge_day,
)
from spotter.results.stream_position import StreamGap, StreamPosition

STATE_FILE = "state.json"
# of the cache's layout, columns and digest: a cache of another version is rebuilt whole (3: a detector's
# counts and boxes, which `detections` reads, are columns; a day kept by 2 would lack them; 4: the
# positive score and domain distance; 5: the researcher's truth; 6: the stream's position, and days
# whose digest is unknown (written from the stream) kept as "")
VERSION = 6
BULK_SHARE = 0.3  # past this share of the records changed, one parallel scan reads them, not their keys


# What a day's digest reads of each record: its key and the times every write sets (a classification
# stamps `classified_at`; a re-upload moves `uploaded_at`; a removal takes the key away), and the one
# field changed in place (`truth`, set by the batch's owner).
STATE_ATTRIBUTES = ("object_id", "model", "uploaded_at", "classified_at", "truth")


class DayDigest:
    """A digest of a day's records that no order changes: the sum of each record's sha256 (over
    STATE_ATTRIBUTES) modulo 2**256, and their count; one record added, removed or changed changes it."""

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    def add(self, *values: str) -> None:
        import hashlib

        self.total = (self.total + int(hashlib.sha256("\t".join(values).encode()).hexdigest(), 16)) % 2**256
        self.count += 1

    def add_record(self, record: PredictionRecord) -> None:
        self.add(*(str(getattr(record, name) or "") for name in STATE_ATTRIBUTES))

    def hexdigest(self) -> str:
        return f"{self.count}:{self.total:064x}"


@dataclass(frozen=True)
class Refresh:
    kept: int  # days still current
    written: int  # days (re)written
    removed: int  # days no longer in the table
    records: int  # records now in the cache


def cache_root(base: Path, table: str, endpoint: str | None, region: str | None) -> Path:
    """Where the cache for this table lives under `base` (spotter.config.sql_cache_dir): one folder
    per (endpoint, region, table), so the local stack's table and a deployed one never mix."""
    import hashlib

    name = hashlib.sha256(f"{endpoint or 'aws'}\n{region or ''}\n{table}".encode()).hexdigest()[:20]
    return Path(base) / name


@contextmanager
def locked(root: Path) -> Iterator[None]:
    import fcntl

    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    _check_private(root)
    with open(root / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class CacheRefused(OSError):
    """A cache folder another user could write into (or a link to elsewhere): not used."""


def _check_private(root: Path) -> None:
    """The cache answers queries: a folder that is a link, another user's, or writable by others could
    hold files that answer wrongly. Refused with a line saying which (use --no-cache, or remove it)."""
    import os
    import stat

    info = os.lstat(root)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise CacheRefused(f"the sql cache {root} is not a plain folder (a link?): remove it, or run with --no-cache")
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise CacheRefused(
            f"the sql cache {root} is another user's or writable by others: remove it, or run with --no-cache"
        )


def _files_of(root: Path, day: str) -> list[list[Any]]:
    """What the day's folder holds: each entry's name, kind, size, modification and change times and
    inode (an edited, added or removed file changes it, so the day is read again)."""
    import os

    folder = root / day_folder(day)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    held = []
    for entry in entries:
        info = entry.stat(follow_symlinks=False)
        # the inode's change time too: a rewrite that puts back the size and modification time
        # (os.utime) cannot put back st_ctime
        held.append([entry.name, info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino])
    return held


def _read_state(root: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """(days: {day: digest, "" when unknown}, files: {day: _files_of when written}); empty for no or
    another version."""
    state = _state(root)
    if not state:
        return {}, {}
    files: dict[str, Any] = state["files"] if isinstance(state.get("files"), dict) else {}
    return {str(day): str(digest) for day, digest in state["days"].items()}, files


def _state(root: Path) -> dict[str, Any]:
    try:
        state = json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or state.get("version") != VERSION or not isinstance(state.get("days"), dict):
        return {}
    return state


def _write_state(
    root: Path, days: Mapping[str, str], position: StreamPosition | None = None, records: int | None = None
) -> None:
    """Kept with no stream position (nor count) unless given one: whoever changes the days and does
    not know the stream's position leaves the next run to check every day."""
    files = {day: _files_of(root, day) for day in days}
    state: dict[str, Any] = {"version": VERSION, "days": dict(sorted(days.items())), "files": files}
    if position is not None:
        state["stream"] = position.to_json()
    if records is not None:
        state["records"] = records
    temporary = root / (STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(state))
    temporary.replace(root / STATE_FILE)


def kept_position(root: Path) -> StreamPosition | None:
    """The stream position the cache is current to, if the last run left one."""
    state = _state(root)
    return StreamPosition.from_json(state["stream"]) if "stream" in state else None


def keep_position(root: Path, position: StreamPosition, records: int) -> None:
    """Record that the cache now holds every change up to `position`, `records` records in all."""
    days, _files = _read_state(root)
    _write_state(root, days, position, records)


def _day_is_whole(root: Path, day: str, files: Mapping[str, Any]) -> bool:
    """A day folder is only ever put in place whole (built beside it, then renamed), and still holds
    exactly what it held then."""
    held = _files_of(root, day)
    return bool(held) and held == files.get(day)


def has_state(root: Path) -> bool:
    return bool(_read_state(root)[0]) or (root / STATE_FILE).is_file()


def rebuild(root: Path, pages: Iterable[list[PredictionRecord]]) -> Refresh:
    """The whole cache written afresh from `pages` (a parallel scan, a chunk at a time), with each
    day's digest taken from the records as they pass: the first run costs one scan, as an export does."""
    _write_state(root, {})
    building = root / ".building"
    shutil.rmtree(building, ignore_errors=True)
    layout = LocalLayout(building)
    digests: dict[str, DayDigest] = {}
    for page in pages:
        for record in page:
            digests.setdefault(record.upload_day, DayDigest()).add_record(record)
        layout.add(page)
    count = layout.close()
    for old in root.glob(f"{PARTITION}=*"):
        shutil.rmtree(old, ignore_errors=True)
    for day in digests:
        (building / day_folder(day)).replace(root / day_folder(day))
    shutil.rmtree(building, ignore_errors=True)
    _write_state(root, {day: digest.hexdigest() for day, digest in digests.items()})
    return Refresh(kept=0, written=len(digests), removed=0, records=count)


def refresh(
    root: Path,
    digests: Mapping[str, str],
    keys_of: Callable[[str], list[Any]],
    records_of: Callable[[list[Any]], list[PredictionRecord]],
    scan_pages: Callable[[], Iterable[list[PredictionRecord]]],
) -> Refresh:
    """Bring the cache under `root` (held locked by the caller) to the table's state: `digests` is the
    table's {day: digest}, `keys_of(day)` that day's record keys, `records_of(keys)` the records whole
    (a few days changed), `scan_pages()` the whole table (most of it changed, e.g. the first run: a
    parallel scan, written a chunk at a time, costs less than reading each record by its key)."""
    import pyarrow.parquet as pq

    kept_state, kept_files = _read_state(root)
    current = {
        day for day, digest in digests.items() if kept_state.get(day) == digest and _day_is_whole(root, day, kept_files)
    }
    stale = sorted(set(digests) - current)
    gone = sorted({path.name.split("=", 1)[1] for path in root.glob(f"{PARTITION}=*") if path.is_dir()} - set(digests))
    if stale or gone or set(kept_state) - current:
        _write_state(root, {day: kept_state[day] for day in current})  # stale days marked before they change
    for day in gone:
        shutil.rmtree(root / day_folder(day), ignore_errors=True)
    building = root / ".building"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    stale_keys = sum(len(keys_of(day)) for day in stale)
    if stale_keys > BULK_SHARE * sum(len(keys_of(day)) for day in digests):
        layout = LocalLayout(building)
        wanted = set(stale)
        for page in scan_pages():
            layout.add(record for record in page if record.upload_day in wanted)
        layout.close()
    else:
        for day in stale:
            records = records_of(keys_of(day))
            if records:
                (building / day_folder(day)).mkdir(parents=True)
                pq.write_table(day_table(records), building / day_folder(day) / DAY_FILE, compression="zstd")
    for day in stale:
        shutil.rmtree(root / day_folder(day), ignore_errors=True)
        built = building / day_folder(day)
        if built.is_dir():
            built.replace(root / day_folder(day))
    shutil.rmtree(building, ignore_errors=True)
    if stale or gone or set(kept_state) != set(digests) or current != set(kept_state):
        _write_state(root, {day: digests[day] for day in digests})
    count = sum(pq.read_metadata(path).num_rows for path in root.glob(f"{PARTITION}=*/*.parquet"))
    return Refresh(kept=len(current), written=len(stale), removed=len(gone), records=count)


def apply_changes(root: Path, changes: list[Change]) -> Refresh:
    """Fold the stream's `changes` (in stream order) into the days they touch, as the Athena copy
    does; StreamGap when a kept day no longer holds what was written (it needs reading again whole)
    or a day folder is there that the state does not know."""
    kept_state, kept_files = _read_state(root)
    for day in kept_state:
        if not _day_is_whole(root, day, kept_files):
            raise StreamGap(f"the kept day {day} no longer holds what was written")
    if {path.name.split("=", 1)[1] for path in root.glob(f"{PARTITION}=*") if path.is_dir()} - set(kept_state):
        raise StreamGap("a day folder the cache did not write is in it")
    by_day = changes_by_day(changes)
    if not by_day and isinstance(_state(root).get("records"), int):  # nothing new: no Parquet opened
        return Refresh(kept=len(kept_state), written=0, removed=0, records=_state(root)["records"])
    import pyarrow as pa
    import pyarrow.parquet as pq

    if by_day:
        _write_state(root, {day: digest for day, digest in kept_state.items() if day not in by_day})
    building = root / ".building"
    shutil.rmtree(building, ignore_errors=True)
    days = dict(kept_state)
    removed = 0
    for day, day_changes in sorted(by_day.items()):
        folder = root / day_folder(day)
        parts = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        existing = (
            pa.concat_tables([pq.read_table(part) for part in parts], promote_options="default") if parts else None
        )
        merged = merge_day(existing, day_changes)
        shutil.rmtree(folder, ignore_errors=True)
        if merged.num_rows:
            (building / day_folder(day)).mkdir(parents=True)
            pq.write_table(merged, building / day_folder(day) / DAY_FILE, compression="zstd")
            (building / day_folder(day)).replace(folder)
            days[day] = ""  # its digest is not known: a later check by scan reads it again
        else:
            removed += day in days
            days.pop(day, None)
    shutil.rmtree(building, ignore_errors=True)
    if by_day:
        _write_state(root, days)
    count = sum(pq.read_metadata(path).num_rows for path in root.glob(f"{PARTITION}=*/*.parquet"))
    written = sum(1 for day in by_day if day in days)
    return Refresh(kept=len(days) - written, written=written, removed=removed, records=count)


def follow(
    root: Path,
    changes_since: Callable[[StreamPosition], tuple[list[Change], StreamPosition]],
    position: StreamPosition,
) -> tuple[Refresh, int]:
    """The cache brought current from the stream: the changes after `position` (StreamGap when the
    stream cannot give them all) folded in, and the new position kept. (the refresh, changes read)"""
    changes, position = changes_since(position)
    done = apply_changes(root, changes)
    keep_position(root, position, done.records)
    return done, len(changes)
