"""Entry point of the local moto server process (`python -m spotter.local.moto_main -H HOST -p PORT`).

Two local-only adjustments, neither of which changes what the emulated services answer:
- werkzeug's per-request log is turned down to warnings;
- moto's SQS computes "now" through datetime arithmetic for every message on every receive
  (O(queue depth), ~1.4 s per receive at 1,000 queued messages); the same value from
  `time.time()` makes a deep queue drain at the speed of the rest of the stack.
"""

from __future__ import annotations

import logging
import sys
import time


def _unix_time(dt=None) -> float:
    if dt is not None:
        return _moto_unix_time(dt)
    return time.time()


def _unix_time_millis(dt=None) -> float:
    return _unix_time(dt) * 1000.0


def main(argv: list[str]) -> None:
    global _moto_unix_time
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    import moto.sqs.models as sqs_models
    from moto.core import utils
    from moto.server import main as moto_server

    _moto_unix_time = utils.unix_time
    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis
    moto_server(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
