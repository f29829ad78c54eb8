"""Where a reader of the predictions table's change stream got to, kept by `spotter sql` between runs.

A kept export (spotter.results.sql_cache) is current when it holds every change the stream recorded
up to a position: the next run reads only what came after it. The stream reader
(spotter.adapters.dynamodb_stream.TableStream) raises StreamGap when it cannot prove that it still
holds every change since a position (another stream, a trimmed shard, a position too old), and the
run then checks every day by a scan instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class StreamGap(Exception):
    """The stream cannot give every change since the kept position; the message says why."""


@dataclass(frozen=True)
class ShardMark:
    first: str  # the shard's starting sequence number when read: a new shard under an old id differs
    last: str = ""  # the last sequence number read from it ("" none yet)
    iterator: str = ""  # with none read yet: the shard iterator at its end when last looked at


@dataclass(frozen=True)
class StreamPosition:
    stream: str  # the stream's ARN: another one (a re-created table, a restarted local stack) is a gap
    taken_at: float  # epoch seconds when the reading began (streams keep 24 hours of changes)
    shards: dict[str, ShardMark] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "taken_at": self.taken_at,
            "shards": {shard: [mark.first, mark.last, mark.iterator] for shard, mark in sorted(self.shards.items())},
        }

    @classmethod
    def from_json(cls, value: Any) -> StreamPosition | None:
        """The position kept in a state file; None for anything that is not one."""
        try:
            shards = {
                str(shard): ShardMark(str(first), str(last), str(iterator))
                for shard, (first, last, iterator) in value["shards"].items()
            }
            return cls(stream=str(value["stream"]), taken_at=float(value["taken_at"]), shards=shards)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
