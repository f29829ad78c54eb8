"""DynamoDB adapter for prediction records."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import TYPE_CHECKING, Any, ClassVar

from boto3.dynamodb.conditions import Attr, Key

from spotter.adapters.dynamodb_records import conditional_put
from spotter.records import PredictionRecord, is_tombstone_item
from spotter.results.cursors import NOT_OURS, CursorSigner
from spotter.results.query import Partition, PredictionQuery, QueryError, plan

if TYPE_CHECKING:  # boto3 ships no types: these name what is passed, for the reader
    from boto3.dynamodb.conditions import ConditionBase
    from boto3.resources.base import ServiceResource


def _plain(value: object) -> object:
    """DynamoDB's Decimals as int or float, through lists and maps."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_item(item: dict[str, Any]) -> PredictionRecord:
    return PredictionRecord.from_dict({k: _plain(v) for k, v in item.items()})


class DynamoPredictions:
    def __init__(self, table: ServiceResource) -> None:
        self.table = table  # a boto3 DynamoDB Table resource

    def put(self, record: PredictionRecord) -> bool:
        """The conditional write (an older event never wins; a deleted batch's records stay deleted)."""
        return conditional_put(self.table.meta.client, self.table.name, record, native=True)

    def set_truth(self, object_id: str, model: str, truth: str | None) -> bool:
        """One attribute changed in place: the record's other fields, written by classify, stay as they are."""
        from botocore.exceptions import ClientError

        change: dict[str, Any] = (
            {"UpdateExpression": "SET #t = :t", "ExpressionAttributeValues": {":t": truth}}
            if truth is not None
            else {"UpdateExpression": "REMOVE #t"}
        )
        try:
            self.table.update_item(
                Key={"object_id": object_id, "model": model},
                ConditionExpression="attribute_exists(object_id)",
                ExpressionAttributeNames={"#t": "truth"},
                **change,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, object_id: str, model: str) -> PredictionRecord | None:
        item = self.table.get_item(Key={"object_id": object_id, "model": model}).get("Item")
        return from_item(item) if item else None


_SIGNER = CursorSigner()  # this process's own key: what the command line's in-process paging uses


def _encode_cursor(position: int, start_key: dict[str, Any], filters: str, signer: CursorSigner = _SIGNER) -> str:
    """Opaque to the caller and signed (spotter.results.cursors): where the next page starts, and the
    fingerprint of the filters it was made for (PredictionQuery.fingerprint)."""
    return signer.seal({"p": position, "k": _plain(start_key), "f": filters})


OTHER_FILTERS = "cursor is not one this API returned (or belongs to other filters)"


def _decode_cursor(cursor: str, signer: CursorSigner = _SIGNER) -> tuple[int, dict[str, str] | None, str]:
    data = signer.open(cursor)
    position, start_key, filters = data.get("p"), data.get("k"), data.get("f")
    if (
        not isinstance(position, int)
        or position < 0
        or not isinstance(start_key, dict)
        or not all(isinstance(v, str) and v for v in start_key.values())
        or not isinstance(filters, str)
    ):
        raise QueryError(NOT_OURS)
    return position, start_key, filters


def _filters(query: PredictionQuery, partition: Partition) -> ConditionBase | None:
    conditions: list[ConditionBase] = []
    if query.batch and partition.hash_key != "batch":
        conditions.append(Attr("batch").eq(query.batch))
    if query.key_prefix:
        conditions.append(Attr("key").begins_with(query.key_prefix))
    if query.source and partition.hash_key != "source":
        conditions.append(Attr("source").eq(query.source))
    if query.label and partition.hash_key != "label":
        conditions.append(Attr("label").eq(query.label))
    if query.status:
        conditions.append(Attr("status").eq(query.status))
    if query.model:
        conditions.append(Attr("model").eq(query.model))
    if partition.index is None:
        if query.since:
            conditions.append(Attr("uploaded_at").gte(query.since))
        if query.until:
            conditions.append(Attr("uploaded_at").lt(query.until))
    if query.captured_since:
        conditions.append(Attr("captured_at").gte(query.captured_since))
    if query.captured_until:
        conditions.append(Attr("captured_at").lt(query.captured_until))
    if query.min_score is not None:
        conditions.append(Attr("score").gte(Decimal(str(query.min_score))))
    if query.max_score is not None:
        conditions.append(Attr("score").lte(Decimal(str(query.max_score))))
    if query.bbox is not None:
        south, west, north, east = (Decimal(str(v)) for v in query.bbox)
        conditions.append(Attr("latitude").between(south, north))
        if west <= east:
            conditions.append(Attr("longitude").between(west, east))
        else:  # the box crosses the antimeridian
            conditions.append(Attr("longitude").gte(west) | Attr("longitude").lte(east))
    return reduce(operator.and_, conditions) if conditions else None


def _key_condition(query: PredictionQuery, partition: Partition) -> ConditionBase:
    condition = Key(partition.hash_key).eq(partition.value)
    if query.since and query.until:
        return condition & Key("uploaded_at").between(query.since, query.until)
    if query.since:
        return condition & Key("uploaded_at").gte(query.since)
    if query.until:
        return condition & Key("uploaded_at").lt(query.until)
    return condition


def _key_names(partition: Partition) -> list[str]:
    """The attributes of a position in `partition` (the table's key, plus the index's)."""
    return ["object_id", "model"] + (
        [partition.hash_key, "uploaded_at"] if partition.index and partition.hash_key else []
    )


TABLE_KEY = ("object_id", "model")
BATCH_GET_MAX_KEYS = 100  # DynamoDB's limit per BatchGetItem call
BATCH_GET_TRIES = 8  # a call that still leaves keys unprocessed after these raises (throttled for seconds)


@dataclass(frozen=True)
class DayState:
    digest: str  # spotter.results.sql_cache.DayDigest over the day's records' STATE_ATTRIBUTES
    keys: list[dict[str, Any]]  # their table keys


class UnprocessedKeysError(RuntimeError):
    """BatchGetItem kept leaving keys unprocessed (the table is throttled): the page cannot be completed."""


class DynamoPredictionQueries:
    """Paged reads over the predictions table's indexes (see `spotter.results.query.plan`).

    The indexes project only the attributes the filters read (infra/template.yaml), so an index page
    holds partial items: `query` fetches the matching records whole with BatchGetItem, in the index's
    order. Scans read the table itself and need no second read."""

    def __init__(
        self,
        table: ServiceResource,
        page_size: int = 200,
        sleep: Callable[[float], None] = time.sleep,
        signer: CursorSigner = _SIGNER,
    ) -> None:  # a DynamoDB Table
        self.table = table
        self.signer = signer  # signs and checks cursors (Settings.cursor_key)
        self.page_size = page_size
        self.sleep = sleep  # between BatchGetItem retries (tests pass a recorder)

    def _full_items(self, partial: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The whole items behind index entries `partial`, in their order; an item deleted since the
        index was read is left out. BatchGetItem, up to 100 keys a call; unprocessed keys (throttling,
        the 16 MB response cap) are asked again after a short, growing pause."""
        keys = list({tuple(item[k] for k in TABLE_KEY): None for item in partial})
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        client = self.table.meta.client  # the resource's client: Python values in and out
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):
            request: dict[str, Any] = {
                self.table.name: {
                    "Keys": [dict(zip(TABLE_KEY, key)) for key in keys[start : start + BATCH_GET_MAX_KEYS]]
                }
            }
            for attempt in range(BATCH_GET_TRIES):
                answer = client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table.name, []):
                    found[tuple(item[k] for k in TABLE_KEY)] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                if attempt + 1 < BATCH_GET_TRIES:
                    self.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                left = len(request.get(self.table.name, {}).get("Keys", []))
                raise UnprocessedKeysError(f"DynamoDB left {left} keys unprocessed after {BATCH_GET_TRIES} tries")
        return [found[key] for key in keys if key in found]

    def _records(self, items: list[dict[str, Any]], partition: Partition) -> list[PredictionRecord]:
        whole = items if partition.index is None else self._full_items(items)
        return [from_item(item) for item in whole if not is_tombstone_item(item)]

    def _read(
        self, query: PredictionQuery, partition: Partition, start_key: dict[str, Any] | None, wanted: int
    ) -> dict[str, Any]:
        # read about what the page still needs (at least 10, for filters that drop some), not a whole
        # `page_size`: a client paging one record at a time pays for one small read a page
        args: dict[str, Any] = {"Limit": min(self.page_size, max(wanted, 10))}
        if start_key:
            args["ExclusiveStartKey"] = start_key
        condition = _filters(query, partition)
        if condition is not None:
            args["FilterExpression"] = condition
        if partition.index is None:
            page: dict[str, Any] = self.table.scan(**args)
        else:
            page = self.table.query(
                IndexName=partition.index,
                KeyConditionExpression=_key_condition(query, partition),
                ScanIndexForward=False,
                **args,
            )
        return page

    def query(self, query: PredictionQuery) -> tuple[list[PredictionRecord], str | None]:
        partitions = plan(query)
        filters = query.fingerprint()
        position, start_key, made_for = (
            _decode_cursor(query.cursor, self.signer) if query.cursor else (0, None, filters)
        )
        if made_for != filters or (
            start_key is not None
            and (
                position >= len(partitions)
                or set(start_key) != set(_key_names(partitions[position]))
                or start_key.get(partitions[position].hash_key or "", partitions[position].value)
                != partitions[position].value
            )
        ):
            raise QueryError(OTHER_FILTERS)
        found: list[PredictionRecord] = []
        taken = 0  # entries taken for this page (an item deleted before it is fetched is not in `found`)
        while position < len(partitions):
            partition = partitions[position]
            page = self._read(query, partition, start_key, query.limit - taken)
            matched: list[dict[str, Any]] = []
            for item in page["Items"]:
                if query.until and item.get("uploaded_at", "") >= query.until:
                    continue  # `between` is inclusive; `until` is not
                matched.append(item)
                taken += 1
                if taken == query.limit:
                    found += self._records(matched, partition)
                    return found, _encode_cursor(
                        position, {k: item[k] for k in _key_names(partition)}, filters, self.signer
                    )
            found += self._records(matched, partition)
            start_key = page.get("LastEvaluatedKey")
            if start_key is None:
                position += 1
        return found, None

    def scan_all(self, segments: int = 4) -> Iterator[PredictionRecord]:
        """The whole table, read by `segments` parallel scans."""

        def segment(number: int) -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            args: dict[str, Any] = {"Segment": number, "TotalSegments": segments}
            while True:
                page = self.table.scan(**args)
                items.extend(page["Items"])
                if "LastEvaluatedKey" not in page:
                    return items
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        with ThreadPoolExecutor(max_workers=segments) as pool:
            for items in pool.map(segment, range(segments)):
                yield from (from_item(item) for item in items if not is_tombstone_item(item))

    def scan_pages(self, segments: int = 4) -> Iterator[list[PredictionRecord]]:
        """The whole table page by page (parallel segments), holding only a few pages at a time."""
        import queue
        import threading

        pages: queue.Queue[list[PredictionRecord] | Exception | None] = queue.Queue(maxsize=2 * segments)

        def segment(number: int) -> None:
            args: dict[str, Any] = {"Segment": number, "TotalSegments": segments}
            try:
                while True:
                    page = self.table.scan(**args)
                    pages.put([from_item(item) for item in page["Items"] if not is_tombstone_item(item)])
                    if "LastEvaluatedKey" not in page:
                        break
                    args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            except Exception as exc:  # handed to the reader, which raises it
                pages.put(exc)
            pages.put(None)  # this segment is done

        threads = [threading.Thread(target=segment, args=(n,), daemon=True) for n in range(segments)]
        for thread in threads:
            thread.start()
        finished = 0
        while finished < segments:
            page = pages.get()
            if page is None:
                finished += 1
            elif isinstance(page, Exception):
                raise page
            else:
                yield page

    def day_states(self, segments: int = 4) -> dict[str, DayState]:
        """Per upload day, a digest of its records' state and their keys: a parallel scan that reads
        back only STATE_ATTRIBUTES (what every write changes: a new classification stamps a new
        `classified_at`, a removal leaves a key missing), so `spotter sql` can tell which days of an
        earlier export are still current without reading the records whole."""
        import threading

        from spotter.results.sql_cache import STATE_ATTRIBUTES, DayDigest  # only `spotter sql` needs it

        names = {f"#a{i}": name for i, name in enumerate(STATE_ATTRIBUTES)}
        days: dict[str, tuple[DayDigest, list[dict[str, Any]]]] = {}
        lock = threading.Lock()

        def segment(number: int) -> None:
            args: dict[str, Any] = {
                "Segment": number,
                "TotalSegments": segments,
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
            while True:
                page = self.table.scan(**args)
                with lock:
                    for item in page["Items"]:
                        if is_tombstone_item(item):
                            continue
                        values = [str(item.get(name, "")) for name in STATE_ATTRIBUTES]
                        digest, keys = days.setdefault(values[2][:10], (DayDigest(), []))
                        digest.add(*values)
                        keys.append({k: item[k] for k in TABLE_KEY})
                if "LastEvaluatedKey" not in page:
                    return
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        with ThreadPoolExecutor(max_workers=segments) as pool:
            list(pool.map(segment, range(segments)))
        return {day: DayState(digest.hexdigest(), keys) for day, (digest, keys) in days.items()}

    def records_of(self, keys: list[dict[str, Any]]) -> list[PredictionRecord]:
        """The records with these table keys, read whole (BatchGetItem); one removed since is left out."""
        return [from_item(item) for item in self._full_items(keys) if not is_tombstone_item(item)]

    _INDEX_FOR: ClassVar[dict[str, str]] = {"label": "by-label", "source": "by-source", "batch": "by-batch"}

    def exists(self, field: str, value: str) -> bool:
        """Whether any record has `field` = `value`: one key lookup on the field's index (no index: False)."""
        index = self._INDEX_FOR.get(field)
        if index is None:
            return False
        return bool(self.table.query(IndexName=index, KeyConditionExpression=Key(field).eq(value), Limit=1)["Items"])

    def known_values(self, field: str, max_items: int = 5000) -> tuple[list[str], bool]:
        """Distinct values of `field` in up to `max_items` records, and whether that was the whole table."""
        found: set[str] = set()
        args: dict[str, Any] = {"ProjectionExpression": "#f", "ExpressionAttributeNames": {"#f": field}}
        read = 0
        while True:
            page = self.table.scan(**args)
            # a deleted batch's tombstone and a refusal count are items too: their sort key is no model
            found.update(str(item[field]) for item in page["Items"] if field in item and not is_tombstone_item(item))
            read += page.get("ScannedCount", len(page["Items"]))
            if "LastEvaluatedKey" not in page:
                return sorted(found), True
            if read >= max_items:
                return sorted(found), False
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
